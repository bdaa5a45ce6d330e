"""The FastAPI application: one router per resource, errors as clear 4xx/503 answers, never a 500 page."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from serving.container import ServiceUnavailable, ServingContainer
from serving.pages.router import LoginRequired
from serving.pages.router import router as pages_router
from serving.pages.staff import router as staff_pages_router
from serving.routers import admin, alerts, explanations, health, poe, sourcing, viviers

logger = logging.getLogger(__name__)


def create_app(container: ServingContainer) -> FastAPI:
    """Build the API around its dependencies (see :func:`entrypoints.bootstrap.serving_container`)."""
    app = FastAPI(
        title="Matching engine API",
        version="0.1.0",
        description="Offer alerts, vivier sourcing and POE suggestions. Token auth: `Authorization: Bearer <id>.<secret>`.",
    )
    app.state.container = container
    for module in (health, alerts, sourcing, viviers, poe, explanations, admin):
        app.include_router(module.router)

    app.include_router(pages_router)
    app.include_router(staff_pages_router)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, error: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/pages/connexion", status_code=303)

    @app.exception_handler(ServiceUnavailable)
    def unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503)

    # the database gone, unreachable or unreadable (driver errors, dropped links, an exhausted pool)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    def database_down(request: Request, error: Exception) -> JSONResponse:
        logger.warning("database error on %s: %s", request.url.path, error)
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503)

    return app
