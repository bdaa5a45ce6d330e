"""POE suggestions: short trainings that close a candidate's missing skills before the hire."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Query, status

from matching.storage.repository import SqlRepository
from serving.container import ServiceUnavailable
from serving.deps import ContainerDep, CurrentUser, forbid_unless_own
from serving.routers.training_suggestions import suggest_trainings
from serving.schemas import PoeOut
from serving.security import Role

router = APIRouter(prefix="/poe", tags=["poe"])


@router.get(
    "/suggestions", response_model=PoeOut, responses={404: {"description": "no such offer or profile"}}
)
def poe_suggestions(
    container: ContainerDep,
    principal: CurrentUser,
    offer_id: str = Query(min_length=1, max_length=64),
    profile_id: str = Query(min_length=1, max_length=64),
    k: int = Query(5, ge=1, le=20),
) -> PoeOut:
    """POE-eligible trainings (< 400 h) covering the missing skills, starting before the need date, within reach."""
    forbid_unless_own(principal, profile_id)
    repository = SqlRepository(container.engine)
    offer, profile = repository.get_offer(offer_id), repository.get_profile(profile_id)
    if offer is None or profile is None or (principal.role == Role.COUNSELLOR and not profile.visible):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such offer or profile")
    try:
        service = container.service()
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    missing, trainings = suggest_trainings(
        service.generator,
        container.tables().trainings,
        container.referential,
        profile,
        offer,
        today=date.today(),
        k=k,
    )
    container.store.log_recommendation(
        kind="poe",
        actor_role=principal.role.value,
        actor_id=principal.subject_id,
        subject_id=profile_id,
        ranking="rule",
        model_version="poe-coverage",
        index_version=service.index_version,
        item_ids=[t.training_id for t in trainings],
        scores=[1.0 / (i + 1) for i in range(len(trainings))],
        request={"offer_id": offer_id, "k": k},
    )
    return PoeOut(offer_id=offer_id, profile_id=profile_id, missing_skills=missing, trainings=trainings)
