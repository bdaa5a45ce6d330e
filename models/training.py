"""Fit the LambdaRank reranker on logged alert lists before a cut-off (temporal split, no leakage)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.pairs import PairFeatureBuilder
from features.tables import MarketTables
from features.validation import validate_training_set
from models.dataset import (
    GRADE_SHOWN,
    RankingSet,
    examination_propensity,
    logged_lists,
    propensity_weights,
    ranking_set,
)
from models.ranker import FitProgress, LambdaRankRanker, RankerConfig


@dataclass(frozen=True)
class TrainingResult:
    """A fitted ranker and what it was fitted on."""

    ranker: LambdaRankRanker
    train: RankingSet
    propensity: dict[int, float]
    cutoff: pd.Timestamp
    data_fingerprint: str

    def summary(self) -> dict[str, float]:
        rows = self.train.rows
        return {
            "train_rows": float(len(rows)),
            "train_lists": float(rows["list_id"].nunique()),
            "train_refusals": float((rows["grade"] == 0).sum()),
            "train_applications": float((rows["grade"] >= 3).sum()),
            "train_hires": float((rows["grade"] >= 5).sum()),
        }


def train_ranker(
    tables: MarketTables,
    builder: PairFeatureBuilder,
    *,
    cutoff: pd.Timestamp,
    config: RankerConfig | None = None,
    extra_rows: pd.DataFrame | None = None,
    progress: FitProgress | None = None,
) -> TrainingResult:
    """Fit on alert lists sent before ``cutoff`` with labels observed before it.

    ``extra_rows`` (same columns as :func:`~models.dataset.logged_lists`) adds lists logged later, e.g. a
    round of alerts whose outcomes are now known; their features come from ``builder`` as of their time.
    ``progress`` is called as ``(stage, done, in all)``: before and after the features of the lists
    (counted in alerts), then after each boosting round (see :meth:`LambdaRankRanker.fit`).

    Raises
    ------
    ValueError
        If no alert list was sent before ``cutoff``.
    TrainingDataError
        If the training set fails validation (see :func:`features.validation.validate_training_set`).
    """
    rows = logged_lists(tables, sent_before=cutoff, labels_until=cutoff)
    if extra_rows is not None and len(extra_rows):
        rows = pd.concat([rows, extra_rows], ignore_index=True).sort_values(
            ["as_of", "list_id", "rank"], kind="stable"
        )
    if rows.empty:
        raise ValueError(f"no alert lists were sent before {cutoff:%Y-%m-%d}: nothing to learn from")
    config = config or RankerConfig()
    propensity = examination_propensity(rows)
    if config.unexamined_weight <= 0:
        rows = rows[rows["grade"] != GRADE_SHOWN]
    if progress is not None:  # features of a live service's lists take a while: a bar, counted in alerts
        progress("features of the lists", 0, len(rows))
    data = ranking_set(rows, builder)
    if progress is not None:
        progress("features of the lists", len(rows), len(rows))
    validate_training_set(data.X, data.labels, data.groups)  # refuse broken data before fitting
    weights = propensity_weights(data.rows, propensity)
    weights = np.where(data.rows["grade"] == GRADE_SHOWN, config.unexamined_weight, weights)
    ranker = LambdaRankRanker(config=config).fit(
        data.X,
        data.labels,
        data.groups,
        sample_weight=weights,
        position=data.rows["rank"].to_numpy(),
        progress=progress,
    )
    training_tables = tables.events_before(cutoff)
    return TrainingResult(ranker, data, propensity, cutoff, training_tables.fingerprint())
