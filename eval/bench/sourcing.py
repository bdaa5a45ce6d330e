"""The ``sourcing`` part: top-k candidates for an offer out of every profile of the national index."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from eval.bench.measure import flat_latencies, peak_rss_mib, rss_mib
from eval.bench.national import BULK_DIM, BenchPaths, bench_ranker, national_tables
from eval.simulator import read_manifest
from features.embeddings import EmbeddingTable, PairEmbeddings
from features.pairs import PairFeatureBuilder
from matching.candidates import CandidateGenerator
from matching.encoders import HashingEncoder
from matching.frames import offers_from_frame
from matching.index import load_index
from models.scoring import learned_scores


def sourcing_part(
    paths: BenchPaths,
    *,
    sample_world: Path,
    queries: int = 300,
    k: int = 50,
    rerank: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Latency of sourcing: top-``k`` candidates for an offer out of every profile of the saved index.

    Each query is a random offer of the world: block search for ``rerank`` profiles, their pair
    features, then the ranker (trained on the sample world) keeps the best ``k``.

    Parameters
    ----------
    paths
        The national world and the work folder holding the indexes of the ``index`` part.
    sample_world
        The small world the ranker is trained on.
    queries
        Offers timed.
    k
        Candidates returned.
    rerank
        Candidates retrieved and scored by the ranker.
    seed
        Seed of the offer draw.

    Returns
    -------
    dict[str, Any]
        Settings and mean counts, ``index_load_s`` (seconds), ``profile_index_rss_mib`` (resident
        memory the loaded index added, MiB), ``total_*``, ``retrieval_*``, ``features_*`` and
        ``model_*`` latency percentiles (``p50_ms``, ``p95_ms``, ``p99_ms``, milliseconds) and
        ``peak_rss_mib``.
    """
    referential = paths.referential()
    ranker = bench_ranker(paths.rome_dir, sample_world)
    rss_before = rss_mib()
    start = time.perf_counter()
    profiles = load_index(paths.profile_index)
    profiles.block_rows  # noqa: B018 (built once at load, as serving does)
    load_s = time.perf_counter() - start
    index_rss = rss_mib() - rss_before
    offers_index = load_index(paths.offer_index)
    tables = national_tables(paths.world)
    empty = EmbeddingTable(pd.Index([]), np.zeros((0, BULK_DIM), dtype=np.float32))
    builder = PairFeatureBuilder(referential=referential, embeddings=PairEmbeddings(empty, empty)).fit(tables)
    generator = CandidateGenerator(referential=referential, encoder=HashingEncoder(dim=BULK_DIM))
    generator.load_indexes(profiles=profiles)
    rng = np.random.default_rng(seed)
    offer_ids = rng.choice(tables.offers.index.to_numpy(), size=queries, replace=False)
    offers = {o.id: o for o in offers_from_frame(tables.offers.loc[offer_ids])}
    now = pd.Timestamp(read_manifest(paths.world)["config"]["start"], tz="UTC")  # type: ignore[index]
    timings: dict[str, list[float]] = {"total": [], "retrieval": [], "features": [], "model": []}
    found: list[int] = []
    returned: list[int] = []
    for offer_id in tqdm(offer_ids.tolist(), desc="sourcing", unit="query"):
        t0 = time.perf_counter()
        query = offers_index.vectors_of(np.array([offers_index.row_of(offer_id)]))[0]
        ids, _ = generator.recommend_profiles(offers[offer_id], k=rerank, query=query)
        t1 = time.perf_counter()
        rows = profiles.rows_of(ids)
        pair_embeddings = PairEmbeddings(
            EmbeddingTable(pd.Index(ids), profiles.vectors_of(rows)),
            EmbeddingTable(pd.Index([offer_id]), query[None, :]),
        )
        X = builder.using(pair_embeddings).transform(
            pd.DataFrame({"profile_id": ids, "offer_id": offer_id, "as_of": now})
        )
        t2 = time.perf_counter()
        scores = learned_scores(ranker, X, across_people=True)
        top = ids[np.argsort(-scores, kind="stable")[:k]]
        t3 = time.perf_counter()
        found.append(len(ids))
        returned.append(len(top))
        for name, value in (
            ("total", t3 - t0),
            ("retrieval", t1 - t0),
            ("features", t2 - t1),
            ("model", t3 - t2),
        ):
            timings[name].append(1000 * value)
    out: dict[str, Any] = {
        "queries": queries,
        "profiles_indexed": len(profiles),
        "rerank": rerank,
        "k": k,
        "mean_candidates": round(float(np.mean(found)), 1),
        "mean_returned": round(float(np.mean(returned)), 1),
        "index_load_s": round(load_s, 1),
        "profile_index_rss_mib": round(index_rss, 1),
    }
    out |= flat_latencies(timings)
    out["peak_rss_mib"] = peak_rss_mib()
    return out
