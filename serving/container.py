"""What the API needs, wired once: database, stores, tokens, rate limiter, ranking service, feature tables."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, text

from features.tables import MarketTables
from matching.clock import Clock
from matching.geo import Communes
from matching.ingest import fit_rome_classifier
from matching.referential import Referential
from matching.rome_classifier import RomeClassifier
from matching.skills import SkillExtractor
from models import DEFAULT_MODEL_NAME
from models.pipeline import RankingService
from serving.links import MailSettings
from serving.security import RateLimiter, TokenService
from serving.storage.market import read_market_tables
from serving.storage.repository import API_SOURCE_PREFIX, CHANGES_OVERLAP, SqlRepository, offer_hash
from serving.storage.store import ServingStore

logger = logging.getLogger(__name__)

TABLES_TTL_S = 60.0  # the event log is re-read at most once a minute for explanations and features
REFRESH_S = 30.0  # how often a loaded service checks for a newer index or champion
# The live index takes a partner's trickle of offers at once; a bulk of them (a day's ingest before
# its index version is published, an API started days after the last one) would be embedded while
# every request waits on the lock (about 6 s per 100 offers with e5-onnx on 2 cores): beyond this
# many, only the offers published through the API are applied, the rest waits for the next index
# version (`matching index update`, `matching daily`).
MAX_LIVE_OFFERS = 100
WITHDRAWN = "withdrawn"


class ServiceUnavailable(Exception):
    """A part the request needs (database, index, model) is not available: answered 503.

    Raised by :meth:`ServingContainer.service`; ``serving.app`` maps it to 503 once, so a use case just
    calls ``container.service()`` after its own 403/404 checks (which keeps their precedence).
    """


@dataclass
class ServingContainer:
    """The API's dependencies. ``load_service`` builds the ranking service (indexes + champion) lazily.

    ``probe_service`` returns a cheap key of what ``load_service`` would load now (index files, champion
    version). Every ``refresh_s`` a loaded container probes; when the key changed it loads the new
    service, and if that fails — index truncated, alias gone, registry unreachable — it keeps serving
    the last-known-good one and says so in :attr:`degraded` (shown by ``/ready``).

    The live offer index is the loaded version plus the offers received or withdrawn in the database
    since that version read it (:meth:`sync_offers`, run at load, every ``refresh_s``, and at once by
    the process that publishes or withdraws an offer): every API process converges on the database
    within ``refresh_s``, and a new version replaces the live changes it already holds. Served lists
    log the index as ``<version>+<changes applied>``.
    """

    engine: Engine
    referential: Referential
    load_service: Callable[[], RankingService]
    probe_service: Callable[[], str] | None = None
    refresh_s: float = REFRESH_S
    tracking_uri: str | None = None  # the MLflow registry the model page reads (None: not configured)
    model_name: str = DEFAULT_MODEL_NAME
    communes: Communes | None = None  # geocodes offers published through the API (None: as given)
    # the saved skill extractor (None: none built; offers published keep only the skills they list)
    load_skills: Callable[[Referential], SkillExtractor | None] = lambda _referential: None
    # alert e-mails: sender, public address of the pages, link signer (None: the e-mail links' pages
    # answer that they are not configured)
    mail: MailSettings | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    clock: Clock = field(default_factory=Clock)  # the world's now: ranking, trainings, the event log
    store: ServingStore = field(init=False)
    repository: SqlRepository = field(init=False)  # offers and profiles as domain objects
    tokens: TokenService = field(init=False)
    _service: RankingService | None = field(default=None, init=False)
    service_error: str = field(default="", init=False)
    degraded: str = field(default="", init=False)
    _loaded_key: str | None = field(default=None, init=False)
    _refused_key: str | None = field(default=None, init=False)
    _checked_at: float = field(default=0.0, init=False)
    _failed_key: str | None = field(default=None, init=False)  # what the last failed load probed
    _failed_at: float = field(default=0.0, init=False)
    _tables: tuple[float, MarketTables] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _offers_mark: datetime | None = field(default=None, init=False)  # changes after it: not applied yet
    _applied: dict[str, str] = field(default_factory=dict, init=False)  # offer id -> content hash applied
    _base_version: str = field(default="", init=False)
    _rome_classifier: RomeClassifier | None = field(default=None, init=False)
    _classifier_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _skills: tuple[SkillExtractor | None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = ServingStore(self.engine, clock=self.clock)
        self.repository = SqlRepository(self.engine)
        self.tokens = TokenService(self.engine)

    def service(self) -> RankingService:
        """The ranking service: loaded on first use (retried on each call until it loads), then
        refreshed when a newer index or champion appears, the last-known-good kept if that fails."""
        with self._lock:
            if self._service is None:
                key = self._probe()
                # the same inputs failed less than refresh_s ago: answer at once rather than load the
                # encoder and the indexes again on every request (seconds each) to fail the same way
                if (
                    self.service_error
                    and key == self._failed_key
                    and time.monotonic() - self._failed_at < self.refresh_s
                ):
                    raise ServiceUnavailable(f"indexes or model cannot be loaded: {self.service_error}")
                try:
                    self._service = self.load_service()
                except Exception as error:  # any loading failure makes the API not ready, never a 500
                    self.service_error = f"{type(error).__name__}: {error}"
                    self._failed_key, self._failed_at = key, time.monotonic()
                    raise ServiceUnavailable(
                        f"indexes or model cannot be loaded: {self.service_error}"
                    ) from None
                self.service_error, self._loaded_key, self._checked_at = "", key, time.monotonic()
                self._follow(self._service)
                self._sync()
            elif time.monotonic() - self._checked_at >= self.refresh_s:
                if self.probe_service is not None:
                    self._refresh(self._service)
                self._checked_at = time.monotonic()
                self._sync()
            return self._service

    def rome_classifier(self) -> RomeClassifier:
        """The ROME classifier that codes offers published without a ``romeCode``: fit on the first one
        (about 2 s on the official ROME; its own lock, so requests that need no classifier never wait),
        then kept for the process."""
        with self._classifier_lock:
            if self._rome_classifier is None:
                self._rome_classifier = fit_rome_classifier(self.referential)
            return self._rome_classifier

    def skill_extractor(self) -> SkillExtractor | None:
        """The skill extractor that reads published offers' skills from their text: loaded on first use
        (under the classifier's lock: both are loaded once, off the ranking path), then kept."""
        with self._classifier_lock:
            if self._skills is None:
                try:
                    self._skills = (self.load_skills(self.referential),)
                # altered, stale, unreadable: refused, never a 500 nor used half-way
                except Exception as error:
                    raise ServiceUnavailable(
                        f"skill extractor cannot be loaded: {type(error).__name__}: {error}"
                    ) from None
            return self._skills[0]

    def sync_offers(self) -> bool:
        """Apply to the loaded offer index what changed in the database since; ``False`` if that failed.

        Nothing to do while no service is loaded: loading one applies the changes since its version.
        """
        with self._lock:
            return self._service is None or self._sync()

    def live_index_version(self) -> str | None:
        """The version of the loaded indexes with the live changes applied; ``None`` before they load."""
        with self._lock:
            return self._service.index_version if self._service is not None else None

    def _follow(self, service: RankingService) -> None:
        """Start applying offer changes on top of a newly loaded version."""
        self._base_version, self._applied = service.index_version, {}
        # the version holds every offer change up to its index_as_of; a version built elsewhere than
        # from this database (a simulated world): the changes from now on
        self._offers_mark = service.index_as_of or datetime.now(UTC)

    def _sync(self) -> bool:
        """Apply the database's offer changes since the mark to the loaded service (copy on write)."""
        assert self._service is not None and self._offers_mark is not None
        try:
            changes = self.repository.offer_changes(self._offers_mark)
            published = [o for o in changes.published if self._applied.get(o.id) != offer_hash(o)]
            if len(published) > MAX_LIVE_OFFERS:
                trickle = [o for o in published if o.source.startswith(API_SOURCE_PREFIX)][:MAX_LIVE_OFFERS]
                logger.info(
                    "%d offer changes wait for the next index version (matching index update)",
                    len(published) - len(trickle),
                )
                published = trickle
            offers = getattr(self._service.generator, "offers_", None)
            withdrawn = [  # only those the live index holds: others need no copy of it
                i
                for i in changes.withdrawn
                if self._applied.get(i, WITHDRAWN) != WITHDRAWN or (offers is not None and offers.has(i))
            ]
            if published or withdrawn:
                applied = {
                    **self._applied,
                    **{o.id: offer_hash(o) for o in published},
                    **dict.fromkeys(withdrawn, WITHDRAWN),
                }
                self._service = self._service.with_offers(
                    published, withdrawn, index_version=f"{self._base_version}+{len(applied)}"
                )
                self._applied = applied
                self._tables = None  # sourcing reads the new offers' rows at once
        except Exception as error:  # database or encoder down: the next check retries the same changes
            logger.warning("offer changes not applied to the live index: %s: %s", type(error).__name__, error)
            return False
        # past what waits too: the next index version holds it (and resets the mark), and reading a
        # bulk again at every check would cost what the cap saves
        if changes.until is not None:
            self._offers_mark = max(self._offers_mark, changes.until - CHANGES_OVERLAP)
        return True

    def _probe(self) -> str | None:
        if self.probe_service is None:
            return None
        try:
            return self.probe_service()
        except Exception as error:  # registry or index folder unreadable: nothing to compare with
            self.degraded = f"cannot check for a newer index or model ({type(error).__name__}: {error})"
            return None

    def _refresh(self, current: RankingService) -> None:
        self._checked_at = time.monotonic()
        key = self._probe()
        if key is None or key == self._refused_key:  # cannot tell (said by _probe), or already refused
            return
        if key == self._loaded_key:
            self.degraded = ""
            return
        try:
            fresh = self.load_service()
        except Exception as error:
            self._refused_key = key
            self.degraded = (
                f"serving the last-known-good index and model: the new ones cannot be loaded "
                f"({type(error).__name__}: {error})"
            )
            return
        if fresh.ranker is None and current.ranker is not None:
            self._refused_key = key
            self.degraded = (
                f"serving the last-known-good model {current.model_version}: {fresh.unavailable_model}"
            )
            return
        self._service, self._loaded_key, self._refused_key, self.degraded = fresh, key, None, ""
        self._follow(fresh)

    def tables(self) -> MarketTables:
        """Feature tables read from the database, cached for ``TABLES_TTL_S``: the events up to the clock's
        now (a demo world's history may run past its pinned day: what has not happened yet is not read)."""
        with self._lock:
            if self._tables is None or time.monotonic() - self._tables[0] > TABLES_TTL_S:
                now = pd.Timestamp(self.clock.now()) + pd.Timedelta(seconds=1)
                self._tables = (time.monotonic(), read_market_tables(self.engine).events_before(now))
            return self._tables[1]

    def database_ok(self) -> bool:
        """The database answers and holds the engine's schema (a fresh empty SQLite file does not)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT version_num FROM alembic_version"))
            return True
        except Exception:
            return False
