"""The market tables feature code reads, from the database's feature-readable tables only."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from features.tables import MarketTables
from serving.storage.tables import FEATURE_READABLE_TABLES, Base


def read_market_tables(engine: Engine) -> MarketTables:
    """Profiles, offers, trainings and the event log as frames (never ``audit_attributes``).

    Raises
    ------
    PermissionError
        If a table outside :data:`~serving.storage.tables.FEATURE_READABLE_TABLES` were asked for.
    """

    def read(name: str) -> pd.DataFrame:
        if name not in FEATURE_READABLE_TABLES:  # the allowlist of what features may read
            raise PermissionError(f"feature code may not read table {name!r}")
        with engine.connect() as connection:
            return pd.read_sql(select(Base.metadata.tables[name]), connection)

    events = read("interactions").drop(columns="id")
    return MarketTables.from_frames(read("profiles"), read("offers"), read("trainings"), events)
