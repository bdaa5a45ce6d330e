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
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, delete, event, func, select, update
from sqlalchemy.orm import Session

from matching.candidates import load_generator
from matching.clock import Clock
from matching.encoders import HashingEncoder
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.app import create_app
from serving.batch.alerts import run_alert_batch
from serving.batch.delivery import (
    DeliverySummary,
    DomainRateLimiter,
    backoff,
    deliver_digests,
    interleave_domains,
)
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
from serving.storage.delivery import PARIS, DeliveryStore, DueDigest, dispatcher_lock, quiet_now
from serving.storage.tables import (
    AlertRow,
    ContactRow,
    DigestRow,
    InteractionRow,
    OutboxRow,
    ProfileRow,
    SubscriptionRow,
)
from tests.serving.smtp_server import smtp_server

AS_OF = datetime(2025, 2, 17, tzinfo=UTC)
PEOPLE = 150
SECRET = "s" * 40
BASE = "https://alertes.example.org"
SENDER = "Alertes offres d'emploi <alertes@matching.example>"


def daytime() -> datetime:
    """The latest noon, Paris time, up to now: outside the default quiet hours, and never in the
    future (links issued then work now)."""
    now = datetime.now(PARIS)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    return (noon if noon <= now else noon - timedelta(days=1)).astimezone(UTC)


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
        # PEOPLE people with alerts (enough for 30 kills at a few digests each), the others gone: quick
        # runs, and the batch run again by some tests ranks only them
        _keep_people(session, PEOPLE)
    engine.dispose()
    return path


def _keep_people(session: Session, people: int) -> None:
    """Remove every person but the first ``people`` with alerts (their subscriptions, alerts, outbox
    rows and contacts go with them)."""
    kept = (
        select(AlertRow.profile_id).distinct().order_by(AlertRow.profile_id).limit(people).scalar_subquery()
    )
    session.execute(delete(ProfileRow).where(ProfileRow.id.not_in(kept)))
    session.execute(delete(InteractionRow).where(InteractionRow.profile_id.not_in(select(ProfileRow.id))))


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


def _world(
    source: Path, people: int, ranker: TrainingResult, builtin: Referential, index_dir: Path, tmp_path: Path
) -> MailWorld:
    path = tmp_path / "mail.sqlite"
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(path)) as target:
        origin.backup(target)
    engine = make_engine(f"sqlite:///{path}")
    if people < PEOPLE:
        with Session(engine) as session, session.begin():
            _keep_people(session, people)
    return _mail_world(engine, ranker, builtin, index_dir, path)


def _mail_world(
    engine: Engine, ranker: TrainingResult, builtin: Referential, index_dir: Path, path: Path
) -> MailWorld:
    service = RankingService(load_generator(index_dir, builtin, HashingEncoder()), ranker.ranker, "test@v1")
    mail = MailSettings(sender=SENDER, base_url=BASE, signer=LinkSigner(SECRET))
    container = ServingContainer(
        engine=engine,
        referential=builtin,
        load_service=lambda: service,
        clock=Clock(pinned_at=AS_OF),
        mail=mail,
        limiter=RateLimiter(limit=10**9),
    )
    return MailWorld(engine, container, DeliveryStore(engine), DigestComposer(container, mail), service, path)


@pytest.fixture
def world(
    alerted_sqlite: Path, small_ranker: TrainingResult, builtin: Referential, index_dir: Path, tmp_path: Path
) -> Iterator[MailWorld]:
    """40 people with alerts waiting (copied for each test)."""
    made = _world(alerted_sqlite, 40, small_ranker, builtin, index_dir, tmp_path)
    yield made
    made.engine.dispose()


@pytest.fixture
def crowd(
    alerted_sqlite: Path, small_ranker: TrainingResult, builtin: Referential, index_dir: Path, tmp_path: Path
) -> Iterator[MailWorld]:
    """PEOPLE people with alerts waiting: enough digests to kill a dispatcher 30 times mid-run."""
    made = _world(alerted_sqlite, PEOPLE, small_ranker, builtin, index_dir, tmp_path)
    yield made
    made.engine.dispose()


