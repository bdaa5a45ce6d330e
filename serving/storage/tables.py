"""SQLAlchemy storage models (tables), separate from the domain models in :mod:`matching.domain`.

Lists of codes are JSON columns (portable across SQLite and PostgreSQL); the engine reads them in bulk
into memory for features and indexes, so no join on them is ever needed. Protected attributes live in
``audit_attributes`` alone, a table that only fairness evaluation reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OfferRow(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    rome_code: Mapped[str] = mapped_column(String(5), index=True)
    # where the code comes from (matching.domain.RomeSource; NULL: stored before 0005, the source's)
    rome_source: Mapped[str | None] = mapped_column(String(16))
    stated_rome_code: Mapped[str | None] = mapped_column(String(5))
    rome_confidence: Mapped[float | None] = mapped_column(Float)
    appellation_code: Mapped[str | None] = mapped_column(String(16))
    appellation_label: Mapped[str | None] = mapped_column(Text)
    insee: Mapped[str | None] = mapped_column(String(5))
    location_label: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # how precise the place is (matching.domain.Precision; NULL: not stated), the area it names
    # (département or region code, country) and its radius around lat/lon in km
    place_precision: Mapped[str | None] = mapped_column(String(16))
    place_area: Mapped[str | None] = mapped_column(String(64))
    place_extent_km: Mapped[float | None] = mapped_column(Float)
    # what a counsellor's search reads: id, title, appellation, ROME code and place, as
    # matching.referential.normalize_label writes them (no accents, lower case); see offer_search_text
    search_text: Mapped[str | None] = mapped_column(Text)
    contract_type: Mapped[str | None] = mapped_column(String(8))
    weekly_hours: Mapped[float | None] = mapped_column(Float)
    full_time: Mapped[bool | None] = mapped_column(Boolean)
    salary_min_monthly: Mapped[float | None] = mapped_column(Float)
    salary_max_monthly: Mapped[float | None] = mapped_column(Float)
    experience: Mapped[str | None] = mapped_column(String(1))
    experience_months: Mapped[int | None] = mapped_column(Integer)
    qualification_code: Mapped[str | None] = mapped_column(String(4))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # read from the text by the skill extractor (matching.skills), best first, with their probabilities;
    # empty for offers stored before 0010 or ingested without an extractor
    inferred_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    inferred_skill_scores: Mapped[list[float]] = mapped_column(JSON, default=list)
    formacodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    positions: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    need_date: Mapped[date | None] = mapped_column(Date)
    expires_at: Mapped[date | None] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(32), default="france_travail")
    employer: Mapped[str | None] = mapped_column(Text)
    apply_url: Mapped[str | None] = mapped_column(Text)
    # the unusual hours the offer states (matching.schedule.WorkSchedule values; empty: none stated, or
    # stored before 0008) and the hiring establishment's INSEE workforce band, 0 to 14 (NULL: unknown)
    schedule: Mapped[list[str]] = mapped_column(JSON, default=list)
    employer_size_band: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # when this engine stored the current content (the incremental alert batch's "new"), and when the
    # offer was withdrawn (out of indexes, sourcing and alerts); neither is part of the offer's content
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # "api" (its publisher's decision, never undone by a file) or "extract" (its source's full extract
    # no longer listed it: a later one listing it opens it again)
    withdrawn_by: Mapped[str | None] = mapped_column(String(16))


class ProfileRow(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rome_codes: Mapped[list[str]] = mapped_column(JSON)
    appellation_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    experience_months: Mapped[int] = mapped_column(Integer, default=0)
    qualification_code: Mapped[str | None] = mapped_column(String(4))
    home_insee: Mapped[str | None] = mapped_column(String(5))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    max_commute_km: Mapped[float | None] = mapped_column(Float)
    max_commute_minutes: Mapped[int | None] = mapped_column(Integer)
    # the means of transport the person declared (matching.domain.MobilityMode; a travel mode, never a
    # place) and the gross monthly pay of their last job, or the one they expect
    mobility_mode: Mapped[str | None] = mapped_column(String(32))
    last_monthly_pay: Mapped[float | None] = mapped_column(Float)
    contract_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_weekly_hours: Mapped[float | None] = mapped_column(Float)
    max_weekly_hours: Mapped[float | None] = mapped_column(Float)
    salary_floor_monthly: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date)
    visible: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TrainingRow(Base):
    __tablename__ = "trainings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    rome_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[float] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date, index=True)  # NULL: dates to confirm
    end_date: Mapped[date | None] = mapped_column(Date)
    insee: Mapped[str | None] = mapped_column(String(5))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    modality: Mapped[str] = mapped_column(String(16))
    organisation: Mapped[str] = mapped_column(Text, default="")
    outcome_rate: Mapped[float | None] = mapped_column(Float)
    poe_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    formacode: Mapped[str | None] = mapped_column(String(8))


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    rome_codes: Mapped[list[str]] = mapped_column(JSON)
    radius_km: Mapped[float] = mapped_column(Float)
    contract_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_contract_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_occupations: Mapped[list[str]] = mapped_column(JSON, default=list)
    beyond_criteria: Mapped[bool] = mapped_column(Boolean, default=False)
    min_weekly_hours: Mapped[float | None] = mapped_column(Float)
    salary_floor_monthly: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[str] = mapped_column(String(16))
    cadence: Mapped[str] = mapped_column(String(16))
    max_alerts_per_run: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # no e-mail from this hour to that one, Paris time (NULL: none); 21 to 8 unless the person changes it
    quiet_from: Mapped[int | None] = mapped_column(Integer, default=21)
    quiet_until: Mapped[int | None] = mapped_column(Integer, default=8)


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_profile_time", "profile_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event: Mapped[str] = mapped_column(String(32), index=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    offer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    training_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)
    list_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(32), default="system")
    # when the person who acted took it back ("Annuler ma réponse", a dismissal put back): the row
    # stays (the log is append-only, an audit trail), features and lists no longer read it
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditAttributesRow(Base):
    """Protected attributes: read by fairness evaluation only, never by features or the ranker."""

    __tablename__ = "audit_attributes"

    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    age_band: Mapped[str | None] = mapped_column(String(8))
    qpv: Mapped[bool | None] = mapped_column(Boolean)


def _bigint_id() -> Mapped[int]:
    return mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


class AlertRunRow(Base):
    """One run of the alert batch (nightly or incremental); a crashed run is resumed, not restarted."""

    __tablename__ = "alert_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, done
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())  # the moment it ranks at (kept on resume)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    model_version: Mapped[str] = mapped_column(String(64))
    index_version: Mapped[str] = mapped_column(String(64))
    # the latest offer reception the run's index reflects (none: not built from this database):
    # offers received after it are new to the next incremental run of each subscription it ranked
    offers_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime())
    subscriptions_done: Mapped[int] = mapped_column(Integer, default=0)
    alerts_created: Mapped[int] = mapped_column(Integer, default=0)


class AlertRunItemRow(Base):
    """A subscription processed by a run, written in the same transaction as its alerts."""

    __tablename__ = "alert_run_items"

    run_id: Mapped[str] = mapped_column(ForeignKey("alert_runs.id", ondelete="CASCADE"), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alerts: Mapped[int] = mapped_column(Integer, default=0)


class AlertRow(Base):
    """An offer alerted to a subscription: at most once per (subscription, offer)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("subscription_id", "offer_id", name="uq_alerts_subscription_offer"),)

    id: Mapped[int] = _bigint_id()
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    offer_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="new")  # new, opened, applied, refused
    reason: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the subscription's values before this answer changed them (NULL: it changed nothing): what
    # "Annuler" puts back
    undo: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutboxRow(Base):
    """Messages to deliver (email, push…), written with the alert they announce.

    The dispatcher (:mod:`serving.batch.delivery`) gathers a person's waiting rows into one digest
    (``digest_id``) and stamps ``delivered_at`` when the digest is handed over (or, for the ``app``
    channel, when it is shown on the pages alone).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = _bigint_id()
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"), index=True)


class ContactRow(Base):
    """Where a person's alerts are e-mailed, and whether delivery to that address is paused.

    Contact data, not a feature: no feature or ranker reads this table (it is not in
    :data:`FEATURE_READABLE_TABLES`). A permanent failure (5xx, a bounce) pauses the address until a
    counsellor or the person gives a new one, or resumes it.
    """

    __tablename__ = "contacts"

    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    pause_reason: Mapped[str | None] = mapped_column(Text)


class DigestRow(Base):
    """One e-mail: a person's waiting alerts gathered by a dispatcher run, and its delivery state.

    ``status``: ``queued`` (to send, at ``next_attempt_at``), ``handing`` (written up to its last line,
    which is sent after this state is committed: a dispatcher killed then counts it as handed over, see
    :mod:`serving.batch.delivery`), ``sent``, ``failed`` (permanent: the address is paused), ``dropped``
    (every offer it announced was withdrawn before it left).
    """

    __tablename__ = "digests"
    __table_args__ = (Index("ix_digests_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = _bigint_id()
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class RecommendationLogRow(Base):
    """Every served recommendation: who asked, for what, which model and index, what was shown."""

    __tablename__ = "recommendation_log"

    id: Mapped[int] = _bigint_id()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # alerts, sourcing, poe
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    ranking: Mapped[str] = mapped_column(String(8))  # ml or rule (kill switch)
    model_version: Mapped[str] = mapped_column(String(64))
    index_version: Mapped[str] = mapped_column(String(64))
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    scores: Mapped[list[float]] = mapped_column(JSON)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiTokenRow(Base):
    """An API token: only a hash of its secret is stored; repeated failures lock it."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # jobseeker, counsellor, admin
    subject_id: Mapped[str] = mapped_column(String(64))  # the profile for a jobseeker, the agent otherwise
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class VivierRow(Base):
    """A counsellor's saved sector vivier: ROME codes, an area and an availability horizon."""

    __tablename__ = "viviers"

    id: Mapped[int] = _bigint_id()
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(Text)
    rome_codes: Mapped[list[str]] = mapped_column(JSON)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_km: Mapped[float] = mapped_column(Float)
    available_within_days: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    profile_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class FlagRow(Base):
    """Operational switches shared by every process (e.g. the kill switch of ML ranking)."""

    __tablename__ = "flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(64))


# Tables that feature code may read; audit_attributes is deliberately absent (checked by a test).
FEATURE_READABLE_TABLES = frozenset({"offers", "profiles", "trainings", "subscriptions", "interactions"})
