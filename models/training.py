"""Fit the LambdaRank reranker on logged alert lists before a cut-off (temporal split, no leakage).

Hyper-parameters are chosen inside the training period, never on the evaluation side of the cut
(:func:`tune_ranker`): the latest lists sent before the cut-off are held out as validation, each point
of a small grid learns from the earlier ones, the best validation NDCG wins, and the ranker is refitted
on every list before the cut-off with it (``train_ranker(..., tune=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
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

TUNING_STAGE = "tuning on the validation split"  # the progress stage of the grid's points


@dataclass(frozen=True, kw_only=True)
class HyperGrid:
    """The points :func:`tune_ranker` tries, and the lists it holds out to compare them.

    The grid crosses the two settings that bound what a tree can learn from a few thousand short lists:
    ``num_leaves`` (how many interactions a tree can carve) and ``min_child_samples`` (how many alerts a
    leaf must hold, i.e. how rare a pattern may be before it is trusted). The number of trees and the
    learning rate mostly trade against each other along one curve, and cost time in proportion, so
    they stay at their :class:`~models.ranker.RankerConfig` values.

    Parameters
    ----------
    num_leaves, min_child_samples
        Values crossed: ``len(num_leaves) × len(min_child_samples)`` fits (6 by default).
    validation_share
        Share of the lists sent before the cut-off held out, the latest ones. Lists sent at one moment
        stay on one side, so the share actually held out is the nearest a split between two send
        moments allows.
    k
        Cut of the validation NDCG.
    """

    num_leaves: tuple[int, ...] = (7, 15, 31)
    min_child_samples: tuple[int, ...] = (50, 200)
    validation_share: float = 0.2
    k: int = 10

    def points(self, base: RankerConfig) -> list[RankerConfig]:
        """``base`` with each combination of the grid's values, in the grid's order."""
        return [
            replace(base, num_leaves=leaves, min_child_samples=samples)
            for leaves in self.num_leaves
            for samples in self.min_child_samples
        ]

    def check(self) -> None:
        """Refuse an empty grid or a share outside ``(0, 1)`` (``ValueError``)."""
        if not self.num_leaves or not self.min_child_samples:
            raise ValueError("the hyper-parameter grid needs at least one value of each parameter")
        if not 0 < self.validation_share < 1:
            raise ValueError(f"validation_share must lie in (0, 1), not {self.validation_share!r}")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, not {self.k!r}")


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_ranker` tried and chose.

    Attributes
    ----------
    config
        The chosen point (the base config with the grid's values that won), or the base config where
        tuning was skipped.
    scores
        Validation NDCG@k of each point tried, in the grid's order: ``(num_leaves, min_child_samples,
        score)``.
    validation_from
        Send moment of the first held-out list (the fit part holds the lists sent before it, labelled
        with the outcomes observed before it); ``None`` where tuning was skipped.
    fit_lists, validation_lists
        Lists on each side of ``validation_from`` that training reads (with an alert that was read,
        unless ``unexamined_weight`` keeps unread ones).
    k
        Cut of the validation NDCG.
    skipped
        Why no point was tried (empty when tuning ran).
    """

    config: RankerConfig
    scores: tuple[tuple[int, int, float], ...]
    validation_from: pd.Timestamp | None
    fit_lists: int
    validation_lists: int
    k: int = 10
    skipped: str = ""

    def summary(self) -> dict[str, Any]:
        """The chosen values and how they were chosen, JSON-ready (the evaluation protocol records it)."""
        chosen = {
            "num_leaves": self.config.num_leaves,
            "min_child_samples": self.config.min_child_samples,
            "n_estimators": self.config.n_estimators,
            "learning_rate": self.config.learning_rate,
        }
        if self.skipped:
            return {**chosen, "chosen_by": f"defaults (not tuned: {self.skipped})"}
        best = max(score for *_, score in self.scores)
        return {
            **chosen,
            "chosen_by": "validation split inside the training period",
            f"validation_ndcg@{self.k}": best,
            "validation_from": f"{self.validation_from:%Y-%m-%d}",
            "fit_lists": self.fit_lists,
            "validation_lists": self.validation_lists,
            "grid": [
                {"num_leaves": leaves, "min_child_samples": samples, f"validation_ndcg@{self.k}": score}
                for leaves, samples, score in self.scores
            ],
        }


