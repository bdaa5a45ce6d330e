"""The alert dispatcher: waiting outbox rows → one e-mail digest per person and run, handed over once.

A run (``matching alerts deliver``, and the daily job after its alert batch):

1. settles the digests a killed dispatcher left ``handing`` (counted as handed over: never twice);
2. gathers each person's waiting e-mail rows into a digest — unless they have no address, a paused
   one, a digest still on its way, are in their quiet hours, or got one less than their cadence ago;
3. sends the due digests: rendered (:mod:`serving.mail.digest`), then handed to the transport
   (:mod:`serving.mail.transport`), with a per-domain rate limit. A temporary failure is retried
   later with exponential backoff; a permanent one (or ``MAX_ATTEMPTS`` temporary ones) fails the
   digest and pauses the address, which counsellors see; an unreachable server stops the run, every
   digest keeping its place.

Every state change is one transaction, and the one before a message's final dot is committed just
before it: killed at any instant (``kill -9``) and started again, a dispatcher neither loses nor
duplicates an e-mail (the transport's module says the one window SMTP leaves, and which way it
falls). Shards (``shard=(i, n)``, by a hash of the person) let ``n`` dispatchers share the work, each
holding its shard's lock.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from serving.batch.alerts import CADENCE
from serving.mail.digest import DigestComposer
from serving.mail.transport import (
    Envelope,
    MailTransport,
    PermanentFailure,
    TemporaryFailure,
    TransportUnavailable,
)
from serving.storage.delivery import (
    DeliveryStore,
    DigestTaken,
    DueDigest,
    GatherCounts,
    dispatcher_lock,
    shard_of,
)
from serving.storage.store import utcnow

logger = logging.getLogger(__name__)
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=6)
#: Temporary failures before a digest fails for good: 5 min, 10, 20, 40, 80, 160, 320 → ~10 h of tries.
MAX_ATTEMPTS = 8
GATHER_CHUNK = 500
SEND_CHUNK = 200


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: doubling from ``RETRY_BASE``, at most ``RETRY_CAP``."""
    return min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts - 1))


class DomainRateLimiter:
    """At most ``rate`` messages per second to each recipient domain (a token bucket of ``rate``
    tokens): big mailbox providers throttle, then refuse, senders that go faster."""

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate per domain must be positive")
        self.rate = rate
        self.monotonic, self.sleep = monotonic, sleep
        self._tokens: dict[str, tuple[float, float]] = {}  # domain -> (tokens, when)
        self.waited = 0.0

    def wait(self, domain: str) -> None:
        """Block until a message to ``domain`` may leave, and take its token."""
        now = self.monotonic()
        tokens, when = self._tokens.get(domain, (self.rate, now))
        tokens = min(self.rate, tokens + (now - when) * self.rate)
        if tokens < 1:
            pause = (1 - tokens) / self.rate
            self.sleep(pause)
            self.waited += pause
            now, tokens = now + pause, 1.0
        self._tokens[domain] = (tokens - 1, now)


def interleave_domains(digests: Sequence[DueDigest]) -> list[DueDigest]:
    """The digests, one per recipient domain in turn (so that a throttled domain does not hold the
    others back), each domain's in their order."""
    queues: dict[str, deque[DueDigest]] = defaultdict(deque)
    for digest in digests:
        queues[digest.email.rpartition("@")[2].lower()].append(digest)
    out: list[DueDigest] = []
    while queues:
        for domain in list(queues):
            out.append(queues[domain].popleft())
            if not queues[domain]:
                del queues[domain]
    return out


@dataclass
class DeliverySummary:
    """What a dispatcher run did."""

    gathered: GatherCounts = field(default_factory=GatherCounts)
    settled: int = 0  # left "handing" by a killed dispatcher: counted as handed over
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    errors: int = 0  # digests that could not be rendered (retried later; the cause is logged)
    taken: int = 0  # digests another dispatcher was handing over
    stopped: str | None = None  # why the run stopped early (the server unreachable…)
    locked: bool = False  # another dispatcher holds this shard: nothing done
    seconds: float = 0.0
    render_seconds: float = 0.0
    handover_seconds: float = 0.0
    rate_wait_seconds: float = 0.0


