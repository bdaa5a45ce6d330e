"""Hyper-parameters chosen on a validation split inside the training period, never after the cut-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eval.market import MarketContext
from features.tables import MarketTables
from models.ranker import RankerConfig
from models.training import (
    HyperGrid,
    TuningResult,
    train_ranker,
    tune_ranker,
    validation_moment,
    weighted_ndcg,
)

# four points, few trees: what is tested is the protocol, not the model
GRID = HyperGrid(num_leaves=(7, 15), min_child_samples=(20, 80))
BASE = RankerConfig(n_estimators=40)


def _tune(ctx: MarketContext, tables: MarketTables | None = None) -> TuningResult:
    """Tuning on ``tables`` (default the context's), with the context's features."""
    return tune_ranker(
        tables if tables is not None else ctx.tables,
        ctx.builder,
        cutoff=ctx.cutoff,
        grid=GRID,
        config=BASE,
    )


def test_weighted_ndcg_on_known_answers() -> None:
    labels = np.array([3, 0, 2, 2])
    groups = np.array([2, 2])  # the second list holds one gain twice: its order changes nothing
    weights = np.ones(4)
    assert weighted_ndcg([1.0, 0.0, 5.0, 1.0], labels, groups, weights) == pytest.approx(1.0)
    assert weighted_ndcg([0.0, 1.0, 5.0, 1.0], labels, groups, weights) == pytest.approx((7 / np.log2(3)) / 7)
    # a weight (the inverse propensity of a rank seldom read) can put a lesser grade first in the ideal
    lifted = weighted_ndcg([1.0, 0.0], [3, 2], [2], [1.0, 3.0])
    assert lifted == pytest.approx((7 + 9 / np.log2(3)) / (9 + 7 / np.log2(3)))
    assert np.isnan(weighted_ndcg([1.0, 2.0], [0, 0], [2], [1.0, 1.0]))


def test_validation_moment_keeps_send_moments_whole() -> None:
    moments = pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"], utc=True)
    lists = pd.DataFrame(
        {"list_id": [f"L{i}" for i in range(10)], "as_of": moments[[0, 0, 0, 1, 1, 1, 2, 2, 3, 3]]}
    )
    assert validation_moment(lists, 0.2) == moments[3]  # the last week: 2 of 10 lists
    assert validation_moment(lists, 0.4) == moments[2]
    assert validation_moment(lists, 0.99) == moments[1]  # the first moment always stays to fit on
    assert validation_moment(lists.assign(as_of=moments[0]), 0.2) is None


def test_tuning_chooses_a_grid_point_inside_the_training_period(small_market: MarketContext) -> None:
    result = _tune(small_market)
    points = [(c.num_leaves, c.min_child_samples) for c in GRID.points(BASE)]
    assert not result.skipped
    assert [(leaves, samples) for leaves, samples, _ in result.scores] == points
    assert (result.config.num_leaves, result.config.min_child_samples) in points
    assert result.config.n_estimators == BASE.n_estimators  # only the grid's settings move
    assert all(0 < score <= 1 for *_, score in result.scores)
    best = max(score for *_, score in result.scores)
    assert result.summary()["validation_ndcg@10"] == best
    assert result.validation_from is not None and result.validation_from < small_market.cutoff
    assert result.fit_lists > 0 and result.validation_lists > 0
    # a fixed seed: the same scores, the same choice
    assert _tune(small_market) == result


def test_tuning_reads_nothing_at_or_after_the_cutoff(small_market: MarketContext) -> None:
    tables, cutoff = small_market.tables, small_market.cutoff
    reference = _tune(small_market)
    late = tables.events[tables.events["occurred_at"] >= cutoff]
    assert len(late) and (late["event"] == "alert_sent").any()
    # every outcome after the cut turned into a hire, and every list after it sent twice more
    rewritten = tables.with_events(late.assign(event="hired")).with_events(
        late[late["event"] == "alert_sent"].assign(list_id=lambda e: e["list_id"] + "-again")
    )
    assert _tune(small_market, rewritten) == reference
    assert _tune(small_market, tables.events_before(cutoff)) == reference


def test_train_ranker_refits_on_every_list_with_the_chosen_point(small_market: MarketContext) -> None:
    stages = []
    trained = train_ranker(
        small_market.tables,
        small_market.builder,
        cutoff=small_market.cutoff,
        config=BASE,
        tune=GRID,
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert trained.tuning == _tune(small_market)
    assert trained.ranker.config == trained.tuning.config
    assert trained.hyper_parameters()["chosen_by"] == "validation split inside the training period"
    assert "tuning on the validation split" in stages
    # all the lists before the cut-off, not the fit part of the split only
    assert trained.summary()["train_lists"] > trained.tuning.fit_lists
    untuned = train_ranker(small_market.tables, small_market.builder, cutoff=small_market.cutoff, config=BASE)
    assert untuned.tuning is None and untuned.hyper_parameters()["chosen_by"] == "given (not tuned)"
    # lists sent at one moment before the cut cannot be split: the config is fitted as given, and said so
    first = small_market.tables.events.loc[
        small_market.tables.events["event"] == "alert_sent", "occurred_at"
    ].min()
    early = train_ranker(
        small_market.tables, small_market.builder, cutoff=first + pd.Timedelta(days=1), config=BASE, tune=GRID
    )
    assert early.tuning is not None and early.tuning.skipped and early.ranker.config == BASE
    assert early.hyper_parameters()["chosen_by"].startswith("defaults (not tuned")
    with pytest.raises(ValueError, match="validation_share"):
        tune_ranker(
            small_market.tables,
            small_market.builder,
            cutoff=small_market.cutoff,
            grid=HyperGrid(validation_share=1.0),
        )
