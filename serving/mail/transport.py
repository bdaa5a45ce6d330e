"""Handing e-mails over: to an SMTP server (``MATCHING_SMTP_URL``), or to a local Maildir by default.

Exactly once, as far as SMTP allows. A message's text goes to the server up to its last line; then
the caller commits that the message is being handed over (``before_final``), and only then is the
final ``.`` sent. Killed before that commit, the connection drops mid-message and the server
discards it (RFC 5321 §4.1.1.4: a message is delivered only once the final dot is acknowledged): the
next attempt sends it, once. Killed after it, the message is counted as handed over: the window
where the server has it but we do not know — between the final dot and the reply, the duplicate
problem of RFC 1047 — is resolved towards at most once, as a message to a person must never come
twice. The Message-ID stays the same across attempts, so a receiving system can recognise a retry.

Replies classify failures: 4xx codes, timeouts and dropped connections are temporary (retried later
with backoff); a 5xx reply to the recipient or the message is permanent (the address is paused); a
failure to connect, or a 5xx reply to the sender or the login, is the server's or our configuration's
(:class:`TransportUnavailable`: the run stops, every message keeps its place).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from matching.errors import MatchingError


class DeliveryError(Exception):
    """A message was not handed over; ``code`` is the server's reply code (0: no reply); ``address``:
    the recipient's address was refused (not the message, nor our relay)."""

    def __init__(self, message: str, *, code: int = 0, address: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.address = address


class TemporaryFailure(DeliveryError):
    """Worth retrying later: a 4xx reply, a timeout, a dropped connection."""


class PermanentFailure(DeliveryError):
    """Never worth retrying to this address: a 5xx reply to the recipient or to the message."""


class TransportUnavailable(DeliveryError):
    """Nothing can be sent now: the server cannot be reached, or refuses our sender or our login."""


@dataclass(frozen=True)
class Envelope:
    """One message to hand over: who bounces go to, who receives it, its bytes (CRLF lines)."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


class MailTransport(Protocol):
    """Hands messages over, one at a time, calling ``before_final`` just before the point of no return."""

    def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool: ...

    def close(self) -> None: ...


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def smtp_body(data: bytes) -> bytes:
    """A message as the DATA command sends it, without the final dot: CRLF line ends, a leading dot
    doubled (RFC 5321 §4.5.2), a last line end."""
    body = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", data))
    return body if body.endswith(b"\r\n") else body + b"\r\n"


@dataclass(frozen=True)
class SmtpSettings:
    """What ``MATCHING_SMTP_URL`` says.

    ``smtp://[user[:password]@]host[:port][?starttls=auto|require|no&timeout=30&cafile=PATH]`` (port
    25; ``require``, the default, refuses a server that does not offer STARTTLS; ``auto``, the default
    on loopback, uses it when offered; ``no`` never) or ``smtps://…`` (TLS from the start, port 465). A
    login is only ever sent encrypted, except to a server on this machine (loopback).
    """

    host: str
    port: int
    tls: str  # "implicit", "require", "auto" or "no"
    username: str | None
    password: str | None
    timeout: float
    cafile: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read an SMTP URL.

        Raises
        ------
        MatchingError
            Another scheme, no host, an unknown ``starttls`` value, a bad port or timeout.
        """
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MatchingError(
                f"MATCHING_SMTP_URL: expected smtp://host[:port] or smtps://host, got {url!r}"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        # addresses and links travel encrypted to a relay elsewhere unless told otherwise
        starttls = query.get("starttls", "auto" if is_loopback(parts.hostname) else "require").lower()
        if starttls not in ("auto", "require", "no"):
            raise MatchingError(f"MATCHING_SMTP_URL: starttls is auto, require or no, got {starttls!r}")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
            timeout = float(query.get("timeout", "30"))
        except ValueError as error:
            raise MatchingError(f"MATCHING_SMTP_URL: {error}") from None
        if timeout <= 0:
            raise MatchingError("MATCHING_SMTP_URL: the timeout must be positive")
        return cls(
            host=parts.hostname,
            port=port,
            tls="implicit" if parts.scheme == "smtps" else starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            cafile=query.get("cafile"),
        )

    def describe(self) -> str:
        """The server without its credentials (for messages and logs)."""
        return f"smtp{'s' if self.tls == 'implicit' else ''}://{self.host}:{self.port}"


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (a server there sees no traffic leave it)."""
    return host in ("localhost", "127.0.0.1", "::1")


class SmtpTransport:
    """Sends through one SMTP connection, opened on first use and kept between messages."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.tls == "implicit":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            # the message and its final dot leave in separate writes: without this, Nagle's algorithm
            # holds the dot until the server's delayed acknowledgement (40 ms a message)
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            encrypted = s.tls == "implicit"
            if s.tls in ("auto", "require") and smtp.has_extn("starttls"):
                smtp.starttls(context=self._context())
                smtp.ehlo()
                encrypted = True
            elif s.tls == "require":
                smtp.close()
                raise TransportUnavailable(f"{s.describe()} does not offer STARTTLS (starttls=require)")
            if s.username:
                if not encrypted and not is_loopback(s.host):
                    smtp.close()
                    raise TransportUnavailable(
                        f"{s.describe()}: no login over an unencrypted connection (the server offers no STARTTLS)"
                    )
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as error:
            raise TransportUnavailable(f"{s.describe()} refused the login ({error.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransportUnavailable(f"cannot reach {s.describe()}: {error}") from None
        return smtp

    def _drop(self) -> None:
        """Forget the connection (closed without QUIT: a message in progress is abandoned)."""
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool:
        """Hand ``envelope`` over; ``before_final`` runs when only the final dot is left to send.

        Returns
        -------
        bool
            ``True``: the server acknowledged the message; ``False``: the connection failed at the
            final dot, which may or may not have arrived (counted handed over, never sent again).

        Raises
        ------
        TemporaryFailure, PermanentFailure
            The message was not taken (``before_final`` was not called, or the server refused the
            message at its end: the caller puts it back).
        TransportUnavailable
            The server cannot be reached, or refuses our sender or login.
        Exception
            Whatever ``before_final`` raises: the message is abandoned, never completed.
        """
        try:
            smtp = self._start(envelope)
        except smtplib.SMTPServerDisconnected:
            # a kept connection the server closed while we were idle: once more on a new one
            self._drop()
            smtp = self._start(envelope)
        if smtp.sock is None:  # closed under us: nothing committed yet, the message waits
            self._drop()
            raise TemporaryFailure("the connection closed before the end of the message")
        final = smtp.sock.sendall
        try:
            before_final()
        except BaseException:
            self._drop()  # the server never sees the end of the message: it discards it
            raise
        try:
            final(b".\r\n")  # at once after the commit (bound beforehand): the window stays microseconds
            code, reply = smtp.getreply()
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError):
            # the dot may have arrived (RFC 1047): counted as handed over, never sent twice
            self._drop()
            return False
        if code != 250:
            failure = PermanentFailure if code >= 500 else TemporaryFailure
            raise failure(f"end of DATA: {code} {reply.decode(errors='replace')}", code=code)
        return True

    def _start(self, envelope: Envelope) -> smtplib.SMTP:
        """``MAIL``, ``RCPT``, ``DATA`` and the message up to its last line; the connection used.

        Raises
        ------
        smtplib.SMTPServerDisconnected
            The kept connection was closed before ``MAIL`` (the caller tries once more).
        TemporaryFailure, PermanentFailure, TransportUnavailable
            As :meth:`send`.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, reply = smtp.mail(envelope.sender)
        except smtplib.SMTPServerDisconnected:
            raise
        except (TimeoutError, OSError, smtplib.SMTPException) as error:
            self._drop()
            raise TemporaryFailure(f"connection lost before the message was complete: {error}") from None
        try:
            if code != 250:
                smtp.rset()
                if code >= 500:
                    raise TransportUnavailable(
                        f"the server refuses the sender {envelope.sender}: {code} {reply!r}", code=code
                    )
                raise TemporaryFailure(f"MAIL FROM: {code} {reply.decode(errors='replace')}", code=code)
            code, reply = smtp.rcpt(envelope.recipient)
            if code not in (250, 251):
                smtp.rset()
                if code >= 500:  # the recipient refused: the address is the problem
                    raise PermanentFailure(
                        f"RCPT TO: {code} {reply.decode(errors='replace')}", code=code, address=True
                    )
                raise TemporaryFailure(f"RCPT TO: {code} {reply.decode(errors='replace')}", code=code)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                smtp.rset()
                failure = PermanentFailure if code >= 500 else TemporaryFailure
                raise failure(f"DATA: {code} {reply.decode(errors='replace')}", code=code)
            smtp.send(smtp_body(envelope.data))
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise TemporaryFailure(f"connection lost before the message was complete: {error}") from None
        except smtplib.SMTPException as error:
            self._drop()
            raise TemporaryFailure(str(error)) from None
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


class MaildirTransport:
    """Delivers into a local Maildir (``new/``), the default when no SMTP server is configured.

    A message is written under ``tmp/`` and renamed into ``new/`` under a name made from its
    Message-ID: the rename is atomic, and a retry finds the message there and delivers nothing more.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def send(self, envelope: Envelope, *, before_final: Callable[[], None]) -> bool:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", envelope.message_id.strip("<>"))
        final = self.folder / "new" / name
        # delivered first, then recorded: a retry after a crash in between finds it and adds nothing
        if not (final.exists() or (self.folder / "cur" / name).exists()):
            temporary = self.folder / "tmp" / name
            temporary.write_bytes(envelope.data)
            temporary.replace(final)
        before_final()
        return True

    def close(self) -> None:
        return None
