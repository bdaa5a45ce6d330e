"""Alert e-mails (issue 23): digests handed to a real SMTP server on loopback (aiosmtpd), one-click
answers through their signed links, unsubscribe, failures, cadence and quiet hours, and a dispatcher
killed at random that neither loses nor duplicates an e-mail."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from matching.candidates import load_generator
from matching.clock import Clock
from matching.encoders import HashingEncoder
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.batch.delivery import DomainRateLimiter, backoff, deliver_digests, interleave_domains
from serving.container import ServingContainer
from serving.explain import km_between
from serving.links import LinkSigner, MailSettings
from serving.mail.bounces import permanent_failures
from serving.mail.digest import DigestComposer
from serving.mail.transport import (
    Envelope,
    SmtpSettings,
    SmtpTransport,
    TransportUnavailable,
    smtp_body,
)
from serving.security import RateLimiter, Role
from serving.storage.db import make_engine
from serving.storage.delivery import PARIS, DeliveryStore, DueDigest, quiet_now
from serving.storage.tables import AlertRow, ContactRow, DigestRow, OutboxRow, SubscriptionRow
from tests.serving.smtp_server import smtp_server

AS_OF = datetime(2025, 2, 17, tzinfo=UTC)
PEOPLE = 150
SECRET = "s" * 40
BASE = "https://alertes.example.org"
SENDER = "Alertes offres d'emploi <alertes@matching.example>"


def daytime() -> datetime:
    """Today at noon, Paris time: outside the default quiet hours, and real enough for links to work."""
    return datetime.now(PARIS).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)


@pytest.fixture(scope="module")
def alerted_sqlite(
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    builtin: Referential,
    index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The small world after one alert run: every person with alerts has outbox rows waiting."""
    path = tmp_path_factory.mktemp("delivery") / "alerted.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    load_small_world(engine)
    service = RankingService(
        load_generator(index_dir, builtin, HashingEncoder()), small_ranker.ranker, "test@v1"
    )
    container = ServingContainer(
        engine=engine, referential=builtin, load_service=lambda: service, clock=Clock(pinned_at=AS_OF)
    )
    assert run_alert_batch(container.store, service).alerts > 0
    with Session(engine) as session, session.begin():
        # every subscription by e-mail (the world draws some "app" ones), so that each person gets one
        session.execute(update(SubscriptionRow).values(channel="email"))
        # the alerts of PEOPLE people (enough for 30 kills at a few digests each), for quick runs
        kept = (
            select(AlertRow.profile_id)
            .distinct()
            .order_by(AlertRow.profile_id)
            .limit(PEOPLE)
            .scalar_subquery()
        )
        session.execute(delete(AlertRow).where(AlertRow.profile_id.not_in(kept)))
    engine.dispose()
    return path


@dataclass
class MailWorld:
    engine: Engine
    container: ServingContainer
    store: DeliveryStore
    composer: DigestComposer
    service: RankingService
    path: Path

    def people_with_alerts(self) -> set[str]:
        with Session(self.engine) as session:
            return set(
                session.scalars(
                    select(AlertRow.profile_id).join(OutboxRow, OutboxRow.alert_id == AlertRow.id)
                )
            )


@pytest.fixture
def world(
    alerted_sqlite: Path, small_ranker: TrainingResult, builtin: Referential, index_dir: Path, tmp_path: Path
) -> Iterator[MailWorld]:
    path = tmp_path / "mail.sqlite"
    with closing(sqlite3.connect(alerted_sqlite)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)
    engine = make_engine(f"sqlite:///{path}")
    service = RankingService(
        load_generator(index_dir, builtin, HashingEncoder()), small_ranker.ranker, "test@v1"
    )
    mail = MailSettings(sender=SENDER, base_url=BASE, signer=LinkSigner(SECRET))
    container = ServingContainer(
        engine=engine,
        referential=builtin,
        load_service=lambda: service,
        clock=Clock(pinned_at=AS_OF),
        mail=mail,
        limiter=RateLimiter(limit=10**9),
    )
    yield MailWorld(engine, container, DeliveryStore(engine), DigestComposer(container, mail), service, path)
    engine.dispose()


def deliver(world: MailWorld, port: int, **options: object) -> object:
    transport = SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{port}?timeout=10"))
    options.setdefault("now", daytime())
    options.setdefault("rate_per_domain", 10_000.0)
    return deliver_digests(world.store, world.composer, transport, **options)  # type: ignore[arg-type]


