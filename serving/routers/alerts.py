"""Jobseekers' offer alerts and their feedback; the subscription behind them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving.deps import ContainerDep, DatabaseId, Jobseeker, Reader
from serving.schemas import (
    AlertOut,
    FeedbackIn,
    FeedbackOut,
    SubscriptionOut,
    SubscriptionUpdate,
    UndoOut,
)
from serving.services import alerts, subscriptions

router = APIRouter(tags=["alerts"])
Limit = Annotated[int, Query(ge=1, le=200)]  # how many alerts, newest first


@router.get("/me/alerts", response_model=list[AlertOut])
def my_alerts(container: ContainerDep, principal: Jobseeker, limit: Limit = 50) -> list[AlertOut]:
    """My latest alerts, newest first, each with why it was sent."""
    return alerts.alerts_of(container, principal, principal.subject_id, limit)


@router.get("/profiles/{profile_id}/alerts", response_model=list[AlertOut])
def alerts_of_profile(
    profile_id: str, container: ContainerDep, principal: Reader, limit: Limit = 50
) -> list[AlertOut]:
    """A person's alerts: their own for a jobseeker; consenting profiles only for a counsellor."""
    return alerts.alerts_of(container, principal, profile_id, limit)


@router.post(
    "/me/alerts/{alert_id}/feedback",
    response_model=FeedbackOut,
    responses={403: {"description": "not your alert"}, 404: {"description": "no such alert"}},
)
def alert_feedback(
    alert_id: DatabaseId, body: FeedbackIn, container: ContainerDep, principal: Jobseeker
) -> FeedbackOut:
    """Opened, applied, or refused with a reason. An explicit reason updates the subscription at once."""
    feedback = alerts.record_feedback(container, principal, alert_id, body)
    return FeedbackOut(
        alert_id=feedback.alert_id,
        status=feedback.status,
        subscription_changes=feedback.subscription_changes,
        poe_suggestions_url=feedback.poe_suggestions_url,
        note=feedback.note,
    )


@router.post(
    "/me/alerts/{alert_id}/undo",
    response_model=UndoOut,
    responses={
        403: {"description": "not your alert"},
        404: {"description": "no such alert"},
        422: {"description": "the alert was not refused"},
    },
)
def undo_alert_feedback(alert_id: DatabaseId, container: ContainerDep, principal: Jobseeker) -> UndoOut:
    """Take back a refusal: the offer is open again, the refusal leaves the event log, and what it
    changed in the subscription goes back (unless something changed it since)."""
    restored = alerts.undo_answer(container, principal, alert_id)
    alert = container.store.alert(alert_id)
    return UndoOut(alert_id=alert_id, status=alert.status if alert else "new", restored=restored)


@router.get("/me/subscription", response_model=SubscriptionOut)
def my_subscription(container: ContainerDep, principal: Jobseeker) -> SubscriptionOut:
    """My alert settings."""
    return subscriptions.subscription_of(container, principal.subject_id)


@router.patch("/me/subscription", response_model=SubscriptionOut)
def edit_my_subscription(
    body: SubscriptionUpdate, container: ContainerDep, principal: Jobseeker
) -> SubscriptionOut:
    """Change my alert settings (ROME codes, radius, contracts, hours, salary floor, channel, cadence…)."""
    return subscriptions.edit_subscription(container, principal.subject_id, body)
