"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serving.container import ServiceUnavailable
from serving.deps import ContainerDep
from serving.schemas import ReadyOut

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def ready(container: ContainerDep) -> JSONResponse:
    """Ready when the database answers and the indexes and the champion model are loaded.

    Without a usable champion the API is ready only if the kill switch is on (rule-based ranking
    chosen by an operator).
    """
    database = container.database_ok()
    out = ReadyOut(ready=False, database=database)
    if not database:
        out.problem = "database unreachable"
        return JSONResponse(out.model_dump(), status_code=503)
    out.kill_switch = container.store.kill_switch()
    try:
        service = container.service()
    except ServiceUnavailable as error:
        out.problem = str(error)
        return JSONResponse(out.model_dump(), status_code=503)
    out.degraded = container.degraded or None
    out.index_version = service.index_version
    out.model_version = service.served_model(out.kill_switch)
    if service.unavailable_model and not out.kill_switch:
        out.problem = f"champion model unavailable ({service.unavailable_model}); turn the kill switch on to serve the rule-based ranking"
        return JSONResponse(out.model_dump(), status_code=503)
    out.ready = True
    return JSONResponse(out.model_dump())
