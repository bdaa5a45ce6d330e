"""The FastAPI application: one router per resource, errors as clear 4xx/503 answers, never a 500 page."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.container import ServiceUnavailable, ServingContainer
from serving.pages.mail import router as mail_pages_router
from serving.pages.router import LoginRequired, error_page, is_page
from serving.pages.router import router as pages_router
from serving.pages.staff import router as staff_pages_router
from serving.routers import admin, alerts, explanations, health, offers, poe, sourcing, viviers
from serving.services.errors import ServiceError

logger = logging.getLogger(__name__)


# a refused use case's answer; the body is FastAPI's usual {"detail": ...}
def create_app(container: ServingContainer) -> FastAPI:
    """Build the API around its dependencies (see :func:`entrypoints.bootstrap.serving_container`).

    Parameters
    ----------
    container
        The database, stores, tokens, ranking service and feature tables, wired once.

    Returns
    -------
    FastAPI
        The API and the pages. Use cases' refusals (:mod:`serving.services.errors`) answer 404, 403 or
        422, a part that cannot be loaded (:class:`~serving.container.ServiceUnavailable`) or a database
        that is down 503, each mapped here once.
    """
    # the API docs (/docs, /redoc) load Swagger UI and ReDoc from the package, not from a CDN: a
    # service's network may not reach one (fastapi-offline ships the same assets FastAPI points to)
    app = FastAPIOffline(
        title="Matching engine API",
        version="0.1.0",
        description="Offer alerts, vivier sourcing and POE suggestions. Token auth: `Authorization: Bearer <id>.<secret>`.",
    )
    app.state.container = container
    for module in (health, alerts, offers, sourcing, viviers, poe, explanations, admin):
        app.include_router(module.router)

    app.include_router(pages_router)
    app.include_router(staff_pages_router)
    app.include_router(mail_pages_router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The address `make run` prints: on to the pages' login (the API's docs are at /docs)."""
        return RedirectResponse("/pages/connexion", status_code=303)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, error: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/pages/connexion", status_code=303)

    # the one place use cases' refusals and a missing index or model become HTTP answers: JSON for the
    # API, a French page for the pages (never raw JSON in a browser)
    @app.exception_handler(ServiceError)
    def refused(request: Request, error: ServiceError) -> Response:
        if is_page(request):
            return error_page(request, error.status_code, str(error) if error.french else None)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.exception_handler(ServiceUnavailable)
    def unavailable(request: Request, error: ServiceUnavailable) -> Response:
        if is_page(request):
            return error_page(request, status.HTTP_503_SERVICE_UNAVAILABLE)
        return JSONResponse({"detail": str(error)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    # Starlette's, which FastAPI's subclasses: an unknown /pages path (404) gets the French page too
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if is_page(request):  # the pages raise theirs in French already
            return error_page(request, error.status_code, str(error.detail))
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if is_page(request):
            return error_page(request, status.HTTP_422_UNPROCESSABLE_ENTITY)
        return await request_validation_exception_handler(request, error)

    # the database gone, unreachable or unreadable (driver errors, dropped links, an exhausted pool)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    def database_down(request: Request, error: Exception) -> JSONResponse:
        logger.warning("database error on %s: %s", request.url.path, error)
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503)

    return app
