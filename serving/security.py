"""API tokens (hashed secrets, lockout after repeated failures) and a per-caller rate limiter.

A token reads ``<id>.<secret>``; only ``sha256(secret)`` is stored (secrets are 32 random bytes, so a
fast hash is enough: there is nothing to brute-force). After ``MAX_FAILURES`` wrong secrets in a row a
token is locked for ``LOCKOUT``; the failure that reaches the limit is refused like the others.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from serving.storage.db import write_session
from serving.storage.store import utcnow
from serving.storage.tables import ApiTokenRow

MAX_FAILURES = 10
LOCKOUT = timedelta(minutes=15)


class Role(enum.StrEnum):
    JOBSEEKER = "jobseeker"
    COUNSELLOR = "counsellor"
    ADMIN = "admin"  # data scientist / administrator
    PARTNER = "partner"  # an employer or job board publishing offers (``PUT /offers/{id}``), nothing else


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and the subject it acts for (the profile id for a jobseeker)."""

    token_id: str
    role: Role
    subject_id: str


class AuthError(Exception):
    """Missing, malformed, wrong or locked credentials (always answered 401, without details)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    """Creates and verifies API tokens stored in ``api_tokens``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, role: Role, subject_id: str) -> str:
        """A new token; the returned string is the only time the secret exists in clear."""
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        with write_session(self.engine) as session:
            session.add(
                ApiTokenRow(
                    id=token_id,
                    role=role.value,
                    subject_id=subject_id,
                    secret_hash=_hash(secret),
                    created_at=utcnow(),
                    failed_attempts=0,
                    active=True,
                )
            )
        return f"{token_id}.{secret}"

    def verify(self, token: str) -> Principal:
        token_id, _, secret = token.partition(".")
        if not token_id or not secret:
            raise AuthError("malformed token")
        now = utcnow()
        with Session(self.engine) as session:  # the usual case only reads: no write lock per request
            row = session.get(ApiTokenRow, token_id)
            if (
                row is not None
                and row.active
                and not (row.locked_until is not None and row.locked_until > now)
                and hmac.compare_digest(row.secret_hash, _hash(secret))
                and not row.failed_attempts
            ):
                return Principal(row.id, Role(row.role), row.subject_id)
        # a failure to count, or a count to reset: decided again under the row's write lock
        failure = None
        with write_session(self.engine) as session:
            row = session.get(ApiTokenRow, token_id, with_for_update=True)
            if row is None or not row.active:
                failure = "unknown token"
            elif row.locked_until is not None and row.locked_until > now:
                failure = "token locked"
            elif not hmac.compare_digest(row.secret_hash, _hash(secret)):
                # counted in this transaction, which commits: the error is raised after it
                failures = row.failed_attempts + 1
                locked = failures >= MAX_FAILURES
                session.execute(
                    update(ApiTokenRow)
                    .where(ApiTokenRow.id == token_id)
                    .values(
                        failed_attempts=0 if locked else failures,
                        locked_until=now + LOCKOUT if locked else row.locked_until,
                    )
                )
                failure = "wrong secret"
            else:
                if row.failed_attempts:
                    row.failed_attempts = 0
                principal = Principal(row.id, Role(row.role), row.subject_id)
        if failure is not None:
            raise AuthError(failure)
        return principal


class RateLimiter:
    """Sliding-window limit of ``limit`` requests per ``window`` seconds per caller (in this process)."""

    def __init__(self, limit: int = 120, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True
