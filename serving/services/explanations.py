"""Per-person explanation: which features made the ranker score an offer high or low for someone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.schema import FEATURES
from models.scoring import rule_scores
from serving.container import ServingContainer
from serving.explain import explain
from serving.schemas import Contribution, ExplanationOut
from serving.security import Principal
from serving.services.checks import forbid_unless_own, readable_profile
from serving.services.errors import NotFound

RULE_FEATURES = ("rome_same_code", "beyond_declared_radius", "distance_ratio")  # what the rule ranks on


def explain_score(
    container: ServingContainer, principal: Principal, profile_id: str, offer_id: str, top: int
) -> ExplanationOut:
    """The features that mattered for this (person, offer) pair, largest contributions first.

    With the model serving, the ``top`` largest SHAP contributions; with the rule-based ranking (kill
    switch on, or no model), the rule's own features.

    Parameters
    ----------
    container
        The API's dependencies.
    principal
        The caller: a jobseeker for themselves, a counsellor for consenting people.
    profile_id, offer_id
        The pair to explain.
    top
        How many model contributions to tell.

    Returns
    -------
    ExplanationOut
        The score, how it was ranked, the explanation in words and the contributions.

    Raises
    ------
    Forbidden
        A jobseeker asks about someone else.
    NotFound
        No such offer or (visible) profile, or the pair is not in the feature tables yet.
    ServiceUnavailable
        The indexes or the model cannot be loaded.
    """
    forbid_unless_own(principal, profile_id)
    profile = readable_profile(container, principal, profile_id)
    offer = container.repository.get_offer(offer_id)
    if profile is None or offer is None:
        raise NotFound("no such offer or profile")
    service = container.service()
    kill_switch = container.store.kill_switch()
    tables = container.tables()
    if profile_id not in tables.profiles.index or offer_id not in tables.offers.index:
        raise NotFound("not in the feature tables yet: retry in a minute")
    pair = pd.DataFrame(
        {"profile_id": [profile_id], "offer_id": [offer_id], "as_of": [pd.Timestamp(container.clock.now())]}
    )
    X = service.features(tables, [profile], pair)
    row = X.iloc[0]
    mode = service.ranking_mode(kill_switch)
    if mode == "ml" and service.ranker is not None:
        shap = service.ranker.explain(X).iloc[0]
        score = float(service.ranker.predict(X)[0])
        names = shap.abs().sort_values(ascending=False).index[:top]
        contributions = [(name, float(shap[name])) for name in names]
    else:
        score = float(rule_scores(X)[0])
        contributions = [(name, float(row[name]) if pd.notna(row[name]) else 0.0) for name in RULE_FEATURES]
    return ExplanationOut(
        profile_id=profile_id,
        offer_id=offer_id,
        ranking=mode,
        model_version=service.served_model(kill_switch),
        score=score,
        why=explain(container.referential, profile, offer, container.clock.today()),
        contributions=[
            Contribution(
                feature=name,
                meaning=FEATURES[name],
                value=None if not np.isfinite(row[name]) else float(row[name]),
                contribution=value,
            )
            for name, value in contributions
        ],
    )
