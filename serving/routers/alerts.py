"""Jobseekers' offer alerts and their feedback; the subscription behind them."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from matching.domain import Offer, Profile, RefusalReason
from serving.container import ServingContainer
from serving.deps import ContainerDep, CurrentUser, DatabaseId, Jobseeker, forbid_unless_own
from serving.explain import explain, km_between
from serving.schemas import (
    AlertOut,
    FeedbackIn,
    FeedbackOut,
    OfferSummary,
    SubscriptionOut,
    SubscriptionUpdate,
)
from serving.security import Role
from serving.storage.repository import SqlRepository
from serving.storage.tables import AlertRow

router = APIRouter(tags=["alerts"])
EVENT_OF_ACTION = {"opened": "alert_opened", "applied": "applied", "refused": "refused"}


def offer_summary(offer: Offer) -> OfferSummary:
    return OfferSummary(
        id=offer.id,
        title=offer.title,
        rome_code=offer.rome_code,
        contract_type=offer.contract_type.value if offer.contract_type else None,
        weekly_hours=offer.weekly_hours,
        salary_max_monthly=offer.salary_max_monthly,
        location=offer.location.label or offer.location.insee,
    )


def _alerts_out(container: ServingContainer, profile_id: str, limit: int) -> list[AlertOut]:
    repository = SqlRepository(container.engine)
    profile = repository.get_profile(profile_id)
    if profile is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no profile {profile_id!r}")
    out = []
    for alert in container.store.alerts_of(profile_id, limit):
        offer = repository.get_offer(alert.offer_id)
        if offer is None:  # the offer was withdrawn since
            continue
        out.append(
            AlertOut(
                id=alert.id,
                offer=offer_summary(offer),
                rank=alert.rank,
                score=alert.score,
                status=alert.status,
                reason=alert.reason,
                created_at=alert.created_at,
                why=explain(container.referential, profile, offer, date.today()),
            )
        )
    return out


@router.get("/me/alerts", response_model=list[AlertOut])
def my_alerts(
    container: ContainerDep, principal: Jobseeker, limit: int = Query(50, ge=1, le=200)
) -> list[AlertOut]:
    """My latest alerts, newest first, each with why it was sent."""
    return _alerts_out(container, principal.subject_id, limit)


@router.get("/profiles/{profile_id}/alerts", response_model=list[AlertOut])
def alerts_of_profile(
    profile_id: str, container: ContainerDep, principal: CurrentUser, limit: int = Query(50, ge=1, le=200)
) -> list[AlertOut]:
    """A person's alerts: their own for a jobseeker; consenting profiles only for a counsellor."""
    forbid_unless_own(principal, profile_id)
    if principal.role == Role.COUNSELLOR:
        profile = SqlRepository(container.engine).get_profile(profile_id)
        if profile is None or not profile.visible:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no consenting profile {profile_id!r}")
    return _alerts_out(container, profile_id, limit)


def subscription_changes(
    reason: RefusalReason, profile: Profile, offer: Offer, current: dict[str, Any]
) -> dict[str, Any]:
    """What an explicit refusal reason changes in the subscription at once."""
    km = km_between(profile.home, offer.location)
    if reason == RefusalReason.DISTANCE and km is not None:
        radius = max(1.0, round(0.9 * km, 1))
        return {"radius_km": radius} if radius < current["radius_km"] else {}
    if reason == RefusalReason.TYPE_CONTRAT and offer.contract_type is not None:
        excluded = list(current["excluded_contract_types"])
        return (
            {}
            if offer.contract_type.value in excluded
            else {"excluded_contract_types": [*excluded, offer.contract_type.value]}
        )
    if reason == RefusalReason.SALAIRE and (offer.salary_max_monthly or offer.salary_min_monthly):
        floor = round((offer.salary_max_monthly or offer.salary_min_monthly or 0) + 10, -1)
        return {"salary_floor_monthly": floor} if floor > (current["salary_floor_monthly"] or 0) else {}
    if reason == RefusalReason.HORAIRES and offer.weekly_hours and offer.weekly_hours < 35:
        wanted = offer.weekly_hours + 1
        return {"min_weekly_hours": wanted} if wanted > (current["min_weekly_hours"] or 0) else {}
    if reason == RefusalReason.DEJA_EN_POSTE:
        return {"active": False}
    return {}  # metier, competences, autre: learned by the ranker from the event log


@router.post(
    "/me/alerts/{alert_id}/feedback",
    response_model=FeedbackOut,
    responses={403: {"description": "not your alert"}, 404: {"description": "no such alert"}},
)
def alert_feedback(
    alert_id: DatabaseId,
    body: FeedbackIn,
    container: ContainerDep,
    principal: Jobseeker,
) -> FeedbackOut:
    """Opened, applied, or refused with a reason. An explicit reason updates the subscription at once."""
    alert: AlertRow | None = container.store.alert(alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    forbid_unless_own(principal, alert.profile_id)
    if body.action == "refused" and body.reason is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a refusal needs a reason")
    if body.action != "refused" and body.reason is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a reason only goes with a refusal")
    changes: dict[str, Any] = {}
    poe_url = None
    if body.action == "refused" and body.reason is not None:
        repository = SqlRepository(container.engine)
        profile, offer = repository.get_profile(alert.profile_id), repository.get_offer(alert.offer_id)
        subscription = container.store.subscription_of(alert.profile_id)
        if profile is not None and offer is not None and subscription is not None:
            changes = subscription_changes(body.reason, profile, offer, subscription.model_dump(mode="json"))
        if body.reason == RefusalReason.COMPETENCES:
            poe_url = f"/poe/suggestions?offer_id={alert.offer_id}&profile_id={alert.profile_id}"
    container.store.record_feedback(
        alert,
        event=EVENT_OF_ACTION[body.action],
        status=body.action,
        reason=body.reason.value if body.reason else None,
        subscription_changes=changes,
    )
    return FeedbackOut(
        alert_id=alert.id, status=body.action, subscription_changes=changes, poe_suggestions_url=poe_url
    )


def _subscription_out(container: ServingContainer, profile_id: str) -> SubscriptionOut:
    subscription = container.store.subscription_of(profile_id)
    if subscription is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no subscription: no job project is known yet")
    return SubscriptionOut(**subscription.model_dump(mode="json", exclude={"profile_id"}))


@router.get("/me/subscription", response_model=SubscriptionOut)
def my_subscription(container: ContainerDep, principal: Jobseeker) -> SubscriptionOut:
    return _subscription_out(container, principal.subject_id)


@router.patch("/me/subscription", response_model=SubscriptionOut)
def edit_my_subscription(
    body: SubscriptionUpdate, container: ContainerDep, principal: Jobseeker
) -> SubscriptionOut:
    """Change my alert settings (ROME codes, radius, contracts, hours, salary floor, channel, cadence…)."""
    current = _subscription_out(container, principal.subject_id)
    unknown = [c for c in body.rome_codes or [] if c not in container.referential.fiches]
    if body.rome_codes_valid() or unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown ROME codes: {', '.join(body.rome_codes_valid() or unknown)}",
        )
    nullable = {"min_weekly_hours", "salary_floor_monthly"}
    changes = {
        k: v
        for k, v in body.model_dump(mode="json", exclude_unset=True).items()
        if v is not None or k in nullable
    }
    container.store.update_subscription(current.id, changes)
    return _subscription_out(container, principal.subject_id)
