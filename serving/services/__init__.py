"""Use cases of the API, one module per family: what a router or a page asks for, framework-free.

A router parses the request, calls one function of this package and maps the result to its response
schema; the pages call the same functions, so the same object-level checks and logging apply. Use cases
read and write through the container's store and repository only, and refuse a request by raising a
:class:`~serving.services.errors.ServiceError` that ``serving.app`` maps to its status code once
(``ServiceUnavailable`` from the container becomes a 503 the same way).
"""
