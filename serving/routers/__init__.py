"""The API's routers, one per resource: each parses the request, calls one use case of
:mod:`serving.services` and returns its response schema; refusals become HTTP answers in :mod:`serving.app`."""
