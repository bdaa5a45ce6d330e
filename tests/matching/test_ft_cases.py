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


def _by_id(path: Path) -> dict[str, Any]:
    offers, _ = parse_offers(read_offer_records(path))
    return {o.id: o for o in offers}


def test_a_damaged_range_separator_still_gives_the_range(ft_cases: Path) -> None:
    offers = _by_id(ft_cases / "01-salary-range-mangled-a.json")
    assert {i: (o.salary_min_monthly, o.salary_max_monthly) for i, o in offers.items()} == {
        "BH01A": (1600.0, 1800.0),  # "ï¿½" (the mojibake of "à")
        "BH01B": (1600.0, 1800.0),  # "�"
        "BH01C": (1600.0, 1800.0),  # the clean control
    }


@given(separator=st.sampled_from(["à", "a", "-", "–", "ï¿½", "�", "Ã ", "Ã\xa0", "?", "/"]))
def test_any_short_separator_between_two_amounts_is_a_range(separator: str) -> None:
    from matching.ingest.ft_offers import parse_salary

    salary = parse_salary(f"Mensuel de 2100,00 Euros {separator} 2400,00 Euros sur 12 mois")
    assert (salary.min_monthly, salary.max_monthly) == (2100.0, 2400.0)  # never a silent min = max


def test_part_time_hours_are_read_and_convert_hourly_wages(ft_cases: Path) -> None:
    offers = _by_id(ft_cases / "15-part-time-hours.json")
    assert {i: o.weekly_hours for i, o in offers.items()} == {"PT01": 24.0, "PT02": 5.0, "PT03": 20.0}
    assert not any(o.full_time for o in offers.values())
    # hourly wages at the offer's own hours (× 52 / 12), not at 35 h (2,275 €/month for 15 €/h at 5 h)
    assert offers["PT01"].salary_min_monthly == 1248.0  # 12 €/h × 24 h
    assert offers["PT02"].salary_min_monthly == 325.0  # 15 €/h × 5 h
    _, report = parse_offers(read_offer_records(ft_cases / "15-part-time-hours.json"))
    assert report.hours_stated == report.hours_parsed == 3  # hours written after "temps partiel -" count


@given(
    hours=st.integers(min_value=1, max_value=60),
    prefix=st.sampled_from(["", "temps partiel - ", "Temps plein - ", "TEMPS PARTIEL -"]),
    rest=st.sampled_from([" Autre", " Travail en journée", " Horaires variables", ""]),
)
def test_weekly_hours_after_any_time_prefix(hours: int, prefix: str, rest: str) -> None:
    from matching.ingest.ft_offers import parse_weekly_hours

    assert parse_weekly_hours(f"{prefix}{hours}H{rest}", None)[0] == hours


def test_rome_texts_read_as_prose(ft_cases: Path, rome_dir: Path) -> None:
    import csv

    from matching.referential import load_referential
    from matching.referential.rome_csv import rome_text

    with (ft_cases / "10-rome-texte-doubled-apostrophes.csv").open(encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["position_phrase"]))
    assert rome_text(r["libelle_texte"] for r in rows) == (
        "L'agent d'accueil oriente chaque visiteur vers l'interlocuteur adapté. "
        "Tient à jour l'agenda des rendez-vous."
    )
    # the whole official export is like that: no definition keeps a doubled apostrophe
    referential = load_referential(rome_dir)
    definitions = [f.definition for f in referential.fiches.values() if f.definition]
    assert definitions and not any("''" in d for d in definitions)
    assert "badges d'accès. Organise l'agenda" in referential.fiches["M1601"].definition


def test_a_merged_communes_old_code_is_found_by_its_postal_code(ft_cases: Path, real_communes: Any) -> None:
    records = read_offer_records(ft_cases / "03-commune-deleguee.json")
    parsed = {r["id"]: parse_offer(r, communes=real_communes) for r in records}
    cran = parsed["BH03A"]  # 74093 (Cran-Gevrier, merged into Annecy in 2017), postal code 74960
    assert cran.offer is not None and cran.offer.location.insee == "74010"
    assert cran.offer.location.lat is not None and abs(cran.offer.location.lat - 45.89) < 0.05
    assert [(w.field, w.problem) for w in cran.warnings] == [
        ("lieuTravail.commune", "unknown INSEE code 74093, commune 74010 found by postal code 74960")
    ]
    assert parsed["BH03B"].offer is not None and parsed["BH03B"].warnings == []  # the control


def test_postal_codes_resolve_only_what_they_tell(real_communes: Any) -> None:
    from matching.geo import place_key

    places = real_communes.postal_places
    single = [cp for cp, names in places.items() if len(set(names.values())) == 1]
    shared = [cp for cp, names in places.items() if len(set(names.values())) > 1]
    assert len(single) > 1000 and len(shared) > 100
    for postal in single[::97]:  # a postal code of one commune: that commune, whatever the label
        assert real_communes.by_postal_code(postal, "n'importe quoi") == next(iter(places[postal].values()))
    for postal in shared[::29]:  # shared: the commune the label names, never a guess
        for name, code in list(places[postal].items())[:3]:
            assert real_communes.by_postal_code(postal, f"99 - {name.title()}") == code
        assert real_communes.by_postal_code(postal, "Nulle Part") is None
    assert (
        place_key("74 - Cran-Gévrier") == "CRAN GEVRIER" and place_key("2A - L'Île-Rousse") == "L ILE ROUSSE"
    )


