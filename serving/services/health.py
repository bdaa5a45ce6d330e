"""Readiness: whether the API can answer (database, indexes, champion model or the kill switch)."""

from __future__ import annotations

from serving.container import ServiceUnavailable, ServingContainer
from serving.schemas import ReadyOut


def readiness(container: ServingContainer) -> ReadyOut:
    """Ready when the database answers and the indexes and the champion model are loaded.

    Without a usable champion the API is ready only if the kill switch is on (rule-based ranking
    chosen by an operator).

    Returns
    -------
    ReadyOut
        ``ready`` and, when not, the ``problem``; what is served otherwise.
    """
    database = container.database_ok()
    out = ReadyOut(ready=False, database=database)
    if not database:
        out.problem = "database unreachable"
        return out
    out.kill_switch = container.store.kill_switch()
    try:
        service = container.service()
    except ServiceUnavailable as error:  # not an error here: the answer says what is missing
        out.problem = str(error)
        return out
    out.degraded = container.degraded or None
    out.index_version = service.index_version
    out.model_version = service.served_model(out.kill_switch)
    if service.unavailable_model and not out.kill_switch:
        out.problem = f"champion model unavailable ({service.unavailable_model}); turn the kill switch on to serve the rule-based ranking"
        return out
    out.ready = True
    return out
