"""Shared fixtures: reference data from ../shared/data, databases (SQLite always, PostgreSQL when set),
and what several modules build the same way, built once per session: the committed sample world, a
small simulated world with its evaluation context, indexes, a loaded database and a trained ranker.

Session fixtures are shared by every module: a test that needs to change one works on a copy.
(OpenMP's wait policy is set in ``tests/__init__.py``, before anything loads it.)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from entrypoints.settings import BUILTIN, PROJECT_ROOT, get_settings
from entrypoints.world_loader import load_world
from eval.market import MarketContext
from eval.simulator import MarketConfig, World, read_world, simulate_market
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator, save_generator
from matching.encoders import HashingEncoder
from matching.geo import Communes, load_communes, load_laposte
from matching.referential import Referential, load_builtin, load_rome_csv
from models.ranker import RankerConfig
from models.training import TrainingResult, train_ranker
from serving.storage.db import make_engine, migrate
from serving.storage.repository import SqlRepository
from serving.storage.tables import Base

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model hub here: never try to reach one
SAMPLE_WORLD = PROJECT_ROOT / "data" / "sample" / "world"


@pytest.fixture(scope="session", autouse=True)
def _builtin_reference_by_default() -> Iterator[None]:
    """Commands default to the official ROME export and La Poste base when the reference data is there
    (and CI exports MATCHING_REFERENCE_DATA): tests get the small built-in ones unless they pass the
    official files themselves (``rome_dir``, ``communes_file`` fixtures), so they stay fast and
    deterministic whatever the machine holds."""
    names = ("MATCHING_ROME_DIR", "MATCHING_COMMUNES_FILE")
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, BUILTIN))
    get_settings.cache_clear()
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _session_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands persist embeddings under ``MATCHING_CACHE_DIR`` (default ``var/cache``) and read the
    Formacode links of ``MATCHING_FORMACODE_LINKS_DIR`` (``var/models/formacode-links``) and the skill
    extractor of ``MATCHING_SKILL_EXTRACTOR_DIR``; alert e-mails go to ``MATCHING_MAIL_DIR`` with links
    signed by the key of ``MATCHING_LINK_SECRET_FILE``: point them at folders of this session, so tests neither read nor write the clone's and run the same on a fresh
    clone as on a used one."""
    folders = {
        "MATCHING_CACHE_DIR": tmp_path_factory.mktemp("embedding-cache"),
        "MATCHING_FORMACODE_LINKS_DIR": tmp_path_factory.mktemp("artifacts") / "formacode-links",
        "MATCHING_SKILL_EXTRACTOR_DIR": tmp_path_factory.mktemp("artifacts") / "skill-extractor",
        # alert e-mails: the Maildir they go to without an SMTP server, the key file signing their links
        "MATCHING_MAIL_DIR": tmp_path_factory.mktemp("mail") / "maildir",
        "MATCHING_LINK_SECRET_FILE": tmp_path_factory.mktemp("secrets") / "link-secret",
    }
    before = {name: os.environ.get(name) for name in folders}
    os.environ.update({name: str(path) for name, path in folders.items()})
    get_settings.cache_clear()
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path} (set MATCHING_REFERENCE_DATA)"
    if IN_CI:
        pytest.fail(message)  # CI always has ../shared beside the clone: a missing file is a real error
    pytest.skip(message)


@pytest.fixture(scope="session")
def reference_data() -> Path:
    root = Path(os.environ.get("MATCHING_REFERENCE_DATA", PROJECT_ROOT.parent / "shared" / "data"))
    return _require(root, "reference data")


@pytest.fixture(scope="session")
def rome_dir(reference_data: Path) -> Path:
    return _require(reference_data / "rome_v460", "ROME export")


@pytest.fixture(scope="session")
def trainings_data(reference_data: Path) -> Path:
    """``../shared/data/trainings``: LHEO documents and schema, Mon Compte Formation samples, Formacode."""
    return _require(reference_data / "trainings", "training catalogues")


@pytest.fixture(scope="session")
def ft_cases(reference_data: Path) -> Path:
    """``../shared/cases/ft_offers``: small inputs reproducing publicly reported faults of the real data."""
    return _require(reference_data.parent / "cases" / "ft_offers", "real-data cases")


@pytest.fixture(scope="session")
def offers_file(reference_data: Path) -> Path:
    return _require(reference_data / "offers_ft_api_v2" / "offers.json", "offers file")


@pytest.fixture(scope="session")
def communes_file(reference_data: Path) -> Path:
    return _require(reference_data / "communes" / "laposte_hexasmal_latlon.csv", "commune base")


@pytest.fixture(scope="session")
def real_referential(rome_dir: Path) -> Referential:
    return load_rome_csv(rome_dir)


@pytest.fixture(scope="session")
def real_communes(communes_file: Path) -> Communes:
    return load_laposte(communes_file)


@pytest.fixture(scope="session")
def builtin() -> Referential:
    return load_builtin()


def _postgres_url() -> str:
    url = os.environ.get("MATCHING_TEST_POSTGRES_URL")
    if not url:
        if IN_CI:
            pytest.fail("MATCHING_TEST_POSTGRES_URL is not set: .ci/run starts PostgreSQL and sets it")
        pytest.skip("PostgreSQL not configured (run `make pg` and export MATCHING_TEST_POSTGRES_URL)")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend (PostgreSQL is wiped before and after the test)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}")
        yield eng
        eng.dispose()
        return
    eng = make_engine(_postgres_url())
    _wipe(eng)
    yield eng
    _wipe(eng)
    eng.dispose()


