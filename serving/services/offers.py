"""Offers published through the API: parsed like ingested ones, stored, and live in sourcing at once.

A partner (an employer, a job board) publishes offers in France Travail's "Offres d'emploi v2" format,
read by the same parser as ``matching ingest offers``; an admin may too. An offer is stored with the
source ``api:<publisher>``, and a partner changes or withdraws only the offers it published. The
database is the truth: the API's live index applies what changed there (``container.sync_offers``),
so the offer is in sourcing when the answer leaves, and every other API process within its refresh
period; the next incremental alert run considers it (it was received after the run's index was read,
see :mod:`serving.batch.alerts`).
"""

from __future__ import annotations

from typing import Any

from matching.domain import Offer
from matching.ingest import lacks_rome_code, parse_offer
from matching.skills import with_inferred_skills
from serving.container import ServingContainer
from serving.schemas import FieldProblem, OfferPublishedOut, OfferWithdrawnOut
from serving.security import Principal, Role
from serving.services.errors import Forbidden, Invalid, NotFound
from serving.storage.repository import API_SOURCE_PREFIX


def source_of(principal: Principal) -> str:
    """The ``source`` an offer published by this caller is stored with (at most 32 characters)."""
    return f"{API_SOURCE_PREFIX}{principal.subject_id}"[:32]


def _forbid_unless_publisher(principal: Principal, offer: Offer | None) -> None:
    """A partner acts on the offers it published only (or on a new id); an admin on any."""
    if principal.role == Role.PARTNER and offer is not None and offer.source != source_of(principal):
        raise Forbidden(f"offer {offer.id!r} was not published by you")


def _problem(where: str, field: str, message: str) -> dict[str, Any]:
    """A problem shaped like FastAPI's validation errors: ``loc`` is the path to the field."""
    return {"type": "value_error", "loc": [where, *field.split(".")], "msg": message}


def publish_offer(
    container: ServingContainer, principal: Principal, offer_id: str, record: dict[str, Any]
) -> OfferPublishedOut:
    """Create, replace or publish again an offer given in France Travail's v2 format.

    Parameters
    ----------
    container
        The API's dependencies (referential and communes for parsing, repository, live index).
    principal
        A partner or an admin.
    offer_id
        The id in the path; the record's ``id`` must be the same.
    record
        One offer in the "Offres d'emploi v2" format.

    Returns
    -------
    OfferPublishedOut
        Created, updated or unchanged; the fields dropped or corrected; whether the live index has it.

    Raises
    ------
    Invalid
        The record's id differs from the path's, or a field the engine cannot work without is
        unusable (id, title, ROME code, creation date): the problems per field. A missing ROME code
        is inferred from the title by the ROME classifier, and refused only below its confidence floor
        (:data:`matching.ingest.MIN_INFERRED_ROME_CONFIDENCE`).
    Forbidden
        A partner replaces an offer someone else published.
    """
    body_id = record.get("id")
    if isinstance(body_id, str) and body_id.strip() and body_id.strip() != offer_id:
        message = f"the body's id {body_id.strip()!r} is not the path's {offer_id!r}"
        raise Invalid(message, problems=[_problem("body", "id", message)])
    # an offer without a romeCode is coded by the ROME classifier (fit once, on the first such offer)
    classifier = container.rome_classifier() if lacks_rome_code(record) else None
    parsed = parse_offer(
        record, referential=container.referential, communes=container.communes, classifier=classifier
    )
    if parsed.offer is None:
        raise Invalid(
            "unusable offer",
            problems=[_problem("body", issue.field, issue.problem) for issue in parsed.rejections],
        )
    _forbid_unless_publisher(principal, container.repository.get_offer(offer_id, withdrawn=True))
    offer = parsed.offer.model_copy(update={"source": source_of(principal)})
    offer = with_inferred_skills([offer], container.skill_extractor())[0]
    # the caller may act on this id (checked above): it replaces whatever was stored, from any source
    # and of any date (a PUT says what the offer is now, even with a stale or no dateActualisation)
    counts = container.repository.upsert_offers([offer], republish="any", take_over=True, keep_newer=False)
    live = container.sync_offers()
    # published again (even with the same content) is a change for the caller
    status = (
        "created" if counts.inserted else "updated" if counts.updated or counts.republished else "unchanged"
    )
    return OfferPublishedOut(
        id=offer.id,
        status=status,
        republished=bool(counts.republished),
        live=live,
        index_version=container.live_index_version(),
        problems=[FieldProblem(field=w.field, problem=w.problem) for w in parsed.warnings],
    )


def withdraw_offer(container: ServingContainer, principal: Principal, offer_id: str) -> OfferWithdrawnOut:
    """Withdraw an offer (again: nothing changes): out of sourcing, indexes and alerts.

    Raises
    ------
    NotFound
        No such offer.
    Forbidden
        A partner withdraws an offer someone else published.
    """
    offer = container.repository.get_offer(offer_id, withdrawn=True)
    if offer is None:
        raise NotFound(f"no offer {offer_id!r}")
    _forbid_unless_publisher(principal, offer)
    withdrawn_at = container.repository.withdraw_offer(offer_id)
    assert withdrawn_at is not None  # the offer exists: rows are never deleted
    return OfferWithdrawnOut(id=offer_id, withdrawn_at=withdrawn_at, live=container.sync_offers())
