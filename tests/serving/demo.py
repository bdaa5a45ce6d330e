"""What the demo fixture (``tests/serving/conftest.py``) hands to tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eval.simulator import World
from matching.domain import Offer
from serving.container import ServingContainer

# the day `make run` pins (AS_OF in the Makefile): inside the real offers' months and the world's
DEMO_DAY = datetime(2025, 3, 10, tzinfo=UTC)


@dataclass
class Demo:
    """The demo's container (database, indexes, ranker, pinned clock), its world and its real offers."""

    container: ServingContainer
    world: World
    real_offers: list[Offer]
