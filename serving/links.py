"""Signed links of alert e-mails: one-click answers and one-click unsubscribe, without logging in.

A link carries a token signed with the service's secret (HMAC-SHA256, :mod:`itsdangerous`), made for
one purpose (a *salt* per kind: an answer token is no unsubscribe token and no API token) and one
object (the alert, or the subscription, and its person), with the moment it was issued: an answer
token expires ``max_age`` after (an unsubscribe token never does). An answer link is ``/pages/lien/{token}/{answer}``: the token allows answering
that alert, the person's own, and the answer is theirs to choose. It grants nothing else: it opens
no session and reads nothing but what it names. Replaying it is harmless: an alert takes one answer
(a second is refused, see :func:`serving.services.alerts.record_feedback`), an unsubscribe done twice
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from matching.domain import RefusalReason

#: What an answer link may say: "Je postule", or "Pas pour moi" with one of the structured reasons.
APPLY = "applied"
ANSWERS = (APPLY, *(r.value for r in RefusalReason))
DEFAULT_MAX_AGE = timedelta(days=30)


class LinkError(Exception):
    """A link that cannot be used: :attr:`expired` (signed by us, too old) or not ours (tampered)."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class AnswerClaim:
    """What an answer link's token allows: answering this alert of this person."""

    alert_id: int
    profile_id: str


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What an unsubscribe link allows: stopping the e-mails of this subscription of this person."""

    subscription_id: str
    profile_id: str


class _IssuedAtSigner(TimestampSigner):
    """A signer whose tokens carry a given issue moment (the digest's), so that a retried e-mail
    carries the same links as the first attempt."""

    def __init__(self, *args: Any, issued_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.issued_at = issued_at

    def get_timestamp(self) -> int:
        return super().get_timestamp() if self.issued_at is None else self.issued_at


def _serializer(secret: str, salt: str, issued_at: datetime | None = None) -> URLSafeTimedSerializer:
    moment = int(issued_at.timestamp()) if issued_at is not None else None
    return URLSafeTimedSerializer(
        secret, salt=salt, signer=_IssuedAtSigner, signer_kwargs={"issued_at": moment}
    )


class LinkSigner:
    """Makes and reads the tokens of alert e-mails.

    Parameters
    ----------
    secret
        The service's link secret (``MATCHING_LINK_SECRET``, or the key file ``make run`` writes): at
        least 32 characters. Changing it voids every link sent.
    max_age
        How long a link works after it was issued.

    Raises
    ------
    ValueError
        A secret shorter than 32 characters.
    """

    ANSWER, UNSUBSCRIBE = "alert-answer", "alert-unsubscribe"

    def __init__(self, secret: str, *, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        if len(secret) < 32:
            raise ValueError("the link secret needs at least 32 characters")
        self.secret = secret
        self.max_age = max_age

    def answer_token(self, alert_id: int, profile_id: str, *, issued_at: datetime | None = None) -> str:
        """A token allowing an answer to alert ``alert_id`` of ``profile_id``, and nothing else."""
        return self._dumps(self.ANSWER, [alert_id, profile_id], issued_at)

    def unsubscribe_token(
        self, subscription_id: str, profile_id: str, *, issued_at: datetime | None = None
    ) -> str:
        """A token allowing the e-mails of ``subscription_id`` to be stopped (RFC 8058 one-click)."""
        return self._dumps(self.UNSUBSCRIBE, [subscription_id, profile_id], issued_at)

    def read_answer(self, token: str) -> AnswerClaim:
        """What an answer token allows.

        Raises
        ------
        LinkError
            Expired, or not a valid answer token (tampered, another kind, another secret).
        """
        value = self._loads(self.ANSWER, token)
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            raise LinkError("not an answer link", expired=False)
        return AnswerClaim(value[0], value[1])

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim:
        """What an unsubscribe token allows; :class:`LinkError` as :meth:`read_answer`, except that it
        never expires: an old e-mail's unsubscribe must still work (RFC 8058), and it only ever stops
        or restarts the e-mails of one subscription."""
        value = self._loads(self.UNSUBSCRIBE, token, expires=False)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise LinkError("not an unsubscribe link", expired=False)
        return UnsubscribeClaim(value[0], value[1])

    def _dumps(self, salt: str, value: list[object], issued_at: datetime | None) -> str:
        return str(_serializer(self.secret, salt, issued_at).dumps(value))

    def _loads(self, salt: str, token: str, *, expires: bool = True) -> object:
        if len(token) > 512:
            raise LinkError("link too long", expired=False)
        max_age = int(self.max_age.total_seconds()) if expires else None
        try:
            return _serializer(self.secret, salt).loads(token, max_age=max_age)
        except SignatureExpired:
            raise LinkError("link expired", expired=True) from None
        except BadSignature:
            raise LinkError("link not valid", expired=False) from None


@dataclass(frozen=True)
class MailSettings:
    """Who the digests come from, where their links point, and how links are signed.

    ``sender`` is a mailbox (``"Alertes emploi <alertes@example.org>"``): its address is the
    envelope sender (where bounces go) and its domain ends every Message-ID.
    """

    sender: str
    base_url: str
    signer: LinkSigner

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "localhost"
