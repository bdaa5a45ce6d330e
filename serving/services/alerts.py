"""Jobseekers' offer alerts: reading them with why each was sent, and answering one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matching.domain import APPROXIMATE_PRECISIONS, Offer, Profile, RefusalReason
from matching.geo import Communes
from serving.container import ServingContainer
from serving.explain import explain, km_between, place_label
from serving.schemas import AlertOut, FeedbackIn, OfferSummary
from serving.security import Principal, Role
from serving.services.checks import forbid_unless_own
from serving.services.errors import Invalid, NotFound

EVENT_OF_ACTION = {"opened": "alert_opened", "applied": "applied", "refused": "refused"}


@dataclass(frozen=True)
class Feedback:
    """What answering an alert did: its new status, the subscription's changes, where to go next."""

    alert_id: int
    offer_id: str
    status: str
    subscription_changes: dict[str, Any] = field(default_factory=dict)
    poe_suggestions_url: str | None = None  # set after a "missing skills" refusal


def offer_summary(offer: Offer, communes: Communes | None = None) -> OfferSummary:
    """The few fields of an offer an alert shows (its place by name, from ``communes`` if need be)."""
    return OfferSummary(
        id=offer.id,
        title=offer.title,
        rome_code=offer.rome_code,
        contract_type=offer.contract_type.value if offer.contract_type else None,
        weekly_hours=offer.weekly_hours,
        salary_max_monthly=offer.salary_max_monthly,
        location=place_label(offer.location, communes),
    )


def alerts_of(
    container: ServingContainer, principal: Principal, profile_id: str, limit: int
) -> list[AlertOut]:
    """A person's latest alerts, newest first, each with why it was sent.

    Parameters
    ----------
    container
        The API's dependencies.
    principal
        The caller: a jobseeker reads their own alerts, a counsellor those of consenting people.
    profile_id
        Whose alerts.
    limit
        At most this many alerts.

    Returns
    -------
    list of AlertOut
        Alerts whose offer is still known (a withdrawn offer's alerts are left out).

    Raises
    ------
    Forbidden
        A jobseeker asks for someone else's alerts.
    NotFound
        No such profile, or (for a counsellor) one that did not consent to be visible.
    """
    forbid_unless_own(principal, profile_id)
    profile = container.repository.get_profile(profile_id)
    if principal.role == Role.COUNSELLOR and (profile is None or not profile.visible):
        raise NotFound(f"no consenting profile {profile_id!r}")
    if profile is None:
        raise NotFound(f"no profile {profile_id!r}")
    out = []
    today = container.clock.today()
    for alert in container.store.alerts_of(profile_id, limit):
        offer = container.repository.get_offer(alert.offer_id)
        if offer is None:  # the offer was withdrawn since
            continue
        out.append(
            AlertOut(
                id=alert.id,
                offer=offer_summary(offer, container.communes),
                rank=alert.rank,
                score=alert.score,
                status=alert.status,
                reason=alert.reason,
                created_at=alert.created_at,
                why=explain(container.referential, profile, offer, today),
            )
        )
    return out


def subscription_changes(
    reason: RefusalReason, profile: Profile, offer: Offer, current: dict[str, Any]
) -> dict[str, Any]:
    """What an explicit refusal reason changes in the subscription at once.

    Parameters
    ----------
    reason
        Why the person refused the offer.
    profile, offer
        The person and the refused offer.
    current
        The subscription as JSON (``Subscription.model_dump(mode="json")``).

    Returns
    -------
    dict
        The subscription fields to change; empty when the reason is learned by the ranker instead
        (occupation, skills, other) or the subscription already excludes the offer.
    """
    # a place known to an area only says nothing of how far the job is: a commute is not narrowed by
    # it (inside the département its edge is 0 km away, which would end the person's alerts), the
    # ranker learns from the refusal instead
    km = (
        None
        if offer.location.precision in APPROXIMATE_PRECISIONS
        else km_between(profile.home, offer.location)
    )
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


def record_feedback(
    container: ServingContainer, principal: Principal, alert_id: int, answer: FeedbackIn
) -> Feedback:
    """Record that an alert was opened, applied to, or refused with a reason.

    The event, the alert's status and the subscription change an explicit reason implies are written
    in one transaction.

    Parameters
    ----------
    container
        The API's dependencies.
    principal
        The jobseeker answering.
    alert_id
        The alert answered.
    answer
        The action, and the reason of a refusal.

    Returns
    -------
    Feedback
        The alert's new status and what changed; after a "missing skills" refusal, the URL of the POE
        suggestions for that offer.

    Raises
    ------
    NotFound
        No such alert.
    Forbidden
        The alert is someone else's.
    Invalid
        A refusal without a reason, or a reason without a refusal.
    """
    alert = container.store.alert(alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    forbid_unless_own(principal, alert.profile_id)
    if answer.action == "refused" and answer.reason is None:
        raise Invalid("a refusal needs a reason")
    if answer.action != "refused" and answer.reason is not None:
        raise Invalid("a reason only goes with a refusal")
    changes: dict[str, Any] = {}
    poe_url = None
    if answer.action == "refused" and answer.reason is not None:
        profile = container.repository.get_profile(alert.profile_id)
        # a refusal of an offer withdrawn since still says what the person does not want
        offer = container.repository.get_offer(alert.offer_id, withdrawn=True)
        subscription = container.store.subscription_of(alert.profile_id)
        if profile is not None and offer is not None and subscription is not None:
            changes = subscription_changes(
                answer.reason, profile, offer, subscription.model_dump(mode="json")
            )
        if answer.reason == RefusalReason.COMPETENCES:
            poe_url = f"/poe/suggestions?offer_id={alert.offer_id}&profile_id={alert.profile_id}"
    container.store.record_feedback(
        alert,
        event=EVENT_OF_ACTION[answer.action],
        status=answer.action,
        reason=answer.reason.value if answer.reason else None,
        subscription_changes=changes,
    )
    return Feedback(alert.id, alert.offer_id, answer.action, changes, poe_url)
