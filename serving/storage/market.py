"""The market tables feature code reads, from the database's feature-readable tables only.

:func:`read_audit_attributes` is the one exception, kept apart: protected attributes for fairness
evaluation, never for features or the ranker.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from features.tables import MarketTables
from matching.encoders.base import Progress
from serving.storage.tables import FEATURE_READABLE_TABLES, AuditAttributesRow, Base

CHUNK_ROWS = 50_000  # rows per read: a bar moves on a large event log, memory stays the frames'


def _read_table(engine: Engine, name: str, progress: Progress | None) -> pd.DataFrame:
    """Every row of ``name``, read in chunks of :data:`CHUNK_ROWS` and reported as ``(name, rows, total)``."""
    table = Base.metadata.tables[name]
    with engine.connect() as connection:
        if progress is None:
            return pd.read_sql(select(table), connection)
        total = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        progress(name, 0, total)
        chunks, done = [], 0
        for chunk in pd.read_sql(select(table), connection, chunksize=CHUNK_ROWS):
            chunks.append(chunk)
            done += len(chunk)
            progress(name, done, max(total, done))
        if not chunks:
            return pd.read_sql(select(table), connection)  # no rows: the columns all the same
        # pandas infers dtypes chunk by chunk; concatenating widens them (an int column with a missing
        # value in one chunk becomes float, as a single read would make it)
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def _offer_columns(offers: pd.DataFrame) -> pd.DataFrame:
    """Offers with the columns of 0008 as every offer frame has them (:func:`matching.frames.offers_to_frame`):
    ``schedule`` a list of :class:`~matching.schedule.WorkSchedule` values (never NULL), and
    ``employer_size_band`` a nullable integer (pandas reads an integer column with a missing value as
    floats, and one with none at all as objects)."""
    offers = offers.copy()
    offers["schedule"] = [list(v) if isinstance(v, list | tuple) else [] for v in offers["schedule"]]
    offers["employer_size_band"] = pd.to_numeric(offers["employer_size_band"]).astype("Int64")
    return offers


def _profile_columns(profiles: pd.DataFrame) -> pd.DataFrame:
    """Profiles with ``last_monthly_pay`` as floats even when nobody declared one (read as objects)."""
    profiles = profiles.copy()
    profiles["last_monthly_pay"] = pd.to_numeric(profiles["last_monthly_pay"]).astype(float)
    return profiles


def read_market_tables(engine: Engine, *, progress: Progress | None = None) -> MarketTables:
    """Profiles, offers, trainings and the event log as frames (never ``audit_attributes``).

    Parameters
    ----------
    engine
        The database.
    progress
        Called as ``progress(table, rows read, rows in the table)`` while each table is read (the
        event log of a live service runs to millions of rows); ``None`` reads each table at once.

    Returns
    -------
    MarketTables
        Every event, of any time (cut it with :meth:`MarketTables.events_before`). Offers carry their
        ``schedule`` and ``employer_size_band``, profiles their ``mobility_mode``, ``last_monthly_pay``
        and ``max_commute_minutes`` (what the pair features weigh hours, employer, travel time and pay
        with).

    Raises
    ------
    PermissionError
        If a table outside :data:`~serving.storage.tables.FEATURE_READABLE_TABLES` were asked for.
    """

    def read(name: str) -> pd.DataFrame:
        if name not in FEATURE_READABLE_TABLES:  # the allowlist of what features may read
            raise PermissionError(f"feature code may not read table {name!r}")
        return _read_table(engine, name, progress)

    events = read("interactions")
    # answers taken back are kept in the log (an audit trail) but are no longer events anyone acted on
    if "cancelled_at" in events:
        events = events[events["cancelled_at"].isna()].drop(columns="cancelled_at")
    events = events.drop(columns="id")
    return MarketTables.from_frames(
        _profile_columns(read("profiles")), _offer_columns(read("offers")), read("trainings"), events
    )


def read_audit_attributes(engine: Engine) -> pd.DataFrame:
    """Protected attributes by person, for fairness evaluation only.

    Returns
    -------
    pandas.DataFrame
        Columns ``profile_id``, ``sex``, ``age_band``, ``qpv``: one row per person who has any (none
        where the service records none, as a live one may not).
    """
    with engine.connect() as connection:
        return pd.read_sql(select(Base.metadata.tables[AuditAttributesRow.__tablename__]), connection)
