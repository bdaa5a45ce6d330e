"""Database engine and schema migrations (Alembic), for SQLite files and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from matching.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


#: Execution option that makes a SQLite transaction take the write lock when it begins.
_IMMEDIATE = "matching_sqlite_immediate"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on; write-ahead log so that readers never block a writer's commit nor the reverse;
    a writer waits up to 30 s for another before failing.

    The driver's own transaction handling is switched off (``isolation_level = None``) so that
    :func:`_begin_sqlite` emits every ``BEGIN``: the driver only began a transaction before the first
    ``INSERT``, which left a half-read ``SELECT`` holding an old snapshot on a pooled connection, and a
    later write on that connection then failed at once with "database is locked" (SQLITE_BUSY_SNAPSHOT,
    for which SQLite never waits). This is SQLAlchemy's documented recipe for pysqlite.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")  # kept by the file; ignored (memory) for :memory:
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    """Begin every transaction explicitly; a writing one takes the write lock first (``IMMEDIATE``), so
    that a read followed by a write in the same transaction waits for other writers instead of failing."""
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_session(engine: Engine, **options: Any) -> Iterator[Session]:
    """A session in one writing transaction, committed on exit and rolled back on an error.

    On SQLite the transaction holds the write lock from its start (see :func:`_begin_sqlite`); on
    PostgreSQL it is an ordinary transaction. ``options`` go to :class:`~sqlalchemy.orm.Session`.
    """
    with Session(engine.execution_options(**{_IMMEDIATE: True}), **options) as session, session.begin():
        yield session


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; a SQLite file's folder is created and foreign keys are enforced.

    Raises
    ------
    StorageError
        If the URL is malformed or names an unsupported backend.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"malformed database URL: {url!r}") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise StorageError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def public_url(url: str) -> str:
    """``url`` without its password (``***`` in its place), to print or record; a malformed one as given.

    Examples
    --------
    >>> public_url("postgresql+psycopg://matching:secret@db/matching")
    'postgresql+psycopg://matching:***@db/matching'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (idempotent).

    Raises
    ------
    StorageError
        If the database cannot be reached.
    """
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as error:
        raise StorageError(f"cannot reach the database: {error.orig}") from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_current_head()


def ensure_schema(engine: Engine) -> None:
    """Fail closed when the database is not at the latest schema revision."""
    try:
        current = current_revision(engine)
    except OperationalError as error:
        raise StorageError(f"cannot reach the database: {error.orig}") from None
    if current != head_revision():
        raise StorageError(
            f"database schema is at revision {current or 'none'}, expected {head_revision()}: run `matching db upgrade`"
        )
