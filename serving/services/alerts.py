"""Jobseekers' offer alerts: reading them with why each was sent, and answering one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from matching.domain import (
    APPROXIMATE_PRECISIONS,
    Offer,
    Precision,
    Profile,
    RefusalReason,
    Subscription,
    accepted_contract_codes,
)
from matching.geo import Communes
from serving.container import ServingContainer
from serving.explain import explain, km_between, place_label
from serving.schemas import AlertOut, FeedbackIn, OfferSummary
from serving.security import Principal, Role
from serving.services.checks import forbid_unless_own
from serving.services.errors import Invalid, NotFound
from serving.storage.tables import AlertRow

EVENT_OF_ACTION = {"opened": "alert_opened", "applied": "applied", "refused": "refused"}
ANSWERED = {"applied", "refused"}  # an alert's final answers


@dataclass(frozen=True)
class Feedback:
    """What answering an alert did: its new status, the subscription's changes, where to go next."""

    alert_id: int
    offer_id: str
    status: str
    subscription_changes: dict[str, Any] = field(default_factory=dict)
    poe_suggestions_url: str | None = None  # set after a "missing skills" refusal
    note: str | None = None  # in French: what the answer does when it changes no setting


def offer_distance_km(profile: Profile, offer: Offer) -> float | None:
    """How far the job is from the person's home, km (1 decimal), when the place is known to the
    commune; ``None`` for an approximate, national, foreign or unplaced offer (a département centroid's
    distance would be a made-up figure)."""
    place = offer.location
    if place.anywhere or place.precision in APPROXIMATE_PRECISIONS or place.precision is Precision.COUNTRY:
        return None
    km = km_between(profile.home, place)
    return None if km is None else round(km, 1)


def outside_criteria(subscription: Subscription | None, offer: Offer, profile: Profile) -> list[str]:
    """How an offer departs from the contracts and hours the person declared, in French; empty when it
    does not, or when the person did not opt in to such offers (then none is sent: an older alert,
    sent before declared criteria were respected, is not labelled as if they had asked for it)."""
    if subscription is None or not subscription.beyond_criteria:
        return []
    out = []
    wanted = subscription.contract_types
    contract = offer.contract_type
    if (
        wanted
        and contract is not None
        and contract.value not in accepted_contract_codes(c.value for c in wanted)
    ):
        asked = ", ".join(c.label for c in wanted)
        out.append(f"contrat {contract.label} (vous cherchez : {asked})")
    # fewer hours than the subscription's minimum are never sent (a hard filter); more than declared are
    hours, high = offer.weekly_hours, profile.max_weekly_hours
    if hours and high and hours > high:
        out.append(f"{hours:.0f} h par semaine (vous cherchez au plus {high:.0f} h)")
    return out


def offer_summary(
    offer: Offer, communes: Communes | None = None, profile: Profile | None = None
) -> OfferSummary:
    """What an alert shows of an offer: its place by name (from ``communes`` if need be) and, for the
    person's own alert (``profile``), how far it is from their home; who hires, when, the contract in
    words, and where to apply."""
    return OfferSummary(
        id=offer.id,
        title=offer.title,
        rome_code=offer.rome_code,
        contract_type=offer.contract_type.value if offer.contract_type else None,
        contract_label=offer.contract_type.label if offer.contract_type else None,
        weekly_hours=offer.weekly_hours,
        salary_min_monthly=offer.salary_min_monthly,
        salary_max_monthly=offer.salary_max_monthly,
        location=place_label(offer.location, communes),
        distance_km=offer_distance_km(profile, offer) if profile is not None else None,
        employer=offer.employer,
        published_on=offer.created_at.date(),
        start_date=offer.need_date,
        apply_url=offer.apply_url,
        apply_site=urlsplit(offer.apply_url).hostname if offer.apply_url else None,
    )


#: Hosts "Je postule" sends people to at once: France Travail's own sites. Another host (an employer's
#: application page, given by a partner) is shown as a link with its name, never a silent redirect.
TRUSTED_APPLY_HOSTS = ("francetravail.fr", "pole-emploi.fr")


