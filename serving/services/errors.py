"""Why a use case refuses a request; ``serving.app`` turns each kind into its HTTP status, once.

The message is the answer's ``detail``, so it is written for the API's caller.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request a use case refuses; ``str(error)`` is told to the caller with :attr:`status_code`."""

    status_code = 400  # each kind says its own; a new kind without one is still a 4xx, never a 500


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know it exists (answered 404)."""

    status_code = 404


class Forbidden(ServiceError):
    """The object exists but is not the caller's (answered 403)."""

    status_code = 403


class Invalid(ServiceError):
    """The request is well-formed but cannot be applied, e.g. an unknown ROME code (answered 422)."""

    status_code = 422
