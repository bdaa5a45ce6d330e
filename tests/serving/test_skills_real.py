"""Skills read from a real offer's text reach the candidate's explanation: an offer that lists no
competence asks for the skills extracted from it, and a candidate who has them is not told they are
missing. The extractor learns from the real offers that list theirs (fewer trees: fast)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from matching.domain import Location, Offer, Profile
from matching.ingest import parse_offer, read_offer_records
from matching.referential import Referential
from matching.skills import OffersWithSkills, SkillExtractor, with_inferred_skills
from serving.explain import explain
from serving.storage.db import migrate
from serving.storage.repository import SqlRepository

# "Equipier de collecte avec permis be (H/F)", K2303: the real extract lists no competence for it
COLLECTE = "184RVTG"


@pytest.fixture(scope="module")
def records(offers_file: Path) -> list[Any]:
    return read_offer_records(offers_file)


@pytest.fixture(scope="module")
def extractor(records: list[Any], real_referential: Referential) -> SkillExtractor:
    data = OffersWithSkills.from_records(records, real_referential)
    assert len(data) > 600  # 665 of the 3,589 real offers list a known competence or savoir
    return SkillExtractor(real_referential, n_estimators=60).fit(data.queries, data.listed)


@pytest.fixture(scope="module")
def offer(records: list[Any], real_referential: Referential, extractor: SkillExtractor) -> Offer:
    raw = next(r for r in records if r["id"] == COLLECTE)
    parsed = parse_offer(raw, referential=real_referential).offer
    assert parsed is not None and not parsed.skills
    return with_inferred_skills([parsed], extractor)[0]


def test_a_real_offer_without_listed_competences_gets_skills_read_from_its_text(
    offer: Offer, real_referential: Referential
) -> None:
    assert offer.inferred_skills, "the waste-collection offer should get skills"
    labels = [real_referential.skills[code].label for code in offer.inferred_skills]
    assert "Collecter des déchets ménagers ou industriels" in labels
    assert all(0.5 <= p <= 1 for p in offer.inferred_skill_scores)


def _person(skills: tuple[str, ...]) -> Profile:
    return Profile(
        id="p1", rome_codes=("K2303",), skills=skills, home=Location(lat=48.85, lon=2.35), max_commute_km=30
    )


def test_the_explanation_shows_the_extracted_skills_and_a_candidate_who_has_them_misses_none(
    offer: Offer, real_referential: Referential
) -> None:
    labels = [real_referential.skills[code].label for code in offer.inferred_skills]
    without = explain(real_referential, _person(()), offer, date(2025, 3, 10))
    assert without.skills_missing == labels and without.skills_covered == []
    assert without.skills_source == "inferred"  # the pages say they were read from the text
    has = explain(real_referential, _person(offer.inferred_skills), offer, date(2025, 3, 10))
    assert has.skills_covered == labels and has.skills_missing == []
    # not the fiche's core skills any more: what the offer asks for
    core = real_referential.skills_of(offer.rome_code).core
    assert set(offer.inferred_skills) != set(core)


def test_inferred_skills_are_stored_and_read_back(offer: Offer, engine: Engine) -> None:
    migrate(engine)
    repository = SqlRepository(engine)
    repository.upsert_offers([offer])
    stored = repository.get_offer(offer.id)
    assert stored is not None
    assert stored.inferred_skills == offer.inferred_skills
    assert stored.inferred_skill_scores == pytest.approx(offer.inferred_skill_scores)
    assert json.loads(stored.model_dump_json())["skills"] == []  # listed ones: as given (none)
    assert isinstance(stored.created_at, datetime)
    # ingested again without an extractor: what was read from the same text is kept, nothing rewritten
    bare = offer.model_copy(update={"inferred_skills": (), "inferred_skill_scores": ()})
    (again,) = repository.with_stored_inferred_skills([bare])
    assert again.inferred_skills == offer.inferred_skills
    assert repository.upsert_offers([again]).unchanged == 1
    # another text: nothing carried over (what was read no longer says what it asks for)
    edited = bare.model_copy(update={"description": bare.description + " Permis C exigé."})
    assert repository.with_stored_inferred_skills([edited])[0].inferred_skills == ()


@pytest.mark.parametrize(
    ("source", "said"),
    [("inferred", "déduites du texte de l'offre"), ("fiche", "Compétences clés du métier"), ("listed", None)],
)
def test_cards_say_where_the_skills_come_from(source: str, said: str | None) -> None:
    from serving.pages.router import templates
    from serving.schemas import Explanation

    why = Explanation(
        rome_relation="même métier",
        skills_missing=["Collecter des déchets"],
        skills_source=source,
        commute="près",
    )
    html = templates.get_template("_source_competences.html").render(why=why)
    if said is None:
        assert html.strip() == ""  # the offer listed them: nothing to say
    else:
        assert said in html
