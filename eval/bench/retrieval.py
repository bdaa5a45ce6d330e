"""Retrieval benchmark: encoder speed, candidate recall of applied/hired offers, query latency.

Run ``python -m eval.bench.retrieval --help``. Prints a table and, last, one JSON line with every
figure. Needs the reference data (official ROME export, La Poste communes, real offers).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from entrypoints import bootstrap
from entrypoints.settings import get_settings
from eval.simulator import MarketConfig, simulate_market
from eval.simulator.records import world_offers, world_profiles
from matching.candidates import CandidateGenerator
from matching.encoders import Encoder, SentenceTransformerEncoder, USEEncoder
from matching.encoders.e5_builder import build_e5_model
from matching.ingest import parse_offers, read_offer_records
from matching.views import clean_title, offer_view, profile_view

app = typer.Typer(add_completion=False)


def encoder_speed(encoder: Encoder, texts: list[str], kind: str = "document") -> float:
    """Sentences per second (after one warm-up batch)."""
    encode = encoder.encode_document if kind == "document" else encoder.encode_query
    encode(texts[:32])
    start = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - start)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(samples_ms, q)) for q in (50, 95, 99)}


@app.command()
def main(
    reference_data: Annotated[Path, typer.Option(envvar="MATCHING_REFERENCE_DATA")] = Path("../shared/data"),
    recall_profiles: int = 20_000,
    recall_offers: int = 10_000,
    latency_offers: int = 100_000,
    queries: int = 300,
    seed: int = 1,
    skip_speed: Annotated[bool, typer.Option(help="Skip the encoder speed part.")] = False,
    skip_recall: Annotated[bool, typer.Option(help="Skip the recall part.")] = False,
    latency_encoder: Annotated[str, typer.Option(help="'use' (fast to build 100k) or 'e5-int8'.")] = "use",
) -> None:
    settings = get_settings()
    rome_dir = reference_data / "rome_v460"
    communes_file = reference_data / "communes" / "laposte_hexasmal_latlon.csv"
    ref = bootstrap.referential(rome_dir=rome_dir)
    geo = bootstrap.communes(communes_file=communes_file)
    results: dict[str, Any] = {"cores": os.cpu_count()}

    # 1. encoder speed on real offers: full ROME-aware views (documents) and cleaned titles (queries)
    real, _ = parse_offers(
        read_offer_records(reference_data / "offers_ft_api_v2" / "offers.json"), referential=ref
    )
    docs = [offer_view(o, ref) for o in real[:512]]
    titles = [clean_title(o.title) for o in real[:1024]]
    folder = build_e5_model(settings.model_dir)
    e5 = SentenceTransformerEncoder(folder)
    e5_int8 = SentenceTransformerEncoder(folder, int8=True)
    e5_int8_128 = SentenceTransformerEncoder(folder, int8=True, max_seq_length=128)
    use = USEEncoder()
    speed_encoders: list[tuple[str, Encoder]] = [
        ("e5 fp32", e5),
        ("e5 int8", e5_int8),
        ("e5 int8 128 tokens", e5_int8_128),
        ("use", use),
    ]
    for name, enc in [] if skip_speed else speed_encoders:
        results[f"encoder {name} documents/s"] = encoder_speed(enc, docs)
        results[f"encoder {name} titles/s"] = encoder_speed(enc, titles, "query")
        typer.echo(
            f"encoder {name}: {results[f'encoder {name} documents/s']:.0f} offer views/s, {results[f'encoder {name} titles/s']:.0f} titles/s"
        )

    # 2. recall@100 of offers people later applied to or were hired on, in a simulated market
    if not skip_recall:
        recall_part(ref, geo, e5_int8_128, recall_profiles, recall_offers, seed, results)
    latency_part(
        ref, geo, use if latency_encoder == "use" else e5_int8, latency_offers, queries, seed, results
    )
    typer.echo(json.dumps(results))


def recall_part(
    ref: Any, geo: Any, encoder: Encoder, n_profiles: int, n_offers: int, seed: int, results: dict[str, Any]
) -> None:
    """Recall@100 of offers people later applied to or were hired on, in a simulated market."""
    config = MarketConfig(n_profiles=n_profiles, n_offers=n_offers, n_trainings=0, months=3, seed=seed)
    world = simulate_market(ref, geo, config)
    events = world.interactions
    positives = events[events["event"].isin(["applied", "hired"])].groupby("profile_id")["offer_id"].agg(set)
    profiles = {p.id: p for p in world_profiles(world) if p.id in positives.index}
    generator = CandidateGenerator(ref, encoder)
    start = time.perf_counter()
    generator.index_offers(list(world_offers(world)))
    results["recall index build s"] = time.perf_counter() - start
    for strict in (True, False):
        hits = total = 0
        for pid, relevant in positives.items():
            ids, _ = generator.recommend_offers(profiles[str(pid)], k=100, respect_preferences=strict)
            hits += len(relevant & set(ids.tolist()))
            total += len(relevant)
        key = f"recall@100 applied/hired ({'declared preferences' if strict else 'radius only'})"
        results[key] = hits / total
        typer.echo(f"{key}: {hits / total:.3f} over {total} pairs, {len(positives)} people")


def latency_part(
    ref: Any, geo: Any, encoder: Encoder, n_offers: int, n_queries: int, seed: int, results: dict[str, Any]
) -> None:
    """Query latency at ``n_offers`` offers. Search cost depends on the index (size, dimension, block
    sizes), not on which texts were embedded, so offers are embedded from their titles alone to keep the
    build short; queries encode full profile views."""
    big = simulate_market(
        ref,
        geo,
        MarketConfig(n_profiles=n_queries, n_offers=n_offers, n_trainings=0, months=0, seed=seed + 1),
    )
    offers = list(world_offers(big))
    generator = CandidateGenerator(ref, encoder)
    start = time.perf_counter()
    generator.index_offers(offers, vectors=encoder.encode_document([clean_title(o.title) for o in offers]))
    results[f"index {n_offers} build s ({encoder.name}, titles)"] = time.perf_counter() - start
    people = list(world_profiles(big))
    timings: dict[str, list[float]] = {
        "recommend_offers (encode + blocked exact search)": [],
        "blocked exact search only": [],
        "open IVF search only": [],
    }
    index = generator.offers_
    assert index is not None
    distinct = len({tuple(np.round(v, 5)) for v in index.vectors_[: min(20_000, len(index.vectors_))]})
    typer.echo(f"distinct vectors among the first 20,000 offers: {distinct:,}")
    for person in people:
        start = time.perf_counter()
        generator.recommend_offers(person, k=100)
        timings["recommend_offers (encode + blocked exact search)"].append(
            (time.perf_counter() - start) * 1000
        )
        query = encoder.encode_query([profile_view(person, ref)])[0]
        blocks = generator.neighbourhood.outgoing(person.rome_codes, generator.expansion)
        start = time.perf_counter()
        index.search_blocks(query, blocks, 100)
        timings["blocked exact search only"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        index.search_open(query, 100)
        timings["open IVF search only"].append((time.perf_counter() - start) * 1000)
    for name, samples in timings.items():
        stats = percentiles(samples)
        results[f"latency {name} at {n_offers} offers ms ({encoder.name})"] = stats
        typer.echo(
            f"latency {name} at {n_offers:,} offers ({encoder.name}): p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, p99 {stats['p99']:.1f} ms"
        )
    recall, id_recall = [], []
    for person in people[:100]:
        query = encoder.encode_query([profile_view(person, ref)])[0]
        approx, _ = index.search_open(query, 50)
        exact, exact_scores = index.brute_force(query, 50)
        # tie-aware: many offers share a title, so any item scoring at least the 50th exact score is
        # a correct answer; recall by id would count equal-score swaps as misses
        approx_scores = index.vectors_[[index._row_of[i] for i in approx]] @ query
        recall.append(float(np.sum(approx_scores >= exact_scores[-1] - 1e-6)) / 50)
        id_recall.append(len(set(approx) & set(exact)) / 50)
    results["open search recall@50 by id (ties count as misses)"] = float(np.mean(id_recall))
    results["open search recall@50 vs exact"] = float(np.mean(recall))
    typer.echo(
        f"open search recall@50 vs exact at {n_offers:,} offers: {np.mean(recall):.3f} (by id: {np.mean(id_recall):.3f})"
    )


if __name__ == "__main__":
    app()