def _wipe(eng: Engine) -> None:
    Base.metadata.drop_all(eng)
    with eng.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def wipe_database() -> Callable[[Engine], None]:
    """Drops the project's tables and migration stamp from a database (a shared PostgreSQL one)."""
    return _wipe


@pytest.fixture(scope="session")
def sample_world() -> World:
    """The committed sample world (``data/sample/world``, 2,000 profiles, 4,000 offers), read once."""
    return read_world(SAMPLE_WORLD)


@pytest.fixture(scope="session")
def small_world(builtin: Referential) -> World:
    """A small simulated market with two months of interactions (fast to learn from)."""
    return simulate_market(
        builtin,
        load_communes(),
        MarketConfig(n_profiles=800, n_offers=1600, n_trainings=40, months=2, seed=7),
    )


@pytest.fixture(scope="session")
def small_market(small_world: World, builtin: Referential) -> MarketContext:
    """Evaluation context over ``small_world`` with the lexical hashing encoder (no model to load)."""
    return MarketContext.build(small_world, builtin, HashingEncoder(), cutoff_week=6)


@pytest.fixture(scope="session")
def index_dir(small_world: World, builtin: Referential, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Candidate indexes over ``small_world`` built with the hashing encoder."""
    generator = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    generator.index_offers(list(world_offers(small_world)))
    generator.index_profiles(list(world_profiles(small_world)))
    generator.index_trainings(list(world_trainings(small_world)))
    return save_generator(generator, tmp_path_factory.mktemp("index") / "index")


@pytest.fixture(scope="session")
def small_world_sqlite(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and loaded with ``small_world`` once; tests get copies, never this file."""
    path = tmp_path_factory.mktemp("small-world-db") / "small_world.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    load_world(small_world, SqlRepository(eng))
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def load_small_world(small_world: World, small_world_sqlite: Path) -> Callable[[Engine], None]:
    """Migrates an empty database and loads ``small_world`` into it.

    A new SQLite file gets a copy of :func:`small_world_sqlite` (the same rows, without loading them
    again); PostgreSQL, or a file that already holds data, is migrated and loaded.
    """

    def load(eng: Engine) -> None:
        database = eng.url.database
        if eng.dialect.name == "sqlite" and database and database != ":memory:":
            target = Path(database)
            if not target.exists() or target.stat().st_size == 0:
                eng.dispose()  # no pooled connection to the file while it is written
                with (
                    closing(sqlite3.connect(small_world_sqlite)) as source,
                    closing(sqlite3.connect(target)) as destination,
                ):
                    source.backup(destination)
                return
        migrate(eng)
        load_world(small_world, SqlRepository(eng))

    return load


@pytest.fixture(scope="session")
def train_small_ranker(small_market: MarketContext) -> Callable[[int], TrainingResult]:
    """Trains a LambdaRank ranker of ``n_estimators`` trees on ``small_market``'s history before its cut-off.

    Once per tree count in the session (training is deterministic): callers share the result and must
    not change it.
    """
    trained: dict[int, TrainingResult] = {}

    def train(n_estimators: int) -> TrainingResult:
        if n_estimators not in trained:
            trained[n_estimators] = train_ranker(
                small_market.tables,
                small_market.builder,
                cutoff=small_market.cutoff,
                config=RankerConfig(n_estimators=n_estimators),
            )
        return trained[n_estimators]

    return train


@pytest.fixture(scope="session")
def small_ranker(train_small_ranker: Callable[[int], TrainingResult]) -> TrainingResult:
    """The ranker with the default :class:`RankerConfig` trained on ``small_market``, once for the session
    (serving, fault, registry and audit tests use it; none changes it)."""
    return train_small_ranker(RankerConfig().n_estimators)


@pytest.fixture(scope="session")
def offer_for_a_person(
    small_world: World, builtin: Referential, offers_file: Path
) -> tuple[str, Callable[[str], dict[str, Any]]]:
    """A person of ``small_world`` who consents to be visible, has a subscription, was never hired and
    never refused anything, and ``record(offer_id)``: a real France Travail v2 offer moved to their home
    and the first occupation of their subscription (salary, hours and contract left out, so that no
    setting of theirs filters it out)."""
    import copy
    import json

    events = small_world.interactions
    settled = set(events.loc[events["event"].isin(["hired", "refused"]), "profile_id"])
    first_code = dict(
        zip(small_world.subscriptions["profile_id"], small_world.subscriptions["rome_codes"], strict=True)
    )
    person = next(
        p
        for p in world_profiles(small_world)
        if p.visible and p.id in first_code and p.id not in settled and p.home.has_coordinates
    )
    real = next(r for r in json.loads(offers_file.read_text()) if r.get("romeCode") in builtin.fiches)
    template = {k: v for k, v in real.items() if k not in {"salaire", "dureeTravailLibelle", "typeContrat"}}
    template.update(
        romeCode=str(first_code[person.id][0]),
        lieuTravail={
            "libelle": "chez la personne",
            "latitude": person.home.lat,
            "longitude": person.home.lon,
        },
    )

    def record(offer_id: str) -> dict[str, Any]:
        return {**copy.deepcopy(template), "id": offer_id}

    return person.id, record
