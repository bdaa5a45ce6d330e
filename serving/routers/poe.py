"""POE suggestions: short trainings that close a candidate's missing skills before the hire."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Query, status

from matching.domain import DEFAULT_COMMUTE_KM, Offer, Profile
from serving.container import ServiceUnavailable
from serving.deps import ContainerDep, CurrentUser, forbid_unless_own
from serving.routers.training_suggestions import suggest_trainings
from serving.schemas import PoeOut
from serving.security import Role
from serving.storage.repository import SqlRepository

router = APIRouter(prefix="/poe", tags=["poe"])


@router.get(
    "/suggestions", response_model=PoeOut, responses={404: {"description": "no such offer or profile"}}
)
def poe_suggestions(
    container: ContainerDep,
    principal: CurrentUser,
    offer_id: str = Query(min_length=1, max_length=64),
    profile_id: str | None = Query(None, min_length=1, max_length=64),
    k: int = Query(5, ge=1, le=20),
) -> PoeOut:
    """POE-eligible trainings (< 400 h) covering the missing skills, starting before the need date, within reach.

    Without ``profile_id`` (counsellors): trainings that teach the offer's required skills near the offer,
    to prepare candidates still to be found.
    """
    repository = SqlRepository(container.engine)
    offer = repository.get_offer(offer_id)
    if profile_id is None:
        if principal.role == Role.JOBSEEKER:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a jobseeker asks for their own profile_id")
        profile = None if offer is None else offer_area_profile(offer)
    else:
        forbid_unless_own(principal, profile_id)
        profile = repository.get_profile(profile_id)
        if profile is not None and principal.role == Role.COUNSELLOR and not profile.visible:
            profile = None
    if offer is None or profile is None:
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
        subject_id=profile_id or offer_id,
        ranking="rule",
        model_version="poe-coverage",
        index_version=service.index_version,
        item_ids=[t.training_id for t in trainings],
        scores=[1.0 / (i + 1) for i in range(len(trainings))],
        request={"offer_id": offer_id, "k": k},
    )
    return PoeOut(offer_id=offer_id, profile_id=profile_id, missing_skills=missing, trainings=trainings)


def offer_area_profile(offer: Offer) -> Profile:
    """Someone with the offer's occupation as project, no skill yet, living where the job is."""
    return Profile(
        id=f"area-of-{offer.id}"[:64],
        rome_codes=(offer.rome_code,),
        home=offer.location,
        max_commute_km=DEFAULT_COMMUTE_KM,
    )
