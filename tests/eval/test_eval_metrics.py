"""Ranking metrics on tiny examples with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from eval.metrics import (
    evaluate_ranking,
    exposure,
    gini,
    group_ratio,
    hires_at_k,
    mrr,
    ndcg_at_k,
    rank_by_score,
    recall_at_k,
    refusal_rate_at_k,
)


def _frame(grades: list[int], reasons: list[str] | None = None, query: str = "q") -> pd.DataFrame:
    n = len(grades)
    return pd.DataFrame(
        {"query": query, "item": [f"i{k}" for k in range(n)], "grade": grades, "reason": reasons or [""] * n}
    )


def test_ndcg_perfect_reversed_and_known_value() -> None:
    frame = _frame([3, 2, 0])
    assert ndcg_at_k(rank_by_score(frame, [3, 2, 1]), 10)["ndcg@10"] == pytest.approx(1.0)
    ideal = 7 + 3 / math.log2(3)
    reversed_dcg = 0 + 3 / math.log2(3) + 7 / math.log2(4)
    assert ndcg_at_k(rank_by_score(frame, [1, 2, 3]), 10)["ndcg@10"] == pytest.approx(reversed_dcg / ideal)
    # a query with no gain is undefined and left out of the mean
    both = pd.concat([frame, _frame([0, 0], query="z")])
    assert ndcg_at_k(rank_by_score(both, [3, 2, 1, 1, 2]), 10)["ndcg@10"] == pytest.approx(1.0)


def test_recall_mrr_hires_refusals() -> None:
    frame = _frame([0, 2, 4, 1], reasons=["distance", "", "", ""])
    ranked = rank_by_score(frame, [4, 3, 2, 1])
    assert recall_at_k(ranked, 1)["recall@1"] == 0.0
    assert recall_at_k(ranked, 3)["recall@3"] == 1.0
    assert mrr(ranked)["mrr"] == pytest.approx(0.5)
    assert hires_at_k(ranked, 3)["hires@3"] == 1.0
    rates = refusal_rate_at_k(ranked, 2, reasons=["distance", "salaire"])
    assert rates == {"refusal_rate@2": 0.5, "refusal_rate@2/distance": 0.5, "refusal_rate@2/salaire": 0.0}


def test_gini_and_exposure() -> None:
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    frames = pd.concat([_frame([1, 1], query=q) for q in "abc"])
    ranked = rank_by_score(frames, np.tile([2.0, 1.0], 3))
    shown = exposure(ranked, 1, catalogue=["i0", "i1", "i2", "i3"])
    assert shown["coverage@1"] == 0.25
    assert shown["exposure_gini@1"] == pytest.approx(0.75)


def test_evaluate_returns_plain_floats_and_group_ratio() -> None:
    ranked = rank_by_score(_frame([2, 0, 1]), [1, 2, 3])
    metrics = evaluate_ranking(ranked, k=10, reasons=["distance"])
    assert all(isinstance(v, float) for v in metrics.values())
    per_query = pd.Series({"a": 1.0, "b": 0.5, "c": 0.8})
    assert group_ratio(per_query, pd.Series({"a": "F", "b": "M", "c": "M"})) == pytest.approx(0.65)
