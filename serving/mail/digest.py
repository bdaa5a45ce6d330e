"""The alert digest: a person's waiting alerts as one French e-mail (HTML and plain text).

Each offer comes with why it was sent and its one-click answers, « Je postule » and « Pas pour moi »
with each structured reason, as signed links (:mod:`serving.links`) that need no login. The message
carries a one-click unsubscribe (``List-Unsubscribe`` and ``List-Unsubscribe-Post``, RFC 8058) and a
link to the subscription page. The same digest renders the same way at every attempt (its links are
issued at the digest's creation), and the preview page shows it with inert links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from matching.domain import Offer, Profile, RefusalReason, Subscription
from serving.container import ServingContainer
from serving.links import APPLY, MailSettings
from serving.schemas import AlertOut
from serving.services.alerts import ANSWERED, alert_view
from serving.storage.delivery import PARIS
from serving.storage.tables import AlertRow

#: The refusal reasons as the digest words them, in the order it lists them.
REASON_WORDS = {
    RefusalReason.DISTANCE.value: "trop loin",
    RefusalReason.SALAIRE.value: "salaire",
    RefusalReason.TYPE_CONTRAT.value: "contrat",
    RefusalReason.HORAIRES.value: "horaires",
    RefusalReason.METIER.value: "pas ce métier",
    RefusalReason.COMPETENCES.value: "compétences",
    RefusalReason.DEJA_EN_POSTE.value: "déjà en poste",
    RefusalReason.AUTRE.value: "autre",
}
# CRLF lines, as SMTP sends them; a header is folded only past the 998 characters RFC 5322 allows, so
# that no mail client has to unfold a link (List-Unsubscribe)
SMTP_COMPAT = compat32.clone(linesep="\r\n", max_line_length=998)
CADENCE_WORDS = {"daily": "au plus un courriel par jour", "weekly": "au plus un courriel par semaine"}
ANSWER_PATH = "/pages/lien/"
UNSUBSCRIBE_PATH = "/pages/desabonnement/"
SUBSCRIPTION_PATH = "/pages/mes-alertes"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=False,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class DigestItem:
    """One offer of a digest, with its answers' links (``#`` in a preview)."""

    alert: AlertOut
    apply_link: str
    refuse_links: list[tuple[str, str]]  # (reason in words, link)
    salary: str | None


@dataclass(frozen=True)
class DigestView:
    """What a digest shows: its offers, its subject, and the links of its footer."""

    profile_id: str
    subject: str
    heading: str
    offers: list[DigestItem]
    subscription_url: str
    unsubscribe_url: str
    cadence: str
    quiet: str | None
    preview: bool


def salary_words(low: float | None, high: float | None) -> str | None:
    """A monthly pay range in words: "de 1 900 à 2 100 € brut par mois", or one figure."""

    def euros(value: float) -> str:
        return f"{value:,.0f}".replace(",", "\u202f")

    if low and high and high > low:
        return f"de {euros(low)} à {euros(high)} € brut par mois"
    one = low or high
    return f"{euros(one)} € brut par mois" if one else None


