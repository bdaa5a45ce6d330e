"""Offers published through the API by partners (and admins), in France Travail's v2 format."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from serving.deps import ContainerDep, Publisher
from serving.schemas import OfferPublishedOut, OfferWithdrawnOut
from serving.services import offers

router = APIRouter(prefix="/offers", tags=["offers"])

OfferRecord = Annotated[
    dict[str, Any],
    Body(
        description="One offer in the France Travail 'Offres d'emploi v2' JSON format (an element of "
        "the API's `resultats`); its `id` must be the path's.",
        examples=[
            {
                "id": "PARTNER-001",
                "intitule": "Cariste H/F",
                "romeCode": "N1101",
                "dateCreation": "2025-03-01T08:00:00.000Z",
                "typeContrat": "CDI",
                "lieuTravail": {"libelle": "69 - LYON 03", "latitude": 45.76, "longitude": 4.85},
            }
        ],
    ),
]


@router.put(
    "/{offer_id}",
    response_model=OfferPublishedOut,
    responses={
        201: {"description": "offer created", "model": OfferPublishedOut},
        403: {"description": "the offer was published by someone else"},
        422: {"description": "unusable offer: the problems per field, or an id other than the path's"},
    },
)
def publish_offer(
    offer_id: str, record: OfferRecord, response: Response, container: ContainerDep, principal: Publisher
) -> OfferPublishedOut:
    """Create or replace an offer; it is in sourcing at once and alerted by the next incremental run."""
    out = offers.publish_offer(container, principal, offer_id, record)
    response.status_code = status.HTTP_201_CREATED if out.status == "created" else status.HTTP_200_OK
    return out


@router.delete(
    "/{offer_id}",
    response_model=OfferWithdrawnOut,
    responses={
        403: {"description": "the offer was published by someone else"},
        404: {"description": "no such offer"},
    },
)
def withdraw_offer(offer_id: str, container: ContainerDep, principal: Publisher) -> OfferWithdrawnOut:
    """Withdraw an offer: out of sourcing and of the indexes at once, never alerted again."""
    return offers.withdraw_offer(container, principal, offer_id)
