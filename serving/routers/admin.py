"""Operations: the kill switch of ML ranking."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import Admin, ContainerDep
from serving.schemas import KillSwitchIn
from serving.storage.store import KILL_SWITCH

router = APIRouter(prefix="/admin", tags=["admin"])


@router.put("/kill-switch")
def set_kill_switch(body: KillSwitchIn, container: ContainerDep, principal: Admin) -> dict[str, bool]:
    """On: every ranking falls back to the rule-based one (today's practice) until switched off."""
    container.store.set_flag(KILL_SWITCH, "on" if body.enabled else "off", by=principal.subject_id)
    return {"enabled": body.enabled}


@router.get("/kill-switch")
def get_kill_switch(container: ContainerDep, principal: Admin) -> dict[str, bool]:
    return {"enabled": container.store.kill_switch()}
