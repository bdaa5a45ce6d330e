"""What feature code may read: profiles, offers, trainings and the event log — nothing else.

:class:`MarketTables` is pure data: the database's feature-readable tables fill it
(:func:`serving.storage.market.read_market_tables`), and so does a simulated world
(:func:`eval.simulator.records.world_tables`), leaving its ``audit`` and ``hidden`` frames behind.
Frames keep the world's column names; ids are the index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pandas as pd

from matching.domain import EVENT_COLUMNS

TIME_DTYPE = pd.DatetimeTZDtype(unit="ns", tz="UTC")


def normalise_events(events: pd.DataFrame) -> pd.DataFrame:
    """Event log with the standard columns, UTC nanosecond times, nullable integer ranks (``Int64``),
    sorted by time (stable)."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"event log lacks columns: {', '.join(missing)}")
    frame = events.loc[:, list(EVENT_COLUMNS)].copy()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).astype(TIME_DTYPE)
    # a database returns a rank column with missing values as floats, a world as Int64: one dtype for
    # both, the one the training-data schema checks
    frame["rank"] = pd.to_numeric(frame["rank"]).astype("Int64")
    return frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class MarketTables:
    """Profiles, offers and trainings indexed by id, and the event log sorted by time.

    Audit-only attributes and simulated ground truth are deliberately not part of it.
    """

    profiles: pd.DataFrame
    offers: pd.DataFrame
    trainings: pd.DataFrame
    events: pd.DataFrame

    @classmethod
    def from_frames(
        cls, profiles: pd.DataFrame, offers: pd.DataFrame, trainings: pd.DataFrame, events: pd.DataFrame
    ) -> MarketTables:
        """Tables from frames with the shared column names (a world's, the database's, a Parquet file's).

        Parameters
        ----------
        profiles, offers, trainings
            One row per entity with an ``id`` column (kept as a column and made the index).
        events
            The event log with :data:`~matching.domain.EVENT_COLUMNS` (extra columns dropped).

        Returns
        -------
        MarketTables
            Offers' ``created_at`` as UTC nanosecond timestamps, events sorted by time.
        """
        offers = offers.set_index("id", drop=False)
        offers["created_at"] = pd.to_datetime(offers["created_at"], utc=True).astype(TIME_DTYPE)
        return cls(
            profiles=profiles.set_index("id", drop=False),
            offers=offers,
            trainings=trainings.set_index("id", drop=False),
            events=normalise_events(events),
        )

    def with_events(self, more: pd.DataFrame) -> MarketTables:
        """The same tables with extra events appended (e.g. a round of simulated alerts)."""
        return replace(self, events=normalise_events(pd.concat([self.events, more], ignore_index=True)))

    def events_before(self, moment: pd.Timestamp) -> MarketTables:
        """The same tables with only the events strictly before ``moment`` (a temporal cut)."""
        return replace(self, events=self.events[self.events["occurred_at"] < moment].reset_index(drop=True))

    def profiles_with(
        self, event: str, *, reason: str | None = None, before: pd.Timestamp | None = None
    ) -> set[str]:
        """People with at least one ``event`` (with that ``reason``), strictly before ``before`` if given."""
        events = self.events
        mask = events["event"] == event
        if reason is not None:
            mask &= events["reason"] == reason
        if before is not None:
            mask &= events["occurred_at"] < before
        return set(events.loc[mask, "profile_id"])

    def fingerprint(self) -> str:
        """SHA-256 over ids and the event log: names the exact data a model was trained on."""
        digest = hashlib.sha256()
        for frame in (self.profiles[["id"]], self.offers[["id"]], self.events.astype(str)):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return digest.hexdigest()
