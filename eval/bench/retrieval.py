"""Retrieval benchmark: encoder speed, candidate recall of applied/hired offers, query latency.

Run by ``matching bench retrieval --help``, which passes in the referential, the communes and the
reference data's paths and prints the figures. Needs the reference data (official ROME export, La Poste
communes, real offers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench.measure import latency_summary, recall_with_ties, texts_per_second
from eval.simulator import MarketConfig, simulate_market
from eval.simulator.records import world_offers, world_profiles
from matching.candidates import CandidateGenerator
from matching.encoders import Encoder, SentenceTransformerEncoder, USEEncoder
from matching.encoders.e5_builder import build_e5_model
from matching.geo import Communes
from matching.ingest import parse_offers, read_offer_records, rome_classifier_for
from matching.referential import Referential
from matching.views import clean_title, offer_view, profile_view

LATENCY_ENCODERS = ("use", "e5-int8")
DISTINCT_SAMPLE = 20_000  # offers whose vectors are checked for duplicates (a set of tuples: kept small)


def retrieval_bench(
    referential: Referential,
    communes: Communes,
    offers_file: Path,
    model_dir: Path,
    *,
    recall_profiles: int = 20_000,
    recall_offers: int = 10_000,
    latency_offers: int = 100_000,
    queries: int = 300,
    seed: int = 1,
    speed: bool = True,
    recall: bool = True,
    latency_encoder: str = "use",
) -> dict[str, Any]:
    """Run the retrieval benchmark's parts.

    Parameters
    ----------
    referential
        The official ROME referential (the real offers are classified on it).
    communes
        The La Poste commune base (the simulated markets are placed on it).
    offers_file
        Real offers (France Travail API JSON), whose views and titles the encoders' speed is measured on.
    model_dir
        The e5 build (built offline if missing).
    recall_profiles, recall_offers
        Size of the simulated market of the recall part.
    latency_offers
        Offers indexed in the latency part.
    queries
        Profiles timed in the latency part.
    seed
        Seed of the simulated markets.
    speed, recall
        Run the encoder speed part, the recall part.
    latency_encoder
        ``use`` (fast to index 100k offers) or ``e5-int8``.

    Returns
    -------
    dict[str, Any]
        ``cores``, then the figures of :func:`encoder_speeds`, :func:`candidate_recall` and
        :func:`query_latency`.
    """
    if latency_encoder not in LATENCY_ENCODERS:
        raise ValueError(f"latency encoder {latency_encoder!r} is not one of {', '.join(LATENCY_ENCODERS)}")
    results: dict[str, Any] = {"cores": os.cpu_count()}
    folder = build_e5_model(model_dir)
    if speed:
        records = read_offer_records(offers_file)
        classifier = rome_classifier_for(records, referential)
        real, _ = parse_offers(records, referential=referential, classifier=classifier)
        # documents: full ROME-aware offer views; queries: cleaned titles, as a jobseeker types them
        docs = [offer_view(o, referential) for o in real[:512]]
        titles = [clean_title(o.title) for o in real[:1024]]
        encoders: dict[str, Callable[[], Encoder]] = {
            "e5 fp32": lambda: SentenceTransformerEncoder(folder),
            "e5 int8": lambda: SentenceTransformerEncoder(folder, int8=True),
            "e5 int8 128 tokens": lambda: SentenceTransformerEncoder(folder, int8=True, max_seq_length=128),
            "use": USEEncoder,
        }
        results |= encoder_speeds(encoders, docs, titles)
    if recall:
        e5_int8_128 = SentenceTransformerEncoder(folder, int8=True, max_seq_length=128)
        results |= candidate_recall(referential, communes, e5_int8_128, recall_profiles, recall_offers, seed)
    encoder = USEEncoder() if latency_encoder == "use" else SentenceTransformerEncoder(folder, int8=True)
    results |= query_latency(referential, communes, encoder, latency_offers, queries, seed)
    return results


def encoder_speeds(
    encoders: dict[str, Callable[[], Encoder]], docs: list[str], titles: list[str]
) -> dict[str, float]:
    """Throughput of each encoder on offer views (as documents) and titles (as queries).

    Parameters
    ----------
    encoders
        Builds each encoder, by name (one at a time, so that one model is loaded at once).
    docs, titles
        Texts encoded in one call each.

    Returns
    -------
    dict[str, float]
        ``encoder <name> documents/s`` and ``encoder <name> titles/s``: texts per second.
    """
    results: dict[str, float] = {}
    for name, build in encoders.items():
        encoder = build()
        results[f"encoder {name} documents/s"], _ = texts_per_second(encoder.encode_document, docs)
        results[f"encoder {name} titles/s"], _ = texts_per_second(encoder.encode_query, titles)
    return results


def candidate_recall(
    referential: Referential, communes: Communes, encoder: Encoder, n_profiles: int, n_offers: int, seed: int
) -> dict[str, float]:
    """Recall@100 of offers people later applied to or were hired on, in a simulated market.

    Parameters
    ----------
    referential, communes
        What the market is simulated on.
    encoder
        Encoder of the offer index and of the profiles' queries.
    n_profiles, n_offers
        Size of the market (three months of interactions).
    seed
        Seed of the market.

    Returns
    -------
    dict[str, float]
        ``recall index build s`` (seconds); ``recall@100 applied/hired (declared preferences)`` and
        ``(radius only)``: share of the (person, applied or hired offer) pairs whose offer is among the
        person's 100 candidates; the numbers of pairs and people they are counted over.
    """
    config = MarketConfig(n_profiles=n_profiles, n_offers=n_offers, n_trainings=0, months=3, seed=seed)
    world = simulate_market(referential, communes, config)
    events = world.interactions
    positives = events[events["event"].isin(["applied", "hired"])].groupby("profile_id")["offer_id"].agg(set)
    profiles = {p.id: p for p in world_profiles(world) if p.id in positives.index}
    generator = CandidateGenerator(referential=referential, encoder=encoder)
    start = time.perf_counter()
    generator.index_offers(list(world_offers(world)))
    results = {"recall index build s": round(time.perf_counter() - start, 1)}
    total = sum(len(relevant) for relevant in positives)
    for strict in (True, False):
        hits = 0
        for pid, relevant in positives.items():
            ids, _ = generator.recommend_offers(profiles[str(pid)], k=100, respect_preferences=strict)
            hits += len(relevant & set(ids.tolist()))
        key = f"recall@100 applied/hired ({'declared preferences' if strict else 'radius only'})"
        results[key] = round(hits / total, 4)
    results["recall@100 applied/hired pairs"] = float(total)
    results["recall@100 applied/hired people"] = float(len(positives))
    return results


def query_latency(
    referential: Referential, communes: Communes, encoder: Encoder, n_offers: int, n_queries: int, seed: int
) -> dict[str, Any]:
    """Query latency at ``n_offers`` offers, and the recall of open (IVF) search.

    Search cost depends on the index (size, dimension, block sizes), not on which texts were embedded,
    so offers are embedded from their titles alone to keep the build short; queries encode full
    profile views.

    Parameters
    ----------
    referential, communes
        What the market is simulated on.
    encoder
        Encoder of the offer index and of the queries.
    n_offers
        Offers indexed.
    n_queries
        Profiles timed, each one query.
    seed
        Seed of the market (``seed + 1``: not the recall part's market).

    Returns
    -------
    dict[str, Any]
        ``index <n> build s (<encoder>, titles)`` (seconds); the number of distinct vectors among the
        first offers; ``latency <step> at <n> offers (<encoder>)``: latency percentiles (see
        :func:`eval.bench.measure.latency_summary`, milliseconds) of ``recommend_offers`` (encode and
        blocked exact search), blocked exact search only, open IVF search only; open search
        recall@50 against exact search, tie-aware and by id, over the first 100 profiles.
    """
    big = simulate_market(
        referential,
        communes,
        MarketConfig(n_profiles=n_queries, n_offers=n_offers, n_trainings=0, months=0, seed=seed + 1),
    )
    offers = list(world_offers(big))
    generator = CandidateGenerator(referential=referential, encoder=encoder)
    start = time.perf_counter()
    generator.index_offers(offers, vectors=encoder.encode_document([clean_title(o.title) for o in offers]))
    results: dict[str, Any] = {
        f"index {n_offers} build s ({encoder.name}, titles)": round(time.perf_counter() - start, 1)
    }
    index = generator.offers_
    assert index is not None
    sample = index.vectors_[: min(DISTINCT_SAMPLE, len(index.vectors_))]
    results[f"distinct vectors among the first {len(sample)} offers"] = len(
        {tuple(np.round(v, 5)) for v in sample}
    )
    people = list(world_profiles(big))
    timings: dict[str, list[float]] = {
        "recommend_offers (encode + blocked exact search)": [],
        "blocked exact search only": [],
        "open IVF search only": [],
    }
    for person in people:
        start = time.perf_counter()
        generator.recommend_offers(person, k=100)
        timings["recommend_offers (encode + blocked exact search)"].append(
            (time.perf_counter() - start) * 1000
        )
        query = encoder.encode_query([profile_view(person, referential)])[0]
        blocks = generator.neighbourhood_.outgoing(person.rome_codes, generator.expansion)
        start = time.perf_counter()
        index.search_blocks(query, blocks, 100)
        timings["blocked exact search only"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        index.search_open(query, 100)
        timings["open IVF search only"].append((time.perf_counter() - start) * 1000)
    for name, samples in timings.items():
        results[f"latency {name} at {n_offers} offers ({encoder.name})"] = latency_summary(samples)
    recall, id_recall = [], []
    for person in people[:100]:
        query = encoder.encode_query([profile_view(person, referential)])[0]
        approx, approx_scores = index.search_open(query, 50)  # scores re-ranked on the exact vectors
        exact, exact_scores = index.brute_force(query, 50)
        # Many offers share a title: tie-aware recall counts an equal-score swap as found, recall by
        # id as a miss.
        recall.append(recall_with_ties(approx_scores, exact_scores, 50))
        id_recall.append(len(set(approx) & set(exact)) / 50)
    results["open search recall@50 by id (ties count as misses)"] = round(float(np.mean(id_recall)), 4)
    results["open search recall@50 vs exact"] = round(float(np.mean(recall)), 4)
    return results
