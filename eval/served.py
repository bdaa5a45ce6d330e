"""What the served engine gives the real offers: sourcing coverage and alerts, measured on its database.

The questions of a new deployment on real data (issue 16): for how many of the real offers with a
known place does a counsellor get at least one consenting candidate with an explanation, and how many
real offers did the alert batch send to jobseekers, with what "why". Sourcing is measured through the
same use case the API serves (:func:`serving.services.sourcing.rank_candidates`, what
``GET /offers/{id}/candidates`` answers), without logging its lists: nobody sees them, and logged
lists count in the exposure that rotates the next ones a counsellor gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from matching.domain import APPROXIMATE_PRECISIONS, Offer, Precision, accepted_contract_codes
from serving.container import ServingContainer
from serving.explain import explain
from serving.schemas import Explanation
from serving.security import Principal
from serving.services.sourcing import rank_candidates
from serving.storage.tables import AlertRow, OfferRow, SubscriptionRow


def _explained(why: Explanation) -> bool:
    """An explanation a counsellor can read: how the occupation relates and where the job is."""
    return bool(why.rome_relation.strip() and why.commute.strip())


def sourcing_coverage(
    container: ServingContainer,
    principal: Principal,
    offers: Sequence[Offer],
    *,
    k: int = 20,
    on_offer: Callable[[], None] | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Share of ``offers`` for which sourcing returns at least one candidate with an explanation.

    Parameters
    ----------
    container
        The served engine (database, indexes, champion).
    principal
        Who asks (a counsellor or an admin); nothing is logged.
    offers
        The offers to open, e.g. the real ones with a known place.
    k
        Length of the candidate list, as a counsellor's page asks for.
    on_offer
        Called after each offer (progress).

    Returns
    -------
    tuple[dict[str, float], list[str]]
        ``offers``, ``with_candidate``, ``share_with_candidate`` (0 to 1), ``mean_candidates``; and
        the ids of the offers without any.
    """
    with_candidate = 0
    listed = 0
    empty: list[str] = []
    for offer in offers:
        served = rank_candidates(container, principal, offer.id, k, log=False)
        explained = [c for c in served.candidates if _explained(c.why)]
        listed += len(served.candidates)
        if explained:
            with_candidate += 1
        else:
            empty.append(offer.id)
        if on_offer is not None:
            on_offer()
    n = len(offers)
    return {
        "offers": float(n),
        "with_candidate": float(with_candidate),
        "share_with_candidate": with_candidate / n if n else 0.0,
        "mean_candidates": listed / n if n else 0.0,
    }, empty


#: Places no commute reaches (see :class:`matching.domain.Precision`).
NOWHERE = (Precision.COUNTRY, Precision.UNKNOWN)


@dataclass(frozen=True)
class AlertedExample:
    """One alert of a real offer, as the jobseeker's page shows it."""

    profile_id: str
    offer_id: str
    title: str
    place: str | None
    why: Explanation


@dataclass(frozen=True)
class AlertCoverage:
    """Alerts sent for the offers of one source."""

    figures: dict[str, float]
    examples: list[AlertedExample] = field(default_factory=list)


