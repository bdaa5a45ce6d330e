"""Latency of the serving endpoints on the sample world (in-process ASGI calls, no network).

    python -m eval.bench.api [--world DIR] [--encoder use] [--requests 200]

Loads the world into a throw-away SQLite database, builds the candidate indexes, trains the ranker
on the lists before the cut-off, runs the alert batch at the cut-off (throughput printed), then times
``GET /offers/{id}/candidates?k=50`` (sourcing), ``GET /me/alerts`` and ``POST /me/alerts/{id}/feedback``.
Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from entrypoints import bootstrap
from entrypoints.world_loader import load_world
from eval.market import MarketContext
from eval.simulator import read_world
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator
from models.pipeline import RankingService
from models.training import train_ranker
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.container import ServingContainer
from serving.security import RateLimiter, Role
from serving.storage.db import make_engine, migrate
from serving.storage.repository import SqlRepository


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {f"p{q}": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)} | {
        "n": float(len(values))
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, default=None, help="world folder (default: the sample world)")
    parser.add_argument("--encoder", default=None, help="encoder spec (default: MATCHING_ENCODER or e5)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    args = parser.parse_args()
    settings = bootstrap.get_settings()
    world = read_world(args.world or settings.sample_dir)
    referential = bootstrap.referential()
    encoder = bootstrap.encoder(spec=args.encoder)
    started = time.perf_counter()
    ctx = MarketContext.build(world, referential, encoder)
    ranker = train_ranker(ctx.tables, ctx.builder, cutoff=ctx.cutoff).ranker
    generator = CandidateGenerator(referential, encoder)
    generator.index_offers(list(world_offers(world)))
    generator.index_profiles(list(world_profiles(world)))
    generator.index_trainings(list(world_trainings(world)))
    bootstrap.save_cache(encoder)
    print(
        f"setup (embeddings, ranker, indexes): {time.perf_counter() - started:.0f} s, encoder {encoder.name}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        migrate(engine)
        load_world(world, SqlRepository(engine))
        service = RankingService(generator, ranker, "bench-ranker")
        container = ServingContainer(engine=engine, referential=referential, load_service=lambda: service)
        container.limiter = RateLimiter(limit=10**9)
        tick = time.perf_counter()
        summary = run_alert_batch(container.store, service, as_of=ctx.cutoff.to_pydatetime())
        batch_s = time.perf_counter() - tick
        rng = np.random.default_rng(0)
        open_offers = ctx.open_offers(ctx.cutoff)
        with engine.connect() as connection:
            from sqlalchemy import select

            from serving.storage.tables import AlertRow

            alerted = connection.execute(select(AlertRow.id, AlertRow.profile_id)).all()
        owners = sorted({profile for _, profile in alerted})
        tokens = {
            p: container.tokens.create(Role.JOBSEEKER, p)
            for p in rng.choice(owners, size=min(50, len(owners)), replace=False)
        }
        counsellor = container.tokens.create(Role.COUNSELLOR, "bench")
        timings: dict[str, list[float]] = {"sourcing top-50": [], "my alerts": [], "alert feedback": []}
        with TestClient(create_app(container)) as client:
            client.get(
                f"/offers/{open_offers[0]}/candidates?k=50", headers={"Authorization": f"Bearer {counsellor}"}
            )
            for offer in rng.choice(open_offers, size=args.requests):
                tick = time.perf_counter()
                response = client.get(
                    f"/offers/{offer}/candidates?k=50", headers={"Authorization": f"Bearer {counsellor}"}
                )
                timings["sourcing top-50"].append((time.perf_counter() - tick) * 1000)
                assert response.status_code == 200, response.text
            people = list(tokens)
            alert_of: dict[str, int] = {}
            for alert_id, profile in alerted:
                alert_of.setdefault(profile, alert_id)
            for k in range(args.requests):
                person = people[k % len(people)]
                headers = {"Authorization": f"Bearer {tokens[person]}"}
                tick = time.perf_counter()
                response = client.get("/me/alerts", headers=headers)
                timings["my alerts"].append((time.perf_counter() - tick) * 1000)
                assert response.status_code == 200, response.text
                tick = time.perf_counter()
                response = client.post(
                    f"/me/alerts/{alert_of[person]}/feedback", headers=headers, json={"action": "opened"}
                )
                timings["alert feedback"].append((time.perf_counter() - tick) * 1000)
                assert response.status_code == 200, response.text
    results = {name: percentiles(values) for name, values in timings.items()}
    results["alert batch"] = {
        "subscriptions": float(summary.subscriptions),
        "alerts": float(summary.alerts),
        "seconds": round(batch_s, 1),
        "subscriptions_per_s": round(summary.subscriptions / batch_s, 1),
    }
    print(f"cores: {os.cpu_count()}, world: {len(world.profiles):,} profiles, {len(world.offers):,} offers")
    for name, row in results.items():
        print(f"{name:>18}: " + ", ".join(f"{k} {v:g}" for k, v in row.items()))
    print(json.dumps({"encoder": encoder.name, **results}))


if __name__ == "__main__":
    main()
