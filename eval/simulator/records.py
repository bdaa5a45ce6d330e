"""A simulated world's tables as domain objects, and as the frames feature code reads."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from eval.simulator.market import World
from features.tables import TIME_DTYPE, MarketTables, normalise_events
from matching.domain import Offer, Profile, Training
from matching.frames import offers_from_frame, profiles_from_frame, trainings_from_frame


def world_profiles(world: World) -> Iterator[Profile]:
    return profiles_from_frame(world.profiles)


def world_offers(world: World) -> Iterator[Offer]:
    return offers_from_frame(world.offers)


def world_trainings(world: World) -> Iterator[Training]:
    return trainings_from_frame(world.trainings)


def world_tables(world: World) -> MarketTables:
    """The feature-readable tables of a world (its ``audit`` and ``hidden`` frames are left behind)."""
    offers = world.offers.set_index("id", drop=False)
    offers["created_at"] = pd.to_datetime(offers["created_at"], utc=True).astype(TIME_DTYPE)
    return MarketTables(
        profiles=world.profiles.set_index("id", drop=False),
        offers=offers,
        trainings=world.trainings.set_index("id", drop=False),
        events=normalise_events(world.interactions),
    )
