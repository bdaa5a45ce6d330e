"""Operations: the kill switch of ML ranking."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import Admin, ContainerDep
from serving.schemas import KillSwitchIn
from serving.services import admin

router = APIRouter(prefix="/admin", tags=["admin"])


@router.put("/kill-switch")
def set_kill_switch(body: KillSwitchIn, container: ContainerDep, principal: Admin) -> dict[str, bool]:
    """On: every ranking falls back to the rule-based one (today's practice) until switched off."""
    return {"enabled": admin.set_kill_switch(container, body.enabled, by=principal.subject_id)}


@router.get("/kill-switch")
def get_kill_switch(container: ContainerDep, principal: Admin) -> dict[str, bool]:
    """Whether ML ranking is switched off."""
    return {"enabled": admin.kill_switch(container)}