def deliver(world: MailWorld, port: int, **options: Any) -> DeliverySummary:
    transport = SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{port}?timeout=10"))
    options.setdefault("now", daytime())
    options.setdefault("rate_per_domain", 10_000.0)
    return deliver_digests(world.store, world.composer, transport, **options)


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
    assert summary.gathered.app_only == len(alert_ids)
    # a digest already gathered (waiting for a retry) is not sent after an unsubscribe either
    client.post(path_of(url) + "/reprendre")
    other = sorted(world.people_with_alerts() - {person})[0]
    with Session(world.engine) as session, session.begin():
        digest = session.scalars(select(DigestRow).where(DigestRow.profile_id == other)).one()
        session.execute(
            update(DigestRow).where(DigestRow.id == digest.id).values(status="queued", sent_at=None)
        )
    world.container.store.update_subscription(f"S{other}", {"channel": "app"})
    with smtp_server() as (controller, recorder):
        again = deliver(world, controller.port)
    assert recorder.count() == 0 and again.dropped == 1
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
    assert summary.retried == 1 and summary.failed == 1
    assert summary.sent == len(world.people_with_alerts()) - 2
    with Session(world.engine) as session:
        retry = session.scalars(select(DigestRow).where(DigestRow.email == first)).one()
        failed = session.scalars(select(DigestRow).where(DigestRow.email == second)).one()
        paused = session.scalars(select(ContactRow).where(ContactRow.email == second)).one()
    assert retry.status == "queued" and retry.attempts == 1 and "451" in (retry.last_error or "")
    assert retry.next_attempt_at == now + backoff(1)
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
    assert again.sent == 2


def test_quiet_hours_and_cadence_hold_the_digest_back(world: MailWorld) -> None:
    night = daytime() - timedelta(hours=13)  # 23:00 in Paris, the day before
    paris = datetime(2026, 1, 15, tzinfo=PARIS)  # winter: UTC+1
    assert quiet_now(paris.replace(hour=23), 21, 8) and quiet_now(paris.replace(hour=7, minute=59), 21, 8)
    assert not quiet_now(paris.replace(hour=8), 21, 8) and not quiet_now(
        paris.replace(hour=20, minute=59), 21, 8
    )
    assert quiet_now(paris.replace(hour=12), 11, 13) and not quiet_now(paris.replace(hour=13), 11, 13)
    assert not quiet_now(paris.replace(hour=23), None, None) and not quiet_now(paris.replace(hour=23), 8, 8)
    assert quiet_now(datetime(2026, 7, 1, 19, 30, tzinfo=UTC), 21, 8)  # 21:30 in Paris in summer
    with smtp_server() as (controller, recorder):
        quiet = deliver(world, controller.port, now=night)
        assert recorder.count() == 0 and quiet.gathered.quiet == len(world.people_with_alerts())
        sent = deliver(world, controller.port)
        assert recorder.count() == len(world.people_with_alerts()) == sent.sent
    first = world.people_with_alerts()
    # new alerts the next day: who got a digest waits until 20 h after it (daily cadence)
    with Session(world.engine) as session, session.begin():
        session.execute(update(SubscriptionRow).values(cadence="daily"))
    run_alert_batch(world.container.store, world.service, as_of=AS_OF + timedelta(days=1))
    with smtp_server() as (controller, recorder):
        soon = deliver(world, controller.port, now=daytime() + timedelta(hours=2))
        early = {m["To"].split("@")[0].upper() for m in recorder.messages()}
        assert not early & first and soon.gathered.cadence > 0
        later = deliver(world, controller.port, now=daytime() + timedelta(days=1))
        assert later.sent == soon.gathered.cadence == recorder.count() - len(early)


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
        "Final-Recipient: rfc822; someone@else.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <alertes.12.3@matching.example>\r\n"
        "Subject: 2 offres pour vous\r\n\r\n--B--\r\n"
    ).encode()
    bounces = permanent_failures(report, ours="matching.example")
    forged = report.replace(b"<alertes.12.3@matching.example>", b"<made-up@elsewhere.example>")
    assert permanent_failures(forged, ours="matching.example") == []  # not one of our messages
    assert [(b.address, b.status) for b in bounces] == [(email.upper(), "5.1.1")]
    assert permanent_failures(b"Subject: hello\r\n\r\nnot a report\r\n") == []
    inbox = tmp_path / "bounces"
    (inbox / "new").mkdir(parents=True)
    (inbox / "new" / "1.eml").write_bytes(report)
    url = f"sqlite:///{world.path}"
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints", "alerts", "bounces", str(inbox), "--database-url", url],
        env={**os.environ, "MATCHING_MAIL_FROM": SENDER},
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
    people = world.people_with_alerts()
    visible = next(p for p in sorted(people) if world.container.repository.get_profile(p).visible)  # type: ignore[union-attr]
    hidden = next(p for p in sorted(people) if not world.container.repository.get_profile(p).visible)  # type: ignore[union-attr]
    client.cookies.set("matching_token", world.container.tokens.create(Role.COUNSELLOR, "agent-1"))
    page = client.get(f"/pages/apercu-alerte/{visible}")
    assert page.status_code == 200 and "Objet :" in page.text and "pour vous" in page.text
    assert (
        "/pages/lien/" not in page.text and "/pages/desabonnement/" not in page.text
    )  # nothing to click for the person
    assert (
        client.get(f"/pages/apercu-alerte/{hidden}").status_code == 404
    )  # not consenting: not for counsellors
    client.cookies.set("matching_token", world.container.tokens.create(Role.ADMIN, "ds-1"))
    assert client.get(f"/pages/apercu-alerte/{hidden}").status_code == 200
    client.cookies.set("matching_token", world.container.tokens.create(Role.JOBSEEKER, visible))
    assert client.get(f"/pages/apercu-alerte/{visible}").status_code == 403


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
    assert summary.stopped and summary.sent == 0
    with Session(world.engine) as session:
        assert set(session.scalars(select(DigestRow.status))) == {"queued"}
        assert session.scalar(select(func.sum(DigestRow.attempts))) == 0