class DigestComposer:
    """Builds and renders digests from the database behind ``container``.

    A dispatcher reads what a page of digests needs at once (:meth:`prefetch`); offers are read once
    per composer (a run's digests share the day's offers), at most ``OFFER_CACHE`` of them.
    """

    OFFER_CACHE = 50_000

    def __init__(self, container: ServingContainer, mail: MailSettings) -> None:
        self.container = container
        self.mail = mail
        self._offers: dict[str, Offer | None] = {}
        self._alerts: dict[int, AlertRow] = {}
        self._people: dict[str, tuple[Profile | None, Subscription | None]] = {}

    def prefetch(self, wanted: Mapping[str, Sequence[int]]) -> None:
        """Read at once the alerts, people, subscriptions and offers of these digests (person → alerts)."""
        container = self.container
        people = list(wanted)
        alerts = container.store.alerts_by_ids([a for ids in wanted.values() for a in ids])
        self._alerts.update({a.id: a for a in alerts})
        profiles = container.store.profiles(people)
        subscriptions = container.store.subscriptions_of(people)
        self._people.update({p: (profiles.get(p), subscriptions.get(p)) for p in people})
        missing = {a.offer_id for a in alerts} - self._offers.keys()
        if len(self._offers) + len(missing) > self.OFFER_CACHE:
            self._offers.clear()
            missing = {a.offer_id for a in alerts}
        found = container.repository.open_offers_by_id(missing)
        self._offers.update({offer_id: found.get(offer_id) for offer_id in missing})

    def view(
        self, profile_id: str, alert_ids: Sequence[int], *, issued_at: datetime, preview: bool = False
    ) -> DigestView | None:
        """The digest of these alerts of ``profile_id``; ``None`` when none can be shown (every offer
        withdrawn since, or the person gone).

        Parameters
        ----------
        profile_id
            Whose digest.
        alert_ids
            Its alerts, in the order they were ranked.
        issued_at
            When its links are issued (the digest's creation: the same links at every attempt).
        preview
            Links replaced by ``#`` (the preview page: a counsellor must not answer for the person).
        """
        container = self.container
        if profile_id not in self._people or any(a not in self._alerts for a in alert_ids):
            self.prefetch({profile_id: alert_ids})
        profile, subscription = self._people.pop(profile_id, (None, None))
        alerts = sorted(
            (self._alerts.pop(a) for a in alert_ids if a in self._alerts),
            key=lambda a: (a.created_at, a.rank),
        )
        if profile is None or subscription is None:
            return None
        signer, base = self.mail.signer, self.mail.base_url.rstrip("/")

        items = []
        for alert in alerts:
            if alert.profile_id != profile_id or alert.status in ANSWERED:
                continue  # answered on the pages since it was made: nothing to ask any more
            shown = alert_view(container, alert, profile, subscription, self._offers)
            if shown is None:  # withdrawn since the alert was made
                continue
            token = signer.answer_token(alert.id, profile_id, issued_at=issued_at)

            def link(answer: str, token: str = token) -> str:
                return "#" if preview else f"{base}{ANSWER_PATH}{token}/{answer}"

            items.append(
                DigestItem(
                    alert=shown,
                    apply_link=link(APPLY),
                    refuse_links=[(words, link(reason)) for reason, words in REASON_WORDS.items()],
                    salary=salary_words(shown.offer.salary_min_monthly, shown.offer.salary_max_monthly),
                )
            )
        if not items:
            return None
        first = items[0].alert.offer.title
        count = len(items)
        subject = (
            f"1 offre pour vous : {first}"
            if count == 1
            else f"{count} offres pour vous : {first} et {count - 1} autre{'s' if count > 2 else ''}"
        )
        unsubscribe = (
            "#"
            if preview
            else base
            + UNSUBSCRIBE_PATH
            + signer.unsubscribe_token(subscription.id, profile_id, issued_at=issued_at)
        )
        quiet = None
        if subscription.quiet_from is not None and subscription.quiet_until is not None:
            quiet = f"entre {subscription.quiet_from} h et {subscription.quiet_until} h"
        return DigestView(
            profile_id=profile_id,
            subject=subject,
            heading=f"Vos offres du {issued_at.astimezone(PARIS):%d/%m/%Y}",
            offers=items,
            subscription_url=base + SUBSCRIPTION_PATH,
            unsubscribe_url=unsubscribe,
            cadence=CADENCE_WORDS.get(str(subscription.cadence), "à chaque nouvelle offre"),
            quiet=quiet,
            preview=preview,
        )

    def render(self, view: DigestView) -> tuple[str, str]:
        """The digest's plain text and HTML."""
        text = _templates.get_template("digest.txt").render(view=view)
        html = _templates.get_template("digest.html").render(view=view)
        return text, html

    def message(self, view: DigestView, *, recipient: str, message_id: str, date: datetime) -> bytes:
        """The e-mail (multipart/alternative, UTF-8, CRLF lines) of ``view`` to ``recipient``.

        Built with the standard library's ``compat32`` MIME classes: the same message as the newer
        ``EmailMessage`` API, several times faster (it was a third of a digest's time).
        """
        text, html = self.render(view)
        message = MIMEMultipart("alternative")
        message["From"] = _header(self.mail.sender)
        message["To"] = recipient
        message["Subject"] = Header(view.subject, "utf-8").encode()
        message["Date"] = format_datetime(date)
        message["Message-ID"] = message_id
        message["List-Id"] = f"Alertes offres d'emploi <alertes.{self.mail.domain}>"
        message["List-Unsubscribe"] = f"<{view.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Auto-Submitted"] = "auto-generated"  # no vacation auto-reply to a digest
        message.attach(MIMEText(text, "plain", "utf-8"))
        message.attach(MIMEText(html, "html", "utf-8"))
        return message.as_bytes(policy=SMTP_COMPAT)


def _header(mailbox: str) -> str:
    """A mailbox header whose display name may hold accents (RFC 2047-encoded then)."""
    name, address = parseaddr(mailbox)
    return formataddr((name, address), charset="utf-8") if name else address
