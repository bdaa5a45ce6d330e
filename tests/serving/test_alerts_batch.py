"""The alert batch: at most one alert per (subscription, offer), and kill -9 mid-run loses nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from eval.simulator import World
from matching.domain import Subscription
from matching.encoders import HashingEncoder
from matching.referential import Referential
from models.pipeline import RankingService
from models.ranker import LambdaRankRanker
from models.training import TrainingResult
from serving.batch.alerts import run_alert_batch
from serving.storage.db import make_engine
from serving.storage.store import ServingStore
from serving.storage.tables import AlertRow, AlertRunItemRow, AlertRunRow, InteractionRow, OutboxRow

AS_OF = datetime(2025, 2, 17, tzinfo=UTC)
KILLS = 30  # SIGKILLs at random moments of one run, each followed by a restart


def _loaded(engine: Engine, load_small_world: Callable[[Engine], None]) -> ServingStore:
    load_small_world(engine)
    return ServingStore(engine)


def _alerts(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return sorted(
            [tuple(r) for r in connection.execute(select(AlertRow.subscription_id, AlertRow.offer_id))]
        )


def _service(index_dir: Path, builtin: Referential) -> RankingService:
    from matching.candidates import load_generator

    return RankingService(load_generator(index_dir, builtin, HashingEncoder()))


@pytest.fixture(scope="module")
def reference(
    small_world: World,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[str, str]]:
    """The alerts of one uninterrupted run."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.sqlite'}")
    store = _loaded(engine, load_small_world)
    summary = run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF)
    assert summary.alerts > 100 and summary.subscriptions == len(small_world.subscriptions)
    return _alerts(engine)


def test_second_run_alerts_nothing_twice(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    reference: list[tuple[str, str]],
) -> None:
    store = _loaded(engine, load_small_world)
    service = _service(index_dir, builtin)
    first = run_alert_batch(store, service, as_of=AS_OF)
    assert _alerts(engine) == reference
    second = run_alert_batch(store, service, as_of=AS_OF)
    assert second.run_id != first.run_id
    assert second.alerts == 0 and second.waiting > 0  # weekly subscriptions are not due again the same day
    third = run_alert_batch(store, service, as_of=AS_OF + timedelta(days=7))
    assert third.alerts > 0
    alerts = _alerts(engine)
    assert len(alerts) == len(set(alerts))  # (subscription, offer) unique across runs
    assert set(reference) <= set(alerts)


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.slow
def test_sigkill_mid_run_loses_and_duplicates_nothing(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    index_dir: Path,
    reference: list[tuple[str, str]],
    tmp_path: Path,
) -> None:
    """30 SIGKILLs at random moments of one run, each followed by a restart: the alerts, outbox rows
    and logged events are exactly those of an uninterrupted run."""
    _loaded(engine, load_small_world)
    started = datetime.now(UTC)
    url = engine.url.render_as_string(hide_password=False)
    command = [
        sys.executable,
        "-m",
        "entrypoints",
        "alerts",
        "run",
        "--index",
        str(index_dir),
        "--encoder",
        "hashing",
        "--as-of",
        AS_OF.strftime("%Y-%m-%dT%H:%M:%S"),
        "--chunk",
        "5",
        "--database-url",
        url,
    ]
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MATCHING_CACHE_DIR": str(tmp_path),
    }
    rng = random.Random(8)
    kills = 0
    log_path = tmp_path / "batch.log"
    while kills < KILLS:
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            before = _count(engine, AlertRunItemRow)
            deadline = time.monotonic() + 120
            # once it commits, let it run a random few milliseconds more, then kill it mid-write
            while process.poll() is None and time.monotonic() < deadline:
                if _count(engine, AlertRunItemRow) > before:
                    time.sleep(rng.uniform(0.0, 0.03))
                    process.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.01)
            else:
                pytest.fail(
                    f"the batch ended or hung before kill {kills + 1}: {log_path.read_text()[-1500:]}"
                )
            process.wait(timeout=60)
    finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    assert "(resumed)" in finish.stdout
    alerts = _alerts(engine)
    assert alerts == reference  # 0 lost, 0 duplicated
    assert _count(engine, OutboxRow) == len(alerts)
    with engine.connect() as connection:
        sent = connection.scalar(
            select(func.count())
            .select_from(InteractionRow)
            .where(InteractionRow.event == "alert_sent", InteractionRow.occurred_at >= started)
        )
        runs = connection.execute(select(AlertRunRow.status)).scalars().all()
    assert sent == len(alerts)
    assert runs == ["done"]