def _sent_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(DigestRow.message_id).where(DigestRow.status == "sent")))


@pytest.mark.slow  # the default run stops a dispatcher on either side of the commit (below)
@pytest.mark.parametrize("kills", [30])
def test_sigkill_during_dispatch_loses_and_duplicates_nothing(
    crowd: MailWorld, tmp_path: Path, kills: int
) -> None:
    """The dispatcher, as a command, killed (SIGKILL) at random moments while it hands digests to a
    real SMTP server, then started again: nobody gets their digest twice, and a digest the server
    never completed is one the restart flagged unconfirmed (SMTP's own gap, README "Exactly once")."""
    with Session(crowd.engine) as session, session.begin():
        session.execute(update(SubscriptionRow).values(quiet_from=None, quiet_until=None))  # any hour
    people = crowd.people_with_alerts()
    crowd.engine.dispose()
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
            f"sqlite:///{crowd.path}",
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
    engine = make_engine(f"sqlite:///{crowd.path}")
    sent = _sent_ids(engine)
    with Session(engine) as session:
        unconfirmed = set(
            session.scalars(
                select(DigestRow.message_id).where(DigestRow.last_error.startswith("unconfirmed"))
            )
        )
    assert len(received) == len(set(received)), "duplicated"  # 0 duplicated
    assert len(sent) == len(people) and set(received) <= set(sent)  # one digest each, nothing unknown sent
    # 0 lost, but for SMTP's own gap: a kill in the microseconds between the handing commit and the
    # final dot leaves a digest counted handed over that the server never completed; it can only be
    # one the restart flagged unconfirmed (each digest counted sent without doubt reached the server)
    lost = set(sent) - set(received)
    assert lost <= unconfirmed, f"lost: {sorted(lost - unconfirmed)}"
    assert len(set(recipients)) == len(received)  # everyone once
    print(f"{kills} kills: {len(received)} of {len(sent)} received, {len(unconfirmed)} unconfirmed")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(OutboxRow.delivered_at.is_(None))) == 0
    engine.dispose()


@pytest.mark.integration  # a whole world and an alert run per backend: with the PostgreSQL runs
def test_dispatcher_on_each_database_once_and_locked(
    engine: Engine,
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    builtin: Referential,
    index_dir: Path,
) -> None:
    """SQLite and PostgreSQL alike: one digest per person, a second run sends nothing, and a second
    dispatcher of the same shard does nothing while the first holds its lock."""
    load_small_world(engine)
    made = _mail_world(engine, small_ranker, builtin, index_dir, Path())
    run_alert_batch(made.container.store, made.service)
    with Session(engine) as session, session.begin():
        session.execute(update(SubscriptionRow).values(channel="email"))
    store, composer = made.store, made.composer
    people = made.people_with_alerts()
    with smtp_server() as (controller, recorder):

        def run(shard: tuple[int, int] = (0, 1)) -> DeliverySummary:
            transport = SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{controller.port}"))
            return deliver_digests(
                store, composer, transport, shard=shard, rate_per_domain=1e6, now=daytime()
            )

        with dispatcher_lock(engine, (0, 2)) as got:
            assert got
            assert run((0, 2)).locked  # the same shard: held
            other = run((1, 2))  # another shard: its own people
        rest = run((0, 2))
        assert other.sent + rest.sent == len(people) == recorder.count()
        assert len({m["To"] for m in recorder.messages()}) == len(people)
        assert run().sent == 0