def alert_coverage(
    container: ServingContainer, *, source: str, examples: int = 3, today: date | None = None
) -> AlertCoverage:
    """How many offers of ``source`` were alerted, to how many jobseekers, with a few "why".

    Parameters
    ----------
    container
        The served engine (its database and referential).
    source
        The offers' source, e.g. ``france_travail`` for the ingested real offers.
    examples
        How many alerts to explain (the best-ranked ones, one per person).
    today
        The day the explanations are given for (availability); default the container's clock's.

    Returns
    -------
    AlertCoverage
        ``alerts``, ``offers_alerted``, ``jobseekers_alerted``, ``alerts_all_sources``,
        ``alerts_unlocated`` (of ``alerts``, those of offers without coordinates: national ones),
        ``alerts_approximate`` (placed at a postal code, département or region), ``alerts_nowhere``
        (abroad or an unknown place: 0 unless the commute filter fails), and examples.
    """
    from serving.explain import place_label

    of_source = (OfferRow.id == AlertRow.offer_id) & (OfferRow.source == source)
    with Session(container.engine) as session:
        alerts, offers, people = session.execute(
            select(
                func.count(),
                func.count(AlertRow.offer_id.distinct()),
                func.count(AlertRow.profile_id.distinct()),
            ).join_from(AlertRow, OfferRow, of_source)
        ).one()
        total = session.scalar(select(func.count()).select_from(AlertRow)) or 0
        by_place = dict(
            session.execute(
                select(OfferRow.place_precision, func.count())
                .select_from(AlertRow)
                .join(OfferRow, of_source)
                .group_by(OfferRow.place_precision)
            ).all()
        )
        unlocated = (
            session.scalar(
                select(func.count())
                .select_from(AlertRow)
                .join(OfferRow, of_source)
                .where(OfferRow.lat.is_(None))
            )
            or 0
        )
        rows = session.execute(
            select(AlertRow.profile_id, AlertRow.offer_id)
            .join_from(AlertRow, OfferRow, of_source)
            .where(AlertRow.rank == 1)
            .order_by(AlertRow.profile_id)
            .limit(examples * 5)
        ).all()
    # one per person (a person may have had several subscriptions ranked), the first by profile id
    first: dict[str, str] = {}
    for profile_id, offer_id in rows:
        first.setdefault(str(profile_id), str(offer_id))
    best = sorted(first.items())[:examples]
    shown: list[AlertedExample] = []
    for profile_id, offer_id in best:
        profile = container.store.profiles([profile_id]).get(profile_id)
        offer = container.repository.get_offer(offer_id)
        if profile is None or offer is None:
            continue  # consent or offer withdrawn since
        why = explain(container.referential, profile, offer, today or container.clock.today())
        shown.append(
            AlertedExample(
                profile_id, offer_id, offer.title, place_label(offer.location, container.communes), why
            )
        )
    return AlertCoverage(
        {
            "alerts": float(alerts),
            "offers_alerted": float(offers),
            "jobseekers_alerted": float(people),
            "alerts_all_sources": float(total),
            "alerts_unlocated": float(unlocated),
            "alerts_approximate": float(sum(by_place.get(str(p), 0) for p in APPROXIMATE_PRECISIONS)),
            "alerts_nowhere": float(sum(by_place.get(str(p), 0) for p in NOWHERE)),
        },
        shown,
    )


def declared_contracts_respected(engine: Engine) -> dict[str, float]:
    """Of the alerts sent to subscriptions that declare contracts and did not opt in to others, how many
    carry another contract (the family rule of :func:`~matching.domain.accepted_contract_codes`).

    Returns
    -------
    dict
        ``alerts`` (all), ``alerts_declaring`` (to such subscriptions), ``alerts_outside`` (of those,
        of an undeclared contract; an offer stating none is not outside) and ``share_outside``.
    """
    with Session(engine) as session:
        subscriptions = {
            sid: (wanted or [], beyond)
            for sid, wanted, beyond in session.execute(
                select(SubscriptionRow.id, SubscriptionRow.contract_types, SubscriptionRow.beyond_criteria)
            )
        }
        rows = session.execute(
            select(AlertRow.subscription_id, OfferRow.contract_type).join(
                OfferRow, OfferRow.id == AlertRow.offer_id
            )
        ).all()
    declaring = outside = 0
    for subscription_id, contract in rows:
        wanted, beyond = subscriptions.get(subscription_id, ([], False))
        if wanted and not beyond:
            declaring += 1
            outside += contract is not None and contract not in accepted_contract_codes(wanted)
    return {
        "alerts": float(len(rows)),
        "alerts_declaring": float(declaring),
        "alerts_outside": float(outside),
        "share_outside": outside / declaring if declaring else 0.0,
    }
