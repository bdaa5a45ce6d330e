"""Formacode tables and links to ROME competences: the real tables read, each source of links, the
V12 → V13 numbering, the artifact loaded fail-closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching.encoders import HashingEncoder
from matching.errors import IngestError
from matching.formacode import (
    EMBEDDING_WEIGHT,
    FormacodeLinksError,
    FormacodeSkillLinker,
    FormacodeThesaurus,
)
from matching.ingest.formacode import (
    FormacodeChange,
    FormacodeTerm,
    OfferFormation,
    formacode,
    read_formacode_thesaurus,
    read_offer_formations,
    read_rome_v2_formacodes,
    read_v12_v13,
)
from matching.referential import Referential


def test_the_real_tables_are_read(trainings_data: Path, offers_file: Path) -> None:
    terms = read_formacode_thesaurus((trainings_data / "lheo/formacode/FCod-utf-8.csv").read_text())
    assert len(terms) == 3048
    assert terms["11017"].label == "statistique appliquée" and "biométrie" in terms["11017"].synonyms
    assert ("32151", "Chargé d'analyses et de développement") in terms["11017"].rome_v2
    assert terms["11017"].is_field and not terms["99999"].is_field  # "information non communiquée"
    changes = read_v12_v13((trainings_data / "formacode/formacode_v12_v13_correspondance.tsv").read_text())
    assert len(changes) == 3404
    bureautique = next(c for c in changes if c.v12 == "35066")
    assert (bureautique.status, bureautique.v13, bureautique.v13_label) == ("R", "15052", "BUREAUTIQUE")
    rome_v2 = read_rome_v2_formacodes((trainings_data / "lheo/rome_formacode/RomeFCod-utf-8.csv").read_text())
    assert ("11132", "Coiffeur", ("42050", "42061")) in rome_v2
    offers = read_offer_formations(offers_file.read_text())
    assert len(offers) == 194 and {o.formacode for o in offers} >= {"31026", "31054"}
    data_science = next(o for o in offers if o.formacode == "31026")
    assert (data_science.label, data_science.rome_code) == ("data science", "M1811")
    assert sum(bool(o.competences) for o in offers) >= 100  # the offers that list their competences


def test_cells_and_wrong_files() -> None:
    assert [formacode(v) for v in ("31006", "31006.0", 31006, " 15052 ", "3100", "abc", None)] == [
        "31006",
        "31006",
        "31006",
        "15052",
        None,
        None,
        None,
    ]
    for reader in (read_formacode_thesaurus, read_v12_v13, read_rome_v2_formacodes):
        with pytest.raises(IngestError, match=r"^not a "):
            reader("a,b,c\n1,2,3\n")
    with pytest.raises(IngestError, match="not JSON"):
        read_offer_formations("{")


def _thesaurus() -> FormacodeThesaurus:
    terms = {
        # trains for "Préparateur de commandes" (a builtin appellation) by the 2003 table
        "31700": FormacodeTerm(
            "31700", "préparation commandes", rome_v2=(("43111", "Préparateur de commandes"),)
        ),
        # no table, no offer: its label is a builtin skill's
        "31800": FormacodeTerm("31800", "Réaliser un inventaire"),
        "31900": FormacodeTerm("31900", "chariot élévateur"),
        "99999": FormacodeTerm("99999", "information non communiquée", kind="OUT"),
    }
    changes = [
        FormacodeChange("R", "41900", "CARISTE", "31900", "CHARIOT ELEVATEUR"),
        FormacodeChange("S", "41000", "ANCIEN", None, ""),
    ]
    return FormacodeThesaurus(terms, changes, labels={"31900": "Conduite de chariot élévateur"})


def _linker(builtin: Referential) -> FormacodeSkillLinker:
    offers = [
        OfferFormation("o1", "31900", "", "N1103", ("900001",)),
        OfferFormation("o2", "31900", "", "N1103", ("900001", "900002")),
        OfferFormation("o3", "41900", "", "N1103", ("900001",)),  # the V12 number of the same code
    ]
    return FormacodeSkillLinker(builtin, HashingEncoder(), null_pairs=2000).fit(
        _thesaurus(), offer_formations=offers
    )


def test_each_source_links_formacodes_to_skills(builtin: Referential) -> None:
    linker = _linker(builtin)
    assert set(linker.links_) == {"31700", "31800", "31900"}  # a tool code is no training field
    table = linker.links("31700")
    assert table and {link.source for link in table} == {"referentiel"}
    assert all(link.fiche == "N1103" and link.skill in builtin.skills_of("N1103").all for link in table)
    assert table[0].skill == "900007"  # "Préparer des commandes selon un bon": the nearest label
    offers = linker.links("31900")
    assert {link.source for link in offers} == {"offres"} and offers[0].skill == "900001"
    # three offers, the V12 number's one included: weight 3 / (3 + 1), times a specificity near 1 (two
    # offers would cap it at 2 / 3)
    assert 2 / 3 < offers[0].confidence <= 3 / 4
    embedding = linker.links("31800")
    assert [link.source for link in embedding][:1] == ["embedding"] and embedding[0].skill == "900008"
    assert embedding[0].confidence <= EMBEDDING_WEIGHT
    assert embedding[0].fiche in builtin.fiches and "900008" in builtin.skills_of(embedding[0].fiche).all
    assert linker.fiches_of(["31800"]) == ()  # a fiche guessed from the label files no course
    # savoir-être are not taught
    assert all(
        builtin.skills[link.skill].kind.value != "savoir_etre" for f in linker.links_.values() for link in f
    )


def test_numbering_skills_fiches_and_coverage(builtin: Referential) -> None:
    linker = _linker(builtin)
    assert linker.links("41900") == linker.links("31900")  # V12 read as its V13 code
    assert linker.links("41000") == () and linker.links("12345") == ()
    assert "900001" in linker.skills_of(["41900"]) and linker.fiches_of(["31700", "31900"]) == ("N1103",)
    assert linker.skills_of(["31800"], min_confidence=0.9) == ()  # an embedding link stays below
    # how a catalogue files a course teaching these skills
    assert linker.formacode_teaching(["900001", "000000"]) == "31900"
    assert linker.formacode_teaching(["000000"]) is None
    share = linker.coverage(["31700", "31800", "31900", "12345"])
    assert share == {"any": 0.75, "referentiel": 0.25, "offres": 0.25, "embedding": 0.25}


def test_saved_links_load_fail_closed(
    builtin: Referential, real_referential: Referential, tmp_path: Path
) -> None:
    linker = _linker(builtin)
    folder = linker.save(tmp_path / "links", build={"sources": "test"})
    again = FormacodeSkillLinker.load(folder, builtin)
    assert again.links_ == linker.links_ and again.links("41900") == linker.links("31900")
    with pytest.raises(FormacodeLinksError, match="referential"):
        FormacodeSkillLinker.load(folder, real_referential)
    with pytest.raises(FormacodeLinksError, match="encoder"):
        FormacodeSkillLinker.load(folder, builtin, HashingEncoder(dim=64))
    state = json.loads((folder / "links.json").read_text())
    state["links"]["31800"] = []
    (folder / "links.json").write_text(json.dumps(state))
    with pytest.raises(FormacodeLinksError, match="checksum"):
        FormacodeSkillLinker.load(folder, builtin)
    with pytest.raises(FormacodeLinksError, match="no Formacode links"):
        FormacodeSkillLinker.load(tmp_path / "none", builtin)


def test_without_a_near_competence_in_its_fiche_the_label_alone_links(builtin: Referential) -> None:
    # no competence of any fiche is near enough (an impossible bar): the competences nearest the label
    # over all, CSLS-checked, stand alone (one code against 72 skills: the random pairs draw the
    # matching label itself 1 time in 72, hence a lower bar than 0.99)
    linker = FormacodeSkillLinker(
        builtin, HashingEncoder(), min_specificity=1.01, min_embedding_specificity=0.9, null_pairs=2000
    ).fit(_thesaurus(), codes=["31800"])
    (first, *_) = linker.links("31800")
    assert (first.skill, first.source, first.fiche) == ("900008", "embedding", None)


def test_the_2003_descriptors_follow_their_code_into_v13(trainings_data: Path) -> None:
    terms = read_formacode_thesaurus((trainings_data / "lheo/formacode/FCod-utf-8.csv").read_text())
    changes = read_v12_v13((trainings_data / "formacode/formacode_v12_v13_correspondance.tsv").read_text())
    thesaurus = FormacodeThesaurus(terms, changes)
    # SPC: 31329 in 2003 and V12, 31429 in V13: its synonyms come along
    assert thesaurus.current("31329") == "31429" and thesaurus.text("31429").startswith("spc (")
    # 95006 was a tool in 2003 ("entrée/sortie permanente") and a certification in V12 (now 95020): the
    # 2003 entry is not the V13 code's
    assert thesaurus.current("95006") == "95020"
    assert thesaurus.label("95020") == "Certifications et labels qualite reconnus par le cnefop"
    assert "95006" not in thesaurus.terms and "entrée" not in thesaurus.text("95020")
    # renamed, the same descriptor: "cariste" (2003) is V12's "CHARIOT AUTOMOTEUR", one of its synonyms
    assert thesaurus.terms["31768"].label == "cariste" and "chariot élévateur" in thesaurus.text("31768")
    # a country renamed ("Myanmar" / "BIRMANIE") stays a country: no training field
    assert not thesaurus.is_field("62217") and thesaurus.is_field("31768")
    # codes created in V13 get their label
    assert thesaurus.label("13238") == "Reglement general protection donnees"