@dataclass(frozen=True)
class TrainingResult:
    """A fitted ranker, what it was fitted on, and how its hyper-parameters were chosen.

    ``tuning`` is ``None`` where the ranker was fitted with the config it was given.
    """

    ranker: LambdaRankRanker
    train: RankingSet
    propensity: dict[int, float]
    cutoff: pd.Timestamp
    data_fingerprint: str
    tuning: TuningResult | None = None

    def summary(self) -> dict[str, float]:
        rows = self.train.rows
        return {
            "train_rows": float(len(rows)),
            "train_lists": float(rows["list_id"].nunique()),
            "train_refusals": float((rows["grade"] == 0).sum()),
            "train_applications": float((rows["grade"] >= 3).sum()),
            "train_hires": float((rows["grade"] >= 5).sum()),
        }

    def hyper_parameters(self) -> dict[str, Any]:
        """The ranker's main settings and how they were chosen (see :meth:`TuningResult.summary`)."""
        if self.tuning is not None:
            return self.tuning.summary()
        config = self.ranker.config
        return {
            "num_leaves": config.num_leaves,
            "min_child_samples": config.min_child_samples,
            "n_estimators": config.n_estimators,
            "learning_rate": config.learning_rate,
            "chosen_by": "given (not tuned)",
        }


def _dcg(gains: npt.NDArray[np.float64]) -> float:
    return float(np.sum(gains / np.log2(np.arange(2, len(gains) + 2))))


def weighted_ndcg(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    weights: npt.ArrayLike,
    k: int = 10,
) -> float:
    """Mean NDCG@k over lists, each row's gain ``2**label - 1`` multiplied by its weight.

    With the inverse examination propensities training uses, a gain at a rank that is seldom read
    counts for what it would have counted at the top: validation judges the same target as the loss.

    Parameters
    ----------
    scores, labels, weights
        Per row, shape ``(m,)``; rows grouped by list.
    groups
        Sizes of consecutive lists, shape ``(n_lists,)``, summing to ``m``.
    k
        Cut of each list's DCG.

    Returns
    -------
    float
        Mean over the lists whose order can change their NDCG: some gain, and not the same gain on
        every row. Once unread alerts are left out, many logged lists hold a single alert: each would
        add 1 to every point's mean and hide the differences. NaN where there are none.
    """
    score = np.asarray(scores, dtype=float)
    gain = np.asarray(weights, dtype=float) * (np.power(2.0, np.asarray(labels, dtype=float)) - 1.0)
    out = []
    start = 0
    for size in np.asarray(groups, dtype=np.int64):
        stop = start + int(size)
        list_gain = gain[start:stop]
        ideal = _dcg(np.sort(list_gain)[::-1][:k])
        if ideal > 0 and np.ptp(list_gain) > 0:
            order = np.argsort(-score[start:stop], kind="stable")
            out.append(_dcg(list_gain[order][:k]) / ideal)
        start = stop
    return float(np.mean(out)) if out else float("nan")


def _weighted_set(
    rows: pd.DataFrame,
    builder: PairFeatureBuilder,
    config: RankerConfig,
    propensity: dict[int, float],
) -> tuple[RankingSet, npt.NDArray[np.float64]]:
    """Features of ``rows`` and the weights training gives them (unexamined rows left out at weight 0)."""
    if config.unexamined_weight <= 0:
        rows = rows[rows["grade"] != GRADE_SHOWN]
    data = ranking_set(rows, builder)
    weights = propensity_weights(data.rows, propensity)
    return data, np.where(data.rows["grade"] == GRADE_SHOWN, config.unexamined_weight, weights)