def deliver_digests(
    store: DeliveryStore,
    composer: DigestComposer,
    transport: MailTransport,
    *,
    shard: tuple[int, int] = (0, 1),
    rate_per_domain: float = 10.0,
    limit: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    limiter: DomainRateLimiter | None = None,
    now: datetime | None = None,
) -> DeliverySummary:
    """Run the dispatcher once (see the module's docstring); returns what it did.

    Parameters
    ----------
    store
        The delivery tables.
    composer
        Renders each digest.
    transport
        Hands messages over (closed at the end).
    shard
        ``(index, count)``: this dispatcher's share of the people.
    rate_per_domain
        Messages per second to one recipient domain.
    limit
        At most this many digests sent (``None``: all that are due).
    progress
        Called with (digests handled, digests due or ``None`` while gathering).
    limiter
        The per-domain limiter (default: one of ``rate_per_domain``).
    now
        The run's moment for quiet hours, cadence and the links' issue (default: real time, which
        links expire by).
    """
    started = time.perf_counter()
    summary = DeliverySummary()
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count}: expected 0 <= index < count")
    with dispatcher_lock(store.engine, shard) as got:
        if not got:
            summary.locked = True
            return summary
        try:
            _run(
                store,
                composer,
                transport,
                summary,
                shard,
                limiter or DomainRateLimiter(rate_per_domain),
                limit,
                progress,
                now or utcnow(),
            )
        finally:
            transport.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _run(
    store: DeliveryStore,
    composer: DigestComposer,
    transport: MailTransport,
    summary: DeliverySummary,
    shard: tuple[int, int],
    limiter: DomainRateLimiter,
    limit: int | None,
    progress: Callable[[int, int | None], None] | None,
    now: datetime,
) -> None:
    index, count = shard
    mine = (lambda profile: shard_of(profile, count) == index) if count > 1 else (lambda _profile: True)
    summary.settled = store.settle_handing(shard=shard, now=now)
    cadence = {name: period.to_pytimedelta() for name, period in CADENCE.items()}
    after: str | None = None
    while True:
        people = store.waiting_profiles(after=after, limit=GATHER_CHUNK)
        if not people:
            break
        after = people[-1]
        chosen = [p for p in people if mine(p)]
        if chosen:
            summary.gathered.add(store.gather(chosen, now=now, cadence=cadence, domain=composer.mail.domain))
        if progress is not None:
            progress(summary.gathered.digests, None)
    sender = composer.mail.sender_address
    handled = 0
    last_id = 0
    with store.handoff() as connection:
        while limit is None or handled < limit:
            page, stale, page_end = store.due(now=now, after=last_id, limit=SEND_CHUNK)
            summary.dropped += stale
            if page_end == last_id:
                break
            last_id = page_end
            todo = interleave_domains([d for d in page if mine(d.profile_id)])
            composer.prefetch({d.profile_id: d.alert_ids for d in todo})  # a few queries for the page
            for digest in todo:
                if limit is not None and handled >= limit:
                    break
                handled += 1
                if not _send_one(
                    store, composer, transport, limiter, connection, digest, sender, summary, now
                ):
                    return
                if progress is not None:
                    progress(handled, None)
            store.checkpoint(connection)
    summary.rate_wait_seconds = limiter.waited


def _send_one(
    store: DeliveryStore,
    composer: DigestComposer,
    transport: MailTransport,
    limiter: DomainRateLimiter,
    connection: Connection,
    digest: DueDigest,
    sender: str,
    summary: DeliverySummary,
    now: datetime,
) -> bool:
    """Render and hand over one digest, recording the outcome at the run's ``now``; ``False``: stop
    the run."""
    rendering = time.perf_counter()
    try:
        view = composer.view(digest.profile_id, digest.alert_ids, issued_at=digest.created_at)
        data = (
            None
            if view is None
            else composer.message(
                view, recipient=digest.email, message_id=digest.message_id, date=digest.created_at
            )
        )
    except Exception as error:  # one digest that cannot be rendered must not hold back everyone's
        logger.exception("digest %s of %s cannot be rendered", digest.id, digest.profile_id)
        store.mark_retry(digest.id, error=f"rendering: {error!r}", at=now + backoff(digest.attempts + 1))
        summary.errors += 1
        return True
    if data is None:
        store.mark_dropped(digest.id)
        summary.dropped += 1
        return True
    summary.render_seconds += time.perf_counter() - rendering
    limiter.wait(digest.email.rpartition("@")[2].lower())
    handing = time.perf_counter()
    envelope = Envelope(sender=sender, recipient=digest.email, data=data, message_id=digest.message_id)
    try:
        confirmed = transport.send(envelope, before_final=lambda: store.mark_handing(connection, digest.id))
    except DigestTaken:  # another dispatcher holds it (shards misconfigured): abandoned before its dot
        summary.taken += 1
        return True
    except TransportUnavailable as error:  # raised before anything was committed: the digest waits
        summary.stopped = str(error)
        return False
    except PermanentFailure as error:
        store.mark_failed(digest.id, error=str(error), now=now, pause=error.address)
        summary.failed += 1
        return True
    except TemporaryFailure as error:
        attempts = digest.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            # a recipient's server failing for hours says the mailbox is not usable; our own relay's
            # failures (no reply code) do not pause anyone's address
            store.mark_failed(
                digest.id, error=f"{attempts} attempts, last: {error}", now=now, pause=bool(error.code)
            )
            summary.failed += 1
        else:
            store.mark_retry(digest.id, error=str(error), at=now + backoff(attempts))
            summary.retried += 1
        return True
    note = None if confirmed else "unconfirmed: no reply to the final dot"
    store.mark_sent(digest.id, now=now, note=note, connection=connection)
    summary.handover_seconds += time.perf_counter() - handing
    summary.sent += 1
    return True
