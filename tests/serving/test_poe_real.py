"""POE suggestions from real catalogues: a real LHEO session and a real Mon Compte Formation course,
ingested with the skills their Formacodes teach, suggested with their explanation."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from matching.candidates import CandidateGenerator
from matching.domain import Location, Offer, Profile
from matching.encoders import HashingEncoder
from matching.formacode import FormacodeSkillLinker
from matching.geo import Communes
from matching.ingest.formacode import read_rome_v2_formacodes
from matching.referential import Referential
from serving.batch.formacode import FormacodeSources, read_thesaurus
from serving.batch.trainings import NO_SESSION_DATES, ingest_trainings
from serving.services.poe import suggest_trainings
from serving.storage.db import migrate
from serving.storage.market import read_market_tables
from serving.storage.repository import SqlRepository

PLONGEUR = "lheo-14_AF_0000066306_SE_0000262635"  # CQP plongeur - officier de cuisine, Infrep Boulogne
PARIS_15 = Location(lat=48.8412, lon=2.3003)


@pytest.fixture(scope="module")
def links(reference_data: Path, real_referential: Referential) -> FormacodeSkillLinker:
    """Links of the Formacodes of the files below, from the real tables (hashing encoder: fast)."""
    sources = FormacodeSources.under(reference_data, offers=None)
    assert sources.rome_v2 is not None
    return FormacodeSkillLinker(real_referential, HashingEncoder(), null_pairs=5000).fit(
        read_thesaurus(sources)[0],
        rome_v2=read_rome_v2_formacodes(sources.rome_v2.read_text()),
        codes=["42780", "15052", "35066"],
    )


def _store(
    engine: Engine,
    paths: list[Path],
    referential: Referential,
    communes: Communes,
    links: FormacodeSkillLinker,
) -> SqlRepository:
    migrate(engine)
    repository = SqlRepository(engine)
    ingest_trainings(paths, repository, referential=referential, communes=communes, links=links)
    return repository


def _suggest(
    engine: Engine,
    repository: SqlRepository,
    referential: Referential,
    offer: Offer,
    profile: Profile,
    today: date,
) -> list:  # type: ignore[type-arg]
    generator = CandidateGenerator(referential=referential, encoder=HashingEncoder())
    generator.index_trainings(repository.trainings())
    _, suggestions = suggest_trainings(
        generator, read_market_tables(engine).trainings, referential, profile, offer, today=today, k=3
    )
    return suggestions


def test_a_real_lheo_session_closes_the_gap_before_the_hire(
    engine: Engine,
    trainings_data: Path,
    real_referential: Referential,
    real_communes: Communes,
    links: FormacodeSkillLinker,
) -> None:
    session_file = trainings_data / "lheo/examples/intercarif/bob-emploi_carif_single_offer.xml"
    repository = _store(engine, [session_file], real_referential, real_communes, links)
    (training,) = repository.trainings()
    assert training.id == PLONGEUR and training.skills  # taught: what Formacode 42780 links to
    assert set(training.skills) <= set(links.skills_of(["42780"]))
    offer = Offer(
        id="plonge-1",
        title="Plongeur / Plongeuse en restauration",
        rome_code="G1605",
        skills=(training.skills[0], *real_referential.skills_of("G1605").core[:2]),
        location=PARIS_15,
        need_date=date(2019, 3, 1),
        created_at=datetime(2018, 11, 1),
    )
    person = Profile(id="P1", rome_codes=("G1605",), home=PARIS_15, max_commute_km=15)
    (suggestion,) = _suggest(engine, repository, real_referential, offer, person, date(2018, 11, 15))
    assert suggestion.training_id == PLONGEUR and suggestion.start_date == date(2018, 12, 4)
    label = real_referential.skills[training.skills[0]].label
    assert suggestion.explanation.startswith(f"manque {label}")
    assert "→ CQP plongeur - officier de cuisine, Infrep Boulogne (300 h, début le 04/12/2018, à 5 km)" in (
        suggestion.explanation
    )
    # a gap the course teaches nothing of: no suggestion
    other = [s for s in real_referential.skills_of("G1605").core if s not in training.skills][:2]
    unrelated = offer.model_copy(update={"skills": tuple(other)})
    assert _suggest(engine, repository, real_referential, unrelated, person, date(2018, 11, 15)) == []
    # started before today, or after the offer's need date: not in time
    assert _suggest(engine, repository, real_referential, offer, person, date(2018, 12, 10)) == []
    late = offer.model_copy(update={"need_date": date(2018, 12, 1)})
    assert _suggest(engine, repository, real_referential, late, person, date(2018, 11, 15)) == []
    # beyond the person's commute
    far = person.model_copy(update={"home": Location(lat=45.76, lon=4.84)})
    assert _suggest(engine, repository, real_referential, offer, far, date(2018, 11, 15)) == []


def test_a_catalogue_course_is_suggested_with_dates_to_confirm(
    engine: Engine,
    trainings_data: Path,
    tmp_path: Path,
    real_referential: Referential,
    real_communes: Communes,
    links: FormacodeSkillLinker,
) -> None:
    catalogue = trainings_data / "mcf_catalogue/mcf_sample_2024-07-16_RS_nsf326.csv"
    repository = _store(engine, [catalogue], real_referential, real_communes, links)
    courses = {t.id: t for t in repository.trainings()}
    assert courses and all(t.dates_to_confirm and t.id.startswith("mcf-") for t in courses.values())
    excel = next(t for t in courses.values() if t.formacode == "15052" and t.skills and t.hours < 400)
    assert excel.rome_codes == ()  # office software: transverse, found by the skills it teaches
    offer = Offer(
        id="bureau-1",
        title="Secrétaire",
        rome_code="M1607",
        skills=excel.skills[:1],
        location=excel.location if excel.location.lat is not None else PARIS_15,
        need_date=date(2025, 4, 1),
        created_at=datetime(2025, 3, 1),
    )
    home = offer.location
    person = Profile(id="P2", rome_codes=(offer.rome_code,), home=home, max_commute_km=30)
    suggestions = _suggest(engine, repository, real_referential, offer, person, date(2025, 3, 10))
    assert suggestions and all(s.start_date is None for s in suggestions)
    assert excel.id in {s.training_id for s in suggestions}  # unfiled, found by the skill it teaches
    assert "dates à confirmer auprès de l'organisme" in suggestions[0].explanation
    run = ingest_trainings(
        [catalogue], None, referential=real_referential, communes=real_communes, links=links
    )
    assert run.problems[("session", NO_SESSION_DATES)] == len(courses)
