"""The counsellor's pages (/pages/offres, /pages/viviers) and the sourcing API they share: candidate cards
with what a counsellor decides on, acting that changes the list, viviers from an occupation around a
commune, and an empty list that says why."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from features.pairs import stated_constraint_violations, stated_constraints
from matching.candidates import load_generator
from matching.clock import Clock
from matching.domain import ContractType, Location, Offer, contract_label
from matching.encoders import HashingEncoder
from matching.geo import Communes, load_communes, load_laposte
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.app import create_app
from serving.container import ServingContainer
from serving.explain import km_between, qualification_label, stated_refusals
from serving.security import Role
from serving.services.errors import Invalid
from serving.services.viviers import resolve_commune, resolve_occupation
from serving.storage.db import make_engine
from serving.storage.repository import SqlRepository

AS_OF = datetime(2025, 2, 17, 9, tzinfo=UTC)


@dataclass
class Desk:
    """The app with a sample world, the built-in communes, a clock pinned at :data:`AS_OF`, a counsellor
    logged in to the pages (``pages``) and their bearer header for the API (``bearer``)."""

    client: TestClient
    pages: TestClient
    container: ServingContainer
    bearer: dict[str, str]

    def candidates(self, offer: str, k: int = 200) -> dict[str, object]:
        response = self.client.get(f"/offers/{offer}/candidates?k={k}", headers=self.bearer)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def listed(self, offer: str) -> list[str]:
        return [c["profile_id"] for c in self.candidates(offer)["candidates"]]  # type: ignore[attr-defined,index]

    def fresh_tables(self) -> None:
        """Forget the cached feature tables (events written by a test are read at once)."""
        self.container._tables = None


@pytest.fixture(scope="module")
def desk(
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    builtin: Referential,
    index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Desk]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('desk') / 'desk.sqlite'}")
    load_small_world(engine)
    service = RankingService(
        load_generator(index_dir, builtin, HashingEncoder()), small_ranker.ranker, "test-ranker@champion=v1"
    )
    container = ServingContainer(
        engine=engine,
        referential=builtin,
        load_service=lambda: service,
        communes=load_communes(),  # the built-in one: a named main commune per département
        clock=Clock(pinned_at=AS_OF),
    )
    token = container.tokens.create(Role.COUNSELLOR, "agent-7")
    with TestClient(create_app(container)) as client:
        pages = TestClient(client.app)
        assert (
            pages.post("/pages/connexion", data={"jeton": token}, follow_redirects=False).status_code == 303
        )
        yield Desk(client, pages, container, {"Authorization": f"Bearer {token}"})


def _offer_with_candidates(desk: Desk, low: int = 4, high: int = 15, skip: tuple[str, ...] = ()) -> str:
    """An open offer with between ``low`` and ``high`` candidates (all on the page's first 20)."""
    offers = desk.container.tables().offers
    for offer in offers["id"].tolist()[:400]:
        if offer in skip:
            continue
        body = desk.candidates(offer, k=20)
        if low <= len(body["candidates"]) <= high:  # type: ignore[arg-type]
            return str(offer)
    raise AssertionError("no offer with a short list of candidates in the small world")


def _card(html: str, profile_id: str) -> str:
    """The HTML of a candidate's card on the offer page ('' when not listed)."""
    found = re.search(
        rf'<article class="card" aria-labelledby="cand-{profile_id}">(.*?)</article>', html, re.S
    )
    return unescape(found.group(1)) if found else ""


# -- candidate cards ----------------------------------------------------------------------------------
def test_cards_show_what_a_counsellor_decides_on(desk: Desk) -> None:
    offer_id = _offer_with_candidates(desk)
    offer = desk.container.repository.get_offer(offer_id)
    assert offer is not None
    body = desk.candidates(offer_id, k=20)
    html = desk.pages.get(f"/pages/offres/{offer_id}").text
    communes = desk.container.communes
    assert communes is not None
    for candidate in body["candidates"]:  # type: ignore[attr-defined]
        profile = desk.container.repository.get_profile(candidate["profile_id"])
        assert profile is not None
        facts = candidate["facts"]
        # the API tells the facts …
        assert facts["commune"] == communes.name_of(profile.home.insee) and facts["commune"]
        distance = km_between(profile.home, offer.location)
        assert distance is not None and facts["distance_km"] == pytest.approx(distance, abs=0.06)
        assert facts["experience_months"] == profile.experience_months
        assert facts["qualification"] == qualification_label(profile.qualification_code)
        assert facts["contract_types"] == [str(c) for c in profile.contract_types]
        assert "France Travail" in facts["contact"]
        # … and the card says them in words
        card = _card(html, candidate["profile_id"])
        assert card, candidate["profile_id"]
        assert f"<strong>Commune :</strong> {facts['commune']}, à " in card and "km de l'offre" in card
        assert "<strong>Expérience dans le métier :</strong>" in card
        if profile.experience_months >= 12:
            assert " an" in card
        if facts["qualification"]:
            assert f"<strong>Qualification :</strong> {facts['qualification']}" in card
        assert "<strong>Disponibilité :</strong>" in card
        for code in profile.contract_types:
            assert contract_label(code) in card.split("<strong>Souhaits :</strong>")[1].split("</li>")[0]
        if profile.min_weekly_hours or profile.max_weekly_hours:
            assert "par semaine" in card
        assert "<strong>Dernière activité :</strong>" in card
        assert "Contacter via son conseiller France Travail ou la messagerie France Travail" in card
        # never a raw score, never the home's codes
        assert f"{candidate['score']:.3f}" not in card and "score" not in card.lower()
        assert profile.home.insee is not None and profile.home.insee not in card


def test_last_activity_is_the_persons_latest_own_event(desk: Desk) -> None:
    """The day of the person's latest own action up to the clock's now (the world's log goes on after)."""
    from serving.storage.market import read_market_tables

    events = read_market_tables(desk.container.engine).events  # the whole log, past the clock's now too
    now = pd.Timestamp(desk.container.clock.now())
    own = events[(events["actor"] == "jobseeker")]
    latest = own[own["occurred_at"] <= now].groupby("profile_id")["occurred_at"].max()
    ever = own.groupby("profile_id")["occurred_at"].max()
    checked = 0
    for offer_id in desk.container.tables().offers["id"].tolist()[:40]:
        for candidate in desk.candidates(offer_id, k=20)["candidates"]:  # type: ignore[attr-defined]
            person, facts = candidate["profile_id"], candidate["facts"]
            expected = latest[person].date().isoformat() if person in latest.index else None
            assert facts["last_activity_on"] == expected, person
            checked += person in ever.index and ever[person] > now
    assert checked  # some had acted after the clock's now: not shown as their last activity


def test_a_stated_refusal_is_told_in_words_and_the_candidate_placed_lower(desk: Desk) -> None:
    """A person who refused an offer for its contract type comes after the others for an offer of that
    contract, and the card says why (no −1000 without words)."""
    offers = desk.container.tables().offers
    skip: tuple[str, ...] = ()
    while True:  # an offer with at least two candidates repeating no stated refusal yet
        offer_id = _offer_with_candidates(desk, skip=skip)
        free_now = [c["profile_id"] for c in desk.candidates(offer_id)["candidates"] if not c["placed_lower"]]  # type: ignore[attr-defined]
        if len(free_now) >= 2:
            break
        skip += (offer_id,)
    offer = desk.container.repository.get_offer(offer_id)
    assert offer is not None and offer.contract_type is not None
    listed = desk.listed(offer_id)
    person = free_now[0]
    same_contract = offers[(offers["contract_type"] == offer.contract_type) & (offers["id"] != offer_id)]
    desk.container.store.add_event(
        "refused", person, offer_id=str(same_contract["id"].iloc[0]), reason="type_contrat", actor="jobseeker"
    )
    desk.fresh_tables()
    body = desk.candidates(offer_id)
    candidates = body["candidates"]  # type: ignore[var-annotated]
    mine = next(c for c in candidates if c["profile_id"] == person)
    words = f"a refusé ce type de contrat ({contract_label(offer.contract_type)})"
    assert words in mine["placed_lower"]
    # placed after everyone who repeats no stated refusal, and the whole list reads in that order: the
    # more stated refusals an offer repeats for a person, the lower they are (one sentence each)
    ids = [c["profile_id"] for c in candidates]
    free = [k for k, c in enumerate(candidates) if not c["placed_lower"]]
    assert free and max(free) < ids.index(person) and ids.index(person) > listed.index(person)
    counts = [len(c["placed_lower"]) for c in candidates]
    assert counts == sorted(counts)
    # the ranking's penalty (STATED_PENALTY per reason, far above any learned score): below every free one
    lowest_free = min(c["score"] for c in candidates if not c["placed_lower"])
    assert all(c["score"] < lowest_free - 900 for c in candidates if c["placed_lower"])
    card = _card(desk.pages.get(f"/pages/offres/{offer_id}").text, person)
    assert "Placé(e) plus bas :" in card and words in card


def test_stated_refusal_words_name_every_penalty_of_the_ranking() -> None:
    """Each reason the ranking's penalty counts is named, and nothing else: the count of sentences is the
    count of stated refusals :func:`stated_constraint_violations` gives, on any features."""
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame(
        {
            "rome_same_code": rng.integers(0, 2, n).astype(float),
            "history_refusal_rate_metier": rng.choice([0.0, 0.2, np.nan], n),
            "rome_metier_refusals": rng.choice([0.0, 1.0], n),
            "distance_over_refused": rng.choice([0.5, 1.0, 2.0, np.nan], n),
            "salary_over_refused": rng.choice([0.8, 1.0, 1.5, np.nan], n),
            "contract_refusals": rng.choice([0.0, 2.0], n),
            "hours_refusals": rng.choice([0.0, 1.0], n),
            "coverage_over_refused": rng.choice([-0.2, 0.0, 0.3, np.nan], n),
        }
    )
    masks = stated_constraints(X)
    stated = [[r for r, mask in masks.items() if mask[i]] for i in range(n)]
    reasons = stated_refusals(stated, ContractType.CDD, True)
    assert [len(r) for r in reasons] == stated_constraint_violations(X).astype(int).tolist()
    assert any("a refusé ce type de contrat (CDD)" in r for r in reasons)
    assert any("a refusé des offres à temps plein pour leurs horaires" in r for r in reasons)


# -- acting changes the list ----------------------------------------------------------------------------
def test_proposing_marks_and_dismissing_removes(desk: Desk) -> None:
    offer_id = _offer_with_candidates(desk, low=5)
    first, second = desk.listed(offer_id)[:2]
    proposed = desk.pages.post(
        f"/pages/offres/{offer_id}/candidats/{first}", data={"action": "proposed"}, follow_redirects=False
    )
    assert proposed.status_code == 303
    dismissed = desk.pages.post(
        f"/pages/offres/{offer_id}/candidats/{second}",
        data={"action": "dismissed", "reason": "experience"},
        follow_redirects=False,
    )
    assert dismissed.status_code == 303
    # the API's list: the proposed one stays, marked; the dismissed one is gone, named apart
    body = desk.candidates(offer_id)
    listed = {c["profile_id"]: c for c in body["candidates"]}  # type: ignore[attr-defined]
    assert first in listed and listed[first]["proposed_at"].startswith("2025-02-17")
    assert second not in listed
    assert second not in {c["profile_id"] for c in body["reachable_with_training"]}  # type: ignore[attr-defined]
    assert [(d["profile_id"], d["reason"]) for d in body["dismissed"]] == [(second, "experience")]  # type: ignore[attr-defined]
    # the page agrees
    html = unescape(desk.pages.get(f"/pages/offres/{offer_id}").text)
    assert "Proposé(e) à l'employeur le 17/02/2025" in _card(html, first)
    assert 'value="proposed"' not in _card(html, first)  # proposed once, not twice
    assert _card(html, second) == ""
    assert "Candidats écartés (1)" in html and "expérience insuffisante" in html
    page_ids = re.findall(r'aria-labelledby="cand-([^"]+)"', html)
    api_ids = [c["profile_id"] for c in desk.candidates(offer_id, k=20)["candidates"]]  # type: ignore[attr-defined]
    assert set(page_ids) >= set(api_ids) and second not in page_ids
    # taken back: listed again
    restored = desk.pages.post(
        f"/pages/offres/{offer_id}/candidatsX".replace("candidatsX", f"candidats/{second}"),
        data={"action": "restored"},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    assert second in desk.listed(offer_id)
    assert "Candidats écartés" not in desk.pages.get(f"/pages/offres/{offer_id}").text
    # a dismissal through the API removes the candidate from the page as well
    answer = desk.client.post(
        f"/offers/{offer_id}/candidates/{second}/actions",
        headers=desk.bearer,
        json={"action": "dismissed", "reason": "autre"},
    )
    assert answer.status_code == 201
    assert _card(desk.pages.get(f"/pages/offres/{offer_id}").text, second) == ""
    assert (
        desk.client.post(f"/offers/{offer_id}/candidates/{second}/restore", headers=desk.bearer).status_code
        == 200
    )
    assert (
        desk.client.post(f"/offers/{offer_id}/candidates/{second}/restore", headers=desk.bearer).status_code
        == 404
    )  # nothing left to take back


# -- an empty list says why -------------------------------------------------------------------------------
def test_zero_candidates_is_explained(desk: Desk) -> None:
    """An offer in Guyane of an occupation the world's people live far from: nobody, and why."""
    profiles = desk.container.tables().profiles
    code = str(profiles.loc[profiles["visible"], "rome_codes"].iloc[0][0])
    lonely = Offer(
        id="LONELY1",
        title="Offre que personne ne peut prendre",
        rome_code=code,
        location=Location(label="973 - Cayenne", lat=4.93, lon=-52.33),
        contract_type=ContractType.CDI,
        created_at=AS_OF - timedelta(days=1),
    )
    SqlRepository(desk.container.engine).upsert_offers([lonely], now=AS_OF - timedelta(days=1))
    body = desk.candidates("LONELY1")
    assert body["candidates"] == []
    nobody = body["nobody"]
    assert nobody is not None
    assert nobody["rome_code"] == code and nobody["same_trade"] > 0 and nobody["same_trade_in_reach"] == 0  # type: ignore[index]
    assert nobody["nearest_same_trade_km"] > 5000  # type: ignore[index,operator]  # mainland France
    html = unescape(desk.pages.get("/pages/offres/LONELY1").text)
    assert "Pourquoi personne n'est proposé" in html and "n'habite dans son rayon de déplacement" in html
    km = f"{nobody['nearest_same_trade_km']:,.0f}".replace(",", "\u202f")  # type: ignore[index]
    nearest = f"la plus proche est à {km} km"  # "6 723 km"
    assert nearest in html
    assert "Accessibles avec une formation courte" in html
    # a list that is not empty has no such explanation
    assert desk.candidates(_offer_with_candidates(desk))["nobody"] is None


# -- viviers from an occupation around a commune ---------------------------------------------------------
def _someone(desk: Desk) -> pd.Series:
    tables = desk.container.tables()
    profiles = tables.profiles
    hired = tables.profiles_with("hired")
    return profiles[profiles["visible"] & ~profiles["id"].isin(hired)].iloc[0]


def test_vivier_from_an_occupation_a_commune_and_a_radius(desk: Desk, builtin: Referential) -> None:
    person = _someone(desk)
    communes = desk.container.communes
    assert communes is not None
    commune = communes.name_of(person["home_insee"])
    code = str(person["rome_codes"][0])
    title = builtin.appellations_of(code)[0].label  # a ROME title, as a counsellor types it
    created = desk.pages.post(
        "/pages/viviers",
        data={"occupation": title.upper(), "commune": commune, "radius_km": "25", "label": ""},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    html = unescape(desk.pages.get("/pages/viviers").text)
    assert f"autour de {commune}" in html
    assert 'aria-labelledby="cand-' in html and f'-{person["id"]}"' in html  # the member's card
    assert "du centre du vivier" in html and "<strong>Expérience dans le métier :</strong>" in html
    saved = desk.client.get("/viviers", headers=desk.bearer).json()[-1]
    assert saved["rome_codes"] == [code] and person["id"] in saved["profile_ids"]
    assert saved["radius_km"] == 25 and saved["centre"] == commune
    # the API takes the same words, and still takes a point
    near = {"occupation": code, "commune": commune, "radius_km": 25}
    answer = desk.client.post("/viviers", headers=desk.bearer, json=near)
    assert answer.status_code == 201 and person["id"] in answer.json()["profile_ids"]
    point = {
        "label": "x",
        "rome_codes": [code],
        "lat": person["home_lat"],
        "lon": person["home_lon"],
        "radius_km": 25,
    }
    assert desk.client.post("/viviers", headers=desk.bearer, json=point).status_code == 201
    unknown = desk.client.post("/viviers", headers=desk.bearer, json={**near, "commune": "Zzyzx-les-Bains"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "commune"]
    assert unknown.json()["detail"][0]["msg"].startswith("Commune inconnue")


def test_vivier_form_errors_are_french_sentences_next_to_the_field(desk: Desk) -> None:
    person = _someone(desk)
    before = len(desk.client.get("/viviers", headers=desk.bearer).json())
    wrong = desk.pages.post(
        "/pages/viviers",
        data={"occupation": str(person["rome_codes"][0]), "commune": "Zzyzx-les-Bains", "radius_km": "30"},
    )
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("text/html")
    html = wrong.text
    field = re.search(
        r'<input id="commune"[^>]*>\s*<p id="commune-erreur" class="field-error">([^<]*)</p>', html
    )
    assert field is not None, html
    assert field.group(1).startswith("Commune inconnue : « Zzyzx-les-Bains »")
    tag = re.search(r'<input id="commune"[^>]*>', html)
    assert tag is not None and 'aria-invalid="true"' in tag.group(0) and "commune-erreur" in tag.group(0)
    assert 'value="Zzyzx-les-Bains"' in tag.group(0)  # what was typed is kept
    assert 'id="occupation-erreur"' not in html  # the occupation was fine
    occupation = desk.pages.post(
        "/pages/viviers", data={"occupation": "xqzw", "commune": "", "radius_km": "500"}
    )
    assert occupation.status_code == 422
    assert re.search(
        r'<p id="occupation-erreur" class="field-error">Métier inconnu : « xqzw »', occupation.text
    )
    assert 'id="commune-erreur"' in occupation.text and 'id="radius_km-erreur"' in occupation.text
    assert len(desk.client.get("/viviers", headers=desk.bearer).json()) == before  # nothing saved


def test_occupations_are_read_with_the_referential(builtin: Referential) -> None:
    assert resolve_occupation(builtin, "N1101") == ["N1101"]
    assert resolve_occupation(builtin, " n1101 ") == ["N1101"]
    assert resolve_occupation(builtin, "CARISTE") == ["N1101"]
    assert resolve_occupation(builtin, "chariot elevateur") == ["N1101"]  # words of a title
    assert resolve_occupation(builtin, "Cariste, N1103") == ["N1101", "N1103"]
    with pytest.raises(Invalid, match="Code ROME inconnu : A0000"):
        resolve_occupation(builtin, "A0000")
    with pytest.raises(Invalid, match="Métier inconnu"):
        resolve_occupation(builtin, "astronaute lunaire")
    with pytest.raises(Invalid, match="correspond à plusieurs métiers") as several:
        resolve_occupation(builtin, "agent")
    assert several.value.problems[0]["loc"] == ["body", "occupation"]


@pytest.fixture(scope="module")
def laposte(tmp_path_factory: pytest.TempPathFactory) -> Communes:
    """A few rows of the La Poste base: Lyon's arrondissements, two Saint-Denis, a shared postal code."""
    rows = [
        ("69381", "LYON 01", "69001", 45.7699, 4.8292),
        ("69382", "LYON 02", "69002", 45.7493, 4.8262),
        ("69383", "LYON 03", "69003", 45.7599, 4.8496),
        ("93066", "ST DENIS", "93200", 48.9295, 2.3592),
        ("11339", "ST DENIS", "11310", 43.3578, 2.2252),
        ("42218", "ST ETIENNE", "42000", 45.4301, 4.3791),
        ("01001", "L ABERGEMENT CLEMENCIAT", "01400", 46.1535, 4.9260),
        ("01008", "AMBUTRIX", "01500", 45.9368, 5.3328),
        ("01004", "AMBERIEU EN BUGEY", "01500", 45.9608, 5.3729),
    ]
    path = tmp_path_factory.mktemp("laposte") / "laposte.csv"
    lines = ["Code_commune_INSEE;Nom_commune;Code_postal;Ligne_5;Libellé_d_acheminement;latitude;longitude"]
    lines += [f"{c};{n};{p};;{n};{lat};{lon}" for c, n, p, lat, lon in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_laposte(path)


@pytest.mark.parametrize(
    ("typed", "insee"),
    [
        ("Lyon", "69123"),
        ("lyon 3e", "69383"),
        ("LYON 3ème arrondissement", "69383"),
        ("69003", "69383"),
        ("69383", "69383"),
        ("saint-étienne", "42218"),
        ("St Etienne", "42218"),
        ("Saint-Denis (93)", "93066"),
        ("L'Abergement-Clémenciat", "01001"),
    ],
)
def test_communes_are_read_as_counsellors_type_them(laposte: Communes, typed: str, insee: str) -> None:
    found = resolve_commune(laposte, typed)
    assert found.insee == insee
    assert (found.lat, found.lon) == laposte.coords(insee)


def test_an_ambiguous_or_unknown_commune_is_asked_about(laposte: Communes) -> None:
    with pytest.raises(Invalid) as several:
        resolve_commune(laposte, "saint denis")
    message = str(several.value)
    assert message.startswith("Plusieurs communes s'appellent « saint denis »")
    assert "Saint-Denis (11)" in message and "Saint-Denis (93)" in message
    with pytest.raises(Invalid, match="Le code postal 01500 couvre plusieurs communes"):
        resolve_commune(laposte, "01500")
    with pytest.raises(Invalid, match="Vouliez-vous dire : Lyon") as close:
        resolve_commune(laposte, "Lyom")
    assert close.value.problems[0]["loc"] == ["body", "commune"]
    with pytest.raises(Invalid, match="Code postal ou code commune inconnu : 99999"):
        resolve_commune(laposte, "99999")


def test_a_long_list_shows_its_first_twenty_then_more_on_demand(desk: Desk) -> None:
    """The page lists 20 candidates and offers the next ones; a hand-edited ``k`` never fails."""
    offers = desk.container.tables().offers["id"].tolist()[:60]
    offer_id = next(str(o) for o in offers if len(desk.candidates(o, k=21)["candidates"]) > 20)  # type: ignore[arg-type]
    html = desk.pages.get(f"/pages/offres/{offer_id}").text
    assert html.count('<article class="card" aria-labelledby="cand-') == 20
    assert f'href="/pages/offres/{offer_id}?k=40"' in html
    more = desk.pages.get(f"/pages/offres/{offer_id}?k=40").text
    assert 20 < more.count('<article class="card" aria-labelledby="cand-') <= 40
    for odd in ("abc", "-5", "100000"):
        assert desk.pages.get(f"/pages/offres/{offer_id}?k={odd}").status_code == 200
