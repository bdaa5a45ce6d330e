"""Latency of the serving endpoints on a small world (in-process ASGI calls, no network).

Run by ``matching bench api [--world DIR] [--encoder use] [--requests 200]``, which passes in the parts
this module must not build itself (referential, encoder, the function that loads a world into a
database) and prints the figures.

Loads the world into a throw-away SQLite database, builds the candidate indexes, trains the ranker
on the lists before the cut-off, runs the alert batch at the cut-off (throughput), then times
``GET /offers/{id}/candidates?k=50`` (sourcing), ``GET /me/alerts`` and ``POST /me/alerts/{id}/feedback``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from eval.bench.measure import latency_summary
from eval.market import MarketContext
from eval.simulator.market import World
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator
from matching.encoders import Encoder
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import train_ranker
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.container import ServingContainer
from serving.security import RateLimiter, Role
from serving.storage.db import make_engine, migrate
from serving.storage.repository import SqlRepository
from serving.storage.tables import AlertRow

WorldLoader = Callable[[World, SqlRepository], Any]
"""Writes a world's rows into a database (``entrypoints.world_loader.load_world``)."""
JOBSEEKERS = 50  # jobseekers whose alerts are read in turn: enough to avoid timing one cached page


def api_latency(
    world: World,
    referential: Referential,
    encoder: Encoder,
    load_world: WorldLoader,
    *,
    requests: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Time the serving endpoints and the alert batch on ``world``.

    Parameters
    ----------
    world
        A world with interactions (the ranker learns from the lists before its cut-off).
    referential
        The referential the world was generated on.
    encoder
        The encoder of the indexes and of the ranker's embeddings.
    load_world
        Writes the world into the throw-away database.
    requests
        Requests timed per endpoint.
    seed
        Seed of the offers and jobseekers drawn.

    Returns
    -------
    dict[str, dict[str, float]]
        ``setup``: ``seconds`` spent on embeddings, ranker and indexes; ``sourcing top-50``,
        ``my alerts`` and ``alert feedback``: latency percentiles (see
        :func:`eval.bench.measure.latency_summary`, milliseconds); ``alert batch``: ``subscriptions``,
        ``alerts``, ``seconds`` and ``subscriptions_per_s``.
    """
    started = time.perf_counter()
    ctx = MarketContext.build(world, referential, encoder)
    ranker = train_ranker(ctx.tables, ctx.builder, cutoff=ctx.cutoff).ranker
    generator = CandidateGenerator(referential=referential, encoder=encoder)
    generator.index_offers(list(world_offers(world)))
    generator.index_profiles(list(world_profiles(world)))
    generator.index_trainings(list(world_trainings(world)))
    service = RankingService(generator, ranker, "bench-ranker")
    results: dict[str, dict[str, float]] = {"setup": {"seconds": round(time.perf_counter() - started, 1)}}
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        migrate(engine)
        load_world(world, SqlRepository(engine))
        container = ServingContainer(engine=engine, referential=referential, load_service=lambda: service)
        container.limiter = RateLimiter(limit=10**9)  # the timed requests must never be throttled
        tick = time.perf_counter()
        summary = run_alert_batch(container.store, service, as_of=ctx.cutoff.to_pydatetime())
        batch_s = time.perf_counter() - tick
        with engine.connect() as connection:
            alerted = connection.execute(select(AlertRow.id, AlertRow.profile_id)).all()
        alert_of: dict[str, int] = {}
        for alert_id, profile in alerted:
            alert_of.setdefault(profile, alert_id)
        owners = sorted(alert_of)
        jobseekers = [str(p) for p in rng.choice(owners, size=min(JOBSEEKERS, len(owners)), replace=False)]
        tokens = {p: container.tokens.create(Role.JOBSEEKER, p) for p in jobseekers}
        counsellor = {"Authorization": f"Bearer {container.tokens.create(Role.COUNSELLOR, 'bench')}"}
        open_offers = ctx.open_offers(ctx.cutoff)
        timings: dict[str, list[float]] = {"sourcing top-50": [], "my alerts": [], "alert feedback": []}
        with TestClient(create_app(container)) as client:
            client.get(f"/offers/{open_offers[0]}/candidates?k=50", headers=counsellor)  # warm-up, untimed
            for offer in rng.choice(open_offers, size=requests):
                _timed(
                    timings["sourcing top-50"],
                    client.get,
                    f"/offers/{offer}/candidates?k=50",
                    headers=counsellor,
                )
            for k in range(requests):
                person = jobseekers[k % len(jobseekers)]
                headers = {"Authorization": f"Bearer {tokens[person]}"}
                _timed(timings["my alerts"], client.get, "/me/alerts", headers=headers)
                feedback = f"/me/alerts/{alert_of[person]}/feedback"
                _timed(
                    timings["alert feedback"],
                    client.post,
                    feedback,
                    headers=headers,
                    json={"action": "opened"},
                )
    results |= {name: latency_summary(samples) for name, samples in timings.items()}
    results["alert batch"] = {
        "subscriptions": float(summary.subscriptions),
        "alerts": float(summary.alerts),
        "seconds": round(batch_s, 1),
        "subscriptions_per_s": round(summary.subscriptions / batch_s, 1),
    }
    return results


def _timed(samples_ms: list[float], request: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Make one request and append its duration, in milliseconds; a failed request stops the benchmark."""
    tick = time.perf_counter()
    response = request(*args, **kwargs)
    samples_ms.append((time.perf_counter() - tick) * 1000)
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
