"""Counsellors' saved sector viviers: consenting, available people of some occupations in an area."""

from __future__ import annotations

from fastapi import APIRouter, status

from serving.deps import ContainerDep, Counsellor, DatabaseId
from serving.schemas import VivierIn, VivierNearIn, VivierOut
from serving.services import viviers

router = APIRouter(prefix="/viviers", tags=["viviers"])


@router.post(
    "",
    response_model=VivierOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        422: {"description": "unknown ROME code, occupation or commune (a French sentence per field)"}
    },
)
def create_vivier(body: VivierIn | VivierNearIn, container: ContainerDep, principal: Counsellor) -> VivierOut:
    """Save a vivier and fill it now: ROME codes around a point (``lat``, ``lon``), or an occupation (a
    ROME title or code) around a commune (a name, "Lyon 3e", a postal code)."""
    return viviers.create_vivier(container, principal.subject_id, body)


@router.get("", response_model=list[VivierOut])
def my_viviers(container: ContainerDep, principal: Counsellor) -> list[VivierOut]:
    """My viviers, oldest first, less anyone who withdrew their consent since."""
    return viviers.viviers_of(container, principal.subject_id)


@router.post(
    "/{vivier_id}/refresh",
    response_model=VivierOut,
    responses={404: {"description": "no such vivier of yours"}},
)
def refresh_vivier(vivier_id: DatabaseId, container: ContainerDep, principal: Counsellor) -> VivierOut:
    """Recompute who is in the vivier today (consent, availability and hires change)."""
    return viviers.refresh_vivier(container, principal.subject_id, vivier_id)
