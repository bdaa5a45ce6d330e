"""Skill extraction (offer text → ROME competences): the stemmer and lexicon, the extractor's contract
(fit, extract, out-of-fold counts, the cold-domain fallback, fail-closed persistence), and how the
skills it infers reach what an offer asks for."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from matching.domain import Offer, wanted_skills
from matching.encoders import HashingEncoder
from matching.referential import Referential
from matching.referential.model import SkillKind
from matching.skills import (
    RANKER_FILE,
    FrenchStemmer,
    SkillCounts,
    SkillExtractor,
    SkillExtractorError,
    SkillLexicon,
    SkillQuery,
    with_inferred_skills,
)


def test_stems_are_accent_free_french_stems_without_stop_words() -> None:
    stem = FrenchStemmer()
    assert stem("Administrer les Systèmes d'informations") == ["administr", "system", "inform"]
    assert stem("ADMINISTRATION des systemes") == ["administr", "system"]
    assert stem("les des pour et a") == []


def test_stems_are_the_same_when_requests_share_the_stemmer() -> None:
    from concurrent.futures import ThreadPoolExecutor

    words = [
        f"{root}{ending}"
        for root in ("administr", "collect", "entreten", "program")
        for ending in ("er", "ation", "ons", "ait", "aient")
    ]
    expected = FrenchStemmer()(" ".join(words))
    shared = FrenchStemmer(cache_size=0)  # every call stems: the shared state is exercised each time
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: shared(" ".join(words)), range(400)))
    assert all(result == expected for result in results)


def test_a_text_with_every_stem_of_a_label_covers_it_whole(builtin: Referential) -> None:
    lexicon = SkillLexicon(builtin)
    skill = next(s for s in lexicon.skills if len(FrenchStemmer()(s.label)) >= 2)
    cover = lexicon.coverage([f"Nous cherchons : {skill.label.upper()} !", "rien à voir"]).toarray()
    column = lexicon.index[skill.code]
    assert cover[0, column] == pytest.approx(1.0, abs=1e-5)
    assert cover[1, column] == 0


def _training_offers(
    referential: Referential, n: int = 160
) -> tuple[list[SkillQuery], list[tuple[str, ...]]]:
    """Offers of six fiches of two domains: each lists two of its fiche's skills and names one of
    them in its description, the recruiter's template being one of three lists per fiche."""
    rng = np.random.default_rng(0)

    def known(code: str) -> list[str]:  # savoir-être are never extracted
        return [
            s for s in referential.skills_of(code).all if referential.skills[s].kind != SkillKind.SAVOIR_ETRE
        ]

    fiches = [c for c in sorted(referential.fiche_skills) if len(known(c)) >= 4][:6]
    queries, listed = [], []
    for i in range(n):
        code = fiches[i % len(fiches)]
        skills = known(code)
        start = int(rng.integers(0, 3))
        chosen = (skills[start], skills[start + 1])
        label = referential.skills[chosen[0]].label
        queries.append(SkillQuery(f"{referential.fiches[code].label} H/F", f"Vous savez : {label}.", code))
        listed.append(chosen)
    return queries, listed


@pytest.fixture(scope="module")
def fitted(builtin: Referential) -> tuple[SkillExtractor, list[SkillQuery], list[tuple[str, ...]]]:
    queries, listed = _training_offers(builtin)
    extractor = SkillExtractor(builtin, n_estimators=30, min_child_samples=5, n_folds=3)
    return extractor.fit(queries, listed), queries, listed


def test_fit_learns_state_and_returns_self(builtin: Referential) -> None:
    queries, listed = _training_offers(builtin, 60)
    extractor = SkillExtractor(builtin, n_estimators=10, min_child_samples=5, n_folds=3)
    assert not hasattr(extractor, "booster_")
    with pytest.raises(SkillExtractorError, match="not fitted"):
        extractor.extract(queries[0])
    assert extractor.fit(queries, listed) is extractor
    assert extractor.n_offers_ == 60 and extractor.counts_.offers == 60
    assert extractor.n_estimators == 10  # hyper-parameters stored unchanged


def test_too_few_offers_are_refused_in_words(builtin: Referential) -> None:
    queries, listed = _training_offers(builtin, 4)
    with pytest.raises(SkillExtractorError, match="at least 6 offers"):
        SkillExtractor(builtin, n_folds=3).fit(queries, listed)


def test_offers_listing_the_same_skills_share_a_fold(builtin: Referential) -> None:
    listed = [("a", "b"), ("b", "a"), ("c",), ("d",), ("a", "b"), ("e",)]
    fold = SkillExtractor(builtin, n_folds=2).folds(listed)
    assert fold[0] == fold[1] == fold[4]
    assert set(fold.tolist()) == {0, 1}


def test_extraction_finds_what_offers_of_the_code_list_and_the_text_names(
    fitted: tuple[SkillExtractor, list[SkillQuery], list[tuple[str, ...]]],
) -> None:
    extractor, queries, listed = fitted
    hits = []
    for query, truth in zip(queries[:30], listed[:30], strict=True):
        codes, probability = extractor.extract(query, 5)
        assert len(codes) == len(probability) <= 5
        assert np.all(np.diff(probability) <= 1e-6)  # best first
        assert np.all((probability >= 0) & (probability <= 1))
        hits.append(truth[0] in codes)  # the one the description names
    assert np.mean(hits) >= 0.9


