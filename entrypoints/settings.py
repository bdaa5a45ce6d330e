"""The one place that reads the environment: settings with prefix ``MATCHING_`` (or a ``.env`` file).

Embedded defaults: a SQLite file, and the official ROME export and La Poste commune base of the
reference data when it is there (``MATCHING_REFERENCE_DATA``, default ``../shared/data``), else the
built-in referential and geography. ``builtin`` asks for the built-in ones explicitly. Production
points the same settings at real parts (PostgreSQL URL, its own copies of the official files).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matching.errors import MatchingError
from models import DEFAULT_MODEL_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILTIN = "builtin"  # the value of a referential or commune setting (or option) asking for the built-in data
ROME_EXPORT = Path("rome_v460")  # where the reference data keeps the official ROME export …
COMMUNES_BASE = Path("communes") / "laposte_hexasmal_latlon.csv"  # … and the La Poste commune base


def is_builtin(path: Path | str | None) -> bool:
    """Whether a referential or commune setting names the built-in data (``builtin``, any case)."""
    return path is not None and str(path).strip().lower() == BUILTIN


def _reference_file(given: bool, value: Path | None, default: Path) -> Path | None:
    """A setting as given (``builtin``: ``None``), else the reference data's file when it exists."""
    if given:
        return None if is_builtin(value) else value
    return default if default.exists() else None


class Settings(BaseSettings):
    """Engine settings.

    Attributes
    ----------
    rome_dir
        Folder of the official ROME 4.0 CSV export (``unix_*_v460_utf8.csv``). Unset: the reference
        data's ``rome_v460`` when it exists. ``None`` after validation (set as ``builtin``, or no
        reference data): the small built-in referential.
    communes_file
        La Poste ``laposte_hexasmal`` CSV with coordinates. Unset: the reference data's when it exists.
        ``None`` after validation (``builtin``, or no reference data): built-in département centroids.
    reference_data
        Folder of the shared reference data: the default referential and communes, and what tests,
        benchmarks, evaluation and ``make run`` read (the real offers).
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
    now
        ``MATCHING_NOW``: pin the clock for a demo or a test, to a day (``2025-03-10``: that day at the
        real time of day, the same in every process) or a moment (ISO, UTC unless zoned: running on
        from there); the API, the pages and the batch then rank, stamp events and date trainings as of
        it (:class:`matching.clock.Clock`). Unset: real time. ``make run`` pins its demo world's day.
    refresh_seconds
        How often the API checks for a newer index build or champion; one that cannot be loaded is
        refused and the last-known-good kept.
    smtp_url
        ``MATCHING_SMTP_URL``: the SMTP server alert e-mails are handed to
        (``smtp://user:password@host:587?starttls=require``, ``smtps://host``; see
        :class:`serving.mail.transport.SmtpSettings`). Unset: a local Maildir, :attr:`mail_dir`.
    mail_from
        Who alert e-mails come from; its address receives bounces and its domain ends Message-IDs.
    public_url
        The address people reach the pages at: the links of alert e-mails start with it.
    link_secret
        ``MATCHING_LINK_SECRET`` signs the links of alert e-mails (32+ characters; changing it voids
        every link sent). Unset: a random secret kept in :attr:`link_secret_file` (created once).
    link_days
        How many days the links of an alert e-mail work.
    smtp_rate_per_domain
        At most this many e-mails per second to one recipient domain.
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
    hub_offline: bool = Field(
        default=True,
        description="never reach a model hub (none is reachable here): an unknown encoder name fails at once",
    )
    model_dir: Path = Field(default=PROJECT_ROOT / "var" / "models" / "multilingual-e5-small")
    rome_classifier_dir: Path = Field(default=PROJECT_ROOT / "var" / "models" / "rome-classifier")
    formacode_links_dir: Path = Field(default=PROJECT_ROOT / "var" / "models" / "formacode-links")
    skill_extractor_dir: Path = Field(default=PROJECT_ROOT / "var" / "models" / "skill-extractor")
    rome_encoder: str = Field(
        default="none",
        description="encoder of the ROME classifier's title signal: 'none' (lexical), 'e5-onnx', 'e5'…",
    )
    cache_dir: Path = Field(default=PROJECT_ROOT / "var" / "cache")
    index_dir: Path = Field(default=PROJECT_ROOT / "var" / "index")
    ranker_model_name: str = DEFAULT_MODEL_NAME
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MATCHING_MLFLOW_TRACKING_URI")
    )
    mlflow_dir: Path = Field(default=PROJECT_ROOT / "var" / "mlflow")
    now: date | datetime | None = Field(
        default=None, description="pin the clock for demos and tests (MATCHING_NOW); unset: real time"
    )
    refresh_seconds: float = Field(
        default=30.0, gt=0, description="how often serving checks for a newer index or champion"
    )
    smtp_url: str | None = Field(default=None, description="SMTP server of alert e-mails; unset: mail_dir")
    mail_dir: Path = Field(default=PROJECT_ROOT / "var" / "mail")
    mail_from: str = "Alertes offres d'emploi <alertes@matching.localhost>"
    public_url: str = "http://127.0.0.1:8000"
    link_secret: SecretStr | None = None
    link_secret_file: Path = Field(default=PROJECT_ROOT / "var" / "link-secret")
    link_days: int = Field(default=30, ge=1, le=365)
    smtp_rate_per_domain: float = Field(default=10.0, gt=0)

    @field_validator("now", mode="before")
    @classmethod
    def _day_or_moment(cls, value: object) -> object:
        # "2025-03-10" pins a day, anything with a time ("…T00:00:00Z") a moment: pydantic's union
        # would read a midnight moment as a day
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        return value

    @model_validator(mode="after")
    def _reference_defaults(self) -> Settings:
        # Real data by default, so that real offers (whose ROME codes the built-in referential mostly
        # lacks) are served; the built-in data stays the fallback and what fast tests ask for.
        self.rome_dir = _reference_file(
            "rome_dir" in self.model_fields_set, self.rome_dir, self.reference_data / ROME_EXPORT
        )
        self.communes_file = _reference_file(
            "communes_file" in self.model_fields_set,
            self.communes_file,
            self.reference_data / COMMUNES_BASE,
        )
        return self

    def tracking_uri(self, override: str | None = None) -> str:
        """``override``, else ``MLFLOW_TRACKING_URI``, else a SQLite store in :attr:`mlflow_dir` (created)."""
        uri = override or self.mlflow_tracking_uri
        if uri:
            return uri
        self.mlflow_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests build their own :class:`Settings`).

    Raises
    ------
    MatchingError
        If a variable holds a value the setting cannot take, naming the variable (one line on the CLI,
        never a traceback).
    """
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{_variable(problem['loc'])}: {problem['msg']} (got {problem.get('input')!r})"
            for problem in error.errors()
        )
        raise MatchingError(f"invalid settings: {problems}") from None


def _variable(loc: tuple[str | int, ...]) -> str:
    """The environment variable behind a setting's validation error location."""
    name = str(loc[0]) if loc else "?"
    if name == "mlflow_tracking_uri":
        return "MLFLOW_TRACKING_URI"
    return f"MATCHING_{name.upper()}"
