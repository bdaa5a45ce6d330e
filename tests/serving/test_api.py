"""The API: every endpoint with every role, object-level checks, lockout, rate limit, kill switch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from eval.simulator import World
from matching.candidates import load_generator
from matching.clock import Clock
from matching.domain import ContractType
from matching.encoders import HashingEncoder
from matching.geo import load_communes
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.container import ServingContainer
from serving.security import MAX_FAILURES, RateLimiter, Role
from serving.storage.db import make_engine
from serving.storage.repository import SqlRepository
from serving.storage.tables import ProfileRow, RecommendationLogRow

if TYPE_CHECKING:
    from httpx2 import Response  # what Starlette's TestClient answers with (it uses httpx2 when installed)

AS_OF = datetime(2025, 2, 17, tzinfo=UTC)


@dataclass
class Api:
    """The app under test, its container, and a token per role (``owner``, ``other``, ``counsellor``,
    ``admin``), with the ids of the people the tests act on."""

    client: TestClient
    container: ServingContainer
    tokens: dict[str, str]
    owner: str  # a jobseeker with alerts
    other: str  # another jobseeker
    hidden: str  # a profile that did not consent to be visible

    def headers(self, who: str | None) -> dict[str, str]:
        """The bearer header of ``who`` (a key of :attr:`tokens`); none for an anonymous request."""
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def get(self, path: str, who: str | None) -> Response:
        return self.client.get(path, headers=self.headers(who))

    def send(self, method: str, path: str, who: str | None, json: object) -> Response:
        return self.client.request(method, path, headers=self.headers(who), json=json)


@pytest.fixture(scope="module")
def api(
    small_world: World,
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    builtin: Referential,
    index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.sqlite'}")
    load_small_world(engine)
    ranker = small_ranker.ranker
    service = RankingService(
        load_generator(index_dir, builtin, HashingEncoder()), ranker, "test-ranker@champion=v1"
    )
    # the world's clock, as MATCHING_NOW pins it for demos: the batch and the API agree on today
    container = ServingContainer(
        engine=engine, referential=builtin, load_service=lambda: service, clock=Clock(pinned_at=AS_OF)
    )
    summary = run_alert_batch(container.store, service)
    assert summary.alerts > 0 and summary.ranking == "ml"
    profiles = small_world.profiles
    with engine.connect() as connection:
        from serving.storage.tables import AlertRow

        # the jobseeker with the most alerts (the tests answer several, one answer each)
        owner = connection.scalar(
            select(AlertRow.profile_id)
            .group_by(AlertRow.profile_id)
            .order_by(func.count().desc(), AlertRow.profile_id)
            .limit(1)
        )
    assert owner is not None
    other = next(p for p in profiles["id"] if p != owner)
    hidden = next(p for p, visible in zip(profiles["id"], profiles["visible"], strict=True) if not visible)
    tokens = {
        "owner": container.tokens.create(Role.JOBSEEKER, owner),
        "other": container.tokens.create(Role.JOBSEEKER, other),
        "counsellor": container.tokens.create(Role.COUNSELLOR, "agent-1"),
        "admin": container.tokens.create(Role.ADMIN, "ds-1"),
    }
    with TestClient(create_app(container)) as client:
        yield Api(client, container, tokens, owner, other, hidden)


def test_health_and_readiness(api: Api) -> None:
    assert api.get("/health", None).json() == {"status": "ok"}
    ready = api.get("/ready", None)
    assert ready.status_code == 200 and ready.json()["model_version"] == "test-ranker@champion=v1"


def test_api_docs_work_offline(api: Api) -> None:
    """/docs and /redoc load Swagger UI and ReDoc from the service itself, never from a CDN (a public
    service's network may not reach one: the docs page was blank)."""
    import re

    for page in ("/docs", "/redoc"):
        html = api.get(page, None)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.text)
        assert assets and all(a.startswith("/") for a in assets), assets  # same origin, no https://cdn…
        for asset in assets:
            assert api.get(asset, None).status_code == 200, asset


