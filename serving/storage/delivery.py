"""Persistence of alert e-mail delivery: contacts, digests, and the outbox rows they carry.

The dispatcher (:mod:`serving.batch.delivery`) moves each digest through ``queued`` → ``handing`` →
``sent`` (or back to ``queued`` with a later attempt, or ``failed``); every move is one transaction,
so a dispatcher killed at any instant resumes from a consistent state.
"""

from __future__ import annotations

import fcntl
import hashlib
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, insert, select, text, update
from sqlalchemy.orm import Session

from matching.clock import Clock
from matching.errors import StorageError
from serving.storage.db import write_session
from serving.storage.repository import batches
from serving.storage.tables import AlertRow, ContactRow, DigestRow, OutboxRow, ProfileRow, SubscriptionRow

#: Quiet hours are the person's local hours: France Travail's people, Paris time.
PARIS = ZoneInfo("Europe/Paris")
OPEN = ("queued", "handing")  # a digest still on its way


def quiet_now(moment: datetime, quiet_from: int | None, quiet_until: int | None) -> bool:
    """Whether ``moment`` falls in the quiet hours ``quiet_from`` h → ``quiet_until`` h, Paris time
    (across midnight when ``quiet_from`` > ``quiet_until``; none when either is ``None`` or both equal)."""
    if quiet_from is None or quiet_until is None or quiet_from == quiet_until:
        return False
    hour = moment.astimezone(PARIS).hour
    if quiet_from < quiet_until:
        return quiet_from <= hour < quiet_until
    return hour >= quiet_from or hour < quiet_until


def shard_of(profile_id: str, shards: int) -> int:
    """The dispatcher shard (``0 … shards-1``) a person's digests belong to: a stable hash of the id."""
    return zlib.crc32(profile_id.encode()) % shards


class DigestTaken(Exception):
    """A digest another dispatcher is handing over (a misconfigured shard): left to it."""


