"""Operations: the kill switch of ML ranking and what the model page shows (champion, metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from serving.container import ServiceUnavailable, ServingContainer
from serving.storage.db import public_url
from serving.storage.store import KILL_SWITCH

MLFLOW_UI_URL = "http://127.0.0.1:5000"  # where `mlflow ui` listens by default


@dataclass(frozen=True)
class ModelOverview:
    """What is served (model and index versions, kill switch) and the champion's metrics from MLflow."""

    model_version: str
    index_version: str
    kill_switch: bool
    tracking_uri: str
    mlflow_url: str | None  # a link only to an MLflow server, not to a local store
    metrics: list[tuple[str, float]] = field(default_factory=list)
    metrics_problem: str = ""  # in French: why no metrics are shown
    mlflow_ui_command: str | None = None  # a local store: the command that serves its UI
    mlflow_ui_url: str = MLFLOW_UI_URL


def mlflow_ui_command(tracking_uri: str) -> str | None:
    """The command that opens the MLflow UI on a local store (served at :data:`MLFLOW_UI_URL`).

    Parameters
    ----------
    tracking_uri
        The registry's tracking URI.

    Returns
    -------
    str or None
        ``.venv/bin/mlflow ui --backend-store-uri URI`` for a SQLite file or a folder; ``None`` for an
        MLflow server (linked instead) or a database server (its URL may hold a password, never shown).
    """
    if tracking_uri.startswith(("sqlite:", "file:")) or (tracking_uri and "://" not in tracking_uri):
        return f".venv/bin/mlflow ui --backend-store-uri {tracking_uri}"
    return None


def kill_switch(container: ServingContainer) -> bool:
    """Whether ML ranking is switched off (every ranking rule-based)."""
    return container.store.kill_switch()


def set_kill_switch(container: ServingContainer, enabled: bool, *, by: str) -> bool:
    """Switch ML ranking off (``enabled``) or back on; returns ``enabled``.

    Parameters
    ----------
    container
        The API's dependencies.
    enabled
        On: every ranking falls back to the rule-based one (today's practice) until switched off.
    by
        Who switched it, kept with the flag.
    """
    container.store.set_flag(KILL_SWITCH, "on" if enabled else "off", by=by)
    return enabled


def model_overview(container: ServingContainer) -> ModelOverview:
    """What the model page shows; it never fails: an unavailable part is described in French instead."""
    from models.registry import ModelRegistry  # MLflow is slow to import: only when the page is asked

    switched_off = container.store.kill_switch()
    try:
        service = container.service()
        model_version, index_version = service.served_model(switched_off), service.index_version
    except ServiceUnavailable as error:
        model_version, index_version = f"indisponible ({error})", "indisponible"
    metrics: list[tuple[str, float]] = []
    problem = ""
    uri = container.tracking_uri or ""
    try:
        if not uri:
            raise LookupError("registre non configuré")
        registry = ModelRegistry(uri, model_name=container.model_name)
        version = registry.champion_version()
        if version is None:
            problem = "pas de champion enregistré"
        else:
            run_id = registry.client.get_model_version(registry.model_name, version).run_id or ""
            run_metrics = registry.client.get_run(run_id).data.metrics
            metrics = sorted(
                (k.removeprefix("ltr."), v) for k, v in run_metrics.items() if k.startswith("ltr.")
            )
    except LookupError as error:
        problem = str(error)
    except Exception as error:  # the page must show even when MLflow is unreachable
        problem = f"MLflow injoignable : {type(error).__name__}"
    return ModelOverview(
        model_version=model_version,
        index_version=index_version,
        kill_switch=switched_off,
        tracking_uri=public_url(uri),  # a server's password is never shown
        mlflow_url=public_url(uri) if uri.startswith("http") else None,
        metrics=metrics,
        metrics_problem=problem,
        mlflow_ui_command=mlflow_ui_command(uri),
    )
