"""MLflow tracking and model registry: log a training run, register it, gate the ``champion`` alias.

The tracking URI is always passed in (the composition root reads it from the settings: a local SQLite
store under ``var/mlflow`` with artifacts beside it, or an MLflow server). Serving follows ``models:/NAME@champion``:
it downloads that version's artifacts and loads the ranker fail-closed (:func:`load_champion`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel, PythonModelContext

from matching.errors import MatchingError
from models import DEFAULT_MODEL_NAME
from models.artifact import load_ranker, save_ranker
from models.ranker import LambdaRankRanker

DEFAULT_EXPERIMENT = "alert-ranker"
CHAMPION = "champion"
PREVIOUS_TAG = "previous_champion"
GATE_TAG = "gate"  # the promotion gate's verdict on a version, recorded by training
RANKER_ARTIFACT = "ranker"
FAIRNESS_TOLERANCE = 0.02  # parity ratios are estimated on a few hundred people: allow this much noise
MISSING_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")  # no such model / no such alias


class RegistryError(MatchingError):
    """The model registry cannot do what was asked (no champion, nothing to roll back to, unreachable)."""


def metric_key(name: str) -> str:
    """MLflow metric names cannot hold '@': ``ndcg@10`` becomes ``ndcg_at_10``."""
    return name.replace("@", "_at_")


def flatten_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"ltr": {"ndcg@10": x}}`` → ``{"ltr.ndcg_at_10": x}`` (finite values only)."""
    return {
        f"{group}.{metric_key(name)}": float(value)
        for group, values in metrics.items()
        for name, value in values.items()
        if pd.notna(value)
    }


class RankerPyfunc(PythonModel):
    """``mlflow.pyfunc`` face of the ranker: ``predict(features frame) -> scores``."""

    def load_context(self, context: PythonModelContext) -> None:
        self.ranker = load_ranker(Path(context.artifacts[RANKER_ARTIFACT]))

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame, params: Any = None) -> Any:
        return self.ranker.predict(model_input)


@dataclass(frozen=True)
class GateDecision:
    """Outcome of the promotion gate, with the reasons in words."""

    promote: bool
    reasons: list[str] = field(default_factory=list)


def promotion_gate(
    candidate: dict[str, float], champion: dict[str, float] | None, *, tolerance: float = FAIRNESS_TOLERANCE
) -> GateDecision:
    """Promote when NDCG@10 is not below the champion's and no fairness ratio is worse (within ``tolerance``).

    Both dicts hold ``ndcg@10`` and fairness ratios (keys containing ``ratio``) measured on the *same*
    evaluation. With no champion, the candidate is promoted.
    """
    if champion is None:
        return GateDecision(True, ["no champion yet"])
    reasons, promote = [], True
    if candidate["ndcg@10"] < champion["ndcg@10"]:
        promote = False
        reasons.append(f"NDCG@10 {candidate['ndcg@10']:.4f} below the champion's {champion['ndcg@10']:.4f}")
    for name, value in champion.items():
        comparable = "ratio" in name and pd.notna(value) and pd.notna(candidate.get(name))
        if comparable and candidate[name] < value - tolerance:
            promote = False
            reasons.append(f"{name} {candidate[name]:.3f} worse than the champion's {value:.3f}")
    if promote:
        reasons.append(
            f"NDCG@10 {candidate['ndcg@10']:.4f} ≥ champion {champion['ndcg@10']:.4f}; fairness not worse"
        )
    return GateDecision(promote, reasons)


