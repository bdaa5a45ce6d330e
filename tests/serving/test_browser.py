"""One browser test per role on the demo `make run` builds (real offers included, the world's clock):
what each user sees and what their actions change, with screenshots of every page at 390 and 1280 px
(``var/test-artifacts/screenshots``)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from matching.domain import Precision
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.security import Role
from serving.services.poe import suggest_trainings
from serving.storage.tables import AlertRow
from tests.serving.demo import Demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = (390, 1280)
RAW_CONTRACT_CODES = re.compile(r"\b(?:MIS|SAI|DDI|DIN|TTI|DDT|CCE|LIB|FRA|REP)\b")


@dataclass
class Live:
    """The demo served over HTTP, a browser, and a way to open a page logged in as someone."""

    demo: Demo
    url: str
    browser: Browser
    token_of: Callable[[Role, str], str]

    def page(self, role: Role, subject: str, width: int) -> Page:
        page = self.browser.new_page(viewport={"width": width, "height": 900}, locale="fr-FR")
        # the offers' pages at France Travail cannot be reached from here: answered locally
        page.route(
            re.compile(r"https://candidat\.francetravail\.fr/.*"),
            lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Offre</h1>"),
        )
        page.goto(f"{self.url}/pages/connexion")
        page.get_by_label("Jeton d'accès").fill(self.token_of(role, subject))
        page.keyboard.press("Enter")  # the form works from the keyboard
        page.wait_for_url(re.compile(r".*/pages/(?!connexion).*"))  # the role's home page
        return page

    def shoot(self, name: str, path: str, role: Role, subject: str) -> None:
        """Screenshots of one page at phone and desktop widths."""
        for width in WIDTHS:
            page = self.page(role, subject, width)
            page.goto(f"{self.url}{path}")
            page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
            page.close()


@pytest.fixture(scope="module")
def live(demo: Demo) -> Iterator[Live]:
    if not CHROMIUM.exists():
        message = "Chromium not found at /usr/bin/chromium (.ci/run installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    import uvicorn
    from playwright.sync_api import sync_playwright

    container = demo.container
    run_alert_batch(container.store, container.service())  # as `make run`'s daily job, at the world's day
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tokens: dict[tuple[Role, str], str] = {}

    def token_of(role: Role, subject: str) -> str:
        if (role, subject) not in tokens:
            tokens[role, subject] = container.tokens.create(role, subject)
        return tokens[role, subject]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield Live(demo, f"http://127.0.0.1:{port}", browser, token_of)
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)


def _jobseeker_with_real_alerts(demo: Demo) -> str:
    """A person with several new alerts, real France Travail offers among them."""
    real = {o.id for o in demo.real_offers}
    with demo.container.engine.connect() as connection:
        rows = connection.execute(
            select(AlertRow.profile_id, AlertRow.offer_id).where(AlertRow.status == "new")
        ).all()
    by_person: dict[str, list[str]] = {}
    for person, offer in rows:
        by_person.setdefault(person, []).append(offer)
    return max(by_person, key=lambda p: (sum(o in real for o in by_person[p]) >= 2, len(by_person[p])))


def _poe_pair(demo: Demo, person: str) -> str | None:
    """An offer alerted to ``person`` for which a short training fits (missing skills, starts in time)."""
    container = demo.container
    profile = container.repository.get_profile(person)
    assert profile is not None
    service = container.service()
    for alert in container.store.alerts_of(person, 50):
        offer = container.repository.get_offer(alert.offer_id)
        if offer is None:
            continue
        _, trainings = suggest_trainings(
            service.generator,
            container.tables().trainings,
            container.referential,
            profile,
            offer,
            today=container.clock.today(),
            k=3,
        )
        if trainings:
            return offer.id
    return None


def _api(live: Live, role: Role, subject: str, path: str) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(live.demo.container))
    headers = {"Authorization": f"Bearer {live.token_of(role, subject)}"}
    return client.get(path, headers=headers).json()


def test_jobseeker_sees_where_who_when_and_how_to_apply_and_can_undo(live: Live) -> None:
    from playwright.sync_api import expect

    person = _jobseeker_with_real_alerts(live.demo)
    live.shoot("jobseeker-alerts", "/pages/mes-alertes", Role.JOBSEEKER, person)
    page = live.page(Role.JOBSEEKER, person, 390)
    expect(page.get_by_role("heading", name="Mes alertes")).to_be_visible()
    cards = page.locator("article.card")
    text = " ".join(cards.all_inner_texts())
    assert not RAW_CONTRACT_CODES.search(text), "contracts are told in words"
    assert "Publiée le" in text and "km de chez vous" in text
    real = {o.id: o for o in live.demo.real_offers}
    alerts = _api(live, Role.JOBSEEKER, person, "/me/alerts")
    shown_real = [a for a in alerts if a["offer"]["id"] in real and a["status"] == "new"]
    assert shown_real, "real offers are alerted"
    named = next((a for a in shown_real if a["offer"]["employer"]), None)
    if named is not None:  # 59 % of the real offers name their employer
        expect(page.locator("article.card", has_text=named["offer"]["title"]).first).to_contain_text(
            named["offer"]["employer"]
        )
    # "Je postule" on a real offer records the application and leads to the offer at France Travail
    target = shown_real[0]
    card = page.locator(f"article.card:has(form[action='/pages/alertes/{target['id']}/retour'])")
    link = card.get_by_role("link", name=re.compile("Voir l'offre complète"))
    assert link.get_attribute("href") == real[target["offer"]["id"]].apply_url
    card.get_by_role("button", name=re.compile("Je postule")).click()
    page.wait_for_url(re.compile(r"https://candidat\.francetravail\.fr/offres/recherche/detail/.*"))
    answered = next(a for a in _api(live, Role.JOBSEEKER, person, "/me/alerts") if a["id"] == target["id"])
    assert answered["status"] == "applied"

    # a sweeping answer: asked first, then shown as an exclusion that can be lifted, and undone
    page.goto(f"{live.url}/pages/mes-alertes")
    alerts = _api(live, Role.JOBSEEKER, person, "/me/alerts")
    other = next(a for a in alerts if a["status"] == "new" and a["offer"]["contract_label"])
    label = other["offer"]["contract_label"]
    card = page.locator(f"article.card:has(form[action='/pages/alertes/{other['id']}/retour'])")
    card.locator("summary").click()  # the reasons unfold under "Cette offre ne me convient pas"
    card.get_by_role("button", name="Non : type de contrat").click()
    expect(page.get_by_role("heading", name="Confirmer votre réponse")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "jobseeker-confirm-390.png", full_page=True)
    page.get_by_role("button", name=re.compile("Oui, ne plus recevoir")).click()
    expect(page.get_by_role("status")).to_contain_text("type de contrat exclu")
    expect(page.get_by_text(f"Contrat exclu : {label}")).to_be_visible()
    page.get_by_role("button", name=re.compile("Annuler ma réponse")).first.click()
    expect(page.get_by_role("status")).to_contain_text("Réponse annulée")
    expect(page.get_by_text(f"Contrat exclu : {label}")).to_have_count(0)
    # "j'ai trouvé un emploi": confirmed, a visible stopped state, taken up again in one click
    card = page.locator(f"article.card:has(form[action='/pages/alertes/{other['id']}/retour'])")
    card.locator("summary").click()
    card.get_by_role("button", name="Non : j'ai trouvé un emploi").click()
    page.get_by_role("button", name="Oui, arrêter mes alertes").click()
    expect(page.get_by_text("Vos alertes sont arrêtées")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "jobseeker-stopped-390.png", full_page=True)
    page.get_by_role("button", name="Reprendre mes alertes").click()
    expect(page.get_by_role("status")).to_contain_text("Vos alertes reprennent")

    # errors are French sentences next to the field; a cleared salary means no minimum
    page.get_by_label("Distance maximale (km)").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#radius_km-erreur")).to_have_text("Indiquez la distance maximale.")
    page.screenshot(path=SCREENSHOTS / "jobseeker-form-error-390.png", full_page=True)
    page.get_by_label("Distance maximale (km)").fill("25")
    page.get_by_label(re.compile("Salaire minimum")).fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Abonnement enregistré")

    # POE: a short training that fits is shown, at the world's date
    poe_offer = _poe_pair(live.demo, person)
    assert poe_offer is not None, "the demo's clock leaves trainings to start"
    page.goto(f"{live.url}/pages/formations?offer_id={poe_offer}")
    expect(page.get_by_role("heading", name="Formations courtes pour cette offre")).to_be_visible()
    assert page.locator("li.card").count() >= 1
    live.shoot("jobseeker-trainings", f"/pages/formations?offer_id={poe_offer}", Role.JOBSEEKER, person)
    page.close()


def _offers_by_candidates(live: Live) -> tuple[str, str]:
    """A real placed offer with at least three candidates, and one with none."""
    listed, empty = None, None
    for offer in live.demo.real_offers:
        if not offer.location.has_coordinates or offer.location.precision not in (None, Precision.COMMUNE):
            continue
        found = _api(live, Role.COUNSELLOR, "agent-1", f"/offers/{offer.id}/candidates?k=5")["candidates"]
        if len(found) >= 3 and listed is None:
            listed = offer.id
        if not found and empty is None:
            empty = offer.id
        if listed and empty:
            return listed, empty
    raise AssertionError("the demo has offers with candidates and offers without")


def test_counsellor_finds_offers_reads_cards_and_the_list_follows_the_actions(live: Live) -> None:
    from playwright.sync_api import expect

    page = live.page(Role.COUNSELLOR, "agent-1", 1280)
    # accents and case do not matter: "developpeur" finds "Développeur …"
    page.get_by_label("Métier, code ROME, commune ou numéro d'offre").fill("developpeur")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("main li a", has_text="Développeur").first).to_be_visible()
    live.shoot("counsellor-search", "/pages/offres?q=developpeur", Role.COUNSELLOR, "agent-1")

    listed, empty = _offers_by_candidates(live)
    page.goto(f"{live.url}/pages/offres/{listed}")
    live.shoot("counsellor-candidates", f"/pages/offres/{listed}", Role.COUNSELLOR, "agent-1")
    # what the employer asks: the contract in words and the offer's number, beside who fits
    header = page.locator("main p.facts").first
    expect(header).to_contain_text(f"offre n° {listed}")
    assert not RAW_CONTRACT_CODES.search(header.inner_text())
    first = page.locator("main article.card").first
    for fact in (
        "Commune :",
        "Expérience dans le métier :",
        "Qualification :",
        "Disponibilité :",
        "Souhaits :",
    ):
        expect(first).to_contain_text(fact)
    expect(first).to_contain_text(re.compile(r"à \d+(,\d)? km de l'offre"))
    expect(first).to_contain_text("Dernière activité :")
    expect(first).to_contain_text("Contact :")
    assert not re.search(r"-\d{3,}", page.locator("main").inner_text()), "no raw score on the cards"
    # proposing marks the candidate; dismissing takes them out of the list
    cards = page.locator("main article.card[aria-labelledby^='cand-']")
    proposed = cards.nth(0).get_attribute("aria-labelledby")
    dismissed = cards.nth(1).get_attribute("aria-labelledby")
    assert proposed and dismissed
    cards.nth(0).get_by_role("button", name="Proposer à l'employeur").click()
    expect(page.locator(f"article[aria-labelledby='{proposed}']")).to_contain_text(
        "Proposé(e) à l'employeur le"
    )
    second = page.locator(f"article[aria-labelledby='{dismissed}']")
    second.get_by_label("Motif pour écarter").select_option("experience")
    second.get_by_role("button", name="Écarter").click()
    expect(page.get_by_role("status")).to_contain_text("écarté")
    expect(page.locator(f"article[aria-labelledby='{dismissed}']")).to_have_count(0)
    expect(page.get_by_text("Candidats écartés (1)")).to_be_visible()
    # nobody fits: the page says why
    page.goto(f"{live.url}/pages/offres/{empty}")
    expect(page.get_by_role("heading", name="Pourquoi personne n'est proposé")).to_be_visible()
    live.shoot("counsellor-nobody", f"/pages/offres/{empty}", Role.COUNSELLOR, "agent-1")

    # a vivier from an occupation, a commune's name and a radius, its members on the same cards
    offer = live.demo.container.repository.get_offer(listed)
    assert offer is not None and offer.location.insee
    commune = live.demo.container.communes.name_of(offer.location.insee)  # type: ignore[union-attr]
    page.goto(f"{live.url}/pages/viviers")
    page.get_by_label("Métier", exact=True).fill(offer.rome_code)
    page.get_by_label("Commune", exact=True).fill(str(commune))
    page.get_by_label("Rayon autour de la commune (km)").fill("30")
    page.get_by_role("button", name="Créer").click()
    expect(page.get_by_role("status")).to_contain_text("créé")
    page.locator("summary", has_text="Voir les personnes").first.click()
    expect(page.locator("section article.card").first).to_contain_text("du centre du vivier")
    # an unknown commune: a French sentence next to the field
    page.get_by_label("Métier", exact=True).fill(offer.rome_code)
    page.get_by_label("Commune", exact=True).fill("Zzyzx-sur-Rien")
    page.get_by_role("button", name="Créer").click()
    expect(page.locator("#commune-erreur")).to_be_visible()
    live.shoot("counsellor-viviers", "/pages/viviers", Role.COUNSELLOR, "agent-1")
    page.close()


def test_data_scientist_sees_the_served_model_and_how_to_open_mlflow(
    live: Live, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect

    store = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"  # the local store, no server
    live.demo.container.tracking_uri = store
    live.shoot("model", "/pages/modele", Role.ADMIN, "ds-1")
    page = live.page(Role.ADMIN, "ds-1", 1280)
    expect(page.get_by_role("heading", name="Modèle de classement")).to_be_visible()
    expect(page.get_by_text("test-ranker@champion=v1")).to_be_visible()
    expect(page.locator("code")).to_have_text(f".venv/bin/mlflow ui --backend-store-uri {store}")
    expect(page.get_by_role("link", name="http://127.0.0.1:5000")).to_be_visible()
    # the kill switch, from the page, and back
    page.get_by_role("button", name="Désactiver le classement ML").click()
    expect(page.get_by_role("status")).to_contain_text("Classement ML désactivé")
    page.get_by_role("button", name="Réactiver le classement ML").click()
    expect(page.get_by_role("status")).to_contain_text("Classement ML réactivé")
    page.close()
