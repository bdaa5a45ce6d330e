"""Frames <-> domain objects: rows with the world's column names as validated :mod:`matching.domain` models.

The column layout is the one every table of the engine shares (simulated worlds, the database's
feature-readable tables, national Parquet files); going through the domain models validates each row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from matching.domain import Location, Offer, Profile, Training


def _clean(value: Any) -> Any:
    """pandas/NumPy scalars to plain Python; NaN/NaT/NA to None; arrays to tuples."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    columns = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        yield {c: _clean(v) for c, v in zip(columns, row, strict=True)}


def _day(value: Any) -> Any:
    return value.date() if hasattr(value, "date") else value


def profiles_from_frame(frame: pd.DataFrame) -> Iterator[Profile]:
    """Profiles from a frame with the world's profile columns."""
    for r in records(frame):
        yield Profile(
            **{
                k: v
                for k, v in r.items()
                if k not in {"home_insee", "home_lat", "home_lon", "available_from"}
            },
            home=Location(insee=r["home_insee"], lat=r["home_lat"], lon=r["home_lon"]),
            available_from=_day(r["available_from"]),
        )


def offers_from_frame(frame: pd.DataFrame) -> Iterator[Offer]:
    """Offers from a frame with the world's offer columns."""
    for r in records(frame):
        yield Offer(
            **{k: v for k, v in r.items() if k not in {"insee", "lat", "lon", "expires_at", "need_date"}},
            location=Location(insee=r["insee"], lat=r["lat"], lon=r["lon"]),
            expires_at=_day(r["expires_at"]),
            need_date=_day(r["need_date"]),
            source="simulator",
        )


def trainings_from_frame(frame: pd.DataFrame) -> Iterator[Training]:
    """Trainings from a frame with the world's training columns."""
    for r in records(frame):
        yield Training(
            **{k: v for k, v in r.items() if k not in {"insee", "lat", "lon", "start_date", "end_date"}},
            location=Location(insee=r["insee"], lat=r["lat"], lon=r["lon"]),
            start_date=_day(r["start_date"]),
            end_date=_day(r["end_date"]),
        )


def profiles_to_frame(profiles: Iterable[Profile]) -> pd.DataFrame:
    """The inverse of :func:`profiles_from_frame`: the world's profile columns, indexed by id."""
    rows = []
    for profile in profiles:
        row = profile.model_dump(exclude={"home"})
        row.update(
            rome_codes=list(profile.rome_codes),
            appellation_codes=list(profile.appellation_codes),
            skills=list(profile.skills),
            contract_types=[str(c) for c in profile.contract_types],
            home_insee=profile.home.insee,
            home_lat=profile.home.lat,
            home_lon=profile.home.lon,
            available_from=pd.Timestamp(profile.available_from) if profile.available_from else pd.NaT,
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.set_index("id", drop=False) if len(frame) else frame
