"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from serving.deps import ContainerDep
from serving.schemas import ReadyOut
from serving.services.health import readiness

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
    out = readiness(container)  # not ready: 503 with the problem, so a load balancer stops sending traffic
    code = status.HTTP_200_OK if out.ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(out.model_dump(), status_code=code)
