"""The one place that reads the environment: settings with prefix ``MATCHING_`` (or a ``.env`` file).

Embedded defaults everywhere: SQLite file, built-in referential, built-in geography. Production points
the same settings at real parts (PostgreSQL URL, official ROME export, La Poste commune base).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models import DEFAULT_MODEL_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Engine settings.

    Attributes
    ----------
    rome_dir
        Folder of the official ROME 4.0 CSV export (``unix_*_v460_utf8.csv``). ``None`` uses the small
        built-in referential.
    communes_file
        La Poste ``laposte_hexasmal`` CSV with coordinates. ``None`` uses built-in département centroids.
    reference_data
        Folder of the shared reference data (tests, benchmarks and evaluation read from it).
    database_url
        SQLAlchemy URL; SQLite file by default, e.g. ``postgresql+psycopg://user@host/db`` in production.
    encoder
        ``e5`` (multilingual-e5-small built offline into ``model_dir``), ``use`` (light USE encoder), or
        a sentence-transformers folder or hub id.
    index_dir
        Candidate indexes written by ``matching index build`` (serving loads them fail-closed).
    ranker_model_name
        Registered MLflow model whose ``@champion`` serving follows (tracking URI: ``MLFLOW_TRACKING_URI``).
    mlflow_tracking_uri
        ``MLFLOW_TRACKING_URI`` (MLflow's own variable): an MLflow server in production. Unset: a SQLite
        store under ``var/mlflow`` (see :meth:`tracking_uri`).
    refresh_seconds
        How often the API checks for a newer index build or champion; one that cannot be loaded is
        refused and the last-known-good kept.
    """

    model_config = SettingsConfigDict(env_prefix="MATCHING_", env_file=".env", extra="ignore")

    rome_dir: Path | None = None
    communes_file: Path | None = None
    reference_data: Path = Field(default=PROJECT_ROOT.parent / "shared" / "data")
    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'matching.sqlite'}")
    sample_dir: Path = Field(default=PROJECT_ROOT / "data" / "sample" / "world")
    encoder: str = Field(
        default="e5", description="'e5' (offline build), 'use', or a sentence-transformers folder/id"
    )
    encoder_int8: bool = False
    encoder_max_tokens: int | None = Field(
        default=None,
        ge=16,
        le=512,
        description="truncate encoder inputs (e.g. 96 with int8 at national scale)",
    )
    model_dir: Path = Field(default=PROJECT_ROOT / "var" / "models" / "multilingual-e5-small")
    cache_dir: Path = Field(default=PROJECT_ROOT / "var" / "cache")
    index_dir: Path = Field(default=PROJECT_ROOT / "var" / "index")
    ranker_model_name: str = DEFAULT_MODEL_NAME
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MATCHING_MLFLOW_TRACKING_URI")
    )
    mlflow_dir: Path = Field(default=PROJECT_ROOT / "var" / "mlflow")
    refresh_seconds: float = Field(
        default=30.0, gt=0, description="how often serving checks for a newer index or champion"
    )

    def tracking_uri(self, override: str | None = None) -> str:
        """``override``, else ``MLFLOW_TRACKING_URI``, else a SQLite store in :attr:`mlflow_dir` (created)."""
        uri = override or self.mlflow_tracking_uri
        if uri:
            return uri
        self.mlflow_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests build their own :class:`Settings`)."""
    return Settings()
