"""POE suggestions: short trainings that close a candidate's missing skills before the hire."""

from __future__ import annotations

from fastapi import APIRouter, Query

from serving.deps import ContainerDep, Reader
from serving.schemas import PoeOut
from serving.services import poe

router = APIRouter(prefix="/poe", tags=["poe"])


@router.get(
    "/suggestions", response_model=PoeOut, responses={404: {"description": "no such offer or profile"}}
)
def poe_suggestions(
    container: ContainerDep,
    principal: Reader,
    offer_id: str = Query(min_length=1, max_length=64),
    profile_id: str | None = Query(None, min_length=1, max_length=64),
    k: int = Query(5, ge=1, le=20),
) -> PoeOut:
    """POE-eligible trainings (< 400 h) covering the missing skills, starting before the need date, within reach.

    Without ``profile_id`` (counsellors): trainings that teach the offer's required skills near the offer,
    to prepare candidates still to be found.
    """
    return poe.poe_suggestions(container, principal, offer_id, profile_id, k)
