"""How candidates are ordered from their features: the learned ranker, and the rule-based fallback.

Shared by serving (alerts, sourcing) and by offline evaluation, so both rank the same way. ``X`` is a
feature frame of :data:`features.schema.FEATURE_NAMES`, shape ``(m, n_features)``; scores have shape
``(m,)``, higher first.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.pairs import stated_constraint_violations, stated_constraints
from models.ranker import LambdaRankRanker

Scores = npt.NDArray[np.float64]
STATED_PENALTY = 1e3  # far above any learned score: one repeated stated reason ranks below every other


def rule_scores(X: pd.DataFrame) -> Scores:
    """Today's practice: same ROME code first, then within the declared radius, then the closest."""
    ratio = X["distance_ratio"].fillna(1.0).clip(0, 10).to_numpy(float)
    within = 1.0 - X["beyond_declared_radius"].fillna(0.0).to_numpy(float)
    return np.asarray(100.0 * X["rome_same_code"].to_numpy(float) + 10.0 * within - ratio, dtype=np.float64)


def stated_penalty(X: pd.DataFrame) -> Scores:
    """Score penalty of each candidate, shape ``(m,)``: :data:`STATED_PENALTY` per stated refusal it repeats.

    The stated-refusal policy lives here only: a candidate repeating a reason the person gave (too
    far, salary, contract type, hours, occupation) ranks below every candidate that repeats none.
    """
    return np.asarray(STATED_PENALTY * stated_constraint_violations(X), dtype=np.float64)


#: The stated refusals the alert batch enforces from the event log: an offer covering no more of the
#: person's skills than one they refused for missing skills (the POE suggestions answer that refusal).
#: The others are the subscription's own settings the person sees and can change (radius, salary
#: floor, minimum hours, excluded contracts and occupations), enforced as hard filters, so that a
#: person who lifts one or widens their radius gets those offers again; an answer that changed no
#: setting (an approximate place, full-time hours) demotes what repeats it (the ranking's penalty)
#: rather than silently stopping a whole kind of offers.
UNSTATED_IN_SUBSCRIPTION = ("competences",)


def sendable(X: pd.DataFrame, reasons: tuple[str, ...] | None = None) -> npt.NDArray[np.bool_]:
    """Which candidates may be *pushed* as alerts, shape ``(m,)``: those repeating no stated refusal
    (of ``reasons`` only, when given: keys of :func:`features.pairs.stated_constraints`).

    Alerts go further than ranking: a pushed offer must not repeat what the person already refused.
    """
    if reasons is None:
        return np.asarray(stated_constraint_violations(X) == 0)
    masks = stated_constraints(X)
    return np.asarray(~np.logical_or.reduce([masks[r] for r in reasons]), dtype=bool)


def learned_scores(
    ranker: LambdaRankRanker, X: pd.DataFrame, *, respect_stated: bool = False, across_people: bool = False
) -> Scores:
    """The ranker's scores; with ``respect_stated``, offers repeating a stated refusal reason go last.

    By default a stated reason is evidence the ranker weighs (the decaying ``evidence_*`` features,
    whose strength it learned from what people did after saying it), not a permanent hard filter:
    a "horaires" refusal of a night job says little about the next day job, and people's
    constraints relax as their search goes on. The rule, which learns nothing, keeps the hard
    penalty (:func:`stated_penalty`). ``across_people``: the candidates are people for one offer
    (see :meth:`~models.ranker.LambdaRankRanker.predict`). A ranker without learned strengths (saved
    before it learned them) keeps the hard penalty.
    """
    scores = ranker.predict(X, across_people=across_people)
    # a ranker saved before it learned the strength of stated reasons has no other way to respect them
    if respect_stated or ranker.stated_strength_ is None:
        scores = scores - stated_penalty(X)
    return np.asarray(scores, dtype=np.float64)
