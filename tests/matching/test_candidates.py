"""Candidate generation on the committed sample world (built-in referential, fast USE encoder)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from eval.simulator import read_world
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator, Expansion, RomeNeighbourhood
from matching.domain import Location, Offer, Profile, Training
from matching.encoders import CachedEncoder, USEEncoder
from matching.geo import haversine_km
from matching.referential import Referential

SAMPLE_WORLD = Path(__file__).resolve().parents[2] / "data" / "sample" / "world"


@pytest.fixture(scope="module")
def world_objects():  # type: ignore[no-untyped-def]
    world = read_world(SAMPLE_WORLD)
    return list(world_profiles(world)), list(world_offers(world)), list(world_trainings(world))


@pytest.fixture(scope="module")
def generator(builtin: Referential, world_objects) -> CandidateGenerator:  # type: ignore[no-untyped-def]
    profiles, offers, trainings = world_objects
    gen = CandidateGenerator(builtin, CachedEncoder(USEEncoder()))
    return gen.index_offers(offers).index_profiles(profiles).index_trainings(trainings)


def test_neighbourhood(builtin: Referential) -> None:
    hood = RomeNeighbourhood(builtin)
    out = hood.outgoing(["N1104"], Expansion(family=True, mobility_rank=1))
    assert out[0] == "N1104" and "N1103" in out  # own code first, then the parent
    assert hood.outgoing(["N1101"], Expansion(family=False, mobility_rank=0)) == ["N1101"]
    # N1101 -> N1104 is a rank-1 mobility link, so N1101 people are sourced for N1104 offers
    assert "N1101" in hood.incoming("N1104", Expansion(family=False, mobility_rank=1))


def test_offers_respect_the_persons_own_limits(
    generator: CandidateGenerator, world_objects, builtin: Referential
) -> None:  # type: ignore[no-untyped-def]
    profiles, offers, _ = world_objects
    by_id = {o.id: o for o in offers}
    checked = 0
    for profile in profiles[:40]:
        ids, scores = generator.recommend_offers(profile, k=30, respect_preferences=True)
        assert len(ids) <= 30 and np.all(np.diff(scores) <= 1e-6)
        allowed = set(generator.neighbourhood.outgoing(profile.rome_codes, generator.expansion))
        for offer_id in ids:
            offer = by_id[offer_id]
            assert offer.rome_code in allowed
            assert (
                haversine_km(profile.home.lat, profile.home.lon, offer.location.lat, offer.location.lon)
                <= profile.max_commute_km
            )
            if profile.contract_types:
                assert offer.contract_type in profile.contract_types
            assert profile.min_weekly_hours <= offer.weekly_hours <= profile.max_weekly_hours  # type: ignore[operator]
            checked += 1
    assert checked > 100


def test_sourcing_shows_only_consenting_people_within_their_commute(
    generator: CandidateGenerator, world_objects
) -> None:  # type: ignore[no-untyped-def]
    profiles, offers, _ = world_objects
    by_id = {p.id: p for p in profiles}
    seen = 0
    for offer in offers[:40]:
        ids, _ = generator.recommend_profiles(offer, k=50)
        for pid in ids:
            person = by_id[pid]
            assert person.visible
            assert (
                haversine_km(offer.location.lat, offer.location.lon, person.home.lat, person.home.lon)
                <= person.max_commute_km
            )
            seen += 1
    assert seen > 100
    hidden = [p for p in profiles if not p.visible]
    assert hidden and not set(p.id for p in hidden) & set(
        generator.profiles_.ids_[generator.profiles_.alive_]
    )  # type: ignore[union-attr]


def test_consent_withdrawn_removes_the_profile(builtin: Referential) -> None:
    gen = CandidateGenerator(builtin, USEEncoder())
    person = Profile(
        id="p1", rome_codes=("N1101",), home=Location(lat=45.0, lon=4.0), max_commute_km=20, visible=True
    )
    offer = Offer(
        id="o1",
        title="Cariste",
        rome_code="N1101",
        location=Location(lat=45.0, lon=4.0),
        created_at="2025-01-01T00:00:00Z",
    )
    gen.index_profiles([person])
    assert list(gen.recommend_profiles(offer)[0]) == ["p1"]
    gen.index_profiles([person.model_copy(update={"visible": False})])
    assert list(gen.recommend_profiles(offer)[0]) == []


def test_incremental_offers(generator: CandidateGenerator, world_objects) -> None:  # type: ignore[no-untyped-def]
    profiles, _, _ = world_objects
    person = profiles[0]
    fresh = Offer(
        id="NEW1",
        title="Offre toute fraîche",
        rome_code=person.rome_codes[0],
        location=Location(lat=person.home.lat, lon=person.home.lon),
        contract_type=person.contract_types[0] if person.contract_types else None,
        weekly_hours=person.min_weekly_hours,
        created_at="2025-03-01T00:00:00Z",
    )
    generator.index_offers([fresh])
    assert "NEW1" in generator.recommend_offers(person, k=2000, respect_preferences=True)[0]
    assert generator.remove_offers(["NEW1"]) == 1
    assert "NEW1" not in generator.recommend_offers(person, k=2000)[0]


def test_poe_trainings_close_the_gap(builtin: Referential) -> None:
    gen = CandidateGenerator(builtin, USEEncoder())
    today = date(2025, 3, 1)
    core = builtin.skills_of("N1101").core
    person = Profile(
        id="p", rome_codes=("N1105",), skills=(core[1],), home=Location(lat=45.0, lon=4.0), max_commute_km=20
    )
    offer = Offer(
        id="o",
        title="Cariste",
        rome_code="N1101",
        required_skills=core,
        need_date=today + timedelta(days=40),
        created_at="2025-03-01T00:00:00Z",
    )

    def training(
        tid: str,
        skills: tuple[str, ...],
        *,
        start: int = 10,
        hours: float = 210,
        lat: float = 45.05,
        poe: bool = True,
        modality: str = "presentiel",
    ) -> Training:
        return Training(
            id=tid,
            title=f"Formation {tid}",
            rome_codes=("N1101",),
            skills=skills,
            hours=hours,
            poe_eligible=poe,
            start_date=today + timedelta(days=start),
            end_date=today + timedelta(days=start + 30),
            location=Location(lat=lat, lon=4.0),
            modality=modality,
        )

    gen.index_trainings(
        [
            training("covers-all", (core[0], core[2])),
            training("covers-one", (core[0],)),
            training("too-late", (core[0], core[2]), start=60),
            training("already-started", (core[0], core[2]), start=-5),
            training("too-far", (core[0], core[2]), lat=46.0),
            training("too-long", (core[0], core[2]), hours=450, poe=False),
            training("remote", (core[2],), lat=48.0, modality="distanciel"),
        ]
    )
    assert gen.missing_skills(person, offer) == [core[0], core[2]]
    ids, scores = gen.recommend_trainings(person, offer, today=today)
    assert ids[0] == "covers-all"
    assert set(ids) == {"covers-all", "covers-one", "remote"}
    assert np.all(np.diff(scores) <= 1e-6)


def test_generator_save_load(
    generator: CandidateGenerator, world_objects, builtin: Referential, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from matching.candidates import load_generator, save_generator
    from matching.index import IndexIntegrityError

    profiles, offers, _ = world_objects
    save_generator(generator, tmp_path / "idx")
    loaded = load_generator(tmp_path / "idx", builtin, generator.encoder)
    for person in profiles[:5]:
        a, b = generator.recommend_offers(person, k=20), loaded.recommend_offers(person, k=20)
        assert list(a[0]) == list(b[0])
    assert list(loaded.recommend_profiles(offers[0])[0]) == list(generator.recommend_profiles(offers[0])[0])
    assert loaded.training_skills_ == generator.training_skills_
    with pytest.raises(IndexIntegrityError, match="encoder"):
        load_generator(
            tmp_path / "idx", builtin, USEEncoder.__new__(type("Other", (), {"name": "other", "dim": 512}))
        )