def trusted_apply_url(url: str | None) -> bool:
    """Whether ``url`` is on a France Travail site (the host or a subdomain), over https."""
    if not url:
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    return (
        parts.scheme == "https"
        and "@" not in parts.netloc
        and any(host == h or host.endswith("." + h) for h in TRUSTED_APPLY_HOSTS)
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
    subscription = container.store.subscription_of(profile_id)
    views = (
        alert_view(container, a, profile, subscription) for a in container.store.alerts_of(profile_id, limit)
    )
    return [view for view in views if view is not None]


def alert_view(
    container: ServingContainer,
    alert: AlertRow,
    profile: Profile,
    subscription: Subscription | None,
    offers: Mapping[str, Offer | None] | None = None,
) -> AlertOut | None:
    """An alert as its person sees it; ``None`` when its offer was withdrawn since (``offers``: the
    open offers read beforehand, by id, for many alerts at once)."""
    offer = (
        offers.get(alert.offer_id) if offers is not None else container.repository.get_offer(alert.offer_id)
    )
    if offer is None:
        return None
    return AlertOut(
        id=alert.id,
        offer=offer_summary(offer, container.communes, profile),
        rank=alert.rank,
        score=alert.score,
        status=alert.status,
        reason=alert.reason,
        created_at=alert.created_at,
        why=explain(container.referential, profile, offer, container.clock.today()),
        outside_criteria=outside_criteria(subscription, offer, profile),
        undoable=alert.status == "refused",
    )


def _own_alert(container: ServingContainer, principal: Principal, alert_id: int) -> AlertRow:
    """The caller's alert; :class:`NotFound` when there is none, :class:`Forbidden` when it is someone
    else's (the checks every use case on one alert starts with)."""
    alert = container.store.alert(alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    forbid_unless_own(principal, alert.profile_id)
    return alert


def alert_of(container: ServingContainer, principal: Principal, alert_id: int) -> AlertOut:
    """One of the caller's alerts, as :func:`alerts_of` shows it.

    Raises
    ------
    NotFound
        No such alert, or its offer was withdrawn since.
    Forbidden
        The alert is someone else's.
    """
    alert = _own_alert(container, principal, alert_id)
    profile = container.repository.get_profile(alert.profile_id)
    view = (
        None
        if profile is None
        else alert_view(container, alert, profile, container.store.subscription_of(alert.profile_id))
    )
    if view is None:
        raise NotFound(f"alert {alert_id}: its offer was withdrawn")
    return view


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
    if reason == RefusalReason.METIER:
        # a neighbouring fiche goes as a whole; a job of the person's own fiche goes by its appellation
        # (the fiche is their project: only they, or their counsellor, change it)
        own = offer.rome_code in current["rome_codes"]
        code = offer.appellation_code if own else offer.rome_code
        excluded = list(current.get("excluded_occupations") or [])
        return {"excluded_occupations": [*excluded, code]} if code and code not in excluded else {}
    if reason == RefusalReason.DEJA_EN_POSTE:
        return {"active": False}
    return {}  # competences, autre: learned by the ranker from the event log


def unchanged_note(reason: RefusalReason, offer: Offer) -> str:
    """Why a refusal changed no setting, and what it does instead, in French."""
    if reason == RefusalReason.DISTANCE:
        return (
            "le lieu de cette offre n'est connu qu'approximativement : votre distance maximale est gardée, "
            "les offres de ce secteur passeront après les autres"
        )
    if reason == RefusalReason.SALAIRE:
        return (
            "cette offre n'indique pas de salaire au-dessus de votre minimum : indiquez votre salaire "
            "minimum dans « Mon abonnement »"
        )
    if reason == RefusalReason.HORAIRES:
        return (
            "les offres aux mêmes horaires (temps plein ou partiel) passeront après les autres ; pour "
            "demander un minimum d'heures, indiquez-le à votre conseiller"
        )
    if reason == RefusalReason.TYPE_CONTRAT:
        return "ce type de contrat est déjà exclu, ou l'offre ne le précise pas"
    if reason == RefusalReason.METIER:
        return (
            "cette offre relève du métier de votre projet : les offres semblables passeront après les "
            "autres ; pour changer de projet, parlez-en à votre conseiller"
        )
    if reason == RefusalReason.COMPETENCES:
        return "voici des formations courtes pour acquérir les compétences qui manquent"
    return "votre réponse servira à mieux classer les prochaines offres"


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
    alert = _own_alert(container, principal, alert_id)
    if answer.action == "refused" and answer.reason is None:
        raise Invalid("a refusal needs a reason")
    if answer.action != "refused" and answer.reason is not None:
        raise Invalid("a reason only goes with a refusal")
    if alert.status in ANSWERED:
        # one answer per alert: a second one would bury the first (and what undoing it puts back)
        raise Invalid(f"the alert was already answered ({alert.status}); a refusal is undone first")
    changes: dict[str, Any] = {}
    undo: dict[str, Any] | None = None
    poe_url = note = None
    if answer.action == "refused" and answer.reason is not None:
        profile = container.repository.get_profile(alert.profile_id)
        # a refusal of an offer withdrawn since still says what the person does not want
        offer = container.repository.get_offer(alert.offer_id, withdrawn=True)
        subscription = container.store.subscription_of(alert.profile_id)
        if profile is not None and offer is not None and subscription is not None:
            current = subscription.model_dump(mode="json")
            if answer.change_subscription:
                changes = subscription_changes(answer.reason, profile, offer, current)
            undo = {"status": alert.status, "before": {k: current[k] for k in changes}, "after": changes}
            note = (
                "seule cette offre est écartée"
                if not answer.change_subscription
                else None
                if changes
                else unchanged_note(answer.reason, offer)
            )
        if answer.reason == RefusalReason.COMPETENCES:
            poe_url = f"/poe/suggestions?offer_id={alert.offer_id}&profile_id={alert.profile_id}"
    container.store.record_feedback(
        alert,
        event=EVENT_OF_ACTION[answer.action],
        status=answer.action,
        reason=answer.reason.value if answer.reason else None,
        subscription_changes=changes,
        undo=undo,
    )
    return Feedback(alert.id, alert.offer_id, answer.action, changes, poe_url, note)


def undo_answer(container: ServingContainer, principal: Principal, alert_id: int) -> dict[str, Any]:
    """Take back a refusal: the alert is open again and what the refusal changed goes back.

    Returns
    -------
    dict
        The subscription fields put back, with their values now (empty when the refusal changed none,
        or something else changed them since).

    Raises
    ------
    NotFound
        No such alert.
    Forbidden
        The alert is someone else's.
    Invalid
        The alert was not refused (an application is not taken back here).
    """
    _own_alert(container, principal, alert_id)  # 404 or 403 before anything changes
    restored = container.store.undo_answer(alert_id)  # checks the status in its own transaction
    if restored is None:
        raise Invalid("only a refusal can be taken back")
    return restored
