"""What people turn down: a refusal-risk model and the learned strength of each stated reason.

The LambdaRank objective orders what people apply to; it barely separates an offer a person would
refuse from one they would merely leave unread (gains 0 and 3 against 7 for an application). Alerts
pay for refusals (each one is an unwanted message), so the ranker also learns

* :class:`OutcomeModel`: the probability that a read alert is refused, a LightGBM classifier on the same
  features (a second objective, as in multi-objective feed ranking: score = relevance − λ · risk);
* :class:`StatedStrength`: how binding each stated refusal reason is, estimated from what people did
  after saying it: among read alerts repeating a reason the person stated (the ``evidence_<reason>``
  features, which decay with a half-life of :data:`features.schema.EVIDENCE_HALF_LIFE_DAYS`), the
  share refused again for that reason, beyond the share refused for it without a repeat. An alert
  repeating it is not sent while ``strength × evidence`` is at least :data:`ACTIVE_FLOOR`: a fresh
  refusal of a reason people hold to, not an old one or a reason people state loosely ("horaires"
  about a night job says little about a day job). Rankings do not bind: there the evidence is one
  more feature of the learned score.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
#: The evidence features, and the reason each one's repeats are refused again for: a "horaires"
#: refusal weighs on the working-time attributes and on the full/part-time pattern apart.
EVIDENCE_REASONS = {
    "evidence_distance": "distance",
    "evidence_salaire": "salaire",
    "evidence_type_contrat": "type_contrat",
    "evidence_horaires": "horaires",
    "evidence_horaires_pattern": "horaires",
    "evidence_metier": "metier",
    "evidence_competences": "competences",
}
#: An alert repeating a stated reason is not sent while the reason's learned strength times its decayed
#: evidence is at least this (the ranker's ``binding_floor`` setting). Chosen on the development world
#: (seed 42): at 0.1, reasons stated loosely (noisy_reasons model: strengths 0.1–0.18) bound too
#: little for repeat refusals to fall. Rankings do not bind: putting binding repeats last there cost
#: NDCG@10 on every market model (development world: offers 1.5–5 %, sourcing 3–8 %): the people's
#: answers say a stated reason is evidence, not a rule.
ACTIVE_FLOOR = 0.05
#: Read alerts repeating a reason needed to estimate its strength (fewer: strength 0, not binding).
MIN_REPEATS = 30
_EPS = 1e-4


@dataclass(frozen=True)
class StatedStrength:
    """Strength in [0, 1] of each evidence feature (:data:`EVIDENCE_REASONS`), learned from answers."""

    strength: dict[str, float]

    @classmethod
    def fit(cls, X: pd.DataFrame, refused: npt.ArrayLike, reasons: npt.ArrayLike) -> StatedStrength:
        """Estimate strengths on read alerts.

        Parameters
        ----------
        X
            Features of read alerts, shape ``(m, ·)``, with the ``evidence_<reason>`` columns.
        refused, reasons
            Whether each was refused, and the reason given ("" if none), shape ``(m,)``.

        Returns
        -------
        StatedStrength
            ``(rate among repeats − rate otherwise) / (1 − rate otherwise)``, clipped to [0, 1]; 0 for a
            reason with fewer than :data:`MIN_REPEATS` repeats.
        """
        refused = np.asarray(refused, dtype=bool)
        reasons = np.asarray(reasons, dtype=object)
        out = {}
        for column, reason in EVIDENCE_REASONS.items():
            if column not in X.columns:
                out[column] = 0.0
                continue
            repeat = X[column].fillna(0.0).to_numpy(float) > 0
            again = refused & (reasons == reason)
            if repeat.sum() < MIN_REPEATS or (~repeat).sum() == 0:
                out[column] = 0.0
                continue
            base = float(again[~repeat].mean())
            lift = (float(again[repeat].mean()) - base) / max(1.0 - base, _EPS)
            out[column] = float(np.clip(lift, 0.0, 1.0))
        return cls(out)

    def active(self, X: pd.DataFrame, floor: float = ACTIVE_FLOOR) -> FloatArray:
        """How many stated reasons bind for each candidate, shape ``(m,)``."""
        count = np.zeros(len(X))
        for column, strength in self.strength.items():
            if strength <= 0 or column not in X.columns:
                continue
            evidence = np.minimum(X[column].fillna(0.0).to_numpy(float), 1.0)
            count += strength * evidence >= floor
        return count


class OutcomeModel:
    """Probability of an outcome of a read alert (refused; applied or better): a LightGBM binary
    classifier (log loss). Pointwise, it compares people with each other, which the per-list
    LambdaRank objective never does: a counsellor's list of people needs it.

    Parameters mirror the ranker's (:class:`~models.ranker.RankerConfig`): leaves, minimum rows per
    leaf, rounds, learning rate, seed and threads; deterministic.
    """

    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster

    @classmethod
    def fit(
        cls,
        X: pd.DataFrame,
        refused: npt.ArrayLike,
        *,
        params: dict[str, object],
        n_estimators: int,
        sample_weight: npt.ArrayLike | None = None,
    ) -> OutcomeModel:
        """Fit on read alerts (``X`` shape ``(m, n_features)``, ``refused`` shape ``(m,)``)."""
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        dataset = lgb.Dataset(X, label=np.asarray(refused, dtype=float), weight=weight, free_raw_data=True)
        booster = lgb.train(
            {**params, "objective": "binary", "metric": "binary_logloss"}, dataset, n_estimators
        )
        return cls(booster)

    def logit(self, X: pd.DataFrame, num_threads: int) -> FloatArray:
        """Log-odds of a refusal for each row, shape ``(m,)``."""
        if len(X) == 0:
            return np.zeros(0)
        p = np.clip(np.asarray(self.booster.predict(X, num_threads=num_threads)), _EPS, 1.0 - _EPS)
        return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)