def _fit(
    data: RankingSet,
    weights: npt.NDArray[np.float64],
    config: RankerConfig,
    progress: FitProgress | None = None,
) -> LambdaRankRanker:
    return LambdaRankRanker(config=config).fit(
        data.X,
        data.labels,
        data.groups,
        sample_weight=weights,
        position=data.rows["rank"].to_numpy(),
        reasons=data.rows["reason"].to_numpy(),  # the refusal risk and the stated reasons' strength
        progress=progress,
    )


def validation_moment(rows: pd.DataFrame, share: float) -> pd.Timestamp | None:
    """The send moment from which the latest lists make up the share nearest ``share``.

    Lists sent at one moment (a weekly batch) stay together; ``None`` where every list was sent at one
    moment, so that no split leaves lists on both sides.
    """
    sent = rows.groupby("list_id")["as_of"].min()
    moments = sent.value_counts().sort_index()
    if len(moments) < 2:
        return None
    # share of the lists sent at or after each moment (the first one would hold out everything)
    held_out = moments.to_numpy()[::-1].cumsum()[::-1] / len(sent)
    nearest = 1 + int(np.argmin(np.abs(held_out[1:] - share)))
    return pd.Timestamp(moments.index[nearest])


def tune_ranker(
    tables: MarketTables,
    builder: PairFeatureBuilder,
    *,
    cutoff: pd.Timestamp,
    grid: HyperGrid | None = None,
    config: RankerConfig | None = None,
    progress: FitProgress | None = None,
) -> TuningResult:
    """Choose hyper-parameters on a validation split of the lists sent before ``cutoff``.

    The latest lists sent before ``cutoff`` (about ``grid.validation_share`` of them) are held out,
    labelled with the outcomes observed before ``cutoff``; the earlier ones, labelled with the outcomes
    observed before the first held-out list, fit each point of ``grid``. The point with the best
    propensity-weighted NDCG@k on the held-out lists (:func:`weighted_ndcg`, the weights training uses)
    is chosen; ties go to the earlier point. Nothing sent or observed at or after ``cutoff`` is read.

    Parameters
    ----------
    tables
        The event log (only what happened before ``cutoff`` is read).
    builder
        Pair features as of each list's send time.
    cutoff
        The evaluation cut: tuning stays before it.
    grid
        The points tried and the share held out (default :class:`HyperGrid`).
    config
        The settings the grid's points start from (default :class:`~models.ranker.RankerConfig`).
    progress
        Called as ``(TUNING_STAGE, points fitted, points in all)``.

    Returns
    -------
    TuningResult
        The chosen config and every point's score; ``skipped`` says why nothing was tried where the
        lists cannot be split (sent at one moment) or one side has no list with any gain.
    """
    grid = grid or HyperGrid()
    grid.check()
    config = config or RankerConfig()
    points = grid.points(config)
    rows = logged_lists(tables, sent_before=cutoff, labels_until=cutoff)
    moment = validation_moment(rows, grid.validation_share) if len(rows) else None
    if moment is None:
        return TuningResult(config, (), None, 0, 0, grid.k, skipped="the lists were sent at one moment")
    # the fit part is censored at the split as the training side is at the cut-off: what a ranker
    # learns at the split may not have heard yet of outcomes that come later
    fit_rows = logged_lists(tables, sent_before=moment, labels_until=moment)
    held_out = logged_lists(tables, sent_from=moment, sent_before=cutoff, labels_until=cutoff)
    propensity = examination_propensity(fit_rows)  # from the fit part: validation informs no fit
    fit_data, fit_weights = _weighted_set(fit_rows, builder, config, propensity)
    validation, validation_weights = _weighted_set(held_out, builder, config, propensity)
    # counted as TrainingResult.summary counts: the lists left once unread alerts are left out
    fit_lists, validation_lists = (int(d.rows["list_id"].nunique()) for d in (fit_data, validation))
    if not (fit_data.labels > 0).any() or not (validation.labels > 0).any():
        return TuningResult(
            config, (), moment, fit_lists, validation_lists, grid.k, skipped="a side of the split has no gain"
        )
    scores = []
    if progress is not None:
        progress(TUNING_STAGE, 0, len(points))
    for i, point in enumerate(points, start=1):
        ranker = _fit(fit_data, fit_weights, point)
        score = weighted_ndcg(
            ranker.predict(validation.X), validation.labels, validation.groups, validation_weights, grid.k
        )
        scores.append((point.num_leaves, point.min_child_samples, score))
        if progress is not None:
            progress(TUNING_STAGE, i, len(points))
    finite = [s if np.isfinite(s) else -np.inf for *_, s in scores]
    if not np.isfinite(max(finite)):
        return TuningResult(
            config,
            tuple(scores),
            moment,
            fit_lists,
            validation_lists,
            grid.k,
            skipped="no held-out list whose order changes its NDCG",
        )
    best = int(np.argmax(finite))  # the first of equal scores
    return TuningResult(points[best], tuple(scores), moment, fit_lists, validation_lists, grid.k)


