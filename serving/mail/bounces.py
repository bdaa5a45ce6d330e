"""Bounces: the delivery status notifications (RFC 3464) a mail server returns for a message it
could not deliver, read to pause the addresses that failed for good."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path


@dataclass(frozen=True)
class Bounce:
    """A recipient a report says failed permanently (``Action: failed``, status 5.x.x)."""

    address: str
    status: str
    diagnostic: str


def _recipient_blocks(report: Message) -> list[Message]:
    """The per-recipient field groups of a ``message/delivery-status`` part (the first group is the
    per-message one)."""
    payload = report.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)][1:]
    return []


def _returned_message_ids(message: Message) -> list[str]:
    """The Message-IDs of the message a report returns (its ``message/rfc822`` or
    ``text/rfc822-headers`` part)."""
    ids = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            for returned in payload if isinstance(payload, list) else []:
                if isinstance(returned, Message) and returned.get("Message-ID"):
                    ids.append(str(returned["Message-ID"]).strip())
        elif kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            headers = message_from_bytes(raw if isinstance(raw, bytes) else b"", policy=policy.compat32)
            if headers.get("Message-ID"):
                ids.append(str(headers["Message-ID"]).strip())
    return ids


def permanent_failures(data: bytes, *, ours: str | None = None) -> list[Bounce]:
    """The recipients a delivery status notification reports as failed for good; empty for any other
    message (a delay notice, an auto-reply, a report of success).

    With ``ours`` (the domain our Message-IDs end with), only a report that returns one of our
    digests counts: anyone can send a forged report, not one quoting a Message-ID they never received.
    """
    message = message_from_bytes(data, policy=policy.compat32)
    if ours is not None and not any(
        i.startswith("<alertes.") and i.endswith(f"@{ours}>") for i in _returned_message_ids(message)
    ):
        return []
    out = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _recipient_blocks(part):
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip()
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient") or ""
            address = recipient.partition(";")[2].strip() if ";" in recipient else recipient.strip()
            if action == "failed" and status.startswith("5") and "@" in address:
                diagnostic = " ".join((block.get("Diagnostic-Code") or "").split())
                out.append(Bounce(address.strip("<>"), status, diagnostic))
    return out


def report_files(path: Path) -> list[Path]:
    """The messages to read at ``path``: the file itself, or every file of a folder (a Maildir's
    ``new`` and ``cur`` included), by name."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
