"""The demo `make run` builds, small: the official ROME, the La Poste communes, a simulated world anchored
on the real offers, the real offers themselves ingested, indexes over both, the small ranker, and the
world's clock (``MATCHING_NOW``), with one alert run done."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.world_loader import load_world
from eval.simulator import MarketConfig, simulate_market
from eval.simulator.anchor import anchor_from_offers
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator
from matching.clock import Clock
from matching.domain import Offer
from matching.encoders import HashingEncoder
from matching.geo import Communes
from matching.ingest import parse_offers, read_offer_records
from matching.referential import Referential
from models.pipeline import RankingService
from models.training import TrainingResult
from serving.container import ServingContainer
from serving.security import RateLimiter
from serving.storage.db import make_engine, migrate
from serving.storage.repository import SqlRepository
from tests.serving.demo import DEMO_DAY, Demo


@pytest.fixture(scope="session")
def real_offers(offers_file: Path, real_referential: Referential, real_communes: Communes) -> list[Offer]:
    offers, report = parse_offers(
        read_offer_records(offers_file), referential=real_referential, communes=real_communes
    )
    assert report.rejected == 0
    return offers


@pytest.fixture(scope="session")
def demo(
    real_offers: list[Offer],
    real_referential: Referential,
    real_communes: Communes,
    small_ranker: TrainingResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> Demo:
    world = simulate_market(
        real_referential,
        real_communes,
        MarketConfig(
            n_profiles=3000,
            n_offers=300,
            n_trainings=300,
            months=1,
            seed=11,
            anchor=anchor_from_offers(real_offers, real_communes),
        ),
    )
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}")
    migrate(engine)
    repository = SqlRepository(engine)
    load_world(world, repository, communes=real_communes)  # as `matching sample --load` does
    repository.upsert_offers(real_offers)
    generator = CandidateGenerator(referential=real_referential, encoder=HashingEncoder())
    generator.index_offers([*world_offers(world), *real_offers])
    generator.index_profiles(list(world_profiles(world)))
    generator.index_trainings(list(world_trainings(world)))
    # the small world's ranker: the same allowlisted features, whatever the referential
    service = RankingService(generator, small_ranker.ranker, "test-ranker@champion=v1")
    container = ServingContainer(
        engine=engine,
        referential=real_referential,
        load_service=lambda: service,
        communes=real_communes,
        limiter=RateLimiter(limit=10**9),
        clock=Clock(pinned_at=DEMO_DAY),
    )
    return Demo(container, world, real_offers)