@dataclass
class GatherCounts:
    """What gathering waiting outbox rows did, by person (``rows``: outbox rows put in digests)."""

    digests: int = 0
    rows: int = 0
    app_only: int = 0  # rows closed without an e-mail: the subscription is stopped or not by e-mail
    no_address: int = 0
    paused: int = 0
    quiet: int = 0
    cadence: int = 0
    pending: int = 0  # a digest of theirs is still on its way: the new rows wait for the next one

    def add(self, other: GatherCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class DueDigest:
    """A digest to send now."""

    id: int
    profile_id: str
    email: str
    message_id: str
    created_at: datetime
    attempts: int
    alert_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class DeliveryState:
    """A person's delivery: their address, whether it is paused and why, their last digests."""

    profile_id: str
    email: str | None
    paused_at: datetime | None
    pause_reason: str | None
    last_sent_at: datetime | None
    failed: int  # digests that failed for good


class DeliveryStore:
    """Reads and writes contacts, digests and outbox rows of one database."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or Clock()

    # -- contacts -------------------------------------------------------------------------------------
    def set_contacts(self, contacts: Iterable[tuple[str, str]]) -> tuple[int, int]:
        """Store each person's address (``(profile_id, email)``); a changed address lifts a pause.

        Returns
        -------
        tuple
            Addresses added, addresses changed.

        Raises
        ------
        StorageError
            A profile id that is not in the database.
        """
        pairs = dict(contacts)
        now = self.clock.now()
        added = changed = 0
        with write_session(self.engine) as session:
            for chunk in batches(sorted(pairs)):
                known = set(session.scalars(select(ProfileRow.id).where(ProfileRow.id.in_(chunk))))
                unknown = [p for p in chunk if p not in known]
                if unknown:
                    raise StorageError(
                        f"no profile {unknown[0]!r} (and {len(unknown) - 1} more)"
                        if len(unknown) > 1
                        else f"no profile {unknown[0]!r}"
                    )
                rows = {
                    r.profile_id: r
                    for r in session.scalars(select(ContactRow).where(ContactRow.profile_id.in_(chunk)))
                }
                for profile_id in chunk:
                    email = pairs[profile_id]
                    row = rows.get(profile_id)
                    if row is None:
                        session.add(ContactRow(profile_id=profile_id, email=email, updated_at=now))
                        added += 1
                    elif row.email != email:
                        row.email, row.updated_at, row.paused_at, row.pause_reason = email, now, None, None
                        changed += 1
                        _release(session, _failed_digests(profile_id))
        return added, changed

    def pause_address(self, email: str, reason: str) -> int:
        """Pause delivery to ``email`` (any case) for everyone using it; returns how many people."""
        with write_session(self.engine) as session:
            result = session.execute(
                update(ContactRow)
                .where(func.lower(ContactRow.email) == email.strip().lower(), ContactRow.paused_at.is_(None))
                .values(paused_at=self.clock.now(), pause_reason=reason[:500])
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def resume(self, profile_id: str) -> bool:
        """Lift the pause of a person's address: the alerts of their failed digests wait again for
        the next run (a fresh digest, without the offers withdrawn since). ``False``: not paused."""
        with write_session(self.engine) as session:
            row = session.get(ContactRow, profile_id)
            if row is None or row.paused_at is None:
                return False
            row.paused_at, row.pause_reason = None, None
            _release(session, _failed_digests(profile_id))
        return True

    def delivery_state(self, profile_id: str) -> DeliveryState:
        """A person's address, pause and last digest (for the preview page)."""
        with Session(self.engine) as session:
            contact = session.get(ContactRow, profile_id)
            last = session.scalar(
                select(func.max(DigestRow.sent_at)).where(DigestRow.profile_id == profile_id)
            )
            failed = session.scalar(
                select(func.count()).where(DigestRow.profile_id == profile_id, DigestRow.status == "failed")
            )
        return DeliveryState(
            profile_id,
            contact.email if contact else None,
            contact.paused_at if contact else None,
            contact.pause_reason if contact else None,
            last,
            int(failed or 0),
        )

    def paused_contacts(self, *, visible_only: bool, limit: int = 200) -> list[ContactRow]:
        """Paused addresses, latest first (``visible_only``: of people who agreed to be visible)."""
        statement = select(ContactRow).where(ContactRow.paused_at.is_not(None))
        if visible_only:
            statement = statement.join(ProfileRow, ProfileRow.id == ContactRow.profile_id).where(
                ProfileRow.visible
            )
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(statement.order_by(ContactRow.paused_at.desc()).limit(limit)))

    # -- gathering waiting rows into digests ----------------------------------------------------------
    def waiting_profiles(self, *, after: str | None = None, limit: int = 500) -> list[str]:
        """People with outbox rows waiting for a digest, by id, after ``after``."""
        statement = (
            select(AlertRow.profile_id)
            .join(OutboxRow, OutboxRow.alert_id == AlertRow.id)
            .where(OutboxRow.delivered_at.is_(None), OutboxRow.digest_id.is_(None))
            .distinct()
            .order_by(AlertRow.profile_id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(AlertRow.profile_id > after)
        with Session(self.engine) as session:
            return list(session.scalars(statement))

    def gather(
        self, profile_ids: Sequence[str], *, now: datetime, cadence: Mapping[str, timedelta], domain: str
    ) -> GatherCounts:
        """Put each person's waiting e-mail rows into one new digest, in one transaction.

        A person gets none (the rows wait) without an address, with a paused address, with a digest
        still on its way, in their quiet hours, or less than their cadence after their last digest.
        Rows of a stopped subscription, or of one no longer by e-mail, are closed without an e-mail
        (the pages show the alerts).
        """
        counts = GatherCounts()
        with write_session(self.engine) as session:
            rows = session.execute(
                select(OutboxRow.id, AlertRow.profile_id, AlertRow.subscription_id)
                .join(AlertRow, AlertRow.id == OutboxRow.alert_id)
                .where(
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.digest_id.is_(None),
                    AlertRow.profile_id.in_(profile_ids),
                )
                .order_by(OutboxRow.id)
                # PostgreSQL: rows another dispatcher is gathering are left to it (SQLite's write
                # transactions are one at a time anyway)
                .with_for_update(of=OutboxRow, skip_locked=True)
            ).all()
            subscription_ids = sorted({r.subscription_id for r in rows})
            subscriptions = {
                s.id: s
                for s in session.scalars(
                    select(SubscriptionRow).where(SubscriptionRow.id.in_(subscription_ids))
                )
            }
            contacts = {
                c.profile_id: c
                for c in session.scalars(select(ContactRow).where(ContactRow.profile_id.in_(profile_ids)))
            }
            last_sent = dict(
                session.execute(
                    select(DigestRow.profile_id, func.max(DigestRow.sent_at))
                    .where(DigestRow.profile_id.in_(profile_ids), DigestRow.sent_at.is_not(None))
                    .group_by(DigestRow.profile_id)
                ).all()
            )
            on_the_way = set(
                session.scalars(
                    select(DigestRow.profile_id).where(
                        DigestRow.profile_id.in_(profile_ids), DigestRow.status.in_(OPEN)
                    )
                )
            )
            by_person: dict[str, list[tuple[int, SubscriptionRow | None]]] = {}
            closed: list[int] = []
            for outbox_id, profile_id, subscription_id in rows:
                subscription = subscriptions.get(subscription_id)
                if subscription is None or not subscription.active or subscription.channel != "email":
                    closed.append(outbox_id)
                    continue
                by_person.setdefault(profile_id, []).append((outbox_id, subscription))
            counts.app_only = len(closed)
            create: list[tuple[str, str, list[int]]] = []  # (person, address, outbox rows)
            for chunk in batches(closed):
                session.execute(update(OutboxRow).where(OutboxRow.id.in_(chunk)).values(delivered_at=now))
            for profile_id, waiting in by_person.items():
                subscription = waiting[0][1]
                assert subscription is not None
                contact = contacts.get(profile_id)
                last = last_sent.get(profile_id)
                period = cadence.get(subscription.cadence, timedelta(0))
                if contact is None:
                    counts.no_address += 1
                elif contact.paused_at is not None:
                    counts.paused += 1
                elif profile_id in on_the_way:
                    counts.pending += 1
                elif quiet_now(now, subscription.quiet_from, subscription.quiet_until):
                    counts.quiet += 1
                elif last is not None and now - last < period:
                    counts.cadence += 1
                else:
                    create.append((profile_id, contact.email, [outbox_id for outbox_id, _ in waiting]))
            if create:
                # one statement each for the digests, their Message-IDs and their rows (executemany)
                created = session.execute(
                    insert(DigestRow).returning(DigestRow.id, sort_by_parameter_order=True),
                    [
                        {
                            "profile_id": profile_id,
                            "email": email,
                            "message_id": f"<pending.{uuid.uuid4().hex}@{domain}>",
                            "status": "queued",
                            "created_at": now,
                            "attempts": 0,
                            "next_attempt_at": now,
                        }
                        for profile_id, email, _ in create
                    ],
                ).all()
                digest_ids = [row[0] for row in created]
                # derived from its first outbox row and itself: the same at every attempt, another for
                # the fresh digest that carries the rows again after a resumed address
                session.execute(
                    update(DigestRow),
                    [
                        {"id": digest_id, "message_id": f"<alertes.{ids[0]}.{digest_id}@{domain}>"}
                        for digest_id, (_, _, ids) in zip(digest_ids, create, strict=True)
                    ],
                )
                session.execute(
                    update(OutboxRow),
                    [
                        {"id": outbox_id, "digest_id": digest_id}
                        for digest_id, (_, _, ids) in zip(digest_ids, create, strict=True)
                        for outbox_id in ids
                    ],
                )
                counts.digests += len(create)
                counts.rows += sum(len(ids) for _, _, ids in create)
        return counts

    # -- sending --------------------------------------------------------------------------------------
    def due(self, *, now: datetime, after: int = 0, limit: int = 200) -> tuple[list[DueDigest], int, int]:
        """Queued digests whose attempt is due, by id after ``after``, with their alerts; how many of
        the page no longer qualify; the page's last id (``after`` when it is empty).

        What changed since a digest was gathered wins: a stopped subscription or one no longer by
        e-mail (a one-click unsubscribe) closes it (its alerts stay on the pages); a paused or changed
        address drops it, its alerts waiting for the next digest.
        """
        with Session(self.engine) as session:
            digests = session.scalars(
                select(DigestRow)
                .where(DigestRow.status == "queued", DigestRow.next_attempt_at <= now, DigestRow.id > after)
                .order_by(DigestRow.id)
                .limit(limit)
            ).all()
            people = sorted({d.profile_id for d in digests})
            contacts = {
                c.profile_id: c
                for c in session.scalars(select(ContactRow).where(ContactRow.profile_id.in_(people)))
            }
            subscriptions: dict[str, SubscriptionRow] = {}
            for row in session.scalars(
                select(SubscriptionRow)
                .where(SubscriptionRow.profile_id.in_(people))
                .order_by(SubscriptionRow.id)
            ):
                subscriptions.setdefault(row.profile_id, row)
            alerts: dict[int, list[int]] = {}
            for digest_id, alert_id in session.execute(
                select(OutboxRow.digest_id, OutboxRow.alert_id)
                .where(OutboxRow.digest_id.in_([d.id for d in digests]))
                .order_by(OutboxRow.id)
            ):
                if digest_id is not None:
                    alerts.setdefault(int(digest_id), []).append(alert_id)
        closed, dropped, valid = [], [], []
        for d in digests:
            subscription, contact = subscriptions.get(d.profile_id), contacts.get(d.profile_id)
            if subscription is None or not subscription.active or subscription.channel != "email":
                closed.append(d.id)
            elif contact is None or contact.paused_at is not None or contact.email != d.email:
                dropped.append(d.id)
            else:
                valid.append(
                    DueDigest(
                        d.id,
                        d.profile_id,
                        d.email,
                        d.message_id,
                        d.created_at,
                        d.attempts,
                        alerts.get(d.id, []),
                    )
                )
        if closed or dropped:
            with write_session(self.engine) as session:
                stale = [*closed, *dropped]
                session.execute(
                    update(DigestRow)
                    .where(DigestRow.id.in_(stale), DigestRow.status == "queued")
                    .values(
                        status="dropped",
                        last_error="no longer to send: unsubscribed, stopped or address changed",
                    )
                )
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.digest_id.in_(closed), OutboxRow.delivered_at.is_(None))
                    .values(delivered_at=now)
                )
                _release(session, dropped)
        return valid, len(closed) + len(dropped), (digests[-1].id if digests else after)

    @contextmanager
    def handoff(self) -> Iterator[Connection]:
        """A connection kept for marking digests ``handing``: the commit that precedes each final dot
        is then the last thing done before it (no session to set up or close in between)."""
        with self.engine.execution_options(matching_sqlite_immediate=True).connect() as connection:
            sqlite = self.engine.dialect.name == "sqlite"
            if sqlite:
                # in WAL mode a commit is durable against a killed process once written: without the
                # fsync (milliseconds), the commit ends microseconds before the final dot it guards. A
                # power cut may take back this connection's last commits (a digest sent again), never
                # corrupt the file; every other connection keeps SQLite's full synchronisation
                _pragma(connection, "PRAGMA synchronous=NORMAL")
                # nor a checkpoint inside the commit, after its durable point (copying the log into the
                # file takes milliseconds: a death then would leave a digest counted handed over that
                # never got its dot); :meth:`checkpoint` runs between pages instead
                _pragma(connection, "PRAGMA wal_autocheckpoint=0")
            try:
                yield connection
            finally:
                if sqlite:
                    try:
                        connection.rollback()
                        _pragma(connection, "PRAGMA synchronous=FULL")
                        _pragma(connection, "PRAGMA wal_autocheckpoint=1000")  # SQLite's default
                    except Exception:
                        connection.invalidate()  # never back in the pool with the pragmas above
                        raise

    @staticmethod
    def checkpoint(connection: Connection) -> None:
        """Copy SQLite's write-ahead log into the database file (the hand-over connection does not do
        it on its commits); nothing on PostgreSQL."""
        if connection.dialect.name == "sqlite" and not connection.in_transaction():
            _pragma(connection, "PRAGMA wal_checkpoint(PASSIVE)")

    @staticmethod
    def mark_handing(connection: Connection, digest_id: int) -> None:
        """Commit that the digest is being handed over (see :mod:`serving.mail.transport`).

        Raises
        ------
        DigestTaken
            The digest was no longer queued: another dispatcher took it (the message is abandoned
            before its final dot, never sent twice).
        """
        result = connection.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id, DigestRow.status == "queued")
            .values(status="handing")
        )
        if getattr(result, "rowcount", 1) != 1:
            connection.rollback()
            raise DigestTaken(f"digest {digest_id} is no longer queued")
        # the commit is the last thing done before the final dot: a death between the two (a window
        # of microseconds) is the one case where a digest counted handed over never reached the server
        connection.commit()

    def mark_sent(
        self, digest_id: int, *, now: datetime, note: str | None = None, connection: Connection | None = None
    ) -> None:
        """The digest was handed over: it and its outbox rows are delivered, in one transaction (on
        ``connection``, the dispatcher's kept one, when given)."""
        statements = (
            update(DigestRow)
            .where(DigestRow.id == digest_id)
            .values(status="sent", sent_at=now, last_error=note),
            update(OutboxRow)
            .where(OutboxRow.digest_id == digest_id, OutboxRow.delivered_at.is_(None))
            .values(delivered_at=now),
        )
        if connection is not None:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
            return
        with write_session(self.engine) as session:
            for statement in statements:
                session.execute(statement)

    def mark_retry(self, digest_id: int, *, error: str, at: datetime) -> None:
        """A temporary failure: the digest is tried again at ``at``."""
        with write_session(self.engine) as session:
            session.execute(
                update(DigestRow)
                .where(DigestRow.id == digest_id)
                .values(
                    status="queued",
                    attempts=DigestRow.attempts + 1,
                    next_attempt_at=at,
                    last_error=error[:1000],
                )
            )

    def mark_failed(self, digest_id: int, *, error: str, now: datetime, pause: bool = True) -> None:
        """A permanent failure: the digest fails for good and (``pause``) its address is paused. An
        address changed since the digest was made is not paused: the alerts wait for the next digest,
        to the new one."""
        with write_session(self.engine) as session:
            digest = session.get(DigestRow, digest_id)
            if digest is None:
                return
            digest.status, digest.attempts, digest.last_error = "failed", digest.attempts + 1, error[:1000]
            contact = session.get(ContactRow, digest.profile_id)
            if contact is not None and contact.email != digest.email:
                _release(session, [digest_id])
            elif contact is not None and pause:
                contact.paused_at, contact.pause_reason = now, error[:500]

    def mark_dropped(self, digest_id: int) -> None:
        """Nothing left to show (every offer withdrawn): the digest is not sent."""
        with write_session(self.engine) as session:
            session.execute(update(DigestRow).where(DigestRow.id == digest_id).values(status="dropped"))

    def settle_handing(self, *, shard: tuple[int, int], now: datetime) -> int:
        """Digests left ``handing`` by a dispatcher killed after committing that state (its final dot
        may have left): counted as handed over, never sent again. Returns how many."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(DigestRow.id, DigestRow.profile_id).where(DigestRow.status == "handing")
            ).all()
        settled = [digest_id for digest_id, profile in rows if shard_of(profile, shard[1]) == shard[0]]
        for digest_id in settled:
            self.mark_sent(
                digest_id, now=now, note="unconfirmed: the dispatcher stopped while handing it over"
            )
        return len(settled)

    def counts(self) -> dict[str, int]:
        """Digests by status, and outbox e-mail rows still waiting for a digest."""
        with Session(self.engine) as session:
            out = {
                str(status): int(n)
                for status, n in session.execute(
                    select(DigestRow.status, func.count()).group_by(DigestRow.status)
                )
            }
            out["waiting_rows"] = int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(and_(OutboxRow.delivered_at.is_(None), OutboxRow.digest_id.is_(None)))
                )
                or 0
            )
        return out


@contextmanager
def dispatcher_lock(engine: Engine, shard: tuple[int, int]) -> Iterator[bool]:
    """Hold the lock of a dispatcher shard for the block; yields whether it was obtained.

    A second dispatcher of the same shard would send the digests the first one is handing over. The
    lock dies with its holder, even killed: an advisory lock on PostgreSQL (held by a connection), a
    ``flock`` on a file beside a SQLite database.
    """
    index, count = shard
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        # one 64-bit key per shard (a session lock: it outlives the transaction that takes it)
        digest = hashlib.blake2b(f"delivery:{index}/{count}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        with engine.connect() as connection:
            got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            connection.commit()  # not "idle in transaction" for the whole run
            try:
                yield got
            finally:
                if got:
                    connection.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    database = engine.url.database
    if backend != "sqlite" or not database or database == ":memory:":
        yield True
        return
    path = Path(database).with_name(f"{Path(database).name}.delivery-{index}-of-{count}.lock")
    handle: IO[bytes] = path.open("ab")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()


def _pragma(connection: Connection, statement: str) -> None:
    """A SQLite pragma on the driver's connection itself (outside any transaction, which would refuse it)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(statement)


def _failed_digests(profile_id: str) -> Any:
    return select(DigestRow.id).where(DigestRow.profile_id == profile_id, DigestRow.status == "failed")


def _release(session: Session, digest_ids: Any) -> None:
    """The undelivered outbox rows of these digests (ids, or a select of ids) wait for a new digest."""
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.digest_id.in_(digest_ids), OutboxRow.delivered_at.is_(None))
        .values(digest_id=None)
    )


def next_digest_alerts(engine: Engine, profile_id: str) -> list[int]:
    """The alerts a person's next digest would carry: their e-mail rows waiting for a digest or in
    one still on its way, in outbox order."""
    on_the_way = select(DigestRow.id).where(DigestRow.profile_id == profile_id, DigestRow.status.in_(OPEN))
    with Session(engine) as session:
        return list(
            session.scalars(
                select(OutboxRow.alert_id)
                .join(AlertRow, AlertRow.id == OutboxRow.alert_id)
                .where(
                    AlertRow.profile_id == profile_id,
                    OutboxRow.delivered_at.is_(None),
                    (OutboxRow.digest_id.is_(None)) | (OutboxRow.digest_id.in_(on_the_way)),
                )
                .order_by(OutboxRow.id)
            )
        )
