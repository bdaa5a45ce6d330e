"""Repository: the one place that turns domain objects into rows and back.

Writes are idempotent: offers are keyed by id and carry a content hash, so re-ingesting the same file
updates nothing, and a changed offer is updated in place, never duplicated. They are order-independent:
a version of an offer older than the stored one (``updated_at``) changes nothing, so files ingested out
of order end in the state of the newest versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from matching.domain import (
    AuditAttributes,
    Interaction,
    Location,
    Offer,
    Profile,
    RomeSource,
    Subscription,
    Training,
    older_version,
)
from matching.frames import PLACE_COLUMNS, place_columns, place_from_columns, training_columns
from matching.referential import normalize_label
from serving.storage.db import write_session
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
# The API's live index reads offer changes again this far back: a writer whose transaction commits
# after a later one may have stamped its rows a little earlier (an upsert stamps its rows again as it
# commits, so the gap is the commit's own length); what was applied is skipped by content hash. (The
# incremental alert batch takes no overlap: an offer it ranked once must not be new to it again.)
CHANGES_OVERLAP = timedelta(seconds=10)
API_SOURCE_PREFIX = "api:"  # the source of an offer published through the API is "api:<publisher>"
WITHDRAWN_BY_API = "api"
WITHDRAWN_BY_EXTRACT = "extract"


def _republished(withdrawn_by: str | None, republish: str) -> bool:
    """Whether a stored offer withdrawn by ``withdrawn_by`` is published again under ``republish``."""
    if withdrawn_by is None:  # open
        return False
    return republish == "any" or (republish == "closed" and withdrawn_by == WITHDRAWN_BY_EXTRACT)


T = TypeVar("T")


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    republished: int = 0  # withdrawn offers published again (counted in the three above too)
    conflicts: int = 0  # ids stored with another source, left as they were (not counted above)
    older: int = 0  # versions older than the stored one, the stored one kept (not counted above)


@dataclass(frozen=True)
class OfferChanges:
    """Offers whose state changed after a moment: what a live offer index must apply.

    Attributes
    ----------
    published : list of Offer
        Offers stored (new or changed content) or published again since, not withdrawn now.
    withdrawn : list of str
        Ids of offers withdrawn since.
    until : datetime or None
        The latest reception or withdrawal among them (UTC); ``None`` when nothing changed.
    """

    published: list[Offer] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    until: datetime | None = None


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (keeps ``IN (...)`` lists and inserts bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _same_version(given: datetime | None, stored: datetime | None) -> bool:
    """Whether two dated versions of an offer are the same (``dateActualisation``); undated ones never
    are (their content is all there is to tell them apart)."""
    return (
        given is not None
        and stored is not None
        and not older_version(given, stored)
        and not older_version(stored, given)
    )


def offer_hash(offer: Offer) -> str:
    """Content hash of an offer, used to skip rewriting unchanged offers on re-ingest."""
    return hashlib.sha256(offer.model_dump_json().encode()).hexdigest()


def offer_search_text(
    offer_id: str, title: str, appellation_label: str | None, rome_code: str, place: str | None
) -> str:
    """What the offer search matches words against: its id, title, appellation, ROME code and place
    label, accent-free and lower case (:func:`matching.referential.normalize_label`), so that
    "infirmiere" finds "Infirmière" on SQLite and PostgreSQL alike."""
    return normalize_label(" ".join(p for p in (offer_id, title, appellation_label, rome_code, place) if p))


def offer_to_row(offer: Offer) -> dict[str, Any]:
    """The ``offers`` row of an offer (its place flattened, its content hash computed)."""
    data = offer.model_dump(mode="python", exclude={"location"})
    data.update(
        place_columns(offer.location),
        rome_source=offer.rome_source.value,
        search_text=offer_search_text(
            offer.id, offer.title, offer.appellation_label, offer.rome_code, offer.location.label
        ),
        contract_type=offer.contract_type.value if offer.contract_type else None,
        experience=offer.experience.value if offer.experience else None,
        skills=list(offer.skills),
        required_skills=list(offer.required_skills),
        inferred_skills=list(offer.inferred_skills),
        inferred_skill_scores=list(offer.inferred_skill_scores),
        formacodes=list(offer.formacodes),
        schedule=[attribute.value for attribute in offer.schedule],
        content_hash=offer_hash(offer),
    )
    return data


def row_to_offer(row: OfferRow) -> Offer:
    """The offer of an ``offers`` row (withdrawal and reception times are the row's, not the offer's)."""
    return Offer(
        id=row.id,
        title=row.title,
        description=row.description,
        rome_code=row.rome_code,
        rome_source=row.rome_source or RomeSource.STATED,
        stated_rome_code=row.stated_rome_code,
        rome_confidence=row.rome_confidence,
        appellation_code=row.appellation_code,
        appellation_label=row.appellation_label,
        location=place_from_columns({c: getattr(row, c) for c in PLACE_COLUMNS}),
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
        # NULL in a row written before 0010
        inferred_skills=tuple(row.inferred_skills or ()),
        inferred_skill_scores=tuple(row.inferred_skill_scores or ()),
        formacodes=tuple(row.formacodes),
        positions=row.positions,
        created_at=row.created_at,
        updated_at=row.updated_at,
        need_date=row.need_date,
        expires_at=row.expires_at,
        source=row.source,
        employer=row.employer,
        apply_url=row.apply_url,
        schedule=tuple(row.schedule or ()),
        employer_size_band=row.employer_size_band,
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
        mobility_mode=row.mobility_mode,
        contract_types=tuple(row.contract_types),
        min_weekly_hours=row.min_weekly_hours,
        max_weekly_hours=row.max_weekly_hours,
        salary_floor_monthly=row.salary_floor_monthly,
        last_monthly_pay=row.last_monthly_pay,
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
        excluded_occupations=tuple(row.excluded_occupations or ()),
        beyond_criteria=bool(row.beyond_criteria),
        min_weekly_hours=row.min_weekly_hours,
        salary_floor_monthly=row.salary_floor_monthly,
        channel=row.channel,
        cadence=row.cadence,
        max_alerts_per_run=row.max_alerts_per_run,
        active=row.active,
        quiet_from=row.quiet_from,
        quiet_until=row.quiet_until,
    )


def row_to_training(row: TrainingRow) -> Training:
    """The training course of a ``trainings`` row."""
    return Training(
        id=row.id,
        title=row.title,
        rome_codes=tuple(row.rome_codes),
        skills=tuple(row.skills),
        hours=row.hours,
        start_date=row.start_date,
        end_date=row.end_date,
        location=Location(insee=row.insee, lat=row.lat, lon=row.lon),
        modality=row.modality,
        organisation=row.organisation,
        outcome_rate=row.outcome_rate,
        poe_eligible=row.poe_eligible,
        formacode=row.formacode,
    )


class SqlRepository:
    """Reads and writes the engine's objects in a SQL database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- offers -------------------------------------------------------------------------------------
    def upsert_offers(
        self,
        offers: Sequence[Offer],
        *,
        republish: Literal["none", "closed", "any"] = "none",
        take_over: bool = False,
        keep_newer: bool = True,
        now: datetime | None = None,
    ) -> UpsertCounts:
        """Insert new offers, update changed ones, leave identical ones untouched (one transaction).

        Parameters
        ----------
        offers
            The offers, one per id; an id already stored with the same content is left as it is.
        republish
            Which withdrawn offers among them are published again: ``none`` (a file re-ingested),
            ``closed`` (those a full extract had closed: the next full extract lists them again) or
            ``any`` (an explicit ``PUT``, also undoing a ``DELETE``).
        take_over
            Replace offers stored with another ``source`` (an explicit ``PUT``, authorised by the
            caller); otherwise they are left as they are and counted in ``conflicts`` (an id France
            Travail reuses never overwrites a partner's offer, nor the reverse).
        keep_newer
            Leave a stored offer whose ``updated_at`` is later than the given version's (see
            :func:`matching.domain.older_version`) as it is, and count it in ``older``: content,
            reception time and withdrawal alike. An older version is an extract taken before the
            stored version was, so it says nothing of the offer now, not even that it is open: a
            full extract that lists it does not reopen the offer (nor close it: it is listed).
            ``False`` for an explicit ``PUT``, the publisher's word on its offer whatever its date.
        now
            The moment stored as ``received_at`` of new, changed and republished offers (default: the
            moment of the commit, so that a reader never sees a row stamped before an earlier commit).

        Returns
        -------
        UpsertCounts
            Inserted, updated and unchanged offers, how many were republished, conflicts, and
            versions older than the stored ones.
        """
        received = now or datetime.now(UTC)
        inserted = updated = unchanged = republished = conflicts = older = 0
        touched: list[str] = []
        # by id: two upserts lock the rows they share in the same order (PostgreSQL), never a deadlock
        by_id = sorted(offers, key=lambda o: o.id)
        with write_session(self.engine) as session:
            for batch in batches(by_id):
                rows = [offer_to_row(o) for o in batch]
                # locked until the commit: a concurrent upsert of a newer version waits, then reads it
                known = {
                    row.id: row
                    for row in session.execute(
                        select(
                            OfferRow.id,
                            OfferRow.content_hash,
                            OfferRow.withdrawn_by,
                            OfferRow.source,
                            OfferRow.updated_at,
                        )
                        .where(OfferRow.id.in_([r["id"] for r in rows]))
                        .order_by(OfferRow.id)
                        .with_for_update()
                    )
                }
                new = [r for r in rows if r["id"] not in known]
                foreign = {r["id"] for r in rows if r["id"] in known and known[r["id"]].source != r["source"]}
                ours = [r for r in rows if r["id"] in known and (take_over or r["id"] not in foreign)]
                stale = {
                    r["id"]
                    for r in ours
                    if keep_newer and older_version(r["updated_at"], known[r["id"]].updated_at)
                }
                stored = [r for r in ours if r["id"] not in stale]
                edited = {r["id"] for r in stored if known[r["id"]].content_hash != r["content_hash"]}
                back = {r["id"] for r in stored if _republished(known[r["id"]].withdrawn_by, republish)}
                # the same version of the source read again by a newer parser (a place now precise, a
                # salary rule): its content is rewritten, but it is not news, so its reception time
                # stays and the incremental alert batch does not take the whole stock for new offers
                reread = {
                    r["id"]
                    for r in stored
                    if keep_newer
                    and r["id"] in edited
                    and r["id"] not in back
                    and _same_version(r["updated_at"], known[r["id"]].updated_at)
                }
                if new:
                    session.execute(insert(OfferRow), [{**r, "received_at": received} for r in new])
                if edited | back:
                    session.execute(
                        update(OfferRow),
                        [
                            {
                                **r,
                                **({} if r["id"] in reread else {"received_at": received}),
                                **({"withdrawn_at": None, "withdrawn_by": None} if r["id"] in back else {}),
                            }
                            for r in stored
                            if r["id"] in edited | back
                        ],
                    )
                touched += [r["id"] for r in new] + sorted((edited | back) - reread)
                inserted, updated = inserted + len(new), updated + len(edited)
                unchanged += len(stored) - len(edited)
                republished += len(back)
                conflicts += 0 if take_over else len(foreign)
                older += len(stale)
            if now is None and touched:
                # stamped again as the transaction ends: a long ingest must not commit rows stamped
                # before a shorter write that committed meanwhile (readers follow the latest stamp)
                stamp = datetime.now(UTC)
                for chunk in batches(touched):
                    session.execute(update(OfferRow).where(OfferRow.id.in_(chunk)).values(received_at=stamp))
        return UpsertCounts(inserted, updated, unchanged, republished, conflicts, older)

    def with_stored_inferred_skills(self, offers: Sequence[Offer]) -> list[Offer]:
        """The offers with the inferred skills stored for the same text (title, description, ROME
        code): an ingest without a skill extractor keeps what was read from an unchanged text rather
        than erase it (and rewrite every offer). Shape ``(n,)``, in order; others unchanged."""
        stored: dict[str, Any] = {}
        with self.engine.connect() as connection:
            for chunk in batches([o.id for o in offers]):
                for row in connection.execute(
                    select(
                        OfferRow.id,
                        OfferRow.title,
                        OfferRow.description,
                        OfferRow.rome_code,
                        OfferRow.inferred_skills,
                        OfferRow.inferred_skill_scores,
                    ).where(OfferRow.id.in_(chunk))
                ):
                    stored[row.id] = row
        out = []
        for offer in offers:
            found = stored.get(offer.id)
            same = found is not None and (found.title, found.description, found.rome_code) == (
                offer.title,
                offer.description,
                offer.rome_code,
            )
            if same and found is not None and found.inferred_skills and not offer.inferred_skills:
                offer = offer.model_copy(
                    update={
                        "inferred_skills": tuple(found.inferred_skills),
                        "inferred_skill_scores": tuple(found.inferred_skill_scores or ()),
                    }
                )
            out.append(offer)
        return out

    def get_offer(self, offer_id: str, *, withdrawn: bool = False) -> Offer | None:
        """The stored offer; a withdrawn one only when ``withdrawn`` is true (it is gone for the API)."""
        with Session(self.engine) as session:
            row = session.get(OfferRow, offer_id)
            if row is None or (row.withdrawn_at is not None and not withdrawn):
                return None
            return row_to_offer(row)

    def open_offers_by_id(self, offer_ids: Iterable[str]) -> dict[str, Offer]:
        """The stored offers among ``offer_ids`` that are not withdrawn, by id."""
        wanted = sorted(set(offer_ids))
        out: dict[str, Offer] = {}
        with Session(self.engine) as session:
            for chunk in batches(wanted):
                rows = session.scalars(
                    select(OfferRow).where(OfferRow.id.in_(chunk), OfferRow.withdrawn_at.is_(None))
                )
                out.update({row.id: row_to_offer(row) for row in rows})
        return out

    def withdraw_offer(self, offer_id: str, *, now: datetime | None = None) -> datetime | None:
        """Withdraw an offer on its publisher's decision; returns when it was withdrawn (already
        withdrawn: the first time, now as the publisher's), ``None`` if unknown."""
        with write_session(self.engine) as session:
            row = session.get(OfferRow, offer_id, with_for_update=True)
            if row is None:
                return None
            if row.withdrawn_at is None:
                row.withdrawn_at = now or datetime.now(UTC)
            row.withdrawn_by = WITHDRAWN_BY_API
            return row.withdrawn_at

    def _missing_open_offers(self, session: Session, present: set[str], source: str) -> tuple[list[str], int]:
        open_ids = session.scalars(
            select(OfferRow.id).where(OfferRow.source == source, OfferRow.withdrawn_at.is_(None))
        ).all()
        return [key for key in open_ids if key not in present], len(open_ids)

    def count_missing_offers(self, present_ids: Collection[str], *, source: str) -> tuple[int, int]:
        """What :meth:`close_missing_offers` would close, without writing.

        Parameters
        ----------
        present_ids
            Every offer id of a full extract.
        source
            The source whose open offers are compared with it.

        Returns
        -------
        tuple[int, int]
            Open offers of ``source`` missing from ``present_ids``, and open offers of ``source``.
        """
        with Session(self.engine) as session:
            missing, open_count = self._missing_open_offers(session, set(present_ids), source)
        return len(missing), open_count

    def close_missing_offers(
        self, present_ids: Collection[str], *, source: str, now: datetime | None = None
    ) -> int:
        """Withdraw the open offers of ``source`` whose ids are not in ``present_ids``.

        A full extract of a source lists every offer it still has open: one it no longer lists was
        filled or closed. France Travail's offers carry no end date, so this is how they leave.

        Parameters
        ----------
        present_ids
            Every offer id of the full extract (parsed or not: an offer whose new version was refused
            is still open at its source).
        source
            Only offers stored with this ``source`` are closed (offers published through the API have
            their own).
        now
            The moment stored as ``withdrawn_at`` (default: now).

        Returns
        -------
        int
            How many offers were closed.
        """
        with write_session(self.engine) as session:
            missing, _ = self._missing_open_offers(session, set(present_ids), source)
            closed_at = now or datetime.now(UTC)  # after the scan: as close to the commit as it gets
            for batch in batches(missing):
                session.execute(
                    update(OfferRow)
                    .where(OfferRow.id.in_(batch))
                    .values(withdrawn_at=closed_at, withdrawn_by=WITHDRAWN_BY_EXTRACT)
                )
        return len(missing)

    def live_offers(self, as_of: date) -> list[Offer]:
        """Offers open on day ``as_of``: published by then, not withdrawn, expiring after that day; by id.

        An offer is closed on its ``expires_at`` day, as the alert batch's filter has it
        (``expires_at <= today`` in :mod:`models.pipeline`): an index never holds an offer that would
        not be sent.
        """
        statement = (
            select(OfferRow)
            .where(
                OfferRow.withdrawn_at.is_(None),
                or_(OfferRow.expires_at.is_(None), OfferRow.expires_at > as_of),
                # not published yet on that day (a demo's pinned day inside its world's months)
                OfferRow.created_at < datetime.combine(as_of + timedelta(days=1), time.min, UTC),
            )
            .order_by(OfferRow.id)
        )
        with Session(self.engine) as session:
            return [row_to_offer(r) for r in session.scalars(statement)]

    def offer_exits(self, offer_ids: Sequence[str], as_of: date) -> dict[str, str]:
        """Why each of these offers is not open on day ``as_of``: ``withdrawn``, ``expired`` or ``deleted``.

        Open offers are left out of the answer.
        """
        out = dict.fromkeys(offer_ids, "deleted")
        with Session(self.engine) as session:
            for chunk in batches(list(offer_ids)):
                rows = session.execute(
                    select(OfferRow.id, OfferRow.withdrawn_at, OfferRow.expires_at).where(
                        OfferRow.id.in_(chunk)
                    )
                )
                for key, withdrawn_at, expires_at in rows:
                    if withdrawn_at is not None:
                        out[key] = "withdrawn"
                    elif expires_at is not None and expires_at <= as_of:
                        out[key] = "expired"
                    else:
                        del out[key]
        return out

    def offers_until(self) -> datetime | None:
        """The latest reception or withdrawal of any offer (UTC), ``None`` when there is no offer.

        Read before the offers themselves, it bounds what that read holds: an offer received or
        withdrawn after it may be missing from it.
        """
        with Session(self.engine) as session:
            received, withdrawn = session.execute(
                select(func.max(OfferRow.received_at), func.max(OfferRow.withdrawn_at))
            ).one()
        moments = [m for m in (received, withdrawn) if m is not None]
        return max(moments) if moments else None

    def offer_changes(self, since: datetime) -> OfferChanges:
        """Offers received (new or changed content) or withdrawn strictly after ``since`` (UTC)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(OfferRow)
                .where(or_(OfferRow.received_at > since, OfferRow.withdrawn_at > since))
                .order_by(OfferRow.id)
            ).all()
            published = [row_to_offer(r) for r in rows if r.withdrawn_at is None]
            withdrawn = [r.id for r in rows if r.withdrawn_at is not None]
            moments = [m for r in rows for m in (r.received_at, r.withdrawn_at) if m is not None]
        return OfferChanges(published, withdrawn, max(moments) if moments else None)

    # -- profiles, trainings, subscriptions, audit ----------------------------------------------------
    def _replace_rows(self, table: type[Base], rows: Sequence[dict[str, Any]], key: str = "id") -> int:
        """Insert rows, replacing those whose key exists (delete + insert keeps it portable)."""
        with write_session(self.engine) as session:
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

    def consenting_profiles(self) -> list[Profile]:
        """Profiles that agreed to be visible to counsellors (the sourcing index's people), by id."""
        with Session(self.engine) as session:
            rows = session.scalars(select(ProfileRow).where(ProfileRow.visible).order_by(ProfileRow.id))
            return [row_to_profile(r) for r in rows]

    def upsert_trainings(self, trainings: Iterable[Training]) -> int:
        return self._replace_rows(TrainingRow, [training_columns(t) for t in trainings])

    def trainings(self) -> list[Training]:
        """Every training course, by id."""
        with Session(self.engine) as session:
            return [row_to_training(r) for r in session.scalars(select(TrainingRow).order_by(TrainingRow.id))]

    def upsert_subscriptions(self, subscriptions: Iterable[Subscription]) -> int:
        return self._replace_rows(SubscriptionRow, [s.model_dump(mode="json") for s in subscriptions])

    def upsert_audit_attributes(self, attributes: Iterable[AuditAttributes]) -> int:
        rows = [a.model_dump(mode="json") for a in attributes]
        return self._replace_rows(AuditAttributesRow, rows, key="profile_id")

    # -- interaction log ------------------------------------------------------------------------------
    def add_interactions(self, events: Iterable[Interaction]) -> int:
        """Append events to the log (the log is append-only)."""
        rows = [e.model_dump(mode="python") for e in events]
        with write_session(self.engine) as session:
            for batch in batches(rows, 5000):
                session.execute(insert(InteractionRow), list(batch))
        return len(rows)

    def delete_interactions_of(self, profile_ids: Sequence[str]) -> int:
        """Remove the events of these people (used to reload a simulated world idempotently)."""
        removed = 0
        with write_session(self.engine) as session:
            for batch in batches(profile_ids):
                result = session.execute(delete(InteractionRow).where(InteractionRow.profile_id.in_(batch)))
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

    def count(self, table: type[Base]) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)