def test_readiness_fails_when_the_indexes_cannot_load(api: Api) -> None:
    def broken() -> RankingService:
        raise FileNotFoundError("var/index/generator.json")

    container = ServingContainer(
        engine=api.container.engine, referential=api.container.referential, load_service=broken
    )
    with TestClient(create_app(container)) as client:
        response = client.get("/ready")
        assert response.status_code == 503 and "cannot be loaded" in response.json()["problem"]
        offer = SqlRepository(api.container.engine).get_offer  # sourcing answers 503, not 500
        token = container.tokens.create(Role.COUNSELLOR, "agent-2")
        first_offer = api.get("/me/alerts", "owner").json()[0]["offer"]["id"]
        assert offer(first_offer) is not None
        answer = client.get(f"/offers/{first_offer}/candidates", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 503


def test_authentication_and_lockout(api: Api) -> None:
    assert api.get("/me/alerts", None).status_code == 401
    bad = api.client.get("/me/alerts", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    token = api.container.tokens.create(Role.JOBSEEKER, api.other)
    token_id = token.split(".")[0]
    for _ in range(MAX_FAILURES):
        assert (
            api.client.get("/me/alerts", headers={"Authorization": f"Bearer {token_id}.wrong"}).status_code
            == 401
        )
    # the 11th attempt is refused even with the right secret: the token is locked
    assert api.client.get("/me/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_rate_limit(api: Api) -> None:
    api.container.limiter = RateLimiter(limit=3, window=60)
    token = api.container.tokens.create(Role.JOBSEEKER, api.other)
    codes = [
        api.client.get("/me/subscription", headers={"Authorization": f"Bearer {token}"}).status_code
        for _ in range(4)
    ]
    api.container.limiter = RateLimiter()
    assert codes == [200, 200, 200, 429]


def test_jobseeker_sees_own_alerts_only(api: Api) -> None:
    mine = api.get("/me/alerts", "owner")
    assert mine.status_code == 200
    alerts = mine.json()
    assert alerts and all(a["why"]["rome_relation"] and a["why"]["commute"] for a in alerts)
    assert api.get(f"/profiles/{api.owner}/alerts", "owner").status_code == 200
    assert api.get(f"/profiles/{api.owner}/alerts", "other").status_code == 403
    assert api.get(f"/profiles/{api.hidden}/alerts", "counsellor").status_code == 404
    assert api.get("/me/alerts", "counsellor").status_code == 403


def test_feedback_updates_the_subscription(api: Api) -> None:
    alerts = api.get("/me/alerts", "owner").json()
    before = api.get("/me/subscription", "owner").json()
    first, second, third = alerts[0]["id"], alerts[-1]["id"], alerts[1]["id"]
    assert api.send("POST", f"/me/alerts/{first}/feedback", "owner", {"action": "refused"}).status_code == 422
    assert (
        api.send(
            "POST", f"/me/alerts/{first}/feedback", "owner", {"action": "refused", "reason": "bof"}
        ).status_code
        == 422
    )
    assert api.send("POST", f"/me/alerts/{first}/feedback", "other", {"action": "opened"}).status_code == 403
    assert api.send("POST", "/me/alerts/999999/feedback", "owner", {"action": "opened"}).status_code == 404
    contract = api.send(
        "POST", f"/me/alerts/{first}/feedback", "owner", {"action": "refused", "reason": "type_contrat"}
    )
    assert contract.status_code == 200
    excluded = contract.json()["subscription_changes"]["excluded_contract_types"]
    assert alerts[0]["offer"]["contract_type"] in excluded
    far = api.send(
        "POST", f"/me/alerts/{second}/feedback", "owner", {"action": "refused", "reason": "distance"}
    ).json()
    after = api.get("/me/subscription", "owner").json()
    assert after["radius_km"] <= before["radius_km"]
    assert far["status"] == "refused"
    skills = api.send(
        "POST", f"/me/alerts/{third}/feedback", "owner", {"action": "refused", "reason": "competences"}
    ).json()
    assert skills["poe_suggestions_url"].startswith("/poe/suggestions")


def test_subscription_edit(api: Api) -> None:
    assert api.send("PATCH", "/me/subscription", "other", {"radius_km": 12}).json()["radius_km"] == 12
    assert api.send("PATCH", "/me/subscription", "other", {"rome_codes": ["Z9999"]}).status_code == 422
    assert api.send("PATCH", "/me/subscription", "other", {"radius_km": -1}).status_code == 422
    assert api.send("PATCH", "/me/subscription", "other", {"nonsense": 1}).status_code == 422
    assert api.send("PATCH", "/me/subscription", "other", {"rome_codes": None}).status_code == 200
    assert api.send("PATCH", "/me/subscription", "counsellor", {"radius_km": 12}).status_code == 403


def _an_offer(api: Api) -> str:
    return str(api.get("/me/alerts", "owner").json()[0]["offer"]["id"])


def test_sourcing_shows_consenting_candidates_with_explanations(api: Api) -> None:
    offer = _an_offer(api)
    response = api.get(f"/offers/{offer}/candidates?k=20", "counsellor")
    assert response.status_code == 200
    body = response.json()
    visible = set(api.container.tables().profiles.query("visible")["id"])
    shown = [c["profile_id"] for c in body["candidates"] + body["reachable_with_training"]]
    assert shown and set(shown) <= visible
    tables = api.container.tables()
    hired = set(tables.events.loc[tables.events["event"] == "hired", "profile_id"])
    assert not hired & set(shown)
    need = SqlRepository(api.container.engine).get_offer(offer).need_date  # type: ignore[union-attr]
    available = tables.profiles.set_index("id")["available_from"]
    assert all(available[p] is None or available[p] <= need for p in shown)
    assert body["ranking"] == "ml" and body["model_version"] == "test-ranker@champion=v1"
    assert all(
        "training" in c and c["training"]["explanation"].startswith("manque")
        for c in body["reachable_with_training"]
    )
    with api.container.engine.connect() as connection:
        logged = connection.scalar(
            select(func.count())
            .select_from(RecommendationLogRow)
            .where(RecommendationLogRow.kind == "sourcing")
        )
    assert logged is not None and logged >= 1
    assert api.get(f"/offers/{offer}/candidates", "owner").status_code == 403
    assert api.get("/offers/NOPE/candidates", "counsellor").status_code == 404
    assert api.get(f"/offers/{offer}/candidates?k=0", "counsellor").status_code == 422


def test_counsellor_actions(api: Api) -> None:
    offer = _an_offer(api)
    candidate = api.get(f"/offers/{offer}/candidates?k=1", "counsellor").json()["candidates"][0]["profile_id"]
    assert (
        api.send(
            "POST", f"/offers/{offer}/candidates/{candidate}/actions", "counsellor", {"action": "proposed"}
        ).status_code
        == 201
    )
    assert (
        api.send(
            "POST", f"/offers/{offer}/candidates/{candidate}/actions", "counsellor", {"action": "dismissed"}
        ).status_code
        == 422
    )
    assert (
        api.send(
            "POST", f"/offers/{offer}/candidates/{api.hidden}/actions", "counsellor", {"action": "proposed"}
        ).status_code
        == 404
    )
    assert (
        api.send(
            "POST", f"/offers/{offer}/candidates/{candidate}/actions", "owner", {"action": "proposed"}
        ).status_code
        == 403
    )


def test_poe_suggestions(api: Api) -> None:
    offer = _an_offer(api)
    own = api.get(f"/poe/suggestions?offer_id={offer}&profile_id={api.owner}", "owner")
    assert own.status_code == 200 and "missing_skills" in own.json()
    assert api.get(f"/poe/suggestions?offer_id={offer}&profile_id={api.owner}", "other").status_code == 403
    assert (
        api.get(f"/poe/suggestions?offer_id={offer}&profile_id={api.hidden}", "counsellor").status_code == 404
    )
    assert api.get("/poe/suggestions?offer_id=X", "counsellor").status_code == 404
    assert api.get(f"/poe/suggestions?profile_id={api.owner}", "counsellor").status_code == 422


def test_kill_switch_falls_back_to_the_rule(api: Api) -> None:
    offer = _an_offer(api)
    assert api.send("PUT", "/admin/kill-switch", "counsellor", {"enabled": True}).status_code == 403
    assert api.send("PUT", "/admin/kill-switch", "admin", {"enabled": True}).status_code == 200
    try:
        body = api.get(f"/offers/{offer}/candidates?k=5", "counsellor").json()
        assert body["ranking"] == "rule" and body["model_version"] == "rule"
        assert api.get("/admin/kill-switch", "admin").json() == {"enabled": True}
    finally:
        api.send("PUT", "/admin/kill-switch", "admin", {"enabled": False})


def test_saved_viviers(api: Api) -> None:
    tables = api.container.tables()
    profiles = tables.profiles
    hired = set(tables.events.loc[tables.events["event"] == "hired", "profile_id"])
    someone = profiles[profiles["visible"] & ~profiles["id"].isin(hired)].iloc[0]
    body = {
        "label": "Caristes autour de chez X",
        "rome_codes": [someone["rome_codes"][0]],
        "lat": float(someone["home_lat"]),
        "lon": float(someone["home_lon"]),
        "radius_km": 30,
        "available_within_days": 365,
    }
    created = api.send("POST", "/viviers", "counsellor", body)
    assert created.status_code == 201
    vivier = created.json()
    visible = set(profiles.query("visible")["id"])
    assert someone["id"] in vivier["profile_ids"] and set(vivier["profile_ids"]) <= visible
    assert api.send("POST", "/viviers", "counsellor", {**body, "rome_codes": ["Z0000"]}).status_code == 422
    assert [v["id"] for v in api.get("/viviers", "counsellor").json()] == [vivier["id"]]
    refreshed = api.send("POST", f"/viviers/{vivier['id']}/refresh", "counsellor", None)
    assert refreshed.status_code == 200 and refreshed.json()["refreshed_at"]
    other = api.container.tokens.create(Role.COUNSELLOR, "agent-9")
    stranger = api.client.post(
        f"/viviers/{vivier['id']}/refresh", headers={"Authorization": f"Bearer {other}"}
    )
    assert stranger.status_code == 404  # another counsellor's vivier is not visible
    assert api.send("POST", "/viviers", "owner", body).status_code == 403


def test_poe_for_an_offer_alone_and_ranking_order(api: Api) -> None:
    offer = _an_offer(api)
    alone = api.get(f"/poe/suggestions?offer_id={offer}", "counsellor")
    assert alone.status_code == 200 and alone.json()["profile_id"] is None
    assert api.get(f"/poe/suggestions?offer_id={offer}", "owner").status_code == 403
    trainings = alone.json()["trainings"]
    assert all(t["hours"] < 400 for t in trainings)


def test_explanation_of_a_pair(api: Api) -> None:
    offer = _an_offer(api)
    own = api.get(f"/profiles/{api.owner}/explanation?offer_id={offer}", "owner")
    assert own.status_code == 200
    body = own.json()
    assert body["ranking"] == "ml" and len(body["contributions"]) == 8
    magnitudes = [abs(c["contribution"]) for c in body["contributions"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert all(c["meaning"] for c in body["contributions"])
    assert api.get(f"/profiles/{api.owner}/explanation?offer_id={offer}", "other").status_code == 403
    assert api.get(f"/profiles/{api.hidden}/explanation?offer_id={offer}", "counsellor").status_code == 404
    assert api.get(f"/profiles/{api.owner}/explanation?offer_id={offer}", "admin").status_code == 200


def _logged_in(api: Api, who: str) -> TestClient:
    client = TestClient(api.client.app)
    response = client.post("/pages/connexion", data={"jeton": api.tokens[who]}, follow_redirects=False)
    assert response.status_code == 303
    return client


def test_jobseeker_pages_and_a_refusal_that_changes_the_next_run(api: Api) -> None:
    anonymous = TestClient(api.client.app)
    assert (
        anonymous.get("/pages/mes-alertes", follow_redirects=False).headers["location"] == "/pages/connexion"
    )
    refused = anonymous.post("/pages/connexion", data={"jeton": "x.y"}, follow_redirects=False)
    assert refused.status_code == 401 and "Jeton invalide" in refused.text
    page = _logged_in(api, "owner")
    html = page.get("/pages/mes-alertes").text
    assert "Mes alertes" in html and 'lang="fr"' in html
    assert '<label for="radius_km">' in html  # every field has its label
    # an earlier test excluded contracts through the API: the page lists each, and lifts it
    excluded = api.get("/me/subscription", "owner").json()["excluded_contract_types"]
    assert excluded
    for code in excluded:
        assert f"Contrat exclu : {ContractType(code).label}" in html
        lifted = page.post(
            "/pages/abonnement/lever", data={"kind": "contrat", "code": code}, follow_redirects=False
        )
        assert lifted.status_code == 303 and "de nouveau envoyées" in unquote(lifted.cookies["flash"])
    excluded_before = api.get("/me/subscription", "owner").json()["excluded_contract_types"]
    assert excluded_before == []
    # earlier tests answered the owner's alerts (one answer each) and narrowed the radius: a week
    # later, with the radius back, new ones
    api.send("PATCH", "/me/subscription", "owner", {"radius_km": 50, "active": True})
    run_alert_batch(api.container.store, api.container.service(), as_of=AS_OF + timedelta(days=7))
    assert "Non : type de contrat" in page.get("/pages/mes-alertes").text
    open_alerts = [
        a
        for a in api.get("/me/alerts", "owner").json()
        if a["status"] == "new" and a["offer"]["contract_type"]
    ]
    alert = open_alerts[0]
    contract = alert["offer"]["contract_type"]
    # a sweeping answer asks first, in words, and offers to set this offer aside only
    ask = page.post(
        f"/pages/alertes/{alert['id']}/retour", data={"reason": "type_contrat"}, follow_redirects=False
    )
    label = ContractType(contract).label
    assert ask.status_code == 200 and f"ne plus recevoir aucune offre en {label}" in ask.text
    assert "écarter seulement cette offre" in ask.text
    assert api.get("/me/subscription", "owner").json()["excluded_contract_types"] == excluded_before
    answer = page.post(
        f"/pages/alertes/{alert['id']}/retour",
        data={"reason": "type_contrat", "confirme": "oui"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "abonnement mis à jour" in unquote(answer.cookies["flash"])
    assert f"type de contrat exclu ({label}" in unquote(answer.cookies["flash"])  # named, not implied
    assert contract in api.get("/me/subscription", "owner").json()["excluded_contract_types"]
    with api.container.engine.connect() as connection:
        from serving.storage.tables import InteractionRow

        stamped = connection.scalar(
            select(func.max(InteractionRow.occurred_at)).where(
                InteractionRow.profile_id == api.owner,
                InteractionRow.event == "refused",
                InteractionRow.offer_id == alert["offer"]["id"],
            )
        )
    # one clock: the answer is stamped at the world's moment, so a batch ranking as of it sees it
    assert stamped is not None and stamped.date() == AS_OF.date()
    html = page.get("/pages/mes-alertes").text
    assert f"Contrat exclu : {label}" in html and "Annuler ma réponse" in html  # shown, and reversible
    # the next run sends this person no offer of the refused contract type
    service = api.container.service()
    run_alert_batch(api.container.store, service, as_of=AS_OF + timedelta(days=15))
    later = [a for a in api.get("/me/alerts", "owner").json() if a["created_at"] > alert["created_at"]]
    assert all(a["offer"]["contract_type"] != contract for a in later)
    # undo: the offer is open again, the contract accepted again, the refusal out of the event log
    undone = page.post(f"/pages/alertes/{alert['id']}/annuler", follow_redirects=False)
    assert undone.status_code == 303 and "type de contrat de nouveau accepté" in unquote(
        undone.cookies["flash"]
    )
    assert contract not in api.get("/me/subscription", "owner").json()["excluded_contract_types"]
    assert next(a for a in api.get("/me/alerts", "owner").json() if a["id"] == alert["id"])["status"] == "new"
    with api.container.engine.connect() as connection:
        from serving.storage.tables import InteractionRow

        refusals = connection.scalar(
            select(func.count())
            .select_from(InteractionRow)
            .where(
                InteractionRow.event == "refused",
                InteractionRow.offer_id == alert["offer"]["id"],
                InteractionRow.profile_id == api.owner,
                InteractionRow.cancelled_at.is_(None),
            )
        )
    assert refusals == 0  # kept in the log, marked cancelled
    saved = page.post(
        "/pages/abonnement",
        data={"radius_km": 7, "salary_floor_monthly": "", "max_alerts_per_run": 3},  # cleared: no floor
        follow_redirects=False,
    )
    assert saved.status_code == 303 and api.get("/me/subscription", "owner").json()["radius_km"] == 7
    assert api.get("/me/subscription", "owner").json()["salary_floor_monthly"] is None
    wrong = page.post(
        "/pages/abonnement", data={"radius_km": "", "salary_floor_monthly": "abc", "max_alerts_per_run": 3}
    )
    assert wrong.status_code == 422 and "application/json" not in wrong.headers["content-type"]
    assert 'id="radius_km-erreur">Indiquez la distance maximale.' in wrong.text
    assert "Le salaire minimum doit être un nombre." in wrong.text and 'value="abc"' in wrong.text
    # stopping the alerts is shown, and they can be taken up again
    page.post("/pages/abonnement/alertes", data={"actives": "non"})
    assert "Vos alertes sont arrêtées" in page.get("/pages/mes-alertes").text
    page.post("/pages/abonnement/alertes", data={"actives": "oui"})
    assert api.get("/me/subscription", "owner").json()["active"] is True
    assert page.get(f"/pages/formations?offer_id={alert['offer']['id']}").status_code == 200
    assert _logged_in(api, "counsellor").get("/pages/mes-alertes").status_code == 403
    assert page.post("/pages/deconnexion", follow_redirects=False).status_code == 303


def test_counsellor_and_model_pages(api: Api, tmp_path: Path) -> None:
    counsellor = _logged_in(api, "counsellor")
    offer = _an_offer(api)
    assert f'href="/pages/offres/{offer}"' in counsellor.get(f"/pages/offres?q={offer}").text
    assert "<li>" in counsellor.get("/pages/offres?q=(H/F)").text  # search by words of the title
    nothing = counsellor.get("/pages/offres?q=zzzqqq").text
    assert "<li>" not in nothing and "Aucune offre ouverte ne contient tous ces mots" in nothing
    html = counsellor.get(f"/pages/offres/{offer}").text
    assert "Candidats" in html and "Proposer à l'employeur" in html and "chip" in html
    candidate = api.get(f"/offers/{offer}/candidates?k=1", "counsellor").json()["candidates"][0]["profile_id"]
    acted = counsellor.post(
        f"/pages/offres/{offer}/candidats/{candidate}",
        data={"action": "dismissed", "reason": "experience"},
        follow_redirects=False,
    )
    assert acted.status_code == 303
    with api.container.engine.connect() as connection:
        from serving.storage.tables import InteractionRow

        dismissed = connection.scalar(
            select(func.count())
            .select_from(InteractionRow)
            .where(InteractionRow.event == "counsellor_dismissed", InteractionRow.profile_id == candidate)
        )
    assert dismissed == 1
    api.container.communes = load_communes()  # the page places a vivier at a commune, by name
    commune = api.container.communes.name_of(str(api.container.communes.insee[0]))
    created = counsellor.post(
        "/pages/viviers",
        data={"label": "Test", "occupation": "N1101, N1103", "commune": commune, "radius_km": 50},
        follow_redirects=False,
    )
    assert created.status_code == 303 and "Test" in counsellor.get("/pages/viviers").text
    assert counsellor.get("/pages/modele").status_code == 403
    api.container.tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # an empty registry: no champion
    admin = _logged_in(api, "admin")
    page = admin.get("/pages/modele").text
    assert "test-ranker@champion=v1" in page and "pas de champion enregistré" in page
    assert (
        admin.post("/pages/modele/kill-switch", data={"enabled": "true"}, follow_redirects=False).status_code
        == 303
    )
    assert "désactivé (règle)" in admin.get("/pages/modele").text
    admin.post("/pages/modele/kill-switch", data={"enabled": "false"})
    assert _logged_in(api, "owner").get("/pages/offres").status_code == 403


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_colours_meet_wcag_contrast() -> None:
    """Every colour the pages use for text or buttons has a contrast ratio ≥ 4.5 on white (WCAG AA)."""
    import re

    css = (Path(__file__).resolve().parents[2] / "serving" / "pages" / "templates" / "base.html").read_text()
    palette = dict(re.findall(r"--(ink|muted|accent|ok|miss): (#[0-9a-fA-F]{6})", css))
    assert set(palette) == {"ink", "muted", "accent", "ok", "miss"}
    for name, colour in palette.items():
        ratio = (1.0 + 0.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"{name} {colour}: contrast {ratio:.2f}"


def _log_rows(api: Api) -> list[RecommendationLogRow]:
    with Session(api.container.engine) as session:
        return list(session.scalars(select(RecommendationLogRow).order_by(RecommendationLogRow.id)))


def test_access_control_and_the_audit_log(api: Api) -> None:
    """A jobseeker reads only their own data; a counsellor never sees someone who withdrew consent;
    every list served is logged once with its model and index versions."""
    offer = _an_offer(api)
    mine = api.get("/me/alerts", "owner").json()
    # another jobseeker: nothing of the owner's, whatever the route
    for path in (
        f"/profiles/{api.owner}/alerts",
        f"/profiles/{api.owner}/explanation?offer_id={offer}",
        f"/poe/suggestions?offer_id={offer}&profile_id={api.owner}",
        f"/offers/{offer}/candidates",
        "/viviers",
    ):
        assert api.get(path, "other").status_code == 403, path
    stolen = api.send("POST", f"/me/alerts/{mine[0]['id']}/feedback", "other", {"action": "opened"})
    assert stolen.status_code in {403, 404}
    assert all(a["id"] not in {m["id"] for m in mine} for a in api.get("/me/alerts", "other").json())
    # a counsellor and a person who withdraws consent
    candidates = api.get(f"/offers/{offer}/candidates?k=50", "counsellor").json()["candidates"]
    person = candidates[0]["profile_id"]
    body = {
        "label": "retrait",
        "rome_codes": [api.container.tables().profiles.loc[person, "rome_codes"][0]],
        "lat": float(api.container.tables().profiles.loc[person, "home_lat"]),
        "lon": float(api.container.tables().profiles.loc[person, "home_lon"]),
        "radius_km": 30,
        "available_within_days": 365,
    }
    vivier = api.send("POST", "/viviers", "counsellor", body).json()
    assert person in vivier["profile_ids"]
    with Session(api.container.engine) as session, session.begin():
        session.get(ProfileRow, person).visible = False  # type: ignore[union-attr]
    try:
        shown = api.get(f"/offers/{offer}/candidates?k=50", "counsellor").json()
        assert person not in {c["profile_id"] for c in shown["candidates"] + shown["reachable_with_training"]}
        for path in (
            f"/profiles/{person}/alerts",
            f"/profiles/{person}/explanation?offer_id={offer}",
            f"/poe/suggestions?offer_id={offer}&profile_id={person}",
        ):
            assert api.get(path, "counsellor").status_code == 404, path
        saved = {v["id"]: v for v in api.get("/viviers", "counsellor").json()}
        assert person not in saved[vivier["id"]]["profile_ids"]
    finally:
        with Session(api.container.engine) as session, session.begin():
            session.get(ProfileRow, person).visible = True  # type: ignore[union-attr]
    # the audit log: one row per list served, with the model and the index that made it
    before = len(_log_rows(api))
    api.get(f"/offers/{offer}/candidates?k=10", "counsellor")
    api.get(f"/poe/suggestions?offer_id={offer}&profile_id={api.owner}", "owner")
    api.get(f"/poe/suggestions?offer_id={offer}", "counsellor")
    rows = _log_rows(api)
    assert [r.kind for r in rows[before:]] == ["sourcing", "poe", "poe"]
    assert all(r.model_version and r.index_version and r.actor_id for r in rows)
    alert_lists = [r for r in rows if r.kind == "alerts"]
    assert alert_lists and all(r.model_version == "test-ranker@champion=v1" for r in alert_lists)


# -- fuzzing the OpenAPI spec with every role (last in this module: it may change any state) -------------
OPEN_PATHS = {"/health", "/ready"}


@pytest.mark.slow
def test_no_server_error_for_any_role(api: Api) -> None:
    """schemathesis draws requests from the OpenAPI spec; each is sent with every role and without a token."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import Case
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    api.container.limiter = RateLimiter(limit=10**9)
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 10  # every operation of the spec could be read
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Case) -> None:
            for role in ("owner", "counsellor", "admin", None):
                headers = {"Authorization": f"Bearer {api.tokens[role]}"} if role else {}
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{role}: {case} -> {response.status_code} {response.text[:200]}")
                if role is None and case.path not in OPEN_PATHS and response.status_code != 401:
                    failures.append(f"auth ignored: {case} -> {response.status_code}")

        run()
    api.container.store.set_flag("ml_ranking_disabled", "off", by="test")
    assert not failures, "\n".join(failures[:10])


def test_one_answer_per_alert_and_undo_takes_back_exactly_it(api: Api) -> None:
    from serving.storage.tables import InteractionRow

    alerts = [a for a in api.get("/me/alerts", "owner").json() if a["status"] == "new"]
    first, second = alerts[0], alerts[1]
    subscription = api.get("/me/subscription", "owner").json()
    if not subscription["active"]:
        api.send("PATCH", "/me/subscription", "owner", {"active": True})
    opened = api.send("POST", f"/me/alerts/{first['id']}/feedback", "owner", {"action": "opened"})
    assert opened.status_code == 200
    refused = api.send(
        "POST",
        f"/me/alerts/{first['id']}/feedback",
        "owner",
        {"action": "refused", "reason": "deja_en_poste"},
    )
    assert refused.status_code == 200 and refused.json()["subscription_changes"] == {"active": False}
    # a second answer would bury the first and what undoing it puts back: refused
    again = api.send(
        "POST", f"/me/alerts/{first['id']}/feedback", "owner", {"action": "refused", "reason": "autre"}
    )
    assert again.status_code == 422
    assert (
        api.send("POST", f"/me/alerts/{first['id']}/feedback", "owner", {"action": "opened"}).status_code
        == 422
    )
    # someone else cannot undo it; the owner can, once: alerts on again, the alert as it was (opened)
    assert api.send("POST", f"/me/alerts/{first['id']}/undo", "other", None).status_code == 403
    undone = api.send("POST", f"/me/alerts/{first['id']}/undo", "owner", None)
    assert undone.status_code == 200
    assert undone.json() == {"alert_id": first["id"], "status": "opened", "restored": {"active": True}}
    assert api.send("POST", f"/me/alerts/{first['id']}/undo", "owner", None).status_code == 422
    assert api.get("/me/subscription", "owner").json()["active"] is True
    # the refusal stays in the log, marked, and is no longer read by features
    with api.container.engine.connect() as connection:
        cancelled = connection.execute(
            select(InteractionRow.cancelled_at).where(
                InteractionRow.profile_id == api.owner,
                InteractionRow.offer_id == first["offer"]["id"],
                InteractionRow.event == "refused",
                InteractionRow.reason == "deja_en_poste",
            )
        ).scalar_one()
    assert cancelled is not None
    from serving.storage.market import read_market_tables

    events = read_market_tables(api.container.engine).events
    mine = events[(events["profile_id"] == api.owner) & (events["offer_id"] == first["offer"]["id"])]
    assert "deja_en_poste" not in set(mine["reason"].dropna())
    # a refusal that changes nothing says why, in French
    other = api.send(
        "POST", f"/me/alerts/{second['id']}/feedback", "owner", {"action": "refused", "reason": "autre"}
    )
    assert (
        other.json()["subscription_changes"] == {} and "classer les prochaines offres" in other.json()["note"]
    )
    assert api.send("POST", f"/me/alerts/{second['id']}/undo", "owner", None).json()["status"] == "new"


def test_unknown_pages_and_bad_exclusions_are_told(api: Api) -> None:
    page = _logged_in(api, "owner")
    missing = page.get("/pages/nexiste-pas")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "existe pas, ou plus" in missing.text
    assert api.get("/nexiste-pas", "owner").headers["content-type"].startswith("application/json")
    bad = api.send("PATCH", "/me/subscription", "owner", {"excluded_occupations": ["ZZZ", "N1101"]})
    assert bad.status_code == 422 and "ZZZ" in bad.text


def test_a_link_cannot_show_its_own_text_as_the_services_notice(api: Api) -> None:
    """Confirmations travel in a cookie our answer sets, shown once: a ``?message=`` in a link someone
    sent is not displayed as the service's notice."""
    page = _logged_in(api, "owner")
    lure = "Votre compte est suspendu : appelez le 08 99 00 00 00"
    assert lure not in page.get(f"/pages/mes-alertes?message={lure}").text
    stopped = page.post("/pages/abonnement/alertes", data={"actives": "non"}, follow_redirects=False)
    assert stopped.status_code == 303 and stopped.headers["location"] == "/pages/mes-alertes"
    said = unquote(stopped.cookies["flash"])
    assert said and said in page.get("/pages/mes-alertes").text  # shown once…
    assert said not in page.get("/pages/mes-alertes").text  # …then spent
    page.post("/pages/abonnement/alertes", data={"actives": "oui"}, follow_redirects=False)


def test_a_refusal_says_the_new_value_it_set() -> None:
    from serving.pages.router import _change_words

    said = _change_words({"salary_floor_monthly": 2590.0, "radius_km": 18.4, "active": False})
    assert said == [
        "salaire minimum relevé à 2\u202f590 € par mois",
        "distance maximale réduite à 18 km",
        "alertes arrêtées",
    ]