def train_ranker(
    tables: MarketTables,
    builder: PairFeatureBuilder,
    *,
    cutoff: pd.Timestamp,
    config: RankerConfig | None = None,
    extra_rows: pd.DataFrame | None = None,
    tune: bool | HyperGrid = False,
    progress: FitProgress | None = None,
) -> TrainingResult:
    """Fit on alert lists sent before ``cutoff`` with labels observed before it.

    Parameters
    ----------
    tables
        The event log.
    builder
        Pair features as of each list's send time.
    cutoff
        Learn from the lists sent before it, labelled with the outcomes observed before it.
    config
        The ranker's settings (default :class:`~models.ranker.RankerConfig`); with ``tune``, the
        starting point of the grid.
    extra_rows
        Same columns as :func:`~models.dataset.logged_lists`: lists logged later, e.g. a round of alerts
        whose outcomes are now known; their features come from ``builder`` as of their time. Tuning
        does not read them (it stays before ``cutoff``); the final fit does.
    tune
        ``True`` (the default :class:`HyperGrid`) or a grid: choose ``num_leaves`` and
        ``min_child_samples`` on a validation split inside the training period (:func:`tune_ranker`),
        then refit on every list with the chosen point. ``False``: fit ``config`` as given.
    progress
        Called as ``(stage, done, in all)``: before and after the features of the lists (counted in
        alerts), the grid's points when tuning (:data:`TUNING_STAGE`), then after each boosting round of
        the final fit (see :meth:`LambdaRankRanker.fit`).

    Returns
    -------
    TrainingResult
        With ``tuning`` when ``tune`` was asked.

    Raises
    ------
    ValueError
        If no alert list was sent before ``cutoff``, or the grid is invalid.
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
    # features of a live service's lists take a while: a bar, counted in the alerts that get features
    alerts = int((rows["grade"] != GRADE_SHOWN).sum()) if config.unexamined_weight <= 0 else len(rows)
    if progress is not None:
        progress("features of the lists", 0, alerts)
    data, weights = _weighted_set(rows, builder, config, propensity)
    if progress is not None:
        progress("features of the lists", alerts, alerts)
    validate_training_set(data.X, data.labels, data.groups)  # refuse broken data before fitting
    tuning = None
    if tune is not False:
        tuning = tune_ranker(
            tables,
            builder,
            cutoff=cutoff,
            grid=tune if isinstance(tune, HyperGrid) else None,
            config=config,
            progress=progress,
        )
        config = tuning.config
    ranker = _fit(data, weights, config, progress)
    training_tables = tables.events_before(cutoff)
    return TrainingResult(ranker, data, propensity, cutoff, training_tables.fingerprint(), tuning)
