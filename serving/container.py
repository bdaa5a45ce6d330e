"""What the API needs, wired once: database, stores, tokens, rate limiter, ranking service, feature tables."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from features.tables import MarketTables
from matching.referential import Referential
from serving.ranking import RankingService
from serving.security import RateLimiter, TokenService
from serving.store import ServingStore

TABLES_TTL_S = 60.0  # the event log is re-read at most once a minute for explanations and features


class ServiceUnavailable(Exception):
    """A part the request needs (database, index, model) is not available: answered 503."""


@dataclass
class ServingContainer:
    """The API's dependencies. ``load_service`` builds the ranking service (indexes + champion) lazily."""

    engine: Engine
    referential: Referential
    load_service: Callable[[], RankingService]
    limiter: RateLimiter = field(default_factory=RateLimiter)
    store: ServingStore = field(init=False)
    tokens: TokenService = field(init=False)
    _service: RankingService | None = field(default=None, init=False)
    service_error: str = field(default="", init=False)
    _tables: tuple[float, MarketTables] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.store = ServingStore(self.engine)
        self.tokens = TokenService(self.engine)

    def service(self) -> RankingService:
        """The ranking service; retried on each call until it loads (then kept)."""
        with self._lock:
            if self._service is None:
                try:
                    self._service = self.load_service()
                    self.service_error = ""
                except Exception as error:  # any loading failure makes the API not ready, never a 500
                    self.service_error = f"{type(error).__name__}: {error}"
                    raise ServiceUnavailable(
                        f"indexes or model cannot be loaded: {self.service_error}"
                    ) from None
            return self._service

    def tables(self) -> MarketTables:
        """Feature tables read from the database, cached for ``TABLES_TTL_S``."""
        with self._lock:
            if self._tables is None or time.monotonic() - self._tables[0] > TABLES_TTL_S:
                self._tables = (time.monotonic(), MarketTables.from_database(self.engine))
            return self._tables[1]

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False
