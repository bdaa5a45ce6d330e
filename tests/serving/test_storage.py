"""Storage on SQLite and PostgreSQL: migrations, idempotent upserts, round trips, the audit table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from entrypoints.world_loader import load_world
from eval.simulator import World
from matching.domain import AuditAttributes, Profile
from matching.errors import StorageError
from matching.ingest import parse_offers, read_offer_records
from serving.batch.ingest import OfferIngest, ingest_offers
from serving.storage.db import ensure_schema, make_engine, migrate
from serving.storage.market import read_market_tables
from serving.storage.repository import SqlRepository
from serving.storage.tables import FEATURE_READABLE_TABLES, Base, InteractionRow, OfferRow

PROTECTED = {
    "sex",
    "gender",
    "age",
    "age_band",
    "birth",
    "origin",
    "nationality",
    "family",
    "health",
    "disability",
    "handicap",
    "qpv",
    "address",
    "postcode",
    "postal_code",
    "civility",
    "name",
}


def test_migrations_match_the_models(engine: Engine) -> None:
    with pytest.raises(StorageError, match="matching db upgrade"):
        ensure_schema(engine)
    migrate(engine)
    migrate(engine)  # idempotent
    ensure_schema(engine)
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    assert "audit_attributes" in inspect(engine).get_table_names()


def test_real_offers_reingest_is_idempotent(engine: Engine, offers_file: Path) -> None:
    migrate(engine)
    offers, _ = parse_offers(read_offer_records(offers_file))
    repo = SqlRepository(engine)
    first = repo.upsert_offers(offers)
    assert (first.inserted, first.updated) == (len(offers), 0)
    second = repo.upsert_offers(offers)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, len(offers))
    changed = offers[0].model_copy(update={"title": "Nouveau titre"})
    third = repo.upsert_offers([changed])
    assert (third.inserted, third.updated) == (0, 1)
    assert repo.count(OfferRow) == len(offers)
    assert repo.get_offer(changed.id) == changed
    assert all(repo.get_offer(o.id) == o for o in offers[1:50])


def test_a_full_extract_closes_the_offers_it_no_longer_lists(engine: Engine, offers_file: Path) -> None:
    migrate(engine)
    offers, _ = parse_offers(read_offer_records(offers_file))
    offers = offers[:40]
    partner = offers[0].model_copy(update={"id": "API-1", "source": "api:partner-1"})
    repo = SqlRepository(engine)
    repo.upsert_offers([*offers, partner])
    kept = {o.id for o in offers[:30]}

    assert repo.count_missing_offers(kept, source="france_travail") == (10, 40)
    assert repo.close_missing_offers(kept, source="france_travail") == 10
    assert {o.id for o in offers if repo.get_offer(o.id) is not None} == kept
    assert repo.get_offer("API-1") == partner  # another source's offers are not France Travail's to close
    assert repo.close_missing_offers(kept, source="france_travail") == 0  # closed once

    # listed again by a later full extract: open again, unless withdrawn through the API
    assert repo.withdraw_offer(offers[32].id) is not None
    back = repo.upsert_offers(offers[30:33], republish="closed")
    assert back.republished == 2
    assert [repo.get_offer(o.id) is not None for o in offers[30:33]] == [True, True, False]
    assert repo.upsert_offers(offers[32:33], republish="any").republished == 1  # a PUT undoes a DELETE

    # France Travail reusing a partner's id changes nothing of the partner's offer; a PUT takes it over
    clash = offers[1].model_copy(update={"id": "API-1"})
    assert repo.upsert_offers([clash]).conflicts == 1
    assert repo.get_offer("API-1") == partner
    assert repo.upsert_offers([clash], take_over=True).updated == 1
    assert repo.get_offer("API-1") == clash


def test_an_older_version_never_overwrites_a_newer_one(engine: Engine, offers_file: Path) -> None:
    migrate(engine)
    repo = SqlRepository(engine)
    records = read_offer_records(offers_file)[:20]
    old, new = (
        {**records[0], "dateActualisation": f"2025-0{month}-10T08:00:00.000Z", "intitule": f"Version {month}"}
        for month in (1, 2)
    )
    others = records[1:]

    def ingest(batch: list[Any], *, full: bool = False) -> OfferIngest:
        return ingest_offers(batch, repo, referential=None, communes=None, full=full)

    def stored_title() -> str | None:
        offer = repo.get_offer(new["id"], withdrawn=True)
        return offer.title if offer else None

    # one file holding both versions, in either order: the newer
    for batch in ([old, new], [new, old]):
        offers, report = parse_offers(batch)
        assert [o.title for o in offers] == ["Version 2"] and report.superseded == 1

    first = ingest([new, *others])
    assert first.counts.inserted == first.report.parsed
    mark = repo.offers_until()
    assert mark is not None
    stale = ingest([old])
    assert (stale.counts.updated, stale.counts.unchanged, stale.counts.older) == (0, 0, 1)
    kept = repo.get_offer(new["id"])
    assert kept is not None and kept.title == "Version 2"
    assert kept.updated_at == datetime(2025, 2, 10, 8, tzinfo=UTC)
    assert repo.offer_changes(mark).published == []  # nothing new for the live index or the alert batch

    # a full extract listing the older version still lists the offer: not closed
    listed = ingest([old, *others], full=True)
    assert (listed.closed, listed.counts.older) == (0, 1)
    # closed by a later extract, it is not reopened by one older than its stored version...
    assert ingest(others, full=True).closed == 1
    assert ingest([old, *others], full=True).counts.republished == 0
    assert repo.get_offer(new["id"]) is None
    # ...but is by one listing the stored version, or a newer one
    assert ingest([new, *others], full=True).counts.republished == 1
    assert stored_title() == "Version 2" and repo.get_offer(new["id"]) is not None

    # a PUT is the publisher's word whatever its date
    (older,), _ = parse_offers([old])
    assert repo.upsert_offers([older], republish="any", take_over=True, keep_newer=False).updated == 1
    assert stored_title() == "Version 1"


def test_the_same_version_read_again_is_rewritten_but_not_news(engine: Engine, offers_file: Path) -> None:
    """A newer parser reading the same source version again (after an upgrade: the place now has a
    precision) rewrites the offer without making it new for the incremental alert batch; a newer
    version of the source is news."""
    migrate(engine)
    repo = SqlRepository(engine)
    record = {**read_offer_records(offers_file)[0], "dateActualisation": "2025-01-10T08:00:00.000Z"}
    (offer,), _ = parse_offers([record])
    assert repo.upsert_offers([offer]).inserted == 1
    mark = repo.offers_until()
    assert mark is not None
    reread = offer.model_copy(update={"description": offer.description + " (relu)"})
    assert repo.upsert_offers([reread]).updated == 1
    stored = repo.get_offer(offer.id)
    assert stored is not None and stored.description.endswith("(relu)")
    assert repo.offer_changes(mark).published == [] and repo.offers_until() == mark
    newer = reread.model_copy(update={"updated_at": datetime(2025, 2, 1, tzinfo=UTC)})
    assert repo.upsert_offers([newer]).updated == 1
    assert [o.id for o in repo.offer_changes(mark).published] == [offer.id]


def test_schedule_employer_size_mobility_and_pay_are_stored(engine: Engine) -> None:
    """Issue 19's attributes go to the database and back, and reach the frames features read; rows
    stored before migration 0008 read as no schedule, no band, nothing declared."""
    from sqlalchemy import text

    from matching.domain import Location, MobilityMode, Offer
    from matching.schedule import WorkSchedule

    migrate(engine)
    repo = SqlRepository(engine)
    created = datetime(2025, 2, 3, tzinfo=UTC)
    offers = [
        Offer(
            id="N1",
            title="Agent de tri de nuit",
            rome_code="K2304",
            created_at=created,
            schedule=(WorkSchedule.NIGHTS, WorkSchedule.WEEKENDS),
            employer_size_band=5,
        ),
        Offer(id="N2", title="Data analyst", rome_code="M1419", created_at=created),
    ]
    profiles = [
        Profile(
            id="Q1",
            rome_codes=("K2304",),
            home=Location(insee="06029", lat=43.55, lon=7.01),
            max_commute_minutes=45,
            mobility_mode=MobilityMode.BIKE,
            last_monthly_pay=1850.5,
        ),
        Profile(id="Q2", rome_codes=("M1419",), home=Location(insee="75056")),
    ]
    repo.upsert_offers(offers)
    repo.upsert_profiles(profiles)
    assert [repo.get_offer(o.id) for o in offers] == offers
    assert [repo.get_profile(p.id) for p in profiles] == profiles
    assert repo.upsert_offers(offers).unchanged == 2  # the same content hashes the same

    tables = read_market_tables(engine)
    assert tables.offers.loc["N1", "schedule"] == ["nuit", "week_end"]
    assert tables.offers.loc["N2", "schedule"] == []
    assert str(tables.offers["employer_size_band"].dtype) == "Int64"
    assert tables.offers.loc[["N1", "N2"], "employer_size_band"].isna().tolist() == [False, True]
    assert tables.offers.loc["N1", "employer_size_band"] == 5
    assert tables.profiles.loc["Q1", "mobility_mode"] == "velo"
    assert tables.profiles.loc["Q1", "last_monthly_pay"] == 1850.5
    assert tables.profiles.loc["Q1", "max_commute_minutes"] == 45
    assert tables.profiles["last_monthly_pay"].dtype == float

    from alembic import command

    from serving.storage.db import alembic_config

    command.downgrade(alembic_config(engine), "0007")
    assert "schedule" not in {c["name"] for c in inspect(engine).get_columns("offers")}
    assert "mobility_mode" not in {c["name"] for c in inspect(engine).get_columns("profiles")}
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT schedule, employer_size_band FROM offers WHERE id = 'N1'")
        ).one()
    assert row[1] is None and row[0] in ("[]", [])
    before = repo.get_offer("N1")
    assert before is not None and (before.schedule, before.employer_size_band) == ((), None)
    declared = repo.get_profile("Q1")
    assert declared is not None and (declared.mobility_mode, declared.last_monthly_pay) == (None, None)
    assert (
        read_market_tables(engine).profiles["last_monthly_pay"].isna().all()
    )  # nobody declared one: still floats


def test_offer_search_ignores_accents_and_case_and_reads_every_field(engine: Engine) -> None:
    """A counsellor's search: every word must match the id, title, appellation, ROME code or place,
    whatever its accents and case; an id matches as typed; the search text is filled by the migration
    for offers stored before it."""
    from datetime import datetime

    from sqlalchemy import update

    from matching.domain import Location, Offer
    from serving.storage.store import ServingStore

    migrate(engine)
    repo, store = SqlRepository(engine), ServingStore(engine)
    created = datetime(2025, 3, 1, tzinfo=UTC)
    repo.upsert_offers(
        [
            Offer(
                id="A1",
                title="Infirmière de nuit (H/F)",
                rome_code="J1506",
                created_at=created,
                appellation_label="Infirmier / Infirmière de soins généraux",
                location=Location(label="69 - Lyon 3e Arrondissement"),
            ),
            Offer(
                id="B2",
                title="Développeur Python",
                rome_code="M1805",
                created_at=created,
                location=Location(label="44 - NANTES"),
            ),
        ]
    )

    def found(query: str) -> set[str]:
        return {o.id for o in store.search_offers(query)}

    # gendered and plural forms, "saint" as France Travail's labels write it; nothing not yet
    # published or expired on the clock's day
    from datetime import date, timedelta

    from matching.clock import Clock

    day = Clock(pinned_at=date(2025, 3, 10))
    dated = ServingStore(engine, clock=day)
    repo.upsert_offers(
        [
            Offer(
                id="C3",
                title="Infirmier D.E",
                rome_code="J1506",
                created_at=created,
                location=Location(label="42 - ST ETIENNE"),
            ),
            Offer(
                id="D4", title="Infirmier de bloc", rome_code="J1506", created_at=created + timedelta(days=20)
            ),
            Offer(
                id="E5",
                title="Infirmier scolaire",
                rome_code="J1506",
                created_at=created,
                expires_at=date(2025, 3, 9),
            ),
        ]
    )
    assert {o.id for o in dated.search_offers("infirmiere")} == {"A1", "C3"}
    assert {o.id for o in dated.search_offers("infirmieres saint-etienne")} == {"C3"}
    assert {o.id for o in dated.search_offers("")} == {"A1", "B2", "C3"}
    with engine.begin() as connection:
        connection.execute(OfferRow.__table__.delete().where(OfferRow.id.in_(["C3", "D4", "E5"])))

    assert found("infirmiere") == found("INFIRMIÈRE") == found("infirmiere lyon") == {"A1"}
    assert found("soins generaux") == {"A1"}  # the appellation
    assert found("m1805") == found("nantes") == found("developpeur") == found("B2") == {"B2"}
    assert found("infirmiere nantes") == set() and found("50%") == set()
    assert found("") == {"A1", "B2"}
    # rows stored before migration 0006 get their search text from it
    with engine.begin() as connection:
        connection.execute(update(OfferRow).values(search_text=None))
    from alembic import command

    from serving.storage.db import alembic_config

    command.downgrade(alembic_config(engine), "0005")
    migrate(engine)
    assert found("infirmiere") == {"A1"}


def test_world_loads_and_reloads_without_duplicates(engine: Engine, sample_world: World) -> None:
    migrate(engine)
    world = replace(
        sample_world, interactions=sample_world.interactions.head(3000)
    )  # the shared one stays whole
    repo = SqlRepository(engine)
    counts = load_world(world, repo)
    assert counts["profiles"] == len(world.profiles)
    load_world(world, repo)
    assert repo.count(InteractionRow) == 3000
    pid = world.profiles["id"].iloc[0]
    profile = repo.get_profile(pid)
    assert isinstance(profile, Profile)
    assert profile.rome_codes
    first = world.interactions["profile_id"].iloc[0]
    events = read_market_tables(engine).events
    assert (events["profile_id"] == first).any()
    assert events["occurred_at"].is_monotonic_increasing


def test_protected_attributes_only_in_the_audit_table() -> None:
    assert "audit_attributes" not in FEATURE_READABLE_TABLES
    for table in Base.metadata.sorted_tables:
        if table.name == "audit_attributes":
            assert {"sex", "age_band", "qpv"} <= set(table.columns.keys())
            continue
        assert not PROTECTED & set(table.columns.keys()), table.name
    assert not PROTECTED & set(Profile.model_fields)
    assert {"sex", "age_band", "qpv"} <= set(AuditAttributes.model_fields)


def test_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="malformed"):
        make_engine("not a url")
    with pytest.raises(StorageError, match="unsupported"):
        make_engine("mysql://x@y/z")
    with pytest.raises(StorageError, match="cannot reach"):
        migrate(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))


def test_a_read_then_write_waits_for_another_writer(tmp_path: Path) -> None:
    """A writing transaction that reads first (an answer reads its alert, then updates it) must wait for a
    concurrent writer, not fail: with a deferred ``BEGIN`` the other's commit made its read snapshot stale
    and the write failed at once with "database is locked" (SQLITE_BUSY_SNAPSHOT, never retried)."""
    import threading

    from sqlalchemy import text

    from serving.storage.db import write_session

    url = f"sqlite:///{tmp_path / 'lock.sqlite'}"
    engine, other = make_engine(url), make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    has_read, other_done, errors = threading.Event(), threading.Event(), []

    def other_writer() -> None:
        has_read.wait(10)
        try:
            with write_session(other) as session:  # waits for the first writer's lock
                session.execute(text("INSERT INTO t VALUES (2)"))
        except Exception as error:  # reported to the test's thread
            errors.append(error)
        other_done.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with write_session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
        has_read.set()
        other_done.wait(1.0)  # the other writer commits here unless this transaction holds the lock
        session.execute(text("INSERT INTO t VALUES (1)"))
    thread.join(30)
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]


def test_a_course_without_dates_is_stored_and_the_migration_goes_both_ways(engine: Engine) -> None:
    """Migration 0009: a catalogue course's dates to confirm are NULLs; going back to 0008 removes the
    courses the older schema cannot hold and keeps the sessions."""
    from datetime import date

    from alembic import command

    from matching.domain import Training
    from serving.storage.db import alembic_config

    migrate(engine)
    repo = SqlRepository(engine)
    session = Training(
        id="lheo-1", title="CACES R489", hours=35, start_date=date(2025, 4, 1), end_date=date(2025, 4, 5)
    )
    course = Training(id="mcf-1", title="Tosa Excel", hours=21, poe_eligible=True, formacode="15052")
    assert course.dates_to_confirm and not session.dates_to_confirm
    repo.upsert_trainings([session, course])
    assert {t.id: t for t in repo.trainings()} == {"lheo-1": session, "mcf-1": course}
    frame = read_market_tables(engine).trainings
    assert frame.loc["mcf-1", "start_date"] is None or pd.isna(frame.loc["mcf-1", "start_date"])
    command.downgrade(alembic_config(engine), "0008")
    migrate(engine)
    assert [t.id for t in SqlRepository(engine).trainings()] == ["lheo-1"]
    with pytest.raises(ValueError, match="both its start and end dates"):
        Training(id="x", title="x", hours=1, start_date=date(2025, 4, 1))