def test_rotation_among_near_equal_candidates() -> None:
    import pandas as pd

    from models.pipeline import rotate_by_exposure

    frame = pd.DataFrame({"profile_id": ["a", "b", "c", "d"], "score": [1.00, 0.99, 0.50, 0.0]})
    assert rotate_by_exposure(frame, {})["profile_id"].tolist() == ["a", "b", "c", "d"]
    # a was shown often: b (near-equal) goes first; c stays below (not near-equal)
    assert rotate_by_exposure(frame, {"a": 5})["profile_id"].tolist() == ["b", "a", "c", "d"]
    assert rotate_by_exposure(frame, {"a": 5, "b": 5, "c": 0})["profile_id"].tolist()[:2] == ["a", "b"]
    assert rotate_by_exposure(frame.iloc[:0], {}).empty
    negative = frame.assign(score=frame["score"] - 1000.0)  # learned scores can be negative
    assert rotate_by_exposure(negative, {"a": 5})["profile_id"].tolist() == ["b", "a", "c", "d"]


def test_every_job_project_gets_a_subscription(
    engine: Engine, load_small_world: Callable[[Engine], None], builtin: Referential, index_dir: Path
) -> None:
    from serving.storage.tables import SubscriptionRow

    store = _loaded(engine, load_small_world)
    with engine.begin() as connection:
        connection.execute(
            SubscriptionRow.__table__.delete().where(SubscriptionRow.profile_id.in_(["P0000001", "P0000002"]))
        )
    summary = run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF)
    assert summary.created == 2
    created = store.subscription_of("P0000001")
    profile = store.profiles(["P0000001"])["P0000001"]
    assert created is not None and created.rome_codes == profile.rome_codes and created.active
    assert run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF).created == 0


def test_partitions_follow_rome_blocks_and_are_balanced() -> None:
    from serving.batch.distributed import partition_by_block

    subs = [
        Subscription(id=f"S{k}", profile_id=f"P{k}", rome_codes=(code,))
        for k, code in enumerate(["A1101"] * 50 + ["B1101"] * 30 + ["C1101"] * 15 + ["D1101"] * 5)
    ]
    parts = partition_by_block(subs, 4)
    assert sorted(s.id for p in parts for s in p) == sorted(s.id for s in subs)  # each exactly once
    assert max(len(p) for p in parts) <= 30  # the 50-strong block is split at the target size, 25
    for code in ("C1101", "D1101"):  # blocks no larger than a partition (25) stay whole
        holders = [k for k, part in enumerate(parts) if any(s.rome_codes[0] == code for s in part)]
        assert len(holders) == 1, code
    assert partition_by_block(subs, 4) == parts  # deterministic: a resumed run partitions the same way
    with pytest.raises(ValueError, match="at least 1"):
        partition_by_block(subs, 0)


def test_partition_count_bounds_the_partition_size() -> None:
    from serving.batch.distributed import PARTITION_MAX, partition_count

    assert partition_count(100, 2) == 8  # small runs: 4 per worker
    assert partition_count(1_000_000, 2) == -(-1_000_000 // PARTITION_MAX)  # large runs: bounded size
    assert partition_count(1_000_000, 2, per_worker=1_000) == 2_000


def test_windowed_results_keeps_a_bounded_window_in_flight() -> None:
    """Every item's result comes back exactly once, with a bounded number of tasks submitted ahead."""
    from distributed import Client

    from serving.batch.distributed import windowed_results

    submitted: list[int] = []
    handed: list[int] = []
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:

        def submit(item: int) -> object:
            submitted.append(item)
            # the window, plus the task submitted when a result is read, before it is handed over
            assert len(submitted) - len(handed) <= 3 + 1
            return client.submit(lambda x: x * x, item, pure=False)

        for item, result in windowed_results(range(10), submit, window=3):
            assert result == item * item
            handed.append(item)
        with pytest.raises(ValueError, match="at least 1"):
            next(windowed_results(range(2), submit, window=0))
    assert sorted(handed) == list(range(10)) and sorted(submitted) == list(range(10))


@pytest.mark.slow
def test_dask_batch_equals_the_sequential_batch(
    engine: Engine,
    small_world: World,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    reference: list[tuple[str, str]],
    tmp_path: Path,
) -> None:
    """Two worker processes of a LocalCluster rank the partitions; the alerts are those of one process."""
    from mlflow import MlflowClient

    from entrypoints.bootstrap import database_loader
    from serving.batch.distributed import dask_client, run_alert_batch_dask

    store = _loaded(engine, load_small_world)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # an empty model store: rule-based, as the reference
    MlflowClient(tracking_uri).search_registered_models()  # created once here, not by two workers at once
    loader = database_loader(
        engine.url.render_as_string(hide_password=False),
        index_dir=index_dir,
        encoder_spec="hashing",
        tracking_uri=tracking_uri,
    )
    with dask_client(workers=2) as client:
        summary = run_alert_batch_dask(
            store, _service(index_dir, builtin), client, loader, as_of=AS_OF, partitions=6
        )
        assert len(client.scheduler_info()["workers"]) == 2
    assert summary.subscriptions == len(small_world.subscriptions)
    assert _alerts(engine) == reference


def _sent_offers(engine: Engine) -> dict[str, list[str]]:
    """Offer ids alerted to each subscription."""
    with engine.connect() as connection:
        rows = connection.execute(select(AlertRow.subscription_id, AlertRow.offer_id)).all()
    out: dict[str, list[str]] = {}
    for subscription, offer in rows:
        out.setdefault(subscription, []).append(offer)
    return out


def test_declared_contracts_are_respected_unless_the_person_opts_in(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    reference: list[tuple[str, str]],
) -> None:
    from matching.domain import accepted_contract_codes
    from serving.storage.repository import SqlRepository

    store = _loaded(engine, load_small_world)
    subscriptions = {s.id: s for s in store.active_subscriptions()}
    contract_of = {o.id: o.contract_type for o in SqlRepository(engine).live_offers(AS_OF.date())}
    declared = {k: s for k, s in subscriptions.items() if s.contract_types}
    assert declared, "the small world declares contracts"

    def outside(sent: dict[str, list[str]], subs: dict[str, Subscription]) -> int:
        return sum(
            1
            for sub_id, offers in sent.items()
            if subs[sub_id].contract_types
            for o in offers
            if contract_of.get(o) is not None
            and contract_of[o].value
            not in accepted_contract_codes(c.value for c in subs[sub_id].contract_types)
        )

    # the reference run (nobody opted in): no alert carries a contract the person did not declare
    ref: dict[str, list[str]] = {}
    for sub_id, offer in reference:
        ref.setdefault(sub_id, []).append(offer)
    assert outside(ref, subscriptions) == 0
    from eval.served import declared_contracts_respected

    run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF)
    measured = declared_contracts_respected(engine)  # what `matching eval served` prints
    assert measured["alerts_declaring"] > 0 and measured["alerts_outside"] == 0
    # opting in widens the alerts to other contracts (each of them labelled on the page)
    for sub_id in declared:
        store.update_subscription(sub_id, {"beyond_criteria": True})
    run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF)
    assert outside(_sent_offers(engine), {s.id: s for s in store.active_subscriptions()}) > 0


