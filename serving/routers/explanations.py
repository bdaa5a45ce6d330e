"""Per-person explanation: which features made the ranker score an offer high or low for someone."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, status

from features.schema import FEATURES
from models.scoring import rule_scores
from serving.container import ServiceUnavailable
from serving.deps import ContainerDep, CurrentUser, forbid_unless_own
from serving.explain import explain
from serving.schemas import Contribution, ExplanationOut
from serving.security import Role
from serving.storage.repository import SqlRepository

router = APIRouter(tags=["explanations"])
RULE_FEATURES = ("rome_same_code", "beyond_declared_radius", "distance_ratio")


@router.get(
    "/profiles/{profile_id}/explanation",
    response_model=ExplanationOut,
    responses={403: {"description": "not your profile"}, 404: {"description": "no such offer or profile"}},
)
def explanation(
    profile_id: str,
    container: ContainerDep,
    principal: CurrentUser,
    offer_id: str = Query(min_length=1, max_length=64),
    top: int = Query(8, ge=1, le=40),
) -> ExplanationOut:
    """The features that mattered for this (person, offer) pair, largest contributions first."""
    forbid_unless_own(principal, profile_id)
    repository = SqlRepository(container.engine)
    profile, offer = repository.get_profile(profile_id), repository.get_offer(offer_id)
    if profile is None or offer is None or (principal.role == Role.COUNSELLOR and not profile.visible):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such offer or profile")
    try:
        service = container.service()
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    kill_switch = container.store.kill_switch()
    tables = container.tables()
    if profile_id not in tables.profiles.index or offer_id not in tables.offers.index:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not in the feature tables yet: retry in a minute")
    pair = pd.DataFrame(
        {"profile_id": [profile_id], "offer_id": [offer_id], "as_of": [pd.Timestamp.now(tz="UTC")]}
    )
    X = service.features(tables, [profile], pair)
    mode = service.ranking_mode(kill_switch)
    if mode == "ml" and service.ranker is not None:
        shap = service.ranker.explain(X).iloc[0]
        score = float(service.ranker.predict(X)[0])
        names = shap.abs().sort_values(ascending=False).index[:top]
        contributions = [(name, float(shap[name])) for name in names]
    else:
        score = float(rule_scores(X)[0])
        contributions = [
            (name, float(X.iloc[0][name]) if pd.notna(X.iloc[0][name]) else 0.0) for name in RULE_FEATURES
        ]
    return ExplanationOut(
        profile_id=profile_id,
        offer_id=offer_id,
        ranking=mode,
        model_version=service.served_model(kill_switch),
        score=score,
        why=explain(container.referential, profile, offer, date.today()),
        contributions=[
            Contribution(
                feature=name,
                meaning=FEATURES[name],
                value=None if not np.isfinite(X.iloc[0][name]) else float(X.iloc[0][name]),
                contribution=value,
            )
            for name, value in contributions
        ],
    )
