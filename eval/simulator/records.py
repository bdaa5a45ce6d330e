"""A simulated world's tables as domain objects, and as the frames feature code reads."""

from __future__ import annotations

from collections.abc import Iterator

from eval.simulator.market import World
from features.tables import MarketTables
from matching.domain import Offer, Profile, Training
from matching.frames import offers_from_frame, profiles_from_frame, trainings_from_frame


def world_profiles(world: World) -> Iterator[Profile]:
    """A world's profiles as validated domain objects, in table order."""
    return profiles_from_frame(world.profiles)


def world_offers(world: World) -> Iterator[Offer]:
    """A world's offers as validated domain objects, in table order."""
    return offers_from_frame(world.offers)


def world_trainings(world: World) -> Iterator[Training]:
    """A world's trainings as validated domain objects, in table order."""
    return trainings_from_frame(world.trainings)


def world_tables(world: World) -> MarketTables:
    """The feature-readable tables of a world (its ``audit`` and ``hidden`` frames are left behind)."""
    return MarketTables.from_frames(world.profiles, world.offers, world.trainings, world.interactions)
