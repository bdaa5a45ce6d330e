"""The benchmarks' shared measurements, and the national benchmark's machinery on a small streamed
world: every part that needs no e5 model runs in its own process and reports figures that make sense
(timings are printed, never asserted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entrypoints.settings import get_settings
from eval.bench.index import index_memory_mib
from eval.bench.measure import flat_latencies, latency_summary, peak_rss_mib, recall_with_ties
from eval.bench.national import BenchPaths
from eval.bench.runner import markdown, run_parts
from eval.simulator import MarketConfig
from eval.simulator.stream import write_world_streaming
from matching.geo import load_communes
from matching.index import load_index
from matching.referential import Referential


def test_latency_summary_has_one_key_format() -> None:
    summary = latency_summary([float(ms) for ms in range(1, 101)])
    assert summary == {"p50_ms": 50.5, "p95_ms": 95.05, "p99_ms": 99.01, "n": 100.0}
    with pytest.raises(ValueError, match="no latency samples"):
        latency_summary([])


def test_flat_latencies_prefix_each_step_and_report_the_count_once() -> None:
    flat = flat_latencies({"total": [2.0, 4.0], "model": [1.0, 1.0]})
    assert flat == {
        "total_p50_ms": 3.0,
        "total_p95_ms": 3.9,
        "total_p99_ms": 3.98,
        "model_p50_ms": 1.0,
        "model_p95_ms": 1.0,
        "model_p99_ms": 1.0,
    }


def test_recall_counts_a_tied_item_as_found() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.1])
    # the exact top-2 is {0.9, one of the two 0.8}: either 0.8 is right, 0.1 is a miss
    assert recall_with_ties(np.array([0.9, 0.8]), scores, 2) == 1.0
    assert recall_with_ties(np.array([0.9, 0.1]), scores, 2) == 0.5
    assert recall_with_ties(np.array([]), np.array([]), 2) == 1.0


def test_peak_rss_is_in_mib() -> None:
    assert 10 < peak_rss_mib() < 1024 * 1024  # a Python process with NumPy: tens of MiB, not KiB or bytes


@pytest.mark.slow
def test_bench_parts_on_a_small_world(builtin: Referential, tmp_path: Path) -> None:
    config = MarketConfig(n_profiles=6000, n_offers=3000, n_trainings=10, months=0, seed=4)
    write_world_streaming(builtin, load_communes(), config, tmp_path / "world", chunk_rows=2500)
    settings = get_settings()
    paths = BenchPaths(
        world=tmp_path / "world", work=tmp_path / "work", rome_dir=None, model_dir=settings.model_dir
    )
    sample = {"sample_world": settings.sample_dir}
    results = run_parts(
        ["index", "sourcing", "alerts"],
        paths,
        {
            "index": {"recall_queries": 20},
            "sourcing": {"queries": 20, "rerank": 100, **sample},
            "alerts": {"subscriptions": 300, "workers": [1, 2], **sample},
        },
    )
    index = results["index"]
    assert index["profiles"] == 6000 and index["offers"] == 3000
    assert index["recall_at_50_blocks"] >= 0.95
    assert index["profile_index_ivf_lists"] == 0  # below the IVF threshold: exact open search
    assert index["recall_at_50_ivf_open"] >= 0.95
    profiles = load_index(paths.profile_index)
    assert profiles.storage == "float16" and profiles.vectors_.dtype == np.float16
    assert index_memory_mib(profiles) == index["profile_index_mib"]
    sourcing = results["sourcing"]
    assert sourcing["queries"] == 20 and 0 < sourcing["mean_returned"] <= 50
    assert sourcing["total_p50_ms"] <= sourcing["total_p99_ms"]
    alerts = results["alerts"]
    assert alerts["subscriptions"] == 300 and alerts["offers_indexed"] == 3000
    # one worker or two, the same partitions rank to the same number of alerts
    assert 0 < alerts["workers_1_alerts"] == alerts["workers_2_alerts"] <= 300 * config.alerts_per_week
    assert all(results[p]["peak_rss_mib"] > 50 for p in ("index", "sourcing", "alerts"))
    table = markdown(results)
    assert "| sourcing | total_p95_ms |" in table and "| index | recall_at_50_blocks |" in table
