"""Why a use case refuses a request; ``serving.app`` turns each kind into its HTTP status, once.

The message is the answer's ``detail``, so it is written for the API's caller.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request a use case refuses; :attr:`detail` is told to the caller with :attr:`status_code`.

    Parameters
    ----------
    message
        What is wrong, for the caller.
    problems
        Per-field problems, each ``{"type", "loc", "msg"}`` like FastAPI's own validation answers
        (``loc`` the path to the field, e.g. ``["body", "romeCode"]``); they replace the message as
        the answer's ``detail``.
    """

    status_code = 400  # each kind says its own; a new kind without one is still a 4xx, never a 500
    french = False  # the message is written for people (the pages show it as it is)

    def __init__(self, message: str, *, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    @property
    def detail(self) -> str | list[dict[str, Any]]:
        """The answer's ``detail``: the per-field problems when there are some, else the message."""
        return self.problems or str(self)


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know it exists (answered 404)."""

    status_code = 404


class Forbidden(ServiceError):
    """The object exists but is not the caller's (answered 403)."""

    status_code = 403


class Invalid(ServiceError):
    """The request is well-formed but cannot be applied, e.g. an unknown ROME code (answered 422)."""

    status_code = 422