class ModelRegistry:
    """The project's MLflow tracking store and registered ranker.

    Parameters
    ----------
    tracking_uri
        MLflow tracking URI: ``sqlite:///…/mlflow.db`` (artifacts go to ``artifacts/`` beside the file)
        or an MLflow server's URL.
    model_name
        Registered model name.
    """

    def __init__(self, tracking_uri: str, *, model_name: str = DEFAULT_MODEL_NAME) -> None:
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _experiment_id(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        location = None
        if self.tracking_uri.startswith("sqlite:///"):
            # keep artifacts beside the local store, not in ./mlruns of whatever folder the command ran in
            location = (Path(self.tracking_uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        return str(self.client.create_experiment(name, artifact_location=location))

    def log_run(
        self,
        ranker: LambdaRankRanker,
        *,
        params: dict[str, Any],
        metrics: dict[str, dict[str, float]],
        data_fingerprint: str,
        tags: dict[str, str] | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
    ) -> tuple[str, str]:
        """Log a training run (params, metrics, features, data fingerprint, model) and register it.

        ``data_fingerprint`` and ``tags`` (e.g. ``data_source``: ``world`` or ``database``) tag both the
        run and the registered version.

        Returns ``(run_id, registered version)``.
        """
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        with mlflow.start_run(experiment_id=self._experiment_id(experiment)) as run:
            mlflow.log_params({**ranker.config.as_dict(), **params})
            mlflow.log_metrics(flatten_metrics(metrics))
            mlflow.set_tags({"data_fingerprint": data_fingerprint, **(tags or {})})
            mlflow.log_dict({"features": list(ranker.feature_names_)}, "features.json")
            mlflow.log_dict(ranker.feature_importance(), "feature_importance.json")
            with tempfile.TemporaryDirectory() as tmp:
                folder = save_ranker(ranker, Path(tmp) / RANKER_ARTIFACT, data_fingerprint=data_fingerprint)
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=RankerPyfunc(),
                    artifacts={RANKER_ARTIFACT: str(folder)},
                    pip_requirements=[f"lightgbm=={ranker_lightgbm_version()}", "pandas", "numpy"],
                )
            version = mlflow.register_model(info.model_uri, self.model_name, await_registration_for=60)
            self.client.set_model_version_tag(self.model_name, version.version, "run_id", run.info.run_id)
            self.client.set_model_version_tag(
                self.model_name, version.version, "ndcg_at_10", str(metrics.get("ltr", {}).get("ndcg@10"))
            )
            # the data it learnt from, on the version too: `matching model list` reads versions, not runs
            for key, value in {"data_fingerprint": data_fingerprint, **(tags or {})}.items():
                self.client.set_model_version_tag(self.model_name, version.version, key, value)
        return run.info.run_id, str(version.version)

    # -- champion alias -------------------------------------------------------------------------------
    def champion_version(self) -> str | None:
        """The version the ``champion`` alias points at; ``None`` when there is none.

        Raises :class:`RegistryError` when the registry cannot answer (server down, store unreadable):
        "no champion" and "cannot tell" are different answers for serving.
        """
        try:
            return str(self.client.get_model_version_by_alias(self.model_name, CHAMPION).version)
        except MlflowException as error:
            if error.error_code in MISSING_CODES:
                return None
            raise RegistryError(f"model registry {self.tracking_uri} unreachable: {error.message}") from None

    def promote(self, version: str) -> None:
        """Point ``champion`` at ``version``, remembering the version it pointed at before.

        Raises
        ------
        RegistryError
            If the model has no such version, or the registry cannot be reached.
        """
        try:
            self.client.get_model_version(self.model_name, version)
        except MlflowException as error:
            if error.error_code in MISSING_CODES:
                raise RegistryError(f"model {self.model_name!r} has no version {version!r}") from None
            raise RegistryError(f"model registry {self.tracking_uri} unreachable: {error.message}") from None
        previous = self.champion_version()
        if previous is not None and previous != version:
            self.client.set_model_version_tag(self.model_name, version, PREVIOUS_TAG, previous)
        self.client.set_registered_model_alias(self.model_name, CHAMPION, version)

    def record_gate(self, version: str, decision: GateDecision) -> None:
        """Keep the promotion gate's verdict on a version (tag ``gate``), for a later manual promotion."""
        verdict = "passed" if decision.promote else "failed: " + "; ".join(decision.reasons)
        self.client.set_model_version_tag(self.model_name, version, GATE_TAG, verdict[:500])

    def gate_verdict(self, version: str) -> str | None:
        """The gate's verdict recorded on a version (``"passed"``, ``"failed: …"``), ``None`` if none."""
        try:
            return self.client.get_model_version(self.model_name, version).tags.get(GATE_TAG)
        except MlflowException:
            return None

    def rollback(self) -> tuple[str, str]:
        """Point ``champion`` back to the version it replaced; returns ``(from, to)``."""
        current = self.champion_version()
        if current is None:
            raise RegistryError(f"model {self.model_name!r} has no champion to roll back")
        tags = self.client.get_model_version(self.model_name, current).tags
        previous = tags.get(PREVIOUS_TAG)
        if not previous:
            raise RegistryError(f"champion v{current} of {self.model_name!r} replaced no earlier version")
        self.client.set_registered_model_alias(self.model_name, CHAMPION, previous)
        return current, previous

    def load(self, version: str | None = None) -> tuple[LambdaRankRanker, str]:
        """Load a registered version (default: the champion) fail-closed; returns ``(ranker, version)``."""
        version = version or self.champion_version()
        if version is None:
            raise RegistryError(f"model {self.model_name!r} has no champion: run `matching train`")
        uri = f"models:/{self.model_name}/{version}"
        with tempfile.TemporaryDirectory() as tmp:
            try:
                # Resolve the version through this registry's client: a bare `models:/` URI would be
                # resolved against MLflow's process-wide registry (./mlflow.db when none was set).
                source = self.client.get_model_version_download_uri(self.model_name, version)
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=source, dst_path=tmp, tracking_uri=self.tracking_uri
                )
            except MlflowException as error:
                raise RegistryError(f"cannot fetch {uri}: {error.message}") from None
            candidates = list(Path(local).rglob(f"{RANKER_ARTIFACT}/manifest.json"))
            if not candidates:
                raise RegistryError(f"{uri} holds no ranker artifact")
            return load_ranker(candidates[0].parent), version

    def describe(self) -> list[dict[str, Any]]:
        """Registered versions, newest first: ``version``, ``ndcg_at_10`` and ``data`` (``world`` or
        ``database``; empty for a version logged before sources were recorded), ``run_id``, ``created``."""
        try:
            versions = self.client.search_model_versions(f"name='{self.model_name}'")
        except MlflowException:
            return []
        return [
            {
                "version": v.version,
                "ndcg_at_10": v.tags.get("ndcg_at_10", ""),
                "data": v.tags.get("data_source", ""),
                "run_id": v.run_id,
                "created": pd.Timestamp(v.creation_timestamp, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M"),
            }
            for v in sorted(versions, key=lambda v: -int(v.version))
        ]


def ranker_lightgbm_version() -> str:
    import lightgbm

    return str(lightgbm.__version__)
