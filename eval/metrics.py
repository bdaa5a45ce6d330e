"""Ranking metrics as pure functions over a ranked frame, each returning ``dict[str, float]``.

A *ranked frame* has one row per (query, item) with columns ``query``, ``item``, ``position``
(1 = top, from :func:`rank_by_score`), ``grade`` (graded relevance, 0 = refused) and ``reason`` (the
refusal reason, "" when not refused). Grades follow :mod:`eval.simulator.oracle`: 0 refused,
1 read and left, 2 applied, 3 employer accepted, 4 hired.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

APPLIED_GRADE = 2
HIRED_GRADE = 4


def rank_by_score(frame: pd.DataFrame, scores: npt.ArrayLike) -> pd.DataFrame:
    """Add ``position`` (1-based, by decreasing score; ties by item id) and sort by query then position."""
    ranked = frame.assign(score=np.asarray(scores, dtype=float))
    ranked = ranked.sort_values(["query", "score", "item"], ascending=[True, False, True], kind="stable")
    ranked["position"] = ranked.groupby("query").cumcount() + 1
    return ranked.reset_index(drop=True)


def _top(ranked: pd.DataFrame, k: int) -> pd.DataFrame:
    return ranked[ranked["position"] <= k]


def dcg(grades: npt.NDArray[np.float64]) -> float:
    """Discounted cumulative gain with exponential gains ``2**grade - 1``, grades in ranked order."""
    gains = np.power(2.0, grades) - 1.0
    return float(np.sum(gains / np.log2(np.arange(2, len(grades) + 2))))


def ndcg_per_query(ranked: pd.DataFrame, k: int = 10) -> pd.Series:
    """NDCG@k of each query that has any gain (queries with none are undefined and left out).

    Each query's rows are read in the frame's order (ranked frames are sorted by position), queries in
    order of first appearance. Computed over all queries at once: the market protocol calls it for
    every ranker, view and grading draw, and a loop over thousands of small groups dominated its time.
    """
    ranked = ranked[ranked["query"].notna()]  # as groupby would: rows without a query belong to none
    if ranked.empty:
        return pd.Series(dtype=float)
    codes, queries = pd.factorize(ranked["query"], sort=False)
    order = np.argsort(codes, kind="stable")  # each query's rows together, in the frame's order
    query = codes[order]
    grades = ranked["grade"].to_numpy(float)[order]
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    sizes = np.diff(np.r_[starts, len(query)])
    position = np.arange(len(query)) - np.repeat(starts, sizes)  # 0 = top of its query
    discount = np.where(position < k, 1.0 / np.log2(position + 2.0), 0.0)
    # the ideal order: each query's grades, best first (query codes stay sorted)
    ideal_grades = grades[np.lexsort((-grades, query))]
    n = len(queries)
    actual = np.bincount(query, weights=(np.power(2.0, grades) - 1.0) * discount, minlength=n)
    ideal = np.bincount(query, weights=(np.power(2.0, ideal_grades) - 1.0) * discount, minlength=n)
    defined = ideal > 0
    return pd.Series(actual[defined] / ideal[defined], index=pd.Index(queries)[defined], dtype=float)


def ndcg_at_k(ranked: pd.DataFrame, k: int = 10) -> dict[str, float]:
    """Mean NDCG@k over queries with at least one non-zero grade."""
    per_query = ndcg_per_query(ranked, k)
    return {f"ndcg@{k}": float(per_query.mean()) if len(per_query) else float("nan")}


def recall_at_k(ranked: pd.DataFrame, k: int = 10, min_grade: int = APPLIED_GRADE) -> dict[str, float]:
    """Share of relevant items (grade ≥ ``min_grade``) that reach the top k, micro-averaged."""
    relevant = ranked["grade"] >= min_grade
    total = int(relevant.sum())
    found = int((relevant & (ranked["position"] <= k)).sum())
    return {f"recall@{k}": found / total if total else float("nan")}


def mrr(ranked: pd.DataFrame, min_grade: int = APPLIED_GRADE) -> dict[str, float]:
    """Mean reciprocal rank of the first relevant item, over queries that have one."""
    relevant = ranked[ranked["grade"] >= min_grade]
    first = relevant.groupby("query")["position"].min()
    return {"mrr": float((1.0 / first).mean()) if len(first) else float("nan")}


def hires_at_k(ranked: pd.DataFrame, k: int = 10) -> dict[str, float]:
    """Mean number of would-be hires in each query's top k."""
    top = _top(ranked, k)
    n_queries = ranked["query"].nunique()
    return {
        f"hires@{k}": float((top["grade"] >= HIRED_GRADE).sum() / n_queries) if n_queries else float("nan")
    }


def refusal_rate_at_k(ranked: pd.DataFrame, k: int = 10, reasons: Iterable[str] = ()) -> dict[str, float]:
    """Share of top-k items that would be refused, overall and for each reason."""
    top = _top(ranked, k)
    n = len(top)
    refused = top["grade"] == 0
    out = {f"refusal_rate@{k}": float(refused.mean()) if n else float("nan")}
    for reason in reasons:
        out[f"refusal_rate@{k}/{reason}"] = (
            float((refused & (top["reason"] == reason)).sum() / n) if n else float("nan")
        )
    return out


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative values (0: equal exposure, → 1: all on one item)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return 0.0
    cumulative = np.cumsum(x)
    return float((n + 1 - 2 * np.sum(cumulative) / cumulative[-1]) / n)


def exposure(ranked: pd.DataFrame, k: int = 10, catalogue: Iterable[str] | None = None) -> dict[str, float]:
    """Coverage (share of the catalogue shown in some top k) and Gini of how often each item is shown."""
    top = _top(ranked, k)
    items = pd.Index(catalogue if catalogue is not None else ranked["item"].unique())
    counts = top["item"].value_counts().reindex(items, fill_value=0)
    return {
        f"coverage@{k}": float((counts > 0).mean()) if len(items) else float("nan"),
        f"exposure_gini@{k}": gini(counts.to_numpy()),
    }


def evaluate_ranking(
    ranked: pd.DataFrame, *, k: int = 10, reasons: Iterable[str] = (), catalogue: Iterable[str] | None = None
) -> dict[str, float]:
    """Every metric above for one ranked frame."""
    return {
        **ndcg_at_k(ranked, k),
        **recall_at_k(ranked, k),
        **mrr(ranked),
        **hires_at_k(ranked, k),
        **refusal_rate_at_k(ranked, k, reasons),
        **exposure(ranked, k, catalogue),
    }


def group_ratio(per_query: pd.Series, groups: pd.Series) -> float:
    """Smallest group mean over the largest (1 = parity), for a per-query metric and each query's group."""
    joined = pd.concat([per_query.rename("value"), groups.rename("group")], axis=1, join="inner").dropna()
    means = joined.groupby("group")["value"].mean()
    if len(means) < 2 or means.max() <= 0:
        return float("nan")
    return float(means.min() / means.max())


def opportunity_per_query(ranked: pd.DataFrame, k: int = 20, min_grade: int = APPLIED_GRADE) -> pd.Series:
    """Per query: share of its relevant items ranked in the top k (equal opportunity's ingredient)."""
    relevant = ranked[ranked["grade"] >= min_grade]
    return (relevant["position"] <= k).groupby(relevant["query"]).mean().astype(float)
