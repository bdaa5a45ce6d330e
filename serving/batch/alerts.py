"""The alert batch: rank offers for every active subscription and write the alerts, crash-safe.

Nightly mode considers every open offer; incremental mode, for each subscription, only offers the
engine received after what the index of the last finished run that ranked it reflected
(``received_at`` after that run's ``offers_as_of``; every open offer when no run with an index built
from the database ranked it): an offer published through the API, or ingested days after France
Travail created it, is new to every subscription once. Withdrawn and expired offers are never sent.
A run ranks at its start moment; subscriptions are processed in chunks, and each
subscription's alerts are committed with a progress marker, so a run killed at any point (even
``kill -9``) resumes where it stopped: nothing lost, nothing duplicated (the ``(subscription, offer)``
unique key would refuse a duplicate anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from matching.domain import Subscription
from models.pipeline import RankingService
from serving.storage.market import read_market_tables
from serving.storage.store import Run, ServingStore

CHUNK = 100
CADENCE = {
    "daily": pd.Timedelta(hours=20),
    "weekly": pd.Timedelta(days=6, hours=20),
    "instant": pd.Timedelta(0),
}


@dataclass(frozen=True)
class BatchSummary:
    run_id: str
    resumed: bool
    ranking: str
    subscriptions: int
    alerts: int
    quiet: int  # subscriptions for which nothing fitted
    waiting: int = 0  # subscriptions not due yet (cadence)
    created: int = 0  # subscriptions created for new job projects
    alerted: int = 0  # subscriptions sent at least one alert


@dataclass(frozen=True)
class BatchPlan:
    """A started (or resumed) run and the subscriptions it still has to rank."""

    run: Run
    now: pd.Timestamp
    todo: list[Subscription]
    waiting: int
    created: int
    kill_switch: bool
    ranking: str
    model_version: str
    index_version: str
    offers_since: dict[str, pd.Timestamp] | None  # incremental: each subscription's "new since"


def plan_alert_batch(
    store: ServingStore, service: RankingService, *, mode: str = "nightly", as_of: datetime | None = None
) -> BatchPlan:
    """Create missing subscriptions, start or resume the run, and list the due subscriptions not yet done."""
    if mode not in {"nightly", "incremental"}:
        raise ValueError(f"unknown alert mode {mode!r}: nightly or incremental")
    created = store.ensure_subscriptions()  # every job project gets alerts, without anyone asking
    kill_switch = store.kill_switch()
    model_version = service.served_model(kill_switch)
    run = store.start_or_resume_run(
        mode,
        model_version=model_version,
        index_version=service.index_version,
        as_of=as_of,
        offers_as_of=service.index_as_of,
    )
    now = _utc(run.as_of)
    done = store.processed_subscriptions(run.id)
    todo = [s for s in store.active_subscriptions() if s.id not in done]
    # Cadence: a subscription alerted less than its period ago waits (a few hours of slack for run times).
    alerted = store.last_alerted([s.id for s in todo])
    due = [
        s
        for s in todo
        if s.id not in alerted or now - _utc(alerted[s.id]) >= CADENCE.get(str(s.cadence), pd.Timedelta(0))
    ]
    offers_since = None
    if mode == "incremental":
        offers_since = {sub: _utc(when) for sub, when in store.offers_seen([s.id for s in due]).items()}
    return BatchPlan(
        run=run,
        now=now,
        todo=due,
        waiting=len(todo) - len(due),
        created=created,
        kill_switch=kill_switch,
        ranking=service.ranking_mode(kill_switch),
        model_version=model_version,
        index_version=service.index_version,
        offers_since=offers_since,
    )


def record_ranked(
    store: ServingStore, plan: BatchPlan, batch: Sequence[Subscription], ranked: pd.DataFrame
) -> int:
    """Commit each subscription of ``batch`` with its ranked rows (none: a quiet run); returns the quiet count."""
    groups = dict(tuple(ranked.groupby("subscription_id"))) if len(ranked) else {}
    quiet = 0
    for sub in batch:
        rows = groups.get(sub.id, ranked.iloc[0:0])
        quiet += int(rows.empty)
        store.record_alerts(
            plan.run,
            sub,
            rows,
            ranking=plan.ranking,
            model_version=plan.model_version,
            index_version=plan.index_version,
        )
    return quiet


def finish_alert_batch(store: ServingStore, plan: BatchPlan, quiet: int) -> BatchSummary:
    totals = store.finish_run(plan.run.id)
    return BatchSummary(
        plan.run.id,
        plan.run.resumed,
        plan.ranking,
        totals["subscriptions"],
        totals["alerts"],
        quiet,
        plan.waiting,
        plan.created,
        totals["alerted"],
    )


def run_alert_batch(
    store: ServingStore,
    service: RankingService,
    *,
    mode: str = "nightly",
    chunk: int = CHUNK,
    as_of: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Run (or resume) the alert batch ranking at ``as_of`` (default: now); returns what the run produced."""
    plan = plan_alert_batch(store, service, mode=mode, as_of=as_of)
    # Features read the event log as it was when the run started: a resumed run ranks the same way.
    tables = read_market_tables(store.engine).events_before(plan.now)
    quiet = 0
    todo = plan.todo
    for start in range(0, len(todo), chunk):
        batch = todo[start : start + chunk]
        ranked = service.rank_for_subscriptions(
            tables,
            batch,
            store.profiles(s.profile_id for s in batch),
            now=plan.now,
            exclude=store.alerted_offers([s.id for s in batch]),
            offers_since=since_of(plan, batch),
            kill_switch=plan.kill_switch,
        )
        quiet += record_ranked(store, plan, batch, ranked)
        if progress is not None:
            progress(min(start + chunk, len(todo)), len(todo))
    return finish_alert_batch(store, plan, quiet)


def since_of(plan: BatchPlan, batch: Sequence[Subscription]) -> dict[str, pd.Timestamp] | None:
    """The plan's "new since" moments of the subscriptions of ``batch`` (``None`` in nightly mode)."""
    if plan.offers_since is None:
        return None
    return {s.id: plan.offers_since[s.id] for s in batch if s.id in plan.offers_since}


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
