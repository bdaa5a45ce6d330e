"""Repository: the one place that turns domain objects into rows and back.

Writes are idempotent: offers are keyed by id and carry a content hash, so re-ingesting the same file
updates nothing, and a changed offer is updated in place, never duplicated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from matching.domain import (
    AuditAttributes,
    Interaction,
    Location,
    Offer,
    Profile,
    Subscription,
    Training,
)
from serving.storage.tables import (
    AuditAttributesRow,
    Base,
    InteractionRow,
    OfferRow,
    ProfileRow,
    SubscriptionRow,
    TrainingRow,
)

BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (keeps ``IN (...)`` lists and inserts bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def offer_hash(offer: Offer) -> str:
    """Content hash of an offer, used to skip rewriting unchanged offers on re-ingest."""
    return hashlib.sha256(offer.model_dump_json().encode()).hexdigest()


def offer_to_row(offer: Offer) -> dict[str, Any]:
    data = offer.model_dump(mode="python", exclude={"location"})
    data.update(
        insee=offer.location.insee,
        location_label=offer.location.label,
        lat=offer.location.lat,
        lon=offer.location.lon,
        contract_type=offer.contract_type.value if offer.contract_type else None,
        experience=offer.experience.value if offer.experience else None,
        skills=list(offer.skills),
        required_skills=list(offer.required_skills),
        formacodes=list(offer.formacodes),
        content_hash=offer_hash(offer),
    )
    return data


def row_to_offer(row: OfferRow) -> Offer:
    return Offer(
        id=row.id,
        title=row.title,
        description=row.description,
        rome_code=row.rome_code,
        appellation_code=row.appellation_code,
        appellation_label=row.appellation_label,
        location=Location(insee=row.insee, label=row.location_label, lat=row.lat, lon=row.lon),
        contract_type=row.contract_type,
        weekly_hours=row.weekly_hours,
        full_time=row.full_time,
        salary_min_monthly=row.salary_min_monthly,
        salary_max_monthly=row.salary_max_monthly,
        experience=row.experience,
        experience_months=row.experience_months,
        qualification_code=row.qualification_code,
        skills=tuple(row.skills),
        required_skills=tuple(row.required_skills),
        formacodes=tuple(row.formacodes),
        positions=row.positions,
        created_at=row.created_at,
        updated_at=row.updated_at,
        need_date=row.need_date,
        expires_at=row.expires_at,
        source=row.source,
    )


def profile_to_row(profile: Profile) -> dict[str, Any]:
    data = profile.model_dump(mode="json", exclude={"home", "available_from", "registered_at"})
    data.update(
        home_insee=profile.home.insee,
        home_lat=profile.home.lat,
        home_lon=profile.home.lon,
        available_from=profile.available_from,
        registered_at=profile.registered_at,
    )
    return data


def row_to_profile(row: ProfileRow) -> Profile:
    return Profile(
        id=row.id,
        rome_codes=tuple(row.rome_codes),
        appellation_codes=tuple(row.appellation_codes),
        skills=tuple(row.skills),
        experience_months=row.experience_months,
        qualification_code=row.qualification_code,
        home=Location(insee=row.home_insee, lat=row.home_lat, lon=row.home_lon),
        max_commute_km=row.max_commute_km,
        max_commute_minutes=row.max_commute_minutes,
        contract_types=tuple(row.contract_types),
        min_weekly_hours=row.min_weekly_hours,
        max_weekly_hours=row.max_weekly_hours,
        salary_floor_monthly=row.salary_floor_monthly,
        available_from=row.available_from,
        visible=row.visible,
        registered_at=row.registered_at,
    )


def row_to_subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        profile_id=row.profile_id,
        rome_codes=tuple(row.rome_codes),
        radius_km=row.radius_km,
        contract_types=tuple(row.contract_types),
        excluded_contract_types=tuple(row.excluded_contract_types),
        min_weekly_hours=row.min_weekly_hours,
        salary_floor_monthly=row.salary_floor_monthly,
        channel=row.channel,
        cadence=row.cadence,
        max_alerts_per_run=row.max_alerts_per_run,
        active=row.active,
    )


def training_to_row(training: Training) -> dict[str, Any]:
    data = training.model_dump(mode="json", exclude={"location", "start_date", "end_date"})
    data.update(
        insee=training.location.insee,
        lat=training.location.lat,
        lon=training.location.lon,
        start_date=training.start_date,
        end_date=training.end_date,
    )
    return data


class SqlRepository:
    """Reads and writes the engine's objects in a SQL database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- offers -------------------------------------------------------------------------------------
    def upsert_offers(self, offers: Sequence[Offer]) -> UpsertCounts:
        """Insert new offers, update changed ones, leave identical ones untouched (one transaction)."""
        inserted = updated = unchanged = 0
        with Session(self.engine) as session, session.begin():
            for batch in batches(offers):
                rows = [offer_to_row(o) for o in batch]
                known = dict(
                    session.execute(
                        select(OfferRow.id, OfferRow.content_hash).where(
                            OfferRow.id.in_([r["id"] for r in rows])
                        )
                    ).all()
                )
                new = [r for r in rows if r["id"] not in known]
                changed = [r for r in rows if r["id"] in known and known[r["id"]] != r["content_hash"]]
                if new:
                    session.execute(insert(OfferRow), new)
                if changed:
                    session.execute(update(OfferRow), changed)
                inserted, updated = inserted + len(new), updated + len(changed)
                unchanged += len(rows) - len(new) - len(changed)
        return UpsertCounts(inserted, updated, unchanged)

    def get_offer(self, offer_id: str) -> Offer | None:
        with Session(self.engine) as session:
            row = session.get(OfferRow, offer_id)
            return row_to_offer(row) if row else None

    # -- profiles, trainings, subscriptions, audit ----------------------------------------------------
    def _replace_rows(self, table: type[Base], rows: Sequence[dict[str, Any]], key: str = "id") -> int:
        """Insert rows, replacing those whose key exists (delete + insert keeps it portable)."""
        with Session(self.engine) as session, session.begin():
            column = getattr(table, key)
            for batch in batches(rows):
                keys = [r[key] for r in batch]
                session.query(table).filter(column.in_(keys)).delete(synchronize_session=False)
                session.execute(insert(table), list(batch))
        return len(rows)

    def upsert_profiles(self, profiles: Iterable[Profile]) -> int:
        return self._replace_rows(ProfileRow, [profile_to_row(p) for p in profiles])

    def get_profile(self, profile_id: str) -> Profile | None:
        with Session(self.engine) as session:
            row = session.get(ProfileRow, profile_id)
            return row_to_profile(row) if row else None

    def upsert_trainings(self, trainings: Iterable[Training]) -> int:
        return self._replace_rows(TrainingRow, [training_to_row(t) for t in trainings])

    def upsert_subscriptions(self, subscriptions: Iterable[Subscription]) -> int:
        return self._replace_rows(SubscriptionRow, [s.model_dump(mode="json") for s in subscriptions])

    def upsert_audit_attributes(self, attributes: Iterable[AuditAttributes]) -> int:
        rows = [a.model_dump(mode="json") for a in attributes]
        return self._replace_rows(AuditAttributesRow, rows, key="profile_id")

    # -- interaction log ------------------------------------------------------------------------------
    def add_interactions(self, events: Iterable[Interaction]) -> int:
        """Append events to the log (the log is append-only)."""
        rows = [e.model_dump(mode="python") for e in events]
        with Session(self.engine) as session, session.begin():
            for batch in batches(rows, 5000):
                session.execute(insert(InteractionRow), list(batch))
        return len(rows)

    def delete_interactions_of(self, profile_ids: Sequence[str]) -> int:
        """Remove the events of these people (used to reload a simulated world idempotently)."""
        removed = 0
        with Session(self.engine) as session, session.begin():
            for batch in batches(profile_ids):
                result = session.execute(delete(InteractionRow).where(InteractionRow.profile_id.in_(batch)))
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

    def count(self, table: type[Base]) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)