def test_la_poste_base_variants(ft_cases: Path, tmp_path: Path) -> None:
    import pytest
    from typer.testing import CliRunner

    from entrypoints.cli import app
    from matching.errors import GeoError
    from matching.geo import load_laposte

    gps = load_laposte(ft_cases / "07a-laposte-coordonnees-gps.csv")  # one "lat,lon" column
    assert gps.coords("31555") == pytest.approx((43.5963814303, 1.43167293364))
    assert "74010" in gps and gps.name_of("74010") == "Annecy"
    latin1 = ft_cases / "07b-laposte-2023-latin1-no-coords.csv"  # the current official export
    with pytest.raises(GeoError, match="without coordinates"):
        load_laposte(latin1)
    refused = CliRunner().invoke(
        app,
        [
            "sample",
            "--profiles",
            "10",
            "--offers",
            "10",
            "--trainings",
            "10",
            "--months",
            "0",
            "--communes",
            str(latin1),
            "--out",
            str(tmp_path / "world"),
        ],
    )
    assert refused.exit_code == 2 and "without coordinates" in refused.output
    assert "Traceback" not in refused.output
    # the same file re-encoded in UTF-8 with coordinates added reads as a base: the encoding is no fault
    text = latin1.read_bytes().decode("latin-1").splitlines()
    rows = [text[0].lstrip("#") + ";latitude;longitude"] + [line + ";45.0;5.0" for line in text[1:]]
    (tmp_path / "utf8.csv").write_text("\n".join(rows), encoding="utf-8")
    utf8 = load_laposte(tmp_path / "utf8.csv")
    assert sorted(utf8.insee.tolist()) == ["31555", "49007", "74010"]  # one entry per commune
    assert utf8.by_postal_code("74960", "74 - MEYTHET") == "74010"  # its Ligne_5 localities kept


def test_swapped_coordinates_are_checked_against_the_commune(ft_cases: Path, real_communes: Any) -> None:
    parsed = {
        r["id"]: parse_offer(r, communes=real_communes)
        for r in read_offer_records(ft_cases / "04-latlon-swapped.json")
    }
    swapped, control = parsed["BH04A"], parsed["BH04B"]
    assert swapped.offer is not None and control.offer is not None
    assert (swapped.offer.location.lat, swapped.offer.location.lon) == (
        45.7597,
        4.8486,
    )  # Lyon 3e, not the Gulf of Guinea
    assert ("lieuTravail.latitude", "latitude and longitude swapped") in {
        (w.field, w.problem) for w in swapped.warnings
    }
    assert control.warnings == [] and control.offer.location == swapped.offer.location


def test_whole_city_codes_corsica_and_overseas_are_located(ft_cases: Path, real_communes: Any) -> None:
    parsed = [
        parse_offer(r, communes=real_communes)
        for r in read_offer_records(ft_cases / "11-paris-lyon-marseille-whole-city.json")
    ]
    located = {p.offer.id: p.offer.location for p in parsed if p.offer is not None}
    assert len(located) == 7 and all(place.has_coordinates for place in located.values())
    assert (
        abs(located["BH11A"].lat - 48.86) < 0.05 and abs(located["BH11G"].lat + 20.93) < 0.05
    )  # Paris, Réunion
    assert located["BH11E"].insee == "2A004" and located["BH11F"].insee == "2B033"


def _title_pairs(ft_cases: Path) -> list[tuple[str, str]]:
    """Each title of case 08 with the form it must resolve like: its "(H/F)" one, or the spaced slash."""
    titles = [
        t for t in (ft_cases / "08-gender-mark-variants.txt").read_text().splitlines() if t and t[0] != "#"
    ]
    reference: dict[str, str] = {}
    pairs = []
    for title in titles:
        stem = title.split(" (")[0].split(" F/H")[0].split(" H-F")[0].replace("/", " / ").replace("  ", " ")
        reference.setdefault(" ".join(stem.split()), title)
        pairs.append((title, reference[" ".join(stem.split())]))
    return pairs


def test_inclusive_title_marks_resolve_like_hf(ft_cases: Path, rome_dir: Path) -> None:
    from matching.ingest.profiles import resolve_job_title
    from matching.referential import load_referential
    from matching.rome_classifier import RomeClassifier
    from matching.views import clean_title

    referential = load_referential(rome_dir)
    classifier = RomeClassifier(referential, encoder=None).fit()
    pairs = _title_pairs(ft_cases)
    assert len(pairs) == 12 and sum(t != ref for t, ref in pairs) == 8  # every variant has its reference
    for title, ref in pairs:
        assert clean_title(title) == clean_title(ref) or "/" in title, title
        assert referential.find_appellations(clean_title(title)), title  # an offer's appellation
        assert resolve_job_title(title, referential) == resolve_job_title(ref, referential)  # a declaration
        assert classifier.classify(title, k=1) == classifier.classify(ref, k=1), title  # `rome classify`
