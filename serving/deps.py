"""FastAPI dependencies: the container, the authenticated caller, role checks (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving.container import ServingContainer
from serving.security import AuthError, Principal, Role

# BIGINT ids: larger values cannot exist and must not reach the database driver.
DatabaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_bearer = HTTPBearer(auto_error=False, description="API token: `<id>.<secret>`")


def get_container(request: Request) -> ServingContainer:
    """The container :func:`serving.app.create_app` was built around."""
    container: ServingContainer = request.app.state.container
    return container


ContainerDep = Annotated[ServingContainer, Depends(get_container)]


def current_principal(
    container: ContainerDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller behind a valid token; 401 otherwise (no detail on why), 429 above the rate limit."""
    unauthorised = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "invalid or missing token", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None:
        raise unauthorised
    try:
        principal = container.tokens.verify(credentials.credentials)
    except AuthError:
        raise unauthorised from None
    if not container.limiter.allow(principal.token_id):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "rate limit exceeded, retry later")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through a caller with one of ``roles`` and answers 403 to the others.

    Object-level checks (a jobseeker's own data, a counsellor's consenting people) are the use cases'
    (:mod:`serving.services.checks`).
    """

    def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {' or '.join(roles)}")
        return principal

    return check


Jobseeker = Annotated[Principal, Depends(require(Role.JOBSEEKER))]
Counsellor = Annotated[Principal, Depends(require(Role.COUNSELLOR, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Publisher = Annotated[Principal, Depends(require(Role.PARTNER, Role.ADMIN))]
# Anyone who may read people's data: a partner publishes offers and reads nothing.
Reader = Annotated[Principal, Depends(require(Role.JOBSEEKER, Role.COUNSELLOR, Role.ADMIN))]
