"""Offers through the API: a partner publishes a real-format offer; it is in sourcing at once, alerted by
the next incremental run, and gone from both once withdrawn. Roles: a partner publishes and reads
nothing; nobody else but an admin publishes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from matching.candidates import GENERATOR_FILE
from matching.encoders import CachedEncoder, HashingEncoder
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.batch.index_update import update_index
from serving.container import ServingContainer
from serving.security import Role
from serving.storage.db import make_engine
from serving.storage.repository import SqlRepository
from serving.storage.tables import AlertRow, RecommendationLogRow

AS_OF = datetime(2025, 2, 17, tzinfo=UTC)
MODEL = "test-ranker@champion=v1"


@dataclass
class Live:
    """The API over a database whose indexes were published from it, a token per role, and the
    consenting person the published offers are written for."""

    client: TestClient
    container: ServingContainer
    engine: Engine
    index_dir: Path
    tokens: dict[str, str]
    person: str
    offer: Callable[[str], dict[str, Any]]  # a real France Travail v2 offer, moved to the person
    service: Callable[[], RankingService]

    def call(self, method: str, path: str, who: str, body: object = None) -> Any:
        return self.client.request(
            method, path, headers={"Authorization": f"Bearer {self.tokens[who]}"}, json=body
        )

    def update_index(self, moment: datetime) -> str:
        """What `matching alerts run --update-index` does first: a new version from the database."""
        encoder = CachedEncoder(HashingEncoder())
        repository = SqlRepository(self.engine)
        referential = self.container.referential
        return update_index(repository, referential, encoder, self.index_dir, as_of=moment.date()).version

    def alerts_of(self, offer_id: str) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.scalars(select(AlertRow.profile_id).where(AlertRow.offer_id == offer_id)))


@pytest.fixture(scope="module")
def live(
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    builtin: Referential,
    offer_for_a_person: tuple[str, Callable[[str], dict[str, Any]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("offers-api")
    engine = make_engine(f"sqlite:///{folder / 'api.sqlite'}")
    load_small_world(engine)
    index_dir = folder / "index"
    update_index(
        SqlRepository(engine), builtin, CachedEncoder(HashingEncoder()), index_dir, as_of=AS_OF.date()
    )

    def service() -> RankingService:
        return RankingService.load(index_dir, builtin, HashingEncoder(), small_ranker.ranker, MODEL)

    container = ServingContainer(
        engine=engine,
        referential=builtin,
        load_service=service,
        probe_service=lambda: str((index_dir / GENERATOR_FILE).resolve()),
        refresh_s=0.0,  # every request checks the database's offer changes and the index version
    )
    person, offer = offer_for_a_person
    tokens = {
        "partner": container.tokens.create(Role.PARTNER, "jobboard-1"),
        "other_partner": container.tokens.create(Role.PARTNER, "jobboard-2"),
        "counsellor": container.tokens.create(Role.COUNSELLOR, "agent-1"),
        "admin": container.tokens.create(Role.ADMIN, "ds-1"),
        "jobseeker": container.tokens.create(Role.JOBSEEKER, person),
    }
    with TestClient(create_app(container)) as client:
        yield Live(client, container, engine, index_dir, tokens, person, offer, service)


def test_a_published_offer_is_sourced_at_once_and_alerted_by_the_next_incremental_run(live: Live) -> None:
    store = live.container.store
    # the last incremental run before the offer exists: everything open is new to every subscription
    first = run_alert_batch(store, live.service(), mode="incremental", as_of=AS_OF)
    assert first.alerts > 0 and live.person in {s.profile_id for s in store.active_subscriptions()}

    assert live.client.get("/ready").status_code == 200  # the API has loaded its indexes
    started = time.perf_counter()
    put = live.call("PUT", "/offers/PARTNER-1", "partner", live.offer("PARTNER-1"))
    assert put.status_code == 201, put.text
    body = put.json()
    assert body["status"] == "created" and body["live"] and body["index_version"].endswith("+1")
    sourced = live.call("GET", "/offers/PARTNER-1/candidates?k=50", "counsellor")
    to_candidates = time.perf_counter() - started
    assert sourced.status_code == 200, sourced.text
    sourcing = sourced.json()
    assert live.person in {c["profile_id"] for c in sourcing["candidates"]}
    assert sourcing["index_version"] == body["index_version"] and sourcing["model_version"] == MODEL
    with live.engine.connect() as connection:
        logged = connection.execute(
            select(RecommendationLogRow.model_version, RecommendationLogRow.index_version).where(
                RecommendationLogRow.subject_id == "PARTNER-1"
            )
        ).all()
    assert logged == [(MODEL, body["index_version"])]

    # `matching alerts run --incremental --update-index`, a week later (the person is due again)
    version = live.update_index(AS_OF + timedelta(days=7))
    run = run_alert_batch(store, live.service(), mode="incremental", as_of=AS_OF + timedelta(days=7))
    to_alerted = time.perf_counter() - started
    assert live.person in live.alerts_of("PARTNER-1")
    assert run.alerts >= 1 and run.alerted >= 1
    # only offers received since each subscription was last ranked: nothing older is sent again
    with live.engine.connect() as connection:
        sent = set(connection.scalars(select(AlertRow.offer_id).where(AlertRow.run_id == run.run_id)))
    assert sent == {"PARTNER-1"}
    print(
        f"\nPUT -> in sourcing: {to_candidates:.2f} s; PUT -> alerted (index update + run): {to_alerted:.2f} s"
    )

    # the API follows the new version: the live change is in it, nothing applied on top
    assert live.call("GET", "/offers/PARTNER-1/candidates", "counsellor").json()["index_version"] == version
    again = live.call("PUT", "/offers/PARTNER-1", "partner", live.offer("PARTNER-1"))
    assert again.status_code == 200 and again.json()["status"] == "unchanged"

    withdrawn = live.call("DELETE", "/offers/PARTNER-1", "partner")
    assert withdrawn.status_code == 200 and withdrawn.json()["live"]
    assert live.call("GET", "/offers/PARTNER-1/candidates", "counsellor").status_code == 404
    assert not live.container.service().generator.offers_.has("PARTNER-1")
    assert "PARTNER-1" not in {o.id for o in store.search_offers(None, limit=10_000)}
    assert live.call("DELETE", "/offers/PARTNER-1", "partner").status_code == 200  # again: no change


def test_a_withdrawn_offer_is_never_alerted_even_by_a_stale_index(live: Live) -> None:
    store = live.container.store
    run_alert_batch(store, live.service(), mode="incremental", as_of=AS_OF + timedelta(days=14))
    assert live.call("PUT", "/offers/PARTNER-2", "partner", live.offer("PARTNER-2")).status_code == 201
    live.update_index(AS_OF + timedelta(days=21))  # the index on disk holds the offer
    assert live.call("DELETE", "/offers/PARTNER-2", "partner").status_code == 200
    stale = live.service()
    assert stale.generator.offers_.has("PARTNER-2")
    run = run_alert_batch(store, stale, mode="incremental", as_of=AS_OF + timedelta(days=21))
    assert live.alerts_of("PARTNER-2") == set() and run.alerts == 0
    # published again by its partner: back in sourcing
    back = live.call("PUT", "/offers/PARTNER-2", "partner", live.offer("PARTNER-2"))
    assert back.status_code == 200 and back.json()["republished"]
    assert live.call("GET", "/offers/PARTNER-2/candidates", "counsellor").status_code == 200


def test_roles_and_bad_offers(live: Live) -> None:
    offer = live.offer("PARTNER-3")
    assert live.call("PUT", "/offers/PARTNER-3", "jobseeker", offer).status_code == 403
    assert live.call("PUT", "/offers/PARTNER-3", "counsellor", offer).status_code == 403
    assert live.call("PUT", "/offers/PARTNER-3", "partner", offer).status_code == 201
    assert live.call("PUT", "/offers/PARTNER-3", "other_partner", offer).status_code == 403
    assert live.call("DELETE", "/offers/PARTNER-3", "other_partner").status_code == 403
    assert live.call("PUT", "/offers/PARTNER-3", "admin", offer).status_code == 200  # an admin may
    # a partner publishes and reads nothing: no candidates, alerts, suggestions or explanations
    person = live.person
    for path in (
        "/offers/PARTNER-3/candidates",
        "/me/alerts",
        f"/profiles/{person}/alerts",
        f"/poe/suggestions?offer_id=PARTNER-3&profile_id={person}",
        f"/profiles/{person}/explanation?offer_id=PARTNER-3",
        "/viviers",
    ):
        assert live.call("GET", path, "partner").status_code == 403, path
    assert live.call("DELETE", "/offers/NOPE", "partner").status_code == 404
    mismatch = live.call("PUT", "/offers/PARTNER-4", "partner", offer)
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["loc"] == ["body", "id"]
    unusable = {**live.offer("PARTNER-4"), "romeCode": "Z9999", "dateCreation": "hier"}
    refused = live.call("PUT", "/offers/PARTNER-4", "partner", unusable)
    assert refused.status_code == 422
    assert {tuple(p["loc"]) for p in refused.json()["detail"]} == {
        ("body", "romeCode"),
        ("body", "dateCreation"),
    }
    assert live.call("PUT", "/offers/PARTNER-4", "partner", [offer]).status_code == 422  # not an object
    # fields it cannot read are reported, the offer kept
    odd = {**live.offer("PARTNER-5"), "typeContrat": "XYZ"}
    kept = live.call("PUT", "/offers/PARTNER-5", "partner", odd)
    assert (
        kept.status_code == 201
        and {"field": "typeContrat", "problem": "unknown contract code"} in kept.json()["problems"]
    )
    # a partner's token opens no page (the login form says so, no error page)
    page = live.client.post(
        "/pages/connexion", data={"jeton": live.tokens["partner"]}, follow_redirects=False
    )
    assert page.status_code == 403 and "API seulement" in page.text


def test_a_bulk_of_offer_changes_waits_for_the_next_index_version(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matching.ingest import parse_offer

    monkeypatch.setattr("serving.container.MAX_LIVE_OFFERS", 2)
    bulk = [
        parse_offer(live.offer(f"BULK-{i}"), referential=live.container.referential).offer for i in range(3)
    ]
    assert all(o is not None and o.source == "france_travail" for o in bulk)
    SqlRepository(live.engine).upsert_offers([o for o in bulk if o is not None])  # a day's ingest
    # a partner's offer still goes live at once; the ingested bulk is not embedded under the lock
    put = live.call("PUT", "/offers/PARTNER-6", "partner", live.offer("PARTNER-6"))
    assert put.status_code == 201 and put.json()["live"]
    offers = live.container.service().generator.offers_
    assert offers.has("PARTNER-6") and not any(offers.has(f"BULK-{i}") for i in range(3))
    # the next index version holds it, and the API follows it
    version = live.update_index(AS_OF + timedelta(days=28))
    sourced = live.call("GET", "/offers/BULK-0/candidates", "counsellor")
    assert sourced.status_code == 200 and sourced.json()["index_version"] == version
    assert all(live.container.service().generator.offers_.has(f"BULK-{i}") for i in range(3))


def test_an_offer_published_without_rome_code_is_coded_by_the_classifier(live: Live) -> None:
    """Case 16 through the API: accepted, the code inferred (flagged, with its confidence), said so."""
    from matching.domain import RomeSource

    record = {key: value for key, value in live.offer("PARTNER-7").items() if key != "romeCode"}
    put = live.call("PUT", "/offers/PARTNER-7", "partner", record)
    assert put.status_code == 201, put.json()
    assert {"field": "romeCode", "problem": "missing, inferred by the ROME classifier"} in put.json()[
        "problems"
    ]
    stored = live.container.repository.get_offer("PARTNER-7")
    assert stored is not None and stored.rome_source is RomeSource.INFERRED
    assert stored.rome_code in live.container.referential.fiches and stored.rome_confidence is not None
    # (the confidence floor is checked on the official ROME: tests/matching/test_ft_cases.py)
