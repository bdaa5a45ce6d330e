"""Throughput of the alert dispatcher: digests rendered and handed to a real SMTP server per second.

Run by ``matching bench delivery [--people 20000] [--per-digest 5]``. Builds a throw-away SQLite
database with ``people`` simulated people (the built-in referential's offers, subscriptions by
e-mail, addresses over 20 domains), each with ``per_digest`` alerts waiting in the outbox, starts an
SMTP server on loopback in its own process (aiosmtpd, messages discarded once accepted, as a relay
that queues them would), and times one dispatcher run end to end: gathering rows into digests,
rendering each (HTML and text, signed links), handing it over (``MAIL``, ``RCPT``, ``DATA``, the
``handing`` commit, the final dot, the ``sent`` commit).
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from eval.simulator import MarketConfig, simulate_market
from eval.simulator.records import world_offers, world_profiles
from matching.clock import Clock
from matching.geo import Communes
from matching.referential import Referential
from serving.batch.delivery import deliver_digests
from serving.container import ServingContainer
from serving.links import LinkSigner, MailSettings
from serving.mail.digest import DigestComposer
from serving.mail.transport import SmtpSettings, SmtpTransport
from serving.storage.db import make_engine, migrate
from serving.storage.delivery import PARIS, DeliveryStore
from serving.storage.repository import SqlRepository
from serving.storage.tables import AlertRow, ContactRow, OutboxRow, SubscriptionRow

DOMAINS = [f"fai{i}.example" for i in range(20)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _smtp_sink(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd in its own process, accepting and discarding every message (``Sink``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the SMTP server did not start")


def delivery_throughput(
    referential: Referential,
    communes: Communes,
    *,
    people: int = 20_000,
    per_digest: int = 5,
    shards: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the dispatcher once over ``people`` digests; returns its figures.

    With ``shards`` > 1, that many ``matching alerts deliver --shard i/n`` processes run together
    (their start included in the time), as dispatchers scaled out would.

    Returns
    -------
    dict
        ``digests`` sent, ``seconds``, ``digests_per_s``, the share of time per phase (one
        dispatcher), and ``hours_for_1m``: the time for a million digests at that rate.
    """
    rng = random.Random(seed)
    world = simulate_market(
        referential,
        communes,
        MarketConfig(n_profiles=people, n_offers=2000, n_trainings=10, months=1, seed=seed),
    )
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        migrate(engine)
        repository = SqlRepository(engine)
        repository.upsert_profiles(list(world_profiles(world)))
        offers = list(world_offers(world))
        repository.upsert_offers(offers)
        now = datetime.now(PARIS).replace(hour=12).astimezone(UTC)
        ids = world.profiles["id"].tolist()
        with engine.begin() as connection:
            connection.execute(
                insert(SubscriptionRow),
                [
                    {
                        "id": f"S{p}",
                        "profile_id": p,
                        "rome_codes": ["K1304"],
                        "radius_km": 30.0,
                        "contract_types": [],
                        "excluded_contract_types": [],
                        "excluded_occupations": [],
                        "channel": "email",
                        "cadence": "daily",
                        "max_alerts_per_run": per_digest,
                        "active": True,
                        "quiet_from": None,
                        "quiet_until": None,
                    }
                    for p in ids
                ],
            )
            connection.execute(
                insert(ContactRow),
                [
                    {"profile_id": p, "email": f"{p.lower()}@{rng.choice(DOMAINS)}", "updated_at": now}
                    for p in ids
                ],
            )
            alerts = [
                {
                    "subscription_id": f"S{p}",
                    "profile_id": p,
                    "offer_id": o.id,
                    "run_id": "bench",
                    "rank": r + 1,
                    "score": 1.0 - r / 10,
                    "created_at": now - timedelta(hours=1),
                    "status": "new",
                }
                for p in ids
                for r, o in enumerate(rng.sample(offers, per_digest))
            ]
            connection.execute(insert(AlertRow), alerts)
            rows = (
                connection.execute(AlertRow.__table__.select().with_only_columns(AlertRow.id)).scalars().all()
            )
            connection.execute(
                insert(OutboxRow),
                [{"alert_id": a, "channel": "email", "payload": {}, "created_at": now} for a in rows],
            )
        mail = MailSettings(
            sender="Alertes <alertes@bench.example>",
            base_url="https://alertes.example",
            signer=LinkSigner("b" * 40),
        )
        container = ServingContainer(
            engine=engine,
            referential=referential,
            load_service=_no_service,
            communes=communes,
            clock=Clock(),
            mail=mail,
        )
        port = _free_port()
        server = _smtp_sink(port)
        try:
            if shards > 1:
                engine.dispose()
                return _sharded(Path(folder) / "bench.sqlite", port, shards, people, per_digest)
            transport = SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{port}"))
            summary = deliver_digests(
                DeliveryStore(engine),
                DigestComposer(container, mail),
                transport,
                rate_per_domain=1e9,
                now=now,
            )
        finally:
            server.kill()
            server.wait()
        engine.dispose()
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    other = summary.seconds - summary.render_seconds - summary.handover_seconds
    return {
        "people": people,
        "alerts_per_digest": per_digest,
        "digests": summary.sent,
        "seconds": round(summary.seconds, 1),
        "digests_per_s": round(rate, 1),
        "hours_for_1m": round(1_000_000 / rate / 3600, 2) if rate else None,
        "share_render": round(summary.render_seconds / summary.seconds, 3),
        "share_handover": round(summary.handover_seconds / summary.seconds, 3),
        "share_gather_and_reads": round(other / summary.seconds, 3),
    }


def _sharded(database: Path, port: int, shards: int, people: int, per_digest: int) -> dict[str, Any]:
    """``shards`` dispatcher processes on one database and one server; their wall time."""
    command = [
        sys.executable, "-m", "entrypoints", "alerts", "deliver", "--smtp-url", f"smtp://127.0.0.1:{port}",
        "--database-url", f"sqlite:///{database}", "--rate-per-domain", "1000000000",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MATCHING_LINK_SECRET": "b" * 40,
        "MATCHING_MAIL_FROM": "Alertes <alertes@bench.example>",
    }
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [*command, "--shard", f"{i}/{shards}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(shards)
    ]
    outputs = [p.communicate()[0] for p in processes]
    seconds = time.perf_counter() - started
    if any(p.returncode for p in processes):
        raise RuntimeError("a dispatcher failed: " + " | ".join(o.strip()[-300:] for o in outputs))
    sent = sum(int(m.replace(",", "")) for o in outputs for m in re.findall(r"([\d,]+) sent", o))
    rate = sent / seconds
    return {
        "people": people,
        "alerts_per_digest": per_digest,
        "dispatchers": shards,
        "digests": sent,
        "seconds": round(seconds, 1),
        "digests_per_s": round(rate, 1),
        "hours_for_1m": round(1_000_000 / rate / 3600, 2) if rate else None,
    }


def _no_service() -> Any:
    raise RuntimeError("the dispatcher ranks nothing")
