"""A real SMTP server on loopback for the tests (aiosmtpd), recording what it accepts.

It speaks the protocol as a relay does: a message counts once its final dot is acknowledged; a
client that drops the connection before gets nothing recorded. Replies can be scripted per recipient
(``reject``) and each accepted message can take a while (``delay``), as a relay scanning it would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Recorder:
    """The aiosmtpd handler: accepted messages, in order, and scripted refusals."""

    reject: dict[str, str] = field(default_factory=dict)  # recipient -> reply ("550 5.1.1 …")
    delay: float = 0.0
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return "250 2.0.0 queued"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message_from_bytes(data, policy=policy.default) for _, _, data in self.received]

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@contextmanager
def smtp_server(**options: Any) -> Iterator[tuple[Controller, Recorder]]:
    """A running server on 127.0.0.1 (``options`` go to :class:`aiosmtpd.controller.Controller`)."""
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()
