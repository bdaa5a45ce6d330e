"""LightGBM LambdaRank reranker with exposure (position-bias) correction.

Style of scikit-learn: keyword-only settings, ``fit`` returns ``self``, learned state ends in ``_``,
seeded and deterministic (``deterministic=True``, fixed thread count, no bagging by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

from features.schema import check_allowlist
from models.refusals import ACTIVE_FLOOR, OutcomeModel, StatedStrength

Debias = Literal["ips", "lambdamart", "none"]
FitProgress = Callable[[str, int, int], None]  # (stage, boosting rounds done, rounds in all)


@dataclass(frozen=True, kw_only=True)
class RankerConfig:
    """Hyper-parameters of :class:`LambdaRankRanker`.

    ``position_debias``: ``ips`` weights examined rows by their inverse examination propensity
    (estimated from open rates by rank); ``lambdamart`` lets LightGBM learn position biases jointly
    (unbiased LambdaMART, needs logged positions); ``none`` ignores exposure.
    ``unexamined_weight``: weight of alerts shown but never opened. They say nothing about the offer
    (the person did not read it), so by default they are left out of the groups (weight 0); opening
    rates by rank still estimate the propensities.
    ``binding_floor``: an alert repeating a stated refusal reason is not sent while the reason's learned
    strength times its decaying evidence is at least this (see :mod:`models.refusals`).
    """

    n_estimators: int = 150
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 100
    feature_fraction: float = 0.9
    lambda_l2: float = 1.0
    max_label: int = 5
    position_debias: Debias = "ips"
    unexamined_weight: float = 0.0
    refusal_weight: float = 1.0
    application_weight: float = 1.0
    binding_floor: float = ACTIVE_FLOOR
    random_state: int = 0
    n_jobs: int = 2

    def lightgbm_params(self) -> dict[str, Any]:
        return {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "feature_fraction_seed": self.random_state,
            "lambda_l2": self.lambda_l2,
            "label_gain": [float(2**g - 1) for g in range(self.max_label + 1)],
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        """Refuse settings LightGBM cannot train with (``ValueError``)."""
        if self.position_debias not in get_args(Debias):
            raise ValueError(
                f"position_debias must be one of {', '.join(get_args(Debias))}, not {self.position_debias!r}"
            )
        if self.n_estimators < 1 or self.learning_rate <= 0 or self.max_label < 1:
            raise ValueError("n_estimators and max_label must be >= 1 and learning_rate > 0")
        if self.unexamined_weight < 0:
            raise ValueError(f"unexamined_weight must be >= 0, not {self.unexamined_weight!r}")
        if self.refusal_weight < 0 or self.application_weight < 0:
            raise ValueError("refusal_weight and application_weight must be >= 0")
        if not 0 < self.binding_floor <= 1:
            raise ValueError(f"binding_floor must lie in (0, 1], not {self.binding_floor!r}")


DEFAULT_CONFIG = RankerConfig()


class LambdaRankRanker(BaseEstimator):
    """Rerank candidates by a learned score; higher is better.

    Parameters
    ----------
    config
        Hyper-parameters (immutable), checked by :meth:`fit`.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted LightGBM booster (set by :meth:`fit` or :meth:`load_booster`).
    feature_names_ : tuple of str
        Feature names in training order (checked against the allowlist at fit and load time).
    """

    booster_: lgb.Booster
    feature_names_: tuple[str, ...]
    refusal_: OutcomeModel | None = None
    application_: OutcomeModel | None = None
    stated_strength_: StatedStrength | None = None

    def __init__(self, *, config: RankerConfig = DEFAULT_CONFIG) -> None:
        self.config = config

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise RuntimeError("the ranker is not fitted")

    def load_booster(self, booster: lgb.Booster, feature_names: Sequence[str]) -> LambdaRankRanker:
        """Adopt a booster trained earlier (see :func:`models.artifact.load_ranker`).

        Parameters
        ----------
        booster
            The trained LightGBM booster.
        feature_names
            Its features in training order.

        Returns
        -------
        LambdaRankRanker
            ``self``.

        Raises
        ------
        FeatureAllowlistError
            If a feature is not allowlisted.
        """
        check_allowlist(feature_names)
        self.booster_ = booster
        self.feature_names_ = tuple(feature_names)
        return self

    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        group: npt.ArrayLike,
        *,
        sample_weight: npt.ArrayLike | None = None,
        position: npt.ArrayLike | None = None,
        reasons: npt.ArrayLike | None = None,
        progress: FitProgress | None = None,
    ) -> LambdaRankRanker:
        """Fit on rows grouped by query.

        Parameters
        ----------
        X
            Features, shape ``(m, n_features)``; columns must be allowlisted.
        y
            Graded labels 0..``max_label``, shape ``(m,)``.
        group
            Sizes of consecutive query groups, shape ``(n_groups,)``, summing to ``m``.
        sample_weight
            Per-row weights (e.g. inverse propensities), shape ``(m,)``; used with
            ``position_debias="ips"`` only.
        position
            Logged rank of each row (1 = top), shape ``(m,)``, for ``position_debias="lambdamart"``.
        reasons
            The refusal reason of each row ("" where not refused), shape ``(m,)``. With it (labels:
            0 refused, 1 shown but never read, above: read), the ranker also learns the refusal risk
            of a read alert (``refusal_weight`` > 0) and the strength of each stated reason
            (:mod:`models.refusals`).
        progress
            Called as ``progress("boosting rounds", done, n_estimators)`` after each round (a progress
            bar on the command line); the fitted model does not depend on it.

        Returns
        -------
        LambdaRankRanker
            ``self``.

        Raises
        ------
        ValueError
            If the config is invalid, or ``position`` is missing with ``position_debias="lambdamart"``.
        FeatureAllowlistError
            If a column is not allowlisted.
        """
        self.config.check()
        check_allowlist(X.columns)
        params = self.config.lightgbm_params()
        debias_positions = None
        if self.config.position_debias == "lambdamart":
            if position is None:
                raise ValueError("position_debias='lambdamart' needs the logged positions")
            debias_positions = np.asarray(position, dtype=np.int32) - 1
        weight = (
            np.asarray(sample_weight, dtype=float)
            if sample_weight is not None and self.config.position_debias == "ips"
            else None
        )
        dataset = lgb.Dataset(
            X,
            label=np.asarray(y),
            group=np.asarray(group),
            weight=weight,
            position=debias_positions,
            free_raw_data=True,
        )
        callbacks = []
        if progress is not None:
            report = progress

            def after_round(env: lgb.callback.CallbackEnv) -> None:
                report("boosting rounds", env.iteration + 1, env.end_iteration)

            callbacks.append(after_round)
        self.booster_ = lgb.train(
            params, dataset, num_boost_round=self.config.n_estimators, callbacks=callbacks
        )
        self.feature_names_ = tuple(X.columns)
        self.refusal_, self.application_, self.stated_strength_ = None, None, None
        if reasons is not None:
            labels = np.asarray(y)
            read = labels != 1
            pointwise = {
                k: v for k, v in params.items() if k not in ("objective", "metric", "eval_at", "label_gain")
            }

            def outcome(positive: npt.NDArray[np.bool_], weight_of: float) -> OutcomeModel | None:
                if weight_of <= 0 or not 0 < positive.sum() < len(positive):
                    return None
                return OutcomeModel.fit(
                    X[read],
                    positive,
                    params=pointwise,
                    n_estimators=self.config.n_estimators,
                    sample_weight=None if weight is None else weight[read],
                )

            refused = labels[read] == 0
            self.refusal_ = outcome(refused, self.config.refusal_weight)
            self.application_ = outcome(labels[read] >= 3, self.config.application_weight)
            self.stated_strength_ = StatedStrength.fit(
                X[read], refused, np.asarray(reasons, dtype=object)[read]
            )
        return self

    def predict(self, X: pd.DataFrame, *, across_people: bool = False) -> npt.NDArray[np.float64]:
        """Scores of the rows of ``X``, higher is better.

        The relevance score, plus the log-odds of an application, minus those of a refusal (weighted
        by ``application_weight`` and ``refusal_weight``). Stated reasons weigh through their evidence
        features; whether one binds is the alerts' policy (:meth:`binding`).
        ``across_people`` (a list of people for one offer) drops the refusal term: logged refusals
        tell who answers as much as who declines (people who never answer look like people who never
        refuse), which is fair between one person's offers but not between people.

        Parameters
        ----------
        X
            Features, shape ``(m, ·)``; columns are reordered to the training order, extra ones ignored.
        across_people
            The rows rank people for one offer rather than offers for one person.

        Returns
        -------
        ndarray of float64, shape (m,)

        Raises
        ------
        RuntimeError
            If the ranker is not fitted.
        ValueError
            If a training feature is missing from ``X``.
        """
        self._check_fitted()
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ValueError(f"features missing for the ranker: {', '.join(missing)}")
        if len(X) == 0:  # LightGBM refuses an empty matrix; no candidates is a normal answer
            return np.zeros(0, dtype=np.float64)
        features = X[list(self.feature_names_)]
        scores = np.asarray(self.booster_.predict(features, num_threads=self.config.n_jobs), dtype=np.float64)
        if self.refusal_ is not None and not across_people:
            scores = scores - self.config.refusal_weight * self.refusal_.logit(features, self.config.n_jobs)
        if self.application_ is not None:
            scores = scores + self.config.application_weight * self.application_.logit(
                features, self.config.n_jobs
            )
        return scores

    def binding(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """How many stated refusal reasons bind for each candidate (learned strength × decaying
        evidence at least ``binding_floor``), shape ``(m,)``; zeros when the ranker learned no
        strengths. Alerts do not push a candidate with one."""
        if self.stated_strength_ is None:
            return np.zeros(len(X))
        return self.stated_strength_.active(X, self.config.binding_floor)

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature, largest first (empty when the ranker is not fitted)."""
        if not hasattr(self, "booster_"):
            return {}
        gains = self.booster_.feature_importance(importance_type="gain")
        return dict(sorted(zip(self.feature_names_, map(float, gains), strict=True), key=lambda kv: -kv[1]))

    def explain(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions (SHAP values from the trees), shape ``(m, n_features)``.

        Raises
        ------
        RuntimeError
            If the ranker is not fitted.
        """
        self._check_fitted()
        contributions = self.booster_.predict(X[list(self.feature_names_)], pred_contrib=True)
        return pd.DataFrame(
            np.asarray(contributions)[:, :-1], columns=list(self.feature_names_), index=X.index
        )
