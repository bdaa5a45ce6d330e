"""The real-data cases of ``../shared/cases/ft_offers`` (faults other teams reported on the same data),
each asserting the right value its README gives, and the kind of fault checked beyond the one input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.ingest import parse_offer, parse_offers, read_offer_records

# the typed fields of a record and where a wrong type goes (path in the record)
TYPED_FIELDS = [
    ("intitule",),
    ("description",),
    ("dateActualisation",),
    ("typeContrat",),
    ("experienceExige",),
    ("experienceLibelle",),
    ("dureeTravailLibelle",),
    ("dureeTravailLibelleConverti",),
    ("qualificationCode",),
    ("nombrePostes",),
    ("appellationlibelle",),
    ("lieuTravail",),
    ("lieuTravail", "libelle"),
    ("lieuTravail", "commune"),
    ("lieuTravail", "latitude"),
    ("salaire",),
    ("salaire", "libelle"),
    ("competences",),
    ("formations",),
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def test_fields_of_a_wrong_json_type_are_dropped_with_a_warning(ft_cases: Path) -> None:
    records = read_offer_records(ft_cases / "14-wrong-json-types.json")
    offers, report = parse_offers(records)  # the run never aborts
    assert report.total == report.parsed == len(records) == 6
    dropped = {
        r["id"]: {(w.field, w.problem.split(",")[0]) for w in parse_offer(r).warnings} for r in records
    }
    assert dropped == {
        "TY01": {("salaire.libelle", "expected text")},
        "TY02": {("dureeTravailLibelle", "expected text")},
        "TY03": {("experienceExige", "expected text")},
        "TY04": {("competences.code", "expected text")},
        "TY05": {("experienceLibelle", "expected text")},
        "TY06": {("dureeTravailLibelleConverti", "expected text")},
    }
    by_id = {o.id: o for o in offers}
    assert by_id["TY01"].salary_min_monthly is None  # dropped, never read as a number
    assert by_id["TY04"].skills == ()  # a list is no skill code ("['100023']" before)
    assert report.salary_stated == 0 and report.hours_stated == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(TYPED_FIELDS), value=JSON)
def test_any_json_value_in_any_field_never_aborts_the_parse(
    ft_cases: Path, where: tuple[str, ...], value: Any
) -> None:
    record: dict[str, Any] = copy.deepcopy(json.loads((ft_cases / "05-typecontrat-ddt.json").read_text())[0])
    target = record
    for key in where[:-1]:
        target = target.setdefault(key, {})
    target[where[-1]] = value
    parsed = parse_offer(record)  # never raises
    if where[0] != "intitule":  # the only typed field whose loss can refuse the offer (a title is required)
        assert parsed.offer is not None, parsed.rejections
    _, report = parse_offers([record])
    assert report.total == 1