class _Dies(Exception):
    """Stands for the dispatcher's death (SIGKILL) at a chosen instant of a hand-over."""


@dataclass
class _ScriptedTransport:
    """Records what it is handed; dies once, before or after the ``handing`` commit of one message."""

    die: str | None  # "before" or "after" the commit, None: never
    sent: list[str]

    def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool:
        if self.die == "before":
            self.die = None
            raise _Dies
        before_final()
        if self.die == "after":  # the commit is done, the final dot never leaves
            self.die = None
            raise _Dies
        self.sent.append(envelope.message_id)
        return True

    def close(self) -> None:
        return None


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_death_on_either_side_of_the_handing_commit(world: MailWorld, moment: str) -> None:
    """Killed before the commit, the message (which the server never completed) is sent by the next
    run; killed after it, the digest counts as handed over and is never sent again."""
    sent: list[str] = []
    with pytest.raises(_Dies):
        deliver_digests(
            world.store, world.composer, _ScriptedTransport(moment, sent), now=daytime(), rate_per_domain=1e6
        )
    with Session(world.engine) as session:
        first = session.scalars(select(DigestRow).order_by(DigestRow.id).limit(1)).one()
    assert first.status == ("queued" if moment == "before" else "handing")
    again = deliver_digests(
        world.store, world.composer, _ScriptedTransport(None, sent), now=daytime(), rate_per_domain=1e6
    )
    assert again.settled == (moment == "after")
    assert len(sent) == len(set(sent)) == len(world.people_with_alerts()) - again.settled
    assert (first.message_id in sent) is (moment == "before")
    with Session(world.engine) as session:
        settled = session.get(DigestRow, first.id)
        assert settled is not None and settled.status == "sent"
        assert ("unconfirmed" in (settled.last_error or "")) is (moment == "after")


def test_the_handing_commit_is_the_last_thing_before_the_final_dot(world: MailWorld) -> None:
    """Nothing runs between the durable ``handing`` commit and the dot (no statement, no WAL
    checkpoint inside the commit): the window where a kill loses a digest stays microseconds."""
    events: list[str] = []
    event.listen(world.engine, "after_cursor_execute", lambda *_: events.append("sql"))
    committed: list[Connection] = []
    event.listen(world.engine, "commit", lambda conn: (events.append("commit"), committed.append(conn)))
    last_before_dot: list[str] = []
    checkpoints: list[int] = []

    class Watching(_ScriptedTransport):
        def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool:
            def watched() -> None:
                before_final()
                last_before_dot.append(events[-1])
                driver = committed[-1].connection.driver_connection  # the hand-over connection's
                assert driver is not None
                checkpoints.append(int(driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]))

            return super().send(envelope, before_final=watched)

    sent: list[str] = []
    deliver_digests(
        world.store, world.composer, Watching(None, sent), now=daytime(), rate_per_domain=1e6, limit=3
    )
    assert len(sent) == 3 and last_before_dot == ["commit"] * 3
    assert checkpoints == [0] * 3  # the hand-over connection checkpoints between pages, not in a commit


def test_a_digest_another_dispatcher_took_is_never_completed(world: MailWorld) -> None:
    """Two dispatchers on the same people (shards misconfigured): the one that finds the digest no
    longer queued when it commits abandons the message before its final dot."""
    sent: list[str] = []

    class Rival(_ScriptedTransport):
        def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool:
            with Session(world.engine) as session, session.begin():  # the other dispatcher takes it
                session.execute(
                    update(DigestRow)
                    .where(DigestRow.message_id == envelope.message_id)
                    .values(status="handing")
                )
            return super().send(envelope, before_final=before_final)

    summary = deliver_digests(
        world.store, world.composer, Rival(None, sent), limit=3, now=daytime(), rate_per_domain=1e6
    )
    assert summary.taken == 3 and sent == []
