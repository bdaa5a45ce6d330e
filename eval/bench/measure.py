"""What every benchmark measures the same way: latency percentiles, throughput, memory, tie-aware recall.

One key format for latencies everywhere (``p50_ms``, ``p95_ms``, ``p99_ms`` and ``n``), so that figures
from :mod:`eval.bench.api`, :mod:`eval.bench.retrieval` and the national parts read alike.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

QUANTILES = (50, 95, 99)
# Vector scores are float32 (float16 in national indexes): two equal scores can differ by rounding.
SCORE_TOLERANCE = 1e-6


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """Percentiles of latency samples.

    Parameters
    ----------
    samples_ms
        One duration per call, in milliseconds (at least one).

    Returns
    -------
    dict[str, float]
        ``p50_ms``, ``p95_ms``, ``p99_ms`` (milliseconds, rounded to 0.01 ms) and ``n`` (the number of
        samples, a float so that every value of the dict has one type).
    """
    values = np.asarray(samples_ms, dtype=float)
    if values.size == 0:
        raise ValueError("no latency samples to summarise")
    out = {f"p{q}_ms": round(float(np.percentile(values, q)), 2) for q in QUANTILES}
    return out | {"n": float(values.size)}


def flat_latencies(timings: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Percentiles of several timed steps as one flat dict, e.g. ``total_p95_ms``.

    Parameters
    ----------
    timings
        Milliseconds per call for each step, every step timed on the same calls.

    Returns
    -------
    dict[str, float]
        ``<step>_p50_ms``, ``<step>_p95_ms``, ``<step>_p99_ms`` for each step, in milliseconds. The
        sample count is left out: the same for every step, the caller reports it once.
    """
    return {
        f"{step}_{key}": value
        for step, samples in timings.items()
        for key, value in latency_summary(samples).items()
        if key != "n"
    }


def texts_per_second(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, np.ndarray]:
    """Throughput of an encoding function.

    Parameters
    ----------
    encode
        An encoder's ``encode_document`` or ``encode_query``.
    texts
        The texts encoded in one call (the first 32 are encoded once before, untimed, so that lazy
        model loading and first-call allocations are not counted).

    Returns
    -------
    tuple[float, numpy.ndarray]
        Texts per second (wall clock, rounded to 0.1) and the vectors of ``texts``.
    """
    encode(texts[:32])
    start = time.perf_counter()
    vectors = encode(texts)
    return round(len(texts) / (time.perf_counter() - start), 1), vectors


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (rounded to 0.1).

    A module-level function so that a Dask client can run it on every worker (``client.run``).
    """
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def rss_mib() -> float:
    """Current resident memory of this process, in MiB (Linux ``/proc``; not rounded)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def recall_with_ties(found_scores: np.ndarray, all_scores: np.ndarray, k: int) -> float:
    """Share of the top-``k`` slots filled by items whose exact score reaches the exact k-th score.

    Near-duplicate texts share a vector, so the exact top-k is often one of several equally good
    sets; an approximate result that picks another member of a tie is not a miss (recall by id would
    count it as one).

    Parameters
    ----------
    found_scores
        Exact scores of the items an approximate search returned.
    all_scores
        Exact scores of every candidate item (or at least of the exact top ``k``).
    k
        Length of the result list.

    Returns
    -------
    float
        Recall in [0, 1]; 1.0 when there is nothing to find.
    """
    wanted = min(k, len(all_scores))
    if wanted == 0:
        return 1.0
    threshold = np.partition(all_scores, len(all_scores) - wanted)[len(all_scores) - wanted]
    return float(np.sum(found_scores >= threshold - SCORE_TOLERANCE)) / wanted
