"""Load a simulated world (data frames) into the database through the domain models.

Going through :mod:`matching.domain` validates every row on the way in, so a corrupt world cannot
reach the database half-valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from matching.domain import AuditAttributes, Interaction, Location, Offer, Profile, Subscription, Training
from matching.simulator.market import World
from matching.storage.repository import SqlRepository


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


def _records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    columns = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        yield {c: _clean(v) for c, v in zip(columns, row, strict=True)}


def _day(value: Any) -> Any:
    return value.date() if hasattr(value, "date") else value


def world_profiles(world: World) -> Iterator[Profile]:
    for r in _records(world.profiles):
        yield Profile(
            **{
                k: v
                for k, v in r.items()
                if k not in {"home_insee", "home_lat", "home_lon", "available_from"}
            },
            home=Location(insee=r["home_insee"], lat=r["home_lat"], lon=r["home_lon"]),
            available_from=_day(r["available_from"]),
        )


def world_offers(world: World) -> Iterator[Offer]:
    for r in _records(world.offers):
        yield Offer(
            **{k: v for k, v in r.items() if k not in {"insee", "lat", "lon", "expires_at", "need_date"}},
            location=Location(insee=r["insee"], lat=r["lat"], lon=r["lon"]),
            expires_at=_day(r["expires_at"]),
            need_date=_day(r["need_date"]),
            source="simulator",
        )


def world_trainings(world: World) -> Iterator[Training]:
    for r in _records(world.trainings):
        yield Training(
            **{k: v for k, v in r.items() if k not in {"insee", "lat", "lon", "start_date", "end_date"}},
            location=Location(insee=r["insee"], lat=r["lat"], lon=r["lon"]),
            start_date=_day(r["start_date"]),
            end_date=_day(r["end_date"]),
        )


def load_world(
    world: World, repository: SqlRepository, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Write a world's profiles, offers, trainings, subscriptions, audit table and events; returns counts."""
    say = progress or (lambda _table: None)
    counts = {}
    say("profiles")
    counts["profiles"] = repository.upsert_profiles(list(world_profiles(world)))
    say("offers")
    counts["offers"] = repository.upsert_offers(list(world_offers(world))).inserted
    say("trainings")
    counts["trainings"] = repository.upsert_trainings(list(world_trainings(world)))
    say("subscriptions")
    counts["subscriptions"] = repository.upsert_subscriptions(
        Subscription(**r) for r in _records(world.subscriptions)
    )
    say("audit_attributes")
    counts["audit_attributes"] = repository.upsert_audit_attributes(
        AuditAttributes(**r) for r in _records(world.audit)
    )
    say("interactions")
    repository.delete_interactions_of(world.profiles["id"].tolist())  # reloading replaces, never duplicates
    counts["interactions"] = repository.add_interactions(
        Interaction(**r) for r in _records(world.interactions)
    )
    return counts
