"""Vivier sourcing for counsellors: ranked consenting candidates, with a short-training second list."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, status

from features.tables import MarketTables
from matching.domain import Profile
from models.pipeline import rank_profiles_for_offer
from serving.container import ServiceUnavailable
from serving.deps import ContainerDep, Counsellor
from serving.explain import explain
from serving.routers.training_suggestions import suggest_trainings
from serving.schemas import CandidateOut, CounsellorActionIn, SourcingOut, TrainableCandidateOut
from serving.storage.repository import SqlRepository

router = APIRouter(prefix="/offers", tags=["sourcing"])
POOL = 200
MAX_GAP_FOR_TRAINING = 3  # missing required skills a POE can reasonably close
AVAILABILITY_SLACK = timedelta(days=30)  # an offer without a need date wants people within a month
EVENT_OF_ACTION = {"proposed": "counsellor_proposed", "dismissed": "counsellor_dismissed", "hired": "hired"}


def available_candidates(
    profiles: dict[str, Profile], tables: MarketTables, need: date
) -> dict[str, Profile]:
    """Consenting people (checked again), available by the offer's need date, not hired already."""
    hired = tables.profiles_with("hired")
    return {
        pid: p
        for pid, p in profiles.items()
        if p.visible and pid not in hired and (p.available_from is None or p.available_from <= need)
    }


@router.get(
    "/{offer_id}/candidates",
    response_model=SourcingOut,
    responses={404: {"description": "no such offer"}, 503: {"description": "indexes or model unavailable"}},
)
def candidates(
    offer_id: str, container: ContainerDep, principal: Counsellor, k: int = Query(50, ge=1, le=200)
) -> SourcingOut:
    """Consenting candidates for an offer, best first, each with why they fit and what they lack."""
    repository = SqlRepository(container.engine)
    offer = repository.get_offer(offer_id)
    if offer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no offer {offer_id!r}")
    try:
        service = container.service()
    except ServiceUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    kill_switch = container.store.kill_switch()
    ids, _ = service.generator.recommend_profiles(offer, k=POOL)
    profiles = container.store.profiles(ids.tolist())
    tables = container.tables()
    profiles = available_candidates(profiles, tables, offer.need_date or date.today() + AVAILABILITY_SLACK)
    now = pd.Timestamp.now(tz="UTC")
    ranked = rank_profiles_for_offer(
        service,
        tables,
        offer_id,
        profiles,
        now=now,
        kill_switch=kill_switch,
        exposure=container.store.sourcing_exposure(),
    )
    today = date.today()
    top: list[CandidateOut] = []
    trainable: list[TrainableCandidateOut] = []
    for position, (profile_id, score) in enumerate(
        zip(ranked["profile_id"], ranked["score"], strict=True), 1
    ):
        profile = profiles[profile_id]
        why = explain(container.referential, profile, offer, today)
        if len(top) < k:
            top.append(CandidateOut(profile_id=profile_id, rank=position, score=float(score), why=why))
            continue
        if len(trainable) < 10 and 0 < len(why.skills_missing) <= MAX_GAP_FOR_TRAINING:
            _, suggestions = suggest_trainings(
                service.generator, tables.trainings, container.referential, profile, offer, today=today, k=1
            )
            if suggestions and suggestions[0].skills_taught:
                trainable.append(
                    TrainableCandidateOut(
                        profile_id=profile_id,
                        rank=position,
                        score=float(score),
                        why=why,
                        training=suggestions[0],
                    )
                )
    model_version = service.served_model(kill_switch)
    container.store.log_recommendation(
        kind="sourcing",
        actor_role=principal.role.value,
        actor_id=principal.subject_id,
        subject_id=offer_id,
        ranking=service.ranking_mode(kill_switch),
        model_version=model_version,
        index_version=service.index_version,
        item_ids=[c.profile_id for c in top] + [c.profile_id for c in trainable],
        scores=[c.score for c in top] + [c.score for c in trainable],
        request={"k": k},
    )
    return SourcingOut(
        offer_id=offer_id,
        ranking=service.ranking_mode(kill_switch),
        model_version=model_version,
        index_version=service.index_version,
        candidates=top,
        reachable_with_training=trainable,
    )


@router.post(
    "/{offer_id}/candidates/{profile_id}/actions",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "no such offer or consenting profile"}},
)
def candidate_action(
    offer_id: str, profile_id: str, body: CounsellorActionIn, container: ContainerDep, principal: Counsellor
) -> dict[str, str]:
    """Propose a candidate to the employer, dismiss them (with a reason), or record the hire."""
    repository = SqlRepository(container.engine)
    profile = repository.get_profile(profile_id)
    if repository.get_offer(offer_id) is None or profile is None or not profile.visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such offer or consenting profile")
    if body.action == "dismissed" and not body.reason:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "dismissing a candidate needs a reason")
    event = EVENT_OF_ACTION[body.action]
    container.store.add_event(event, profile_id, offer_id=offer_id, reason=body.reason, actor="counsellor")
    return {"event": event, "profile_id": profile_id, "offer_id": offer_id}
