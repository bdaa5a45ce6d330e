"""The official ROME 4.0 v460 export, read from ../shared/data (never copied into the project)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from matching.errors import ReferentialError, UnknownCodeError
from matching.referential import Referential, RomeRelation, SkillKind, load_rome_csv
from matching.referential.rome_csv import decode_legacy_text, read_rome_table


def test_official_counts(real_referential: Referential) -> None:
    counts = real_referential.counts()
    assert counts["fiches"] == 1584
    assert counts["parent_fiches"] == 532
    assert counts["appellations"] == 13120
    assert counts["mobility_links"] == 14912
    assert counts["grand_domains"] == 14
    assert real_referential.version == "ROME 4.0 v60"


def test_sub_fiche_parent_and_children(real_referential: Referential) -> None:
    data_engineer = real_referential.fiche("M1811")
    assert not data_engineer.is_parent
    parent = real_referential.parent("M1811")
    assert parent.is_parent
    assert parent.code == data_engineer.parent_code
    assert "M1811" in {f.code for f in real_referential.children(parent.code)}
    assert real_referential.parent(parent.code) == parent


def test_appellation_lookup(real_referential: Referential) -> None:
    app = next(iter(real_referential.appellations.values()))
    assert real_referential.fiche_of_appellation(app.code).code == app.fiche_code
    found = real_referential.find_appellations(app.label.upper())
    assert app.code in {a.code for a in found}
    principal = [a for a in real_referential.appellations_of("M1811") if a.principal]
    assert len(principal) == 1


def test_skills_core_and_other(real_referential: Referential) -> None:
    skills = real_referential.skills_of("M1811")
    assert skills.core
    assert skills.other
    assert not set(skills.core) & set(skills.other)
    kinds = {real_referential.skill(s).kind for s in skills.all}
    assert SkillKind.SAVOIR_FAIRE in kinds
    total_core = sum(len(s.core) for s in real_referential.fiche_skills.values())
    assert total_core == 18900  # rows flagged "Principale" in unix_coherence_item


def test_mobility_neighbours_ranked(real_referential: Referential) -> None:
    neighbours = real_referential.mobility_neighbours("M1811")
    ranks = [rank for _, rank in neighbours]
    assert ranks == sorted(ranks)
    assert ranks[0] == 1
    assert all(rank <= 3 for _, rank in real_referential.mobility_neighbours("M1811", max_rank=3))


def test_rome_distance_levels(real_referential: Referential) -> None:
    ref = real_referential
    assert ref.rome_distance("M1811", "M1811").relation is RomeRelation.SAME
    parent = ref.fiche("M1811").parent_code
    assert ref.rome_distance("M1811", parent).relation is RomeRelation.PARENT_CHILD
    target, rank = ref.mobility_neighbours("M1811")[0]
    d = ref.rome_distance("M1811", target)
    assert d.relation in {RomeRelation.MOBILITY, RomeRelation.PARENT_CHILD, RomeRelation.SIBLING}
    if d.relation is RomeRelation.MOBILITY:
        assert d.mobility_rank == rank
    siblings = [c.code for c in ref.children(parent) if c.code != "M1811"]
    if siblings:
        assert ref.rome_distance("M1811", siblings[0]).relation is RomeRelation.SIBLING
    assert ref.rome_distance("A1101", "M1811").relation is RomeRelation.FAR
    assert ref.rome_distance("A1101", "A1203").relation in {
        RomeRelation.MOBILITY,
        RomeRelation.SAME_GRAND_DOMAIN,
        RomeRelation.SAME_DOMAIN,
    }


def test_unknown_code_has_suggestions(real_referential: Referential) -> None:
    with pytest.raises(UnknownCodeError, match="M1812") as info:
        real_referential.fiche("M1812x")
    assert "unknown ROME code" in str(info.value)
    with pytest.raises(UnknownCodeError):
        real_referential.appellation("0")


def test_cp1252_file_decoded(real_referential: Referential, rome_dir: Path) -> None:
    path = next(rome_dir.glob("unix_arborescence_secteur_naf_*.csv"))
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")  # the file is 8-bit despite its name
    rows = list(read_rome_table(path, ("code_rome", "libelle_rome")))
    accented = [r for r in rows if "é" in r["libelle_rome"]]
    assert accented
    # labels decoded from the cp1252 file equal those of the UTF-8 fiche table
    assert all(real_referential.fiche(r["code_rome"]).label == r["libelle_rome"] for r in accented)
    assert sum(len(v) for v in real_referential.naf_sectors.values()) == len(rows)


def test_legacy_decoding_tells_cp1252_from_latin9() -> None:
    assert decode_legacy_text("Manœuvre élevé".encode("iso-8859-15")) == "Manœuvre élevé"
    assert decode_legacy_text("Manœuvre élevé".encode("cp1252")) == "Manœuvre élevé"


def test_missing_file_is_a_clear_error(rome_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "rome"
    shutil.copytree(rome_dir, partial)
    next(partial.glob("unix_rubrique_mobilite_*.csv")).unlink()
    with pytest.raises(ReferentialError, match="rubrique_mobilite"):
        load_rome_csv(partial)
    with pytest.raises(ReferentialError, match="not found"):
        load_rome_csv(tmp_path / "nowhere")


def test_missing_column_is_a_clear_error(rome_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "rome"
    shutil.copytree(rome_dir, broken)
    path = next(broken.glob("unix_rubrique_mobilite_*.csv"))
    path.write_text(path.read_text(encoding="utf-8").replace("numero_ordre", "rank"), encoding="utf-8")
    with pytest.raises(ReferentialError, match="numero_ordre"):
        load_rome_csv(broken)
