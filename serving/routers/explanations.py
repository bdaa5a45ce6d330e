"""Per-person explanation: which features made the ranker score an offer high or low for someone."""

from __future__ import annotations

from fastapi import APIRouter, Query

from serving.deps import ContainerDep, Reader
from serving.schemas import ExplanationOut
from serving.services.explanations import explain_score

router = APIRouter(tags=["explanations"])


@router.get(
    "/profiles/{profile_id}/explanation",
    response_model=ExplanationOut,
    responses={403: {"description": "not your profile"}, 404: {"description": "no such offer or profile"}},
)
def explanation(
    profile_id: str,
    container: ContainerDep,
    principal: Reader,
    offer_id: str = Query(min_length=1, max_length=64),
    top: int = Query(8, ge=1, le=40),
) -> ExplanationOut:
    """The features that mattered for this (person, offer) pair, largest contributions first."""
    return explain_score(container, principal, profile_id, offer_id, top)
