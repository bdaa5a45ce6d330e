"""The alert batch on Dask (``dask.distributed``): subscriptions partitioned by ROME block, ranked on
workers, committed by the driver.

* **Partitions**: subscriptions are grouped by the first ROME code of their project (their block:
  people of a block share candidate offers, so a worker's caches stay warm) and the blocks packed,
  largest first, into partitions of about equal size; a block larger than a partition is split. The
  packing depends only on the list of subscriptions, so a resumed run partitions the same way. A
  partition holds at most :data:`PARTITION_MAX` subscriptions, and only a window of partitions is
  submitted at a time (two per worker), so memory does not grow with the number of subscriptions.
* **Workers** load what ranking needs once per process (candidate indexes, champion ranker, tables as
  of the run's moment) through a picklable ``loader`` (a module-level function with its arguments),
  cached under the run's key; a task ranks one partition and returns the ranked rows with the model
  it used. The driver refuses rows ranked by another model than the one the run logs (fail closed).
* **Idempotent per partition**: the driver commits each subscription of a finished partition with
  its progress marker (:func:`serving.batch.alerts.record_ranked`); a killed run, started again,
  re-ranks only subscriptions without a marker, and ``(subscription, offer)`` is a unique key.

``LocalCluster`` (one single-threaded worker process per core) by default; ``scheduler`` names a
running scheduler (``dask scheduler`` + ``dask worker`` on other machines, which then need the same
index folder, model store and database URL).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd

from features.tables import MarketTables
from matching.domain import Profile, Subscription
from models.pipeline import RankingService
from serving.batch.alerts import BatchSummary, finish_alert_batch, plan_alert_batch, record_ranked, since_of
from serving.storage.store import ServingStore

Context = tuple[RankingService, MarketTables]
T = TypeVar("T")
Loader = Callable[[], Context]
_CONTEXTS: dict[str, Context] = {}  # per worker process: the context of the run in progress
# Subscriptions ranked together inside a partition: bounds the candidate pool held at once (≈100 each).
RANK_CHUNK = 1000
# Most subscriptions in one partition: keeps each task's payload (people, alerted offers) a few MiB.
PARTITION_MAX = 4000
# Partitions in flight per worker: one running, one queued, so a worker never waits on the driver.
IN_FLIGHT_PER_WORKER = 2


def partition_by_block(subscriptions: Sequence[Subscription], n_partitions: int) -> list[list[Subscription]]:
    """Subscriptions packed by ROME block into at most ``n_partitions`` balanced, non-empty partitions."""
    if n_partitions < 1:
        raise ValueError("n_partitions must be at least 1")
    blocks: dict[str, list[Subscription]] = defaultdict(list)
    for sub in subscriptions:
        blocks[sub.rome_codes[0]].append(sub)
    target = max(1, -(-len(subscriptions) // n_partitions))  # ceiling
    pieces: list[tuple[str, list[Subscription]]] = []
    for block in sorted(blocks, key=lambda b: (-len(blocks[b]), b)):
        members = blocks[block]
        pieces.extend((block, members[a : a + target]) for a in range(0, len(members), target))
    partitions: list[list[Subscription]] = [[] for _ in range(n_partitions)]
    lightest = [(0, k) for k in range(n_partitions)]
    for _block, piece in pieces:
        size, k = heapq.heappop(lightest)
        partitions[k].extend(piece)
        heapq.heappush(lightest, (size + len(piece), k))
    return [p for p in partitions if p]


def partition_count(subscriptions: int, workers: int, per_worker: int = 4) -> int:
    """Partitions for a run: ``per_worker`` per worker, more when they would exceed :data:`PARTITION_MAX`."""
    return max(per_worker * workers, -(-subscriptions // PARTITION_MAX))


def windowed_results(
    items: Sequence[T], submit: Callable[[T], Any], *, window: int
) -> Iterator[tuple[T, Any]]:
    """``(item, result)`` as each task finishes, with at most ``window`` tasks submitted at a time.

    ``submit(item)`` returns a Dask future. Submitting lazily keeps the driver, scheduler and workers
    from holding every item's payload and result at once; the next task is submitted before a result
    is handed over, so workers keep busy while the caller commits it.
    """
    from distributed import as_completed

    if window < 1:
        raise ValueError("window must be at least 1")
    queue = iter(items)
    in_flight = {submit(item): item for item in itertools.islice(queue, window)}
    pending = as_completed(list(in_flight))
    for future in pending:
        item = in_flight.pop(future)
        result = future.result()
        future.release()  # read once: the worker may drop it
        for following in itertools.islice(queue, 1):
            nxt = submit(following)
            in_flight[nxt] = following
            pending.add(nxt)
        yield item, result


def worker_context(key: str, loader: Loader) -> Context:
    """The worker's ranking context for run ``key``, loaded on first use (older runs' are dropped)."""
    if key not in _CONTEXTS:
        _CONTEXTS.clear()
        _CONTEXTS[key] = loader()
    return _CONTEXTS[key]


def rank_partition(
    key: str,
    loader: Loader,
    subscriptions: list[Subscription],
    profiles: dict[str, Profile],
    exclude: dict[str, set[str]],
    now: pd.Timestamp,
    offers_since: dict[str, pd.Timestamp] | None,
    kill_switch: bool,
) -> tuple[str, pd.DataFrame]:
    """Rank one partition on a worker: ``(model the rows were ranked with, ranked rows)``."""
    service, tables = worker_context(key, loader)
    ranked = [
        service.rank_for_subscriptions(
            tables,
            subscriptions[start : start + RANK_CHUNK],
            profiles,
            now=now,
            exclude=exclude,
            offers_since=offers_since,
            kill_switch=kill_switch,
        )
        for start in range(0, max(len(subscriptions), 1), RANK_CHUNK)
    ]
    non_empty = [frame for frame in ranked if len(frame)]
    rows = pd.concat(non_empty, ignore_index=True) if non_empty else ranked[0]
    return service.served_model(kill_switch), rows


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, else of a LocalCluster of single-threaded processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_alert_batch_dask(
    store: ServingStore,
    service: RankingService,
    client: Any,
    loader: Callable[[pd.Timestamp], Loader],
    *,
    mode: str = "nightly",
    as_of: datetime | None = None,
    partitions: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Run (or resume) the alert batch with partitions ranked on the Dask cluster of ``client``.

    ``loader(now)`` gives the picklable function a worker calls to load its context for a run ranking
    at ``now``; ``service`` (the driver's) names the model and index versions the run logs.
    """
    plan = plan_alert_batch(store, service, mode=mode, as_of=as_of)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    parts = partition_by_block(plan.todo, partitions or partition_count(len(plan.todo), workers))
    load = loader(plan.now)

    def submit(part: list[Subscription]) -> Any:
        # Read from the database only when the partition is submitted: the driver holds a window of them.
        return client.submit(
            rank_partition,
            plan.run.id,
            load,
            part,
            store.profiles(s.profile_id for s in part),
            store.alerted_offers([s.id for s in part]),
            plan.now,
            since_of(plan, part),
            plan.kill_switch,
            pure=False,
        )

    quiet = done = 0
    for part, (model, ranked) in windowed_results(parts, submit, window=IN_FLIGHT_PER_WORKER * workers):
        if model != plan.model_version:
            raise RuntimeError(
                f"a worker ranked with {model}, the run logs {plan.model_version}: the champion changed "
                "during the run; start it again"
            )
        quiet += record_ranked(store, plan, part, ranked)
        done += len(part)
        if progress is not None:
            progress(done, len(plan.todo))
    return finish_alert_batch(store, plan, quiet)
