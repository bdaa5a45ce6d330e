"""The hand-written built-in referential has the same interface and holds together."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from matching.errors import ReferentialError
from matching.referential import Referential, RomeRelation, load_referential
from matching.referential.builtin import referential_from_dict


def test_default_is_builtin(builtin: Referential) -> None:
    assert load_referential().version == builtin.version == "builtin-1"


def test_a_few_dozen_fiches_across_domains(builtin: Referential) -> None:
    counts = builtin.counts()
    assert 30 <= counts["fiches"] <= 80
    assert counts["grand_domains"] >= 10
    assert counts["parent_fiches"] < counts["fiches"]  # some sub-fiches
    assert all(builtin.skills_of(code).core for code in builtin.fiches)
    assert all(builtin.appellations_of(code) for code in builtin.fiches)


def test_relations(builtin: Referential) -> None:
    assert builtin.rome_distance("N1104", "N1103").relation is RomeRelation.PARENT_CHILD
    assert builtin.rome_distance("N1101", "N1104").relation is RomeRelation.MOBILITY
    assert builtin.rome_distance("N1101", "N1104").mobility_rank == 1
    assert builtin.rome_distance("M1203", "M1805").relation is RomeRelation.SAME_GRAND_DOMAIN
    assert builtin.rome_distance("A1203", "M1805").relation is RomeRelation.FAR
    assert builtin.find_appellations("CARISTE")[0].fiche_code == "N1101"


def test_broken_links_are_refused() -> None:
    text = resources.files("matching.referential").joinpath("builtin", "rome_builtin.json").read_text("utf-8")
    data = json.loads(text)
    data["mobility"].append(["N1101", "Z9999", 9])
    with pytest.raises(ReferentialError, match="Z9999"):
        referential_from_dict(data)
