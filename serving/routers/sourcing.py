"""Vivier sourcing for counsellors: ranked consenting candidates, with a short-training second list."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from serving.deps import ContainerDep, Counsellor
from serving.schemas import CounsellorActionIn, SourcingOut
from serving.services import sourcing

router = APIRouter(prefix="/offers", tags=["sourcing"])


@router.get(
    "/{offer_id}/candidates",
    response_model=SourcingOut,
    responses={404: {"description": "no such offer"}, 503: {"description": "indexes or model unavailable"}},
)
def candidates(
    offer_id: str, container: ContainerDep, principal: Counsellor, k: int = Query(50, ge=1, le=200)
) -> SourcingOut:
    """Consenting candidates for an offer, best first, each with why they fit and what they lack."""
    return sourcing.rank_candidates(container, principal, offer_id, k)


@router.post(
    "/{offer_id}/candidates/{profile_id}/actions",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "no such offer or consenting profile"}},
)
def candidate_action(
    offer_id: str, profile_id: str, body: CounsellorActionIn, container: ContainerDep, principal: Counsellor
) -> dict[str, str]:
    """Propose a candidate to the employer, dismiss them (with a reason), or record the hire."""
    event = sourcing.record_candidate_action(container, offer_id, profile_id, body)
    return {"event": event, "profile_id": profile_id, "offer_id": offer_id}


@router.post(
    "/{offer_id}/candidates/{profile_id}/restore",
    responses={404: {"description": "no such offer, or the candidate was not dismissed for it"}},
)
def restore_candidate(
    offer_id: str, profile_id: str, container: ContainerDep, principal: Counsellor
) -> dict[str, str]:
    """Take back the dismissal of a candidate for an offer: they are listed again."""
    sourcing.restore_candidate(container, offer_id, profile_id)
    return {"profile_id": profile_id, "offer_id": offer_id, "status": "listed again"}
