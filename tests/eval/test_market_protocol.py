"""The market protocol's randomness: grades from their own seed streams, several draws, lift over random."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import eval.market
from eval.baselines import Scorer, random_scorer, rule_scorer
from eval.market import (
    ALERT_GRADES_STREAM,
    SOURCING_GRADES_STREAM,
    MarketContext,
    MarketEvalConfig,
    evaluate_market,
    graded_pool,
    graded_sourcing_pool,
    grades_rng,
    mean_and_spread,
)
from eval.metrics import evaluate_ranking
from features.schema import REASONS

# small pools: these tests are about the draws, not the rankers
CONFIG = MarketEvalConfig(max_people=120, max_offers=40, pool_size=60)


def _oracle_scorer(ctx: MarketContext, config: MarketEvalConfig) -> Scorer:
    """Scores each candidate by its grade in the first draw (of either pool): a perfect order for it."""
    grades = {}
    for pool in (graded_pool(ctx, config)[0], graded_sourcing_pool(ctx, config)[0]):
        grades.update(zip(zip(pool["query"], pool["item"], strict=True), pool["grade"], strict=True))

    def score(rows: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        keys = zip(rows["query"], rows["item"], strict=True)
        return np.array([grades.get(key, 0.0) for key in keys], dtype=float)  # logged lists: no grade

    return score


def test_random_baseline_does_not_share_the_grades_stream(
    small_market: MarketContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, X = graded_pool(small_market, CONFIG)
    random_scores = random_scorer(CONFIG.random_state)(pool, X)
    n = len(pool)
    # the stream the grades were once drawn from (seed 0 itself), and every grading stream of today
    assert not np.allclose(random_scores, np.random.default_rng(CONFIG.random_state).random(n))
    for stream in (ALERT_GRADES_STREAM, SOURCING_GRADES_STREAM):
        for draw in range(CONFIG.grade_draws):
            uniforms = grades_rng(CONFIG.random_state, stream, draw).random(n)
            assert not np.allclose(random_scores, uniforms)
    # another grades tag: other grades on the same candidates, the same random order
    monkeypatch.setattr(eval.market, "ALERT_GRADES_STREAM", 99)
    regraded, X_again = graded_pool(small_market, CONFIG)
    assert regraded[["query", "item"]].equals(pool[["query", "item"]])
    assert not np.array_equal(regraded["grade"].to_numpy(), pool["grade"].to_numpy())
    np.testing.assert_array_equal(random_scorer(CONFIG.random_state)(regraded, X_again), random_scores)


def test_metrics_are_means_over_grade_draws_with_their_spread(small_market: MarketContext) -> None:
    scorers: dict[str, Scorer] = {"rule": rule_scorer, "random": random_scorer(CONFIG.random_state)}
    one = evaluate_market(small_market, scorers, replace(CONFIG, grade_draws=1))
    five = evaluate_market(small_market, scorers, CONFIG)
    assert CONFIG.grade_draws == 5 and five.grade_draws == 5 and one.grade_draws == 1
    for view in ("metrics", "sourcing"):
        for name in scorers:
            single, several = getattr(one, view)[name], getattr(five, view)[name]
            for metric in ("ndcg@10", "hires@10", "refusal_rate@10", "lift@10"):
                assert single[f"{metric}_sd"] == 0.0
                assert np.isfinite(several[f"{metric}_sd"])
            assert several["ndcg@10_sd"] > 0  # the grades vary from draw to draw
            # the order does not depend on the grades: neither does the exposure
            assert several["exposure_gini@10"] == pytest.approx(single["exposure_gini@10"])
    # the same candidates either way; the pool and the ranked frames keep the first draw's grades
    pd.testing.assert_frame_equal(one.pool, five.pool)
    first_draw = evaluate_ranking(
        five.ranked["rule"], k=10, reasons=REASONS, catalogue=five.pool["item"].unique()
    )
    assert first_draw["ndcg@10"] == pytest.approx(one.metrics["rule"]["ndcg@10"])
    assert set(five.fairness["rule"]) == set(one.fairness["rule"])
    with pytest.raises(ValueError, match="grade_draws"):
        evaluate_market(small_market, scorers, MarketEvalConfig(grade_draws=0))


def test_lift_is_zero_for_random_and_one_for_a_perfect_order(small_market: MarketContext) -> None:
    config = replace(CONFIG, grade_draws=1)
    scorers = {"oracle": _oracle_scorer(small_market, config), "random": random_scorer(config.random_state)}
    result = evaluate_market(small_market, scorers, config)
    for view in (result.metrics, result.sourcing):
        assert view["random"]["lift@10"] == 0.0
        assert view["oracle"]["ndcg@10"] == pytest.approx(1.0)
        assert view["oracle"]["lift@10"] == pytest.approx(1.0)
    # without the random ranker there is nothing to measure a lift from
    alone = evaluate_market(small_market, {"rule": rule_scorer}, config)
    assert "lift@10" not in alone.metrics["rule"]


def test_mean_and_spread_on_known_answers() -> None:
    draws = [{"a": 1.0, "b": float("nan")}, {"a": 3.0, "b": 2.0}]
    out = mean_and_spread(draws, ("a", "b"))
    assert out["a"] == 2.0 and out["a_sd"] == pytest.approx(np.sqrt(2.0))
    assert out["b"] == 2.0 and out["b_sd"] == 0.0  # defined in one draw only
    never = mean_and_spread([{"a": float("nan")}], ("a",))
    assert np.isnan(never["a"]) and never["a_sd"] == 0.0
