"""The ``alerts`` part: the alert batch's ranking throughput on a Dask LocalCluster."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eval.bench.measure import peak_rss_mib
from eval.bench.national import BULK_DIM, BenchPaths, bench_ranker, national_tables, row_groups
from eval.simulator import read_manifest
from matching.candidates import CandidateGenerator
from matching.encoders import HashingEncoder
from matching.frames import profiles_from_frame, records
from matching.index import load_index, read_index_manifest
from matching.referential import load_referential


def national_context(world: Path, offer_index: Path, ranker_dir: Path, rome_dir: Path | None) -> Any:
    """What a Dask worker loads for the national alert batch (see :mod:`serving.batch.distributed`).

    Parameters
    ----------
    world
        The national world (its tables feed the pair features).
    offer_index
        The offer index saved by the ``index`` part.
    ranker_dir
        The saved ranker.
    rome_dir
        The official ROME export the world was generated on (``None``: the built-in referential).

    Returns
    -------
    Any
        The worker's context: a :class:`models.pipeline.RankingService` and the world's tables.
    """
    from models.artifact import load_ranker
    from models.pipeline import RankingService

    referential = load_referential(rome_dir)
    offers = load_index(offer_index)
    offers.block_rows  # noqa: B018 (the block table is built once, not by the first task)
    generator = CandidateGenerator(referential=referential, encoder=HashingEncoder(dim=BULK_DIM))
    generator.load_indexes(offers=offers)
    return RankingService(generator, load_ranker(ranker_dir), "bench"), national_tables(world)


def alerts_part(
    paths: BenchPaths,
    *,
    sample_world: Path,
    subscriptions: int = 40_000,
    workers: tuple[int, ...] = (1, 2),
    partitions_per_worker: int = 8,
    seed: int = 0,
) -> dict[str, Any]:
    """Throughput of the alert batch: offers ranked for a random sample of the world's subscriptions on a
    Dask LocalCluster of each worker count in turn.

    No database: this measures ranking throughput; the driver only gathers and counts the rows.

    Parameters
    ----------
    paths
        The national world and the work folder holding the offer index of the ``index`` part.
    sample_world
        The small world the ranker is trained on.
    subscriptions
        Subscriptions drawn (at most all of them).
    workers
        Worker process counts, one cluster each (e.g. 1 then 2 for the scaling).
    partitions_per_worker
        Partitions per worker (see :func:`serving.batch.distributed.partition_count`).
    seed
        Seed of the subscription draw.

    Returns
    -------
    dict[str, Any]
        ``subscriptions``, ``offers_indexed``; per worker count ``n``: ``workers_<n>_context_load_s``
        and ``workers_<n>_elapsed_s`` (seconds), ``workers_<n>_profiles_per_s``, ``workers_<n>_alerts``
        and ``workers_<n>_worker_peak_rss_mib`` (MiB, the largest worker's); ``scaling`` (throughput
        of the last count over the first), ``hours_for_1m_at_best`` and the driver's ``peak_rss_mib``.
    """
    import functools

    from matching.domain import Subscription
    from models.artifact import save_ranker
    from serving.batch.distributed import (
        IN_FLIGHT_PER_WORKER,
        dask_client,
        partition_by_block,
        partition_count,
        rank_partition,
        windowed_results,
    )

    ranker = bench_ranker(paths.rome_dir, sample_world)
    ranker_dir = save_ranker(ranker, paths.work / "ranker", data_fingerprint="sample-world")
    loader = functools.partial(national_context, paths.world, paths.offer_index, ranker_dir, paths.rome_dir)
    frame = pd.read_parquet(paths.world / "subscriptions.parquet")
    rng = np.random.default_rng(seed)
    chosen = frame.iloc[np.sort(rng.choice(len(frame), size=min(subscriptions, len(frame)), replace=False))]
    subs = [Subscription.model_validate(r) for r in records(chosen)]
    wanted = set(chosen["profile_id"])
    people: dict[str, Any] = {}
    for group in row_groups(paths.world / "profiles.parquet"):
        mine = group[group["id"].isin(wanted)]
        people.update((p.id, p) for p in profiles_from_frame(mine))
    now = pd.Timestamp(read_manifest(paths.world)["config"]["start"], tz="UTC") + pd.Timedelta(days=7)  # type: ignore[index]
    out: dict[str, Any] = {
        "subscriptions": len(subs),
        "offers_indexed": int(read_index_manifest(paths.offer_index)["count"]),
    }
    for n in workers:
        with dask_client(workers=n) as client:
            start = time.perf_counter()
            client.run(functools.partial(_warm, f"bench-{n}", loader))  # load each worker's context first
            load_s = time.perf_counter() - start
            parts = partition_by_block(subs, partition_count(len(subs), n, partitions_per_worker))
            start = time.perf_counter()

            def submit(part: list[Subscription], key: str = f"bench-{n}") -> Any:
                people_of_part = {s.profile_id: people[s.profile_id] for s in part}
                return client.submit(
                    rank_partition, key, loader, part, people_of_part, {}, now, None, False, pure=False
                )

            finished = windowed_results(parts, submit, window=IN_FLIGHT_PER_WORKER * n)
            alerts = sum(len(ranked) for _part, (_model, ranked) in finished)
            elapsed = time.perf_counter() - start
            memory = client.run(peak_rss_mib)
        out |= {
            f"workers_{n}_context_load_s": round(load_s, 1),
            f"workers_{n}_elapsed_s": round(elapsed, 1),
            f"workers_{n}_profiles_per_s": round(len(subs) / elapsed, 1),
            f"workers_{n}_alerts": alerts,
            f"workers_{n}_worker_peak_rss_mib": max(memory.values()),
        }
    first, last = workers[0], workers[-1]
    if last != first:
        out["scaling"] = round(
            out[f"workers_{last}_profiles_per_s"] / out[f"workers_{first}_profiles_per_s"], 2
        )
    out["hours_for_1m_at_best"] = round(
        1_000_000 / max(out[f"workers_{n}_profiles_per_s"] for n in workers) / 3600, 2
    )
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _warm(key: str, loader: Any) -> None:
    from serving.batch.distributed import worker_context

    worker_context(key, loader)