def test_a_refused_occupation_is_not_alerted_again(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    reference: list[tuple[str, str]],
) -> None:
    from serving.storage.repository import SqlRepository

    store = _loaded(engine, load_small_world)
    offers = {o.id: o for o in SqlRepository(engine).live_offers(AS_OF.date())}
    sent: dict[str, list[str]] = {}
    for sub_id, offer in reference:
        sent.setdefault(sub_id, []).append(offer)
    # for each subscription, exclude the appellation or code of the first offer it was sent
    excluded = {}
    for sub in store.active_subscriptions():
        first = offers.get(next(iter(sent.get(sub.id, [])), ""))
        if first is None:
            continue
        code = first.appellation_code if first.rome_code in sub.rome_codes else first.rome_code
        if code:
            excluded[sub.id] = code
            store.update_subscription(sub.id, {"excluded_occupations": [code]})
    assert len(excluded) > 10
    run_alert_batch(store, _service(index_dir, builtin), as_of=AS_OF)
    for sub_id, offer_ids in _sent_offers(engine).items():
        code = excluded.get(sub_id)
        assert code is None or all(
            code not in (offers[o].rome_code, offers[o].appellation_code) for o in offer_ids
        )


def test_the_learned_ranker_sends_no_alert_on_which_a_stated_reason_binds(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    builtin: Referential,
    index_dir: Path,
    small_ranker: TrainingResult,
) -> None:
    """The alert batch drops every candidate ``ranker.binding`` flags (a stated reason the person holds
    to): here a strength planted on ``offer_permanent`` binds every CDI offer for everybody."""
    import copy

    from matching.candidates import load_generator
    from models.refusals import StatedStrength
    from serving.storage.repository import SqlRepository

    store = _loaded(engine, load_small_world)
    contract_of = {o.id: o.contract_type.value for o in SqlRepository(engine).live_offers(AS_OF.date())}

    def cdi_alerts(ranker: LambdaRankRanker) -> tuple[int, int]:
        service = RankingService(load_generator(index_dir, builtin, HashingEncoder()), ranker, "test@v1")
        run_alert_batch(store, service, as_of=AS_OF)
        sent = [o for offers in _sent_offers(engine).values() for o in offers]
        return sum(contract_of.get(o) == "CDI" for o in sent), len(sent)

    learned = copy.deepcopy(small_ranker.ranker)
    learned.stated_strength_ = StatedStrength({})
    permanent, total = cdi_alerts(learned)
    assert permanent > 0 and total > 0
    with engine.begin() as connection:  # a fresh batch on the same world
        for table in (AlertRunItemRow, AlertRunRow, OutboxRow, AlertRow):
            connection.execute(table.__table__.delete())
    learned.stated_strength_ = StatedStrength({"offer_permanent": 1.0})
    permanent, total = cdi_alerts(learned)
    assert permanent == 0 and total > 0
