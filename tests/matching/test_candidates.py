"""Candidate generation on the committed sample world (built-in referential, lexical hashing encoder:
what is tested here is filtering, updates and persistence, not semantic similarity).

The exact filtered top-k of every ``recommend_*`` path is checked against brute force in
``tests/contracts/test_recommend.py``; these are the generator-specific behaviours."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from eval.simulator import World
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator, Expansion, RomeNeighbourhood
from matching.domain import Location, Offer, Profile, Training
from matching.encoders import HashingEncoder, USEEncoder
from matching.referential import Referential

WorldObjects = tuple[list[Profile], list[Offer], list[Training]]


@pytest.fixture(scope="module")
def world_objects(sample_world: World) -> WorldObjects:
    return (
        list(world_profiles(sample_world)),
        list(world_offers(sample_world)),
        list(world_trainings(sample_world)),
    )


@pytest.fixture(scope="module")
def generator(builtin: Referential, world_objects: WorldObjects) -> CandidateGenerator:
    profiles, offers, trainings = world_objects
    gen = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    return gen.index_offers(offers).index_profiles(profiles).index_trainings(trainings)


def test_neighbourhood(builtin: Referential) -> None:
    hood = RomeNeighbourhood(builtin)
    out = hood.outgoing(["N1104"], Expansion(family=True, mobility_rank=1))
    assert out[0] == "N1104" and "N1103" in out  # own code first, then the parent
    assert hood.outgoing(["N1101"], Expansion(family=False, mobility_rank=0)) == ["N1101"]
    # N1101 -> N1104 is a rank-1 mobility link, so N1101 people are sourced for N1104 offers
    assert "N1101" in hood.incoming("N1104", Expansion(family=False, mobility_rank=1))


def test_consent_withdrawn_removes_the_profile(builtin: Referential) -> None:
    gen = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
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


def test_a_bank_where_nobody_consents_saves_and_loads(builtin: Referential, tmp_path: Path) -> None:
    """Nobody visible yet (a new bank): the profile index is empty, not missing, and round-trips."""
    from matching.candidates import load_generator, save_generator

    encoder = HashingEncoder()
    hidden = Profile(id="p1", rome_codes=("N1101",), home=Location(lat=45.0, lon=4.0), visible=False)
    offer = Offer(id="o1", title="Cariste", rome_code="N1101", created_at="2025-01-01T00:00:00Z")
    gen = (
        CandidateGenerator(referential=builtin, encoder=encoder)
        .index_offers([offer])
        .index_profiles([hidden])
    )
    loaded = load_generator(save_generator(gen, tmp_path / "idx"), builtin, encoder)
    assert loaded.profiles_ is not None and len(loaded.profiles_) == 0
    assert list(loaded.recommend_profiles(offer)[0]) == []


def test_incremental_offers(generator: CandidateGenerator, world_objects: WorldObjects) -> None:
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
    gen = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
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
            # on site at an unknown place: reaches no commute
            training("nowhere", (core[0], core[2])).model_copy(update={"location": Location()}),
        ]
    )
    assert gen.missing_skills(person, offer) == [core[0], core[2]]
    ids, scores = gen.recommend_trainings(person, offer, today=today)
    assert ids[0] == "covers-all"
    assert set(ids) == {"covers-all", "covers-one", "remote"}
    assert np.all(np.diff(scores) <= 1e-6)

    # courses filed under no occupation (a catalogue's transverse ones): only one teaching the gap comes
    # in, however many closer ones teach nothing of it; one without dates (to confirm) is kept
    closest = "Compétences à acquérir : " + ", ".join(builtin.skills[s].label for s in (core[0], core[2]))
    unfiled = [
        training(f"unfiled-{i}", (core[1],)).model_copy(update={"rome_codes": (), "title": closest})
        for i in range(120)
    ]
    teaching = training("unfiled-teaching", (core[2],)).model_copy(
        update={"rome_codes": (), "start_date": None, "end_date": None}
    )
    gen.index_trainings([*unfiled, teaching])
    ids, _ = gen.recommend_trainings(person, offer, today=today)
    assert "unfiled-teaching" in set(ids) and not any(
        i.startswith("unfiled-") and i != "unfiled-teaching" for i in ids
    )


def test_generator_save_load(
    generator: CandidateGenerator, world_objects: WorldObjects, builtin: Referential, tmp_path: Path
) -> None:
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