def links_of(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a digest."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def path_of(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


def test_one_digest_per_person_with_answers_and_unsubscribe_headers(world: MailWorld) -> None:
    with smtp_server() as (controller, recorder):
        summary = deliver(world, controller.port)
    people = world.people_with_alerts()
    assert summary.sent == len(people) == recorder.count() and summary.failed == summary.retried == 0
    messages = recorder.messages()
    recipients = [m["To"] for m in messages]
    assert len(set(recipients)) == len(recipients)  # one digest per person
    assert all(r.endswith("@demandeurs.example") for r in recipients)
    message = messages[0]
    assert re.fullmatch(r"<alertes\.\d+\.\d+@matching\.example>", message["Message-ID"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(rf"<{re.escape(BASE)}/pages/desabonnement/[\w.\-]+>", message["List-Unsubscribe"])
    text, html = links_of(message)
    assert '<html lang="fr">' in html and "<h1" in html and html.count("<h2") >= 1 and "<ul" in html
    offers = html.count("<h2")
    assert html.count(">Je postule<") == offers and text.count("Je postule : ") == offers
    for words in (
        "trop loin",
        "salaire",
        "contrat",
        "horaires",
        "pas ce métier",
        "compétences",
        "déjà en poste",
        "autre",
    ):
        assert html.count(f">{words}</a>") == offers, words
    assert "Pourquoi cette offre :" in text and "Gérer mon abonnement" in html
    links = re.findall(r"/pages/lien/([\w.\-]+)/(\w+)", text)
    assert len(links) == 9 * offers and len({token for token, _ in links}) == offers  # a token per alert
    with Session(world.engine) as session:
        waiting = session.scalar(select(func.count()).where(OutboxRow.delivered_at.is_(None)))
        sent = session.scalars(select(DigestRow.status)).all()
    assert waiting == 0 and set(sent) == {"sent"}


def _reply_link(text: str, answer_words: str) -> str:
    return re.findall(rf"- {re.escape(answer_words)} : (\S+)", text)[0]


def test_one_click_refusal_changes_the_subscription_and_the_next_run(world: MailWorld) -> None:
    with smtp_server() as (controller, recorder):
        deliver(world, controller.port)
    client = TestClient(create_app(world.container))
    # a person whose first offer is placed (a distance to narrow the radius to)
    for message in recorder.messages():
        text, _ = links_of(message)
        url = _reply_link(text, "trop loin")
        claim = world.container.mail.signer.read_answer(path_of(url).split("/")[3])  # type: ignore[union-attr]
        alert = world.container.store.alert(claim.alert_id)
        assert alert is not None
        offer = world.container.repository.get_offer(alert.offer_id)
        profile = world.container.repository.get_profile(alert.profile_id)
        if offer and profile and offer.location.lat is not None and profile.home is not None:
            break
    before = world.container.store.subscription_of(claim.profile_id)
    assert before is not None
    page = client.get(path_of(url))
    assert page.status_code == 200 and "Pas pour moi : trop loin" in page.text
    assert 'method="post"' in page.text and ".submit()" in page.text  # the page sends it: one click
    done = client.post(path_of(url))
    assert done.status_code == 200 and "Réponse enregistrée" in done.text
    after = world.container.store.subscription_of(claim.profile_id)
    assert after is not None and after.radius_km < before.radius_km
    assert f"distance maximale réduite à {after.radius_km:.0f} km" in done.text
    assert world.container.store.alert(claim.alert_id).status == "refused"  # type: ignore[union-attr]
    again = client.post(path_of(url))  # replayed: nothing more
    assert again.status_code == 200 and "déjà répondu" in again.text
    assert world.container.store.subscription_of(claim.profile_id) == after
    # another answer of the same alert, by its own link: refused as already answered
    other = client.post(path_of(_reply_link(text, "salaire")))
    assert "déjà répondu" in other.text
    # the next run ranks with the narrowed radius: nothing farther than it is sent
    run = run_alert_batch(world.container.store, world.service, as_of=AS_OF + timedelta(days=8))
    profile = world.container.repository.get_profile(claim.profile_id)
    with Session(world.engine) as session:
        new = session.scalars(
            select(AlertRow.offer_id).where(
                AlertRow.subscription_id == after.id, AlertRow.run_id == run.run_id
            )
        ).all()
    refused = world.container.repository.get_offer(world.container.store.alert(claim.alert_id).offer_id)  # type: ignore[union-attr]
    assert refused is not None and profile is not None
    assert (
        km_between(profile.home, refused.location) or 0
    ) > after.radius_km  # what the person refused is out
    for offer_id in new:
        offer = world.container.repository.get_offer(offer_id)
        assert offer is not None and profile is not None
        km = km_between(profile.home, offer.location)
        assert km is None or km <= after.radius_km + 1e-6, (offer_id, km, after.radius_km)


def test_expired_tampered_and_misused_links_are_refused(world: MailWorld) -> None:
    client = TestClient(create_app(world.container))
    signer = world.container.mail.signer  # type: ignore[union-attr]
    with Session(world.engine) as session:
        alert = session.scalars(select(AlertRow).limit(1)).one()
    old = signer.answer_token(alert.id, alert.profile_id, issued_at=datetime.now(UTC) - timedelta(days=31))
    expired = client.get(f"/pages/lien/{old}/distance")
    assert expired.status_code == 410 and "expiré" in expired.text
    assert client.post(f"/pages/lien/{old}/distance").status_code == 410
    good = signer.answer_token(alert.id, alert.profile_id)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert client.get(f"/pages/lien/{tampered}/distance").status_code == 400
    assert client.get(f"/pages/lien/{good}/effacer-mon-compte").status_code == 404  # no such answer
    # another secret, another kind of link, an API token: none is an answer link
    foreign = LinkSigner("t" * 40).answer_token(alert.id, alert.profile_id)
    unsubscribe = signer.unsubscribe_token(f"S{alert.profile_id}", alert.profile_id)
    api_token = world.container.tokens.create(Role.JOBSEEKER, alert.profile_id)
    for token in (foreign, unsubscribe, api_token):
        response = client.post(f"/pages/lien/{token}/distance")
        assert response.status_code == 400 and "pas valide" in response.text
    assert client.post(f"/pages/desabonnement/{good}").status_code == 400
    # an answer link opens no session: the person's pages still ask to log in
    assert client.get("/pages/mes-alertes", follow_redirects=False).status_code == 303
    assert world.container.store.alert(alert.id).status == "new"  # type: ignore[union-attr]


def test_one_click_unsubscribe_stops_the_emails_not_the_alerts(world: MailWorld) -> None:
    client = TestClient(create_app(world.container))
    person = sorted(world.people_with_alerts())[0]
    with Session(world.engine) as session:
        alert_ids = session.scalars(select(AlertRow.id).where(AlertRow.profile_id == person)).all()
    view = world.composer.view(person, alert_ids, issued_at=datetime.now(UTC))
    assert view is not None
    header = world.composer.message(view, recipient="x@y.example", message_id="<1@x>", date=datetime.now(UTC))
    url = message_from_bytes(header, policy=policy.default)["List-Unsubscribe"].strip("<>")
    page = client.get(path_of(url))
    assert page.status_code == 200 and "Ne plus recevoir ces courriels" in page.text
    assert world.container.store.subscription_of(person).channel == "email"  # type: ignore[union-attr]
    # what a mail client sends for its one-click button (RFC 8058): a POST of this one field
    done = client.post(
        path_of(url),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "ne recevrez plus" in done.text
    subscription = world.container.store.subscription_of(person)
    assert subscription is not None and subscription.channel == "app" and subscription.active
    # the person's alerts are shown on the pages, not e-mailed; everyone else gets theirs
    with smtp_server() as (controller, recorder):
        summary = deliver(world, controller.port)
        recipients = {m["To"] for m in recorder.messages()}
    assert f"{person.lower()}@demandeurs.example" not in recipients
    assert len(recipients) == len(world.people_with_alerts()) - 1
    assert summary.gathered.app_only == len(alert_ids)  # type: ignore[attr-defined]
    client.post(path_of(url) + "/reprendre")
    assert world.container.store.subscription_of(person).channel == "email"  # type: ignore[union-attr]


def test_temporary_failures_are_retried_permanent_ones_pause_the_address(world: MailWorld) -> None:
    with Session(world.engine) as session:
        first, second = session.scalars(
            select(ContactRow.email)
            .join(AlertRow, AlertRow.profile_id == ContactRow.profile_id)
            .distinct()
            .order_by(ContactRow.email)
            .limit(2)
        ).all()
    with smtp_server() as (controller, recorder):
        recorder.reject = {first: "451 4.2.1 mailbox busy, try later", second: "550 5.1.1 no such user"}
        now = daytime()
        summary = deliver(world, controller.port, now=now)
    assert summary.retried == 1 and summary.failed == 1  # type: ignore[attr-defined]
    assert summary.sent == len(world.people_with_alerts()) - 2  # type: ignore[attr-defined]
    with Session(world.engine) as session:
        retry = session.scalars(select(DigestRow).where(DigestRow.email == first)).one()
        failed = session.scalars(select(DigestRow).where(DigestRow.email == second)).one()
        paused = session.scalars(select(ContactRow).where(ContactRow.email == second)).one()
    assert retry.status == "queued" and retry.attempts == 1 and "451" in (retry.last_error or "")
    assert retry.next_attempt_at > datetime.now(UTC) + backoff(1) - timedelta(minutes=1)
    assert failed.status == "failed" and paused.paused_at is not None and "550" in (paused.pause_reason or "")
    # counsellors see it, and resume delivery once the address is fixed
    client = TestClient(create_app(world.container))
    admin = world.container.tokens.create(Role.ADMIN, "ds-1")
    client.cookies.set("matching_token", admin)
    listing = client.get("/pages/envois")
    assert listing.status_code == 200 and second in listing.text and "550" in listing.text
    preview = client.get(f"/pages/apercu-alerte/{paused.profile_id}")
    assert "Envois suspendus" in preview.text
    client.post(f"/pages/apercu-alerte/{paused.profile_id}/reprendre")
    with Session(world.engine) as session:
        assert session.get(ContactRow, paused.profile_id).paused_at is None  # type: ignore[union-attr]
    # the retried digest and the resumed person's alerts leave on a later run, once each
    with smtp_server() as (controller, recorder):
        with Session(world.engine) as session, session.begin():
            session.execute(update(DigestRow).where(DigestRow.id == retry.id).values(next_attempt_at=now))
        again = deliver(world, controller.port, now=now + timedelta(minutes=10))
        assert sorted(m["To"] for m in recorder.messages()) == sorted([first, second])
    assert again.sent == 2  # type: ignore[attr-defined]


def test_quiet_hours_and_cadence_hold_the_digest_back(world: MailWorld) -> None:
    night = datetime.now(PARIS).replace(hour=23, minute=30).astimezone(UTC)
    assert quiet_now(night, 21, 8) and not quiet_now(daytime(), 21, 8) and quiet_now(daytime(), 11, 13)
    assert not quiet_now(night, None, None) and quiet_now(night.replace(hour=1), 21, 8) is (
        night.replace(hour=1).astimezone(PARIS).hour >= 21 or night.replace(hour=1).astimezone(PARIS).hour < 8
    )
    with smtp_server() as (controller, recorder):
        quiet = deliver(world, controller.port, now=night)
        assert recorder.count() == 0 and quiet.gathered.quiet == len(world.people_with_alerts())  # type: ignore[attr-defined]
        sent = deliver(world, controller.port)
        assert recorder.count() == len(world.people_with_alerts()) == sent.sent  # type: ignore[attr-defined]
    first = world.people_with_alerts()
    # new alerts the next day: who got a digest waits until 20 h after it (daily cadence)
    with Session(world.engine) as session, session.begin():
        session.execute(update(SubscriptionRow).values(cadence="daily"))
    run_alert_batch(world.container.store, world.service, as_of=AS_OF + timedelta(days=1))
    with smtp_server() as (controller, recorder):
        soon = deliver(world, controller.port, now=datetime.now(UTC) + timedelta(hours=2))
        early = {m["To"].split("@")[0].upper() for m in recorder.messages()}
        assert not early & first and soon.gathered.cadence > 0  # type: ignore[attr-defined]
        later = deliver(world, controller.port, now=daytime() + timedelta(days=1))
        assert later.sent == soon.gathered.cadence == recorder.count() - len(early)  # type: ignore[attr-defined]


def test_per_domain_rate_limit_and_interleaving() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limiter = DomainRateLimiter(2.0, monotonic=lambda: clock[0], sleep=sleep)
    for _ in range(6):
        limiter.wait("gmail.com")
    limiter.wait("orange.fr")  # another domain has its own budget
    assert clock[0] == pytest.approx(2.0) and len(waits) == 4  # 2 at once, then one every 0.5 s
    digests = [
        DueDigest(i, f"P{i}", f"p{i}@{d}", f"<{i}>", datetime.now(UTC), 0) for i, d in enumerate("aaabbc")
    ]
    assert [d.email.split("@")[1] for d in interleave_domains(digests)] == list("abcaba")


def test_smtp_body_quotes_leading_dots_and_ends_lines() -> None:
    assert smtp_body(b"a\n.b\r\n..c") == b"a\r\n..b\r\n...c\r\n"


def test_bounces_pause_the_address(world: MailWorld, tmp_path: Path) -> None:
    with Session(world.engine) as session:
        email = session.scalars(select(ContactRow.email).limit(1)).one()
    report = (
        "From: MAILER-DAEMON@relay.example\r\nTo: alertes@matching.example\r\nSubject: Undelivered\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n"
        f"Final-Recipient: rfc822; {email.upper()}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "Final-Recipient: rfc822; someone@else.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n--B--\r\n"
    ).encode()
    bounces = permanent_failures(report)
    assert [(b.address, b.status) for b in bounces] == [(email.upper(), "5.1.1")]
    assert permanent_failures(b"Subject: hello\r\n\r\nnot a report\r\n") == []
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "1.eml").write_bytes(report)
    url = f"sqlite:///{world.path}"
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints", "alerts", "bounces", str(tmp_path), "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 permanent failures, 1 addresses paused" in done.stdout
    with Session(world.engine) as session:
        row = session.scalars(select(ContactRow).where(ContactRow.email == email)).one()
    assert row.paused_at is not None and "5.1.1" in (row.pause_reason or "")


def test_contacts_file_is_checked_whole(world: MailWorld, tmp_path: Path) -> None:
    url = f"sqlite:///{world.path}"
    with Session(world.engine) as session:
        profile = session.scalars(select(ContactRow.profile_id).limit(1)).one()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"profile_id,email\n{profile},new@exemple.fr\n{profile},not-an-address\n")
    refused = subprocess.run(
        [sys.executable, "-m", "entrypoints", "alerts", "contacts", str(bad), "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "line 3" in refused.stderr and "Traceback" not in refused.stderr
    good = tmp_path / "good.csv"
    good.write_text(f"profile_id,email\n{profile},new@exemple.fr\n")
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints", "alerts", "contacts", str(good), "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "1 changed" in done.stdout
    with Session(world.engine) as session:
        assert session.get(ContactRow, profile).email == "new@exemple.fr"  # type: ignore[union-attr]


def test_preview_page_shows_the_next_digest_with_inert_links(world: MailWorld) -> None:
    client = TestClient(create_app(world.container))
    with Session(world.engine) as session:
        visible = session.scalar(
            select(AlertRow.profile_id)
            .join(OutboxRow, OutboxRow.alert_id == AlertRow.id)
            .where(AlertRow.profile_id.in_(select(ContactRow.profile_id)))
            .order_by(AlertRow.profile_id)
            .limit(1)
        )
    profile = world.container.repository.get_profile(visible or "")
    assert profile is not None
    client.cookies.set(
        "matching_token",
        world.container.tokens.create(Role.COUNSELLOR if profile.visible else Role.ADMIN, "agent-1"),
    )
    page = client.get(f"/pages/apercu-alerte/{profile.id}")
    assert (
        page.status_code == 200 and "Objet :" in page.text and "offres pour vous" in page.text
    ) or "offre pour vous" in page.text
    assert (
        "/pages/lien/" not in page.text and "/pages/desabonnement/" not in page.text
    )  # nothing to click for the person
    hidden = next(p.id for p in world.container.repository.consenting_profiles()[:0]) if False else None
    del hidden
    client.cookies.set("matching_token", world.container.tokens.create(Role.JOBSEEKER, profile.id))
    assert client.get(f"/pages/apercu-alerte/{profile.id}").status_code == 403


def test_starttls_and_login(tmp_path: Path) -> None:
    """STARTTLS then AUTH LOGIN against a server that requires both; a wrong password stops the run."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    import ssl

    from aiosmtpd.smtp import AuthResult

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = getattr(data, "login", None) == b"alertes" and getattr(data, "password", None) == b"secret"
        return AuthResult(success=ok)

    with smtp_server(
        tls_context=context, require_starttls=True, authenticator=authenticator, auth_require_tls=True
    ) as (controller, recorder):
        url = f"smtp://alertes:secret@127.0.0.1:{controller.port}?starttls=require&cafile={cert}"
        transport = SmtpTransport(SmtpSettings.from_url(url))
        called = []
        transport.send(
            Envelope("alertes@x.example", "p@y.example", b"Subject: t\r\n\r\nbonjour\r\n", "<1@x>"),
            before_final=lambda: called.append(1),
        )
        transport.close()
        assert recorder.count() == 1 and called == [1]
        wrong = SmtpTransport(SmtpSettings.from_url(url.replace("secret@", "nope@") + "&timeout=5"))
        with pytest.raises(TransportUnavailable):  # refused (535), or the server hangs up on it
            wrong.send(
                Envelope("alertes@x.example", "p@y.example", b"x\r\n", "<2@x>"), before_final=lambda: None
            )


def test_unreachable_server_stops_the_run_and_keeps_every_digest(world: MailWorld) -> None:
    from tests.serving.smtp_server import free_port

    summary = deliver(world, free_port())
    assert summary.stopped and summary.sent == 0  # type: ignore[attr-defined]
    with Session(world.engine) as session:
        assert set(session.scalars(select(DigestRow.status))) == {"queued"}
        assert session.scalar(select(func.sum(DigestRow.attempts))) == 0


def _sent_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(DigestRow.message_id).where(DigestRow.status == "sent")))


@pytest.mark.parametrize("kills", [5, pytest.param(30, marks=pytest.mark.slow)])
def test_sigkill_during_dispatch_loses_and_duplicates_nothing(
    world: MailWorld, tmp_path: Path, kills: int
) -> None:
    """The dispatcher, as a command, killed (SIGKILL) at random moments while it hands digests to a
    real SMTP server, then started again: every person gets their digest exactly once."""
    with Session(world.engine) as session, session.begin():
        session.execute(update(SubscriptionRow).values(quiet_from=None, quiet_until=None))  # any hour
    people = world.people_with_alerts()
    world.engine.dispose()
    rng = random.Random(23)
    with smtp_server() as (controller, recorder):
        recorder.delay = 0.004  # a relay takes a few ms to take a message in
        command = [
            sys.executable,
            "-m",
            "entrypoints",
            "alerts",
            "deliver",
            "--smtp-url",
            f"smtp://127.0.0.1:{controller.port}",
            "--rate-per-domain",
            "100000",
            "--database-url",
            f"sqlite:///{world.path}",
        ]
        env = {
            **os.environ,
            "MATCHING_LINK_SECRET": SECRET,
            "MATCHING_PUBLIC_URL": BASE,
            "MATCHING_MAIL_FROM": SENDER,
        }
        done = 0
        log_path = tmp_path / "deliver.log"
        while done < kills:
            with log_path.open("w") as log:
                process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                before = recorder.count()
                deadline = time.monotonic() + 120
                while process.poll() is None and time.monotonic() < deadline:
                    if recorder.count() > before:
                        time.sleep(rng.uniform(0.0, 0.05))  # at a random moment of the hand-over
                        process.send_signal(signal.SIGKILL)
                        done += 1
                        break
                    time.sleep(0.002)
                else:
                    pytest.fail(
                        f"the dispatcher ended or hung before kill {done + 1}: {log_path.read_text()[-1500:]}"
                    )
                process.wait(timeout=30)
        finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finish.returncode == 0, finish.stderr
        received = [m["Message-ID"] for m in recorder.messages()]
        recipients = [m["To"] for m in recorder.messages()]
    engine = make_engine(f"sqlite:///{world.path}")
    sent = _sent_ids(engine)
    assert len(received) == len(set(received)), "duplicated"  # 0 duplicated
    assert sorted(received) == sorted(sent), "lost"  # 0 lost: each digest counted sent reached the server
    assert len(set(recipients)) == len(people) == len(sent)  # everyone, once
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(OutboxRow.delivered_at.is_(None))) == 0
    engine.dispose()
