"""Frames <-> domain objects: rows with the world's column names as validated :mod:`matching.domain` models.

The column layout is the one every table of the engine shares (simulated worlds, the database's
feature-readable tables, national Parquet files); going through the domain models validates each row.
Lists are plain lists of strings in frames (an offer's ``schedule``: the :class:`WorkSchedule` values;
a profile's ``contract_types``), enums their values (a profile's ``mobility_mode``); a column a frame
lacks (a world made before it existed) reads as the field's default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from matching.domain import Location, Offer, Profile, RomeSource, Training

#: The flat columns of an offer's place (the ``offers`` table's and an offer frame's names); a world's
#: frames hold only the first four, the others then read as unknown.
PLACE_COLUMNS = ("insee", "lat", "lon", "location_label", "place_precision", "place_area", "place_extent_km")


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


def place_columns(location: Location) -> dict[str, Any]:
    """The :data:`PLACE_COLUMNS` of a place."""
    return {
        "insee": location.insee,
        "lat": location.lat,
        "lon": location.lon,
        "location_label": location.label,
        "place_precision": None if location.precision is None else location.precision.value,
        "place_area": location.area,
        "place_extent_km": location.extent_km,
    }


def place_from_columns(columns: Mapping[str, Any]) -> Location:
    """The place of a row holding (some of) :data:`PLACE_COLUMNS`, with missing values as None."""
    return Location(
        insee=columns.get("insee"),
        lat=columns.get("lat"),
        lon=columns.get("lon"),
        label=columns.get("location_label"),
        precision=columns.get("place_precision"),
        area=columns.get("place_area"),
        extent_km=columns.get("place_extent_km") or 0.0,
    )


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
    """Offers from a frame with the world's offer columns, or the database's (which name their source)."""
    for r in records(frame):
        yield Offer(
            **{
                k: v
                for k, v in r.items()
                if k not in {*PLACE_COLUMNS, "expires_at", "need_date", "rome_source", "source", "schedule"}
            },
            rome_source=r.get("rome_source") or RomeSource.STATED,
            # NULL in a database row written before the column had a default
            schedule=r.get("schedule") or (),
            location=place_from_columns(r),
            expires_at=_day(r["expires_at"]),
            need_date=_day(r["need_date"]),
            source=r.get("source") or "simulator",  # a world's frames have no source column
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
            mobility_mode=None if profile.mobility_mode is None else profile.mobility_mode.value,
            available_from=pd.Timestamp(profile.available_from) if profile.available_from else pd.NaT,
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.set_index("id", drop=False) if len(frame) else frame


def offers_to_frame(offers: Iterable[Offer]) -> pd.DataFrame:
    """The inverse of :func:`offers_from_frame`: the database's offer columns (place flattened into
    :data:`PLACE_COLUMNS`, enums as their values, ``schedule`` a list of :class:`WorkSchedule` values,
    ``employer_size_band`` a nullable integer), indexed by id."""
    rows = []
    for offer in offers:
        row = offer.model_dump(mode="json", exclude={"location"})
        row.update(
            place_columns(offer.location),
            created_at=pd.Timestamp(offer.created_at),
            updated_at=pd.Timestamp(offer.updated_at) if offer.updated_at else pd.NaT,
            need_date=pd.Timestamp(offer.need_date) if offer.need_date else pd.NaT,
            expires_at=pd.Timestamp(offer.expires_at) if offer.expires_at else pd.NaT,
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not len(frame):
        return frame
    # a band is an ordinal: missing ones stay missing, not NaN floats
    frame["employer_size_band"] = frame["employer_size_band"].astype("Int64")
    return frame.set_index("id", drop=False)


def training_columns(training: Training) -> dict[str, Any]:
    """A training as the database's ``trainings`` row: the place flattened to ``insee``, ``lat``,
    ``lon``, the dates as dates (``None`` when they are to confirm)."""
    data = training.model_dump(mode="json", exclude={"location", "start_date", "end_date"})
    data.update(
        insee=training.location.insee,
        lat=training.location.lat,
        lon=training.location.lon,
        start_date=training.start_date,
        end_date=training.end_date,
    )
    return data


def trainings_to_frame(trainings: Iterable[Training]) -> pd.DataFrame:
    """The database's training columns (:func:`training_columns`; dates as timestamps, NaT for a course
    whose dates are to confirm), indexed by id: what :func:`features.poe.training_features` reads."""
    frame = pd.DataFrame([training_columns(t) for t in trainings])
    if not len(frame):
        return frame
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.set_index("id", drop=False)