def test_a_domain_never_learned_from_gets_its_fiche_in_order(
    fitted: tuple[SkillExtractor, list[SkillQuery], list[tuple[str, ...]]], builtin: Referential
) -> None:
    extractor, _, _ = fitted
    learned = set(extractor.counts_.domain_offers)
    code = next(c for c in sorted(builtin.fiche_skills) if c[:3] not in learned and builtin.skills_of(c).all)
    assert extractor.cold(code)
    codes, probability = extractor.extract(SkillQuery("Un métier", "", code), 50)
    lexicon = extractor.lexicon.index
    assert codes == [s for s in builtin.skills_of(code).all if s in lexicon]
    assert probability[0] == pytest.approx(extractor.position_rates_[0])
    assert np.all(np.diff(probability) <= 0)  # best first, a later position never more likely
    # a position barely seen gets the overall share, not a coin toss: nothing stored on no evidence
    assert max(extractor.position_rates_[-5:]) < 0.5


def test_inferred_skills_are_the_likely_ones_and_never_the_listed_ones(
    fitted: tuple[SkillExtractor, list[SkillQuery], list[tuple[str, ...]]],
) -> None:
    extractor, queries, listed = fitted
    query = queries[0]
    offer = Offer(
        id="o1", title=query.title, description=query.description, rome_code=query.rome_code,
        skills=(listed[0][0],), created_at=datetime(2025, 3, 1),
    )  # fmt: skip
    (done,) = with_inferred_skills([offer], extractor)
    assert done.skills == offer.skills  # as given
    assert listed[0][0] not in done.inferred_skills
    assert all(p >= 0.5 for p in done.inferred_skill_scores)
    assert len(done.inferred_skills) == len(done.inferred_skill_scores)
    assert with_inferred_skills([offer], None) == [offer]
    with pytest.raises(ValueError, match="one score per inferred skill"):
        Offer.model_validate(offer.model_dump() | {"inferred_skills": ("1",), "inferred_skill_scores": ()})


def test_saved_extractor_gives_the_same_skills_and_refuses_anything_else(
    fitted: tuple[SkillExtractor, list[SkillQuery], list[tuple[str, ...]]],
    builtin: Referential,
    tmp_path: Path,
) -> None:
    extractor, queries, _ = fitted
    folder = extractor.save(tmp_path / "skills")
    loaded = SkillExtractor.load(folder, builtin)
    for query in queries[:5]:
        codes, probability = extractor.extract(query)
        again, again_probability = loaded.extract(query)
        assert again == codes and np.allclose(again_probability, probability)
    with pytest.raises(SkillExtractorError, match="encoder"):
        SkillExtractor.load(folder, builtin, HashingEncoder())
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"referential": "v000"}))
    with pytest.raises(SkillExtractorError, match="referential"):
        SkillExtractor.load(folder, builtin)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with (folder / RANKER_FILE).open("a") as handle:
        handle.write("\n")
    with pytest.raises(SkillExtractorError, match="checksum"):
        SkillExtractor.load(folder, builtin)
    with pytest.raises(SkillExtractorError, match="is missing"):
        SkillExtractor.load(tmp_path / "nothing", builtin)


def test_counts_round_trip_through_json() -> None:
    counts = SkillCounts.count(["K2303", "K2303", "M1801"], [("a", "b"), ("a",), ("c",)])
    again = SkillCounts.from_json(json.loads(json.dumps(counts.to_json())))
    assert again == counts
    assert counts.by_code["K2303"]["a"] == 2 and counts.by_domain["K23"]["b"] == 1 and counts.offers == 3


def test_what_an_offer_asks_for_prefers_what_it_states() -> None:
    assert wanted_skills(("r",), ("l",), ("i",), ("c",)) == ("r",)
    assert wanted_skills((), ("l",), ("i",), ("c",)) == ("l",)
    assert wanted_skills((), (), ("i", "j"), ("c",)) == ("i", "j")
    assert wanted_skills((), (), (), ("c",)) == ("c",)
    assert wanted_skills((), (), ()) == ()


def test_pair_features_read_the_inferred_skills_of_an_offer_that_lists_none(builtin: Referential) -> None:
    from features.pairs import _wanted_skills

    code = next(c for c in sorted(builtin.fiche_skills) if builtin.skills_of(c).core)
    core = builtin.skills_of(code).core
    offers = {
        "required_skills": [(), ()],
        "skills": [(), ("x",)],
        "inferred_skills": [("i",), ("j",)],
        "rome_code": [code, code],
    }
    assert _wanted_skills(offers, builtin) == [("i",), ("x",)]
    # a world's offers (the simulator's) carry no inferred skills: the fiche's core skills stand in
    del offers["inferred_skills"]
    assert _wanted_skills(offers, builtin) == [core, ("x",)]
