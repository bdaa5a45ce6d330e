"""The real-data cases of ``../shared/cases/ft_offers`` (faults other teams reported on the same data),
each asserting the right value its README gives, and the kind of fault checked beyond the one input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
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


def test_unlocated_is_not_national(ft_cases: Path, real_communes: Any, real_referential: Any) -> None:
    """Case 02: a workplace given by its département (or region) is placed there with an approximate
    precision and alerted only to people whose commute reaches it; only "France" is national, and a
    foreign or unknown place is alerted to no one."""
    from matching.candidates import CandidateGenerator
    from matching.domain import Location, Precision, Profile
    from matching.encoders import HashingEncoder

    offers = {
        o.id: o
        for o in parse_offers(
            read_offer_records(ft_cases / "02-lieu-departement-only.json"), communes=real_communes
        )[0]
    }
    maine_et_loire, sarthe, france, angers = (
        offers[k].location for k in ("BH02A", "BH02B", "BH02C", "BH02D")
    )
    assert (maine_et_loire.precision, maine_et_loire.area, sarthe.area) == (Precision.DEPARTEMENT, "49", "72")
    assert 30 < maine_et_loire.extent_km < 70 and abs(maine_et_loire.lat - 47.4) < 0.2  # its centroid
    assert (france.precision, france.anywhere, france.has_coordinates) == (Precision.NATIONAL, True, False)
    assert (angers.precision, angers.insee, angers.anywhere) == (Precision.COMMUNE, "49007", None)
    # the other kinds of place: a region, abroad, nothing usable
    base = json.loads((ft_cases / "02-lieu-departement-only.json").read_text())[0]
    others = {
        label: parse_offer(
            {**base, "id": label[:8] or "nowhere", "lieuTravail": {"libelle": label}}, communes=real_communes
        )
        for label in ("Hauts-de-France", "Luxembourg (Frontalier)", "")
    }
    region, abroad, unknown = (p.offer.location for p in others.values() if p.offer is not None)
    assert (region.precision, region.area, abroad.precision, unknown.precision) == (
        Precision.REGION,
        "32",
        Precision.COUNTRY,
        Precision.UNKNOWN,
    )
    extra = [p.offer for p in others.values() if p.offer is not None]
    generator = CandidateGenerator(referential=real_referential, encoder=HashingEncoder()).index_offers(
        [*offers.values(), *extra]
    )

    def alerted(home: tuple[float, float]) -> set[str]:
        person = Profile(
            id="p", rome_codes=("I1401",), home=Location(lat=home[0], lon=home[1]), max_commute_km=20
        )
        return set(generator.recommend_offers(person, k=20)[0])

    assert alerted((47.47, -0.55)) == {"BH02A", "BH02C", "BH02D"}  # Angers: its département, France, the town
    assert alerted((43.30, 5.37)) == {"BH02C"}  # Marseille: only the national offer
    assert alerted((50.63, 3.06)) == {"BH02C", "Hauts-de"}  # Lille: the national offer and its region
    # Rouen lies inside the disc around Hauts-de-France, 46 km from its nearest département's edge
    assert alerted((49.44, 1.10)) == {"BH02C"}
    # a counsellor sourcing for the offers: candidates whose own commute reaches the département's or
    # the region's edge; for a place abroad or unknown, no distance is checked (the counsellor reads it)
    people = [
        Profile(
            id=name, rome_codes=("I1401",), home=Location(lat=lat, lon=lon), max_commute_km=20, visible=True
        )
        for name, lat, lon in (("angers", 47.47, -0.55), ("lille", 50.63, 3.06), ("rouen", 49.44, 1.10))
    ]
    generator.index_profiles(people)
    by_offer = {o.id: set(generator.recommend_profiles(o, k=10)[0]) for o in [*offers.values(), *extra]}
    assert by_offer["BH02A"] == {"angers"} and by_offer["Hauts-de"] == {"lille"}
    assert by_offer["BH02C"] == by_offer["Luxembou"] == by_offer["nowhere"] == {"angers", "lille", "rouen"}


def test_the_commune_base_is_checked_against_its_territories(real_communes: Any) -> None:
    """The real La Poste base puts Saint-Barthélemy and Saint-Martin at Saint-Pierre-et-Miquelon's
    point (3,000 km away) and 44 communes of French Polynesia west of it: corrected on load, warned."""
    from matching.geo import territories

    corrected = dict(real_communes.corrections)
    assert {"97701", "97801"} <= set(corrected) and sum(c.startswith("987") for c in corrected) >= 44
    for code, territory in (("97701", "977"), ("97801", "978"), ("98721", "987"), ("97502", "975")):
        assert territories()[territory].contains(*real_communes.coords(code)), code
    assert not any(code.startswith(("75", "13", "69")) for code in corrected)  # good points kept


def test_an_unknown_commune_is_placed_at_its_departement(real_communes: Any) -> None:
    record = {
        "id": "X1",
        "intitule": "Cariste (H/F)",
        "romeCode": "N1101",
        "dateCreation": "2025-03-10T09:00:00.000Z",
        "lieuTravail": {"libelle": "49 - ANGERS"},
    }
    by_name = parse_offer(record, communes=real_communes)
    assert by_name.offer is not None and by_name.offer.location.insee == "49007"  # found by its name
    record["lieuTravail"] = {"libelle": "49 - Ailleurs", "commune": "49999"}
    unknown = parse_offer(record, communes=real_communes)
    assert unknown.offer is not None
    assert (unknown.offer.location.precision, unknown.offer.location.area) == ("departement", "49")
    assert ("lieuTravail.commune", "unknown INSEE code, placed at its département") in {
        (w.field, w.problem) for w in unknown.warnings
    }


# -- ROME coding: appellations moved to sub-fiches (case 13), offers without a romeCode (case 16) --------
@pytest.fixture(scope="module")
def rome_classifier(real_referential: Any) -> Any:
    from matching.ingest import fit_rome_classifier

    return fit_rome_classifier(real_referential)


def test_an_appellation_of_a_subfiche_files_the_offer_under_it(ft_cases: Path, real_referential: Any) -> None:
    """Case 13: ROME 4.0 moved appellations to sub-fiches; an offer keeps the parent's code."""
    from matching.domain import RomeSource
    from matching.views import offer_view

    offers, report = parse_offers(
        read_offer_records(ft_cases / "13-appellation-moved-to-subfiche.json"), referential=real_referential
    )
    filed = {o.id: (o.rome_code, o.rome_source, o.stated_rome_code) for o in offers}
    assert filed == {
        "BH13A": ("M1419", RomeSource.SUBFICHE, "M1403"),  # "Data analyst": M1419, under M1403
        "BH13B": ("M1894", RomeSource.SUBFICHE, "M1801"),  # bases de données: M1894, under M1801
        "BH13C": ("K2319", RomeSource.SUBFICHE, "K2305"),  # "applicateur/Technicienne": no spaces
    }
    for offer in offers:  # the appellation found is the one of the fiche the offer is filed under
        assert offer.appellation_code is not None
        assert real_referential.fiche_of_appellation(offer.appellation_code).code == offer.rome_code
    assert report.rome_resolutions == {RomeSource.SUBFICHE: 3}
    # what the encoder reads is the sub-fiche's: its label and core skills, not the parent's
    data_analyst = next(o for o in offers if o.id == "BH13A")
    view = offer_view(data_analyst, real_referential)
    core = [real_referential.skills[c].label for c in real_referential.skills_of("M1419").core]
    assert core and core[0] in view
    assert real_referential.fiches["M1403"].label not in view


@pytest.mark.parametrize(
    ("rome_code", "label", "appellation_fiche"),
    [
        ("M1811", "Architecte de bases de données", "M1868"),  # a sibling sub-fiche (36 real offers)
        ("K2305", "Data analyst", "M1419"),  # another domain altogether
        ("M1419", "Chargé / Chargée d'études socio-économiques", "M1403"),  # the stated code's parent
    ],
)
def test_an_appellation_of_an_unrelated_fiche_is_flagged_and_not_used(
    ft_cases: Path, real_referential: Any, rome_code: str, label: str, appellation_fiche: str
) -> None:
    from matching.domain import RomeSource
    from matching.views import offer_view

    assert {a.fiche_code for a in real_referential.find_appellations(label)} == {appellation_fiche}
    record = json.loads((ft_cases / "13-appellation-moved-to-subfiche.json").read_text())[0]
    record = {**record, "intitule": "Poste en CDI (H/F)", "romeCode": rome_code, "appellationlibelle": label}
    parsed = parse_offer(record, referential=real_referential)
    offer = parsed.offer
    assert offer is not None
    assert (offer.rome_code, offer.rome_source, offer.stated_rome_code) == (
        rome_code,
        RomeSource.CONFLICT,
        rome_code,
    )
    # one fiche filed: the other fiche's appellation code is not kept, the source's label is
    assert (offer.appellation_code, offer.appellation_label) == (None, label)
    assert [(w.field, w.problem.split(",")[0]) for w in parsed.warnings] == [
        ("appellationlibelle", "of a ROME fiche unrelated to romeCode")
    ]
    assert parsed.rome_resolution == RomeSource.CONFLICT
    view = offer_view(offer, real_referential)
    assert real_referential.fiches[rome_code].label in view
    assert real_referential.fiches[appellation_fiche].label not in view


def test_the_real_offers_rome_resolutions(offers_file: Path, real_referential: Any) -> None:
    """Case 13's kind on the 3,589 real offers: 17 % name an appellation of another fiche."""
    from matching.domain import RomeSource
    from matching.ingest.ft_offers import NO_APPELLATION_FOUND

    offers, report = parse_offers(read_offer_records(offers_file), referential=real_referential)
    assert report.rome_resolutions == {
        RomeSource.STATED: 2891,
        RomeSource.SUBFICHE: 584,
        RomeSource.CONFLICT: 52,
        NO_APPELLATION_FOUND: 62,
    }
    for offer in offers:
        if offer.appellation_code is not None:  # never an appellation of another fiche than the offer's
            assert real_referential.fiche_of_appellation(offer.appellation_code).code == offer.rome_code
        if offer.rome_source is RomeSource.SUBFICHE:
            assert real_referential.fiches[offer.rome_code].parent_code == offer.stated_rome_code


def test_an_offer_without_rome_code_is_coded_by_the_classifier(
    ft_cases: Path, real_referential: Any, rome_classifier: Any
) -> None:
    """Case 16: accepted, coded by the ROME classifier with its confidence, flagged as inferred."""
    from matching.domain import RomeSource
    from matching.ingest import MIN_INFERRED_ROME_CONFIDENCE, rome_classifier_for

    records = read_offer_records(ft_cases / "16-no-rome-code.json")
    assert rome_classifier_for(records, real_referential) is not None  # fit when a code is missing
    offers, report = parse_offers(records, referential=real_referential, classifier=rome_classifier)
    assert report.parsed == 2 and report.rome_resolutions == {RomeSource.INFERRED: 2}
    coded = {o.id: (o.rome_code, o.rome_source, o.stated_rome_code) for o in offers}
    assert coded == {
        "NR01": ("J1501", RomeSource.INFERRED, None),  # Aide-soignant
        "NR02": ("D1106", RomeSource.INFERRED, None),  # Vendeur en boulangerie-pâtisserie
    }
    for offer in offers:
        assert offer.rome_confidence is not None
        assert MIN_INFERRED_ROME_CONFIDENCE <= offer.rome_confidence <= 1
    assert report.warnings == {("romeCode", "missing, inferred by the ROME classifier"): 2}
    # without a classifier such an offer is refused, as before
    assert parse_offers(records, referential=real_referential)[1].rejections == {("romeCode", "missing"): 2}


def test_an_inferred_code_below_the_floor_is_refused(
    ft_cases: Path, real_referential: Any, rome_classifier: Any
) -> None:
    from matching.ingest import MIN_INFERRED_ROME_CONFIDENCE

    record = read_offer_records(ft_cases / "16-no-rome-code.json")[0]
    vague = {**record, "intitule": "Poste à pourvoir (H/F)"}  # names no job
    assert rome_classifier.classify("Poste à pourvoir (H/F)", k=1)[0][1] < MIN_INFERRED_ROME_CONFIDENCE
    refused = parse_offer(vague, referential=real_referential, classifier=rome_classifier)
    assert refused.offer is None
    assert [(r.field, r.problem.split(",")[0]) for r in refused.rejections] == [("romeCode", "missing")]
    assert "not confident enough" in refused.rejections[0].problem
    # an appellation label in ROME's short form is read through its long label: an exact hit
    short = {**vague, "appellationlibelle": "Administratreur(trice) système & réseaux information et com"}
    kept = parse_offer(short, referential=real_referential, classifier=rome_classifier).offer
    assert kept is not None and kept.rome_code == "M1801" and kept.appellation_code is not None


def test_no_classifier_is_fit_when_every_offer_has_a_code(ft_cases: Path, real_referential: Any) -> None:
    from matching.ingest import rome_classifier_for

    records = read_offer_records(ft_cases / "13-appellation-moved-to-subfiche.json")
    assert rome_classifier_for(records, real_referential) is None
    assert rome_classifier_for(read_offer_records(ft_cases / "16-no-rome-code.json"), None) is None


def test_appellations_with_a_content_slash_or_homme_femme_still_resolve(real_referential: Any) -> None:
    """The unspaced-slash and inclusive-mark rules must not break ROME's own labels: a gender slash and
    a content slash in one label, "Homme / Femme" as the job itself."""
    from matching.views import clean_title

    for title, code in (
        ("Cheffe de quai réception/expédition", "12268"),
        ("Chef de quai réception/expédition", "12268"),
        ("Homme / Femme de plancher", "15472"),
        ("Femme de plancher", "15472"),
    ):
        assert code in {a.code for a in real_referential.find_appellations(clean_title(title))}, title
    unresolved = [
        a.label
        for a in real_referential.appellations.values()
        if a.code not in {b.code for b in real_referential.find_appellations(clean_title(a.label))}
    ]
    # only labels ending in an acronym between dashes ("… -SIG-"), which clean_title cuts: 71 of 13,120
    assert len(unresolved) <= 71 and all(label.rstrip().endswith("-") for label in unresolved), unresolved[:5]


def test_a_france_offer_whose_title_names_its_town_is_placed_there(real_communes: Any) -> None:
    """35 of the 477 real "France" offers name their town in the title: a name with its département, the
    last part after a dash, a name in parentheses; a title naming no commune stays national."""
    base = {
        "id": "T",
        "romeCode": "K2204",
        "dateCreation": "2025-03-10T09:00:00.000Z",
        "lieuTravail": {"libelle": "France"},
    }
    placed = {
        title: parse_offer({**base, "intitule": title}, communes=real_communes).offer
        for title in (
            "AGENT D'ENTRETIEN ET D'HYGIENE H/F - LYCEE GABRIEL FAURE (ANNECY 74)",
            "Data Engineer - Transport - Nantes (H/F)",
            "Superviseur/ Manager de Laboratoire - Paris (75) H/F",
            "Agent d'entretien (H/F)",
            "Serveur - Le Bar des Sports (H/F)",
        )
    }
    found = {
        title[:12]: (o.location.precision, o.location.insee) for title, o in placed.items() if o is not None
    }
    assert found == {
        "AGENT D'ENTR": ("commune", "74010"),
        "Data Enginee": ("commune", "44109"),
        "Superviseur/": ("commune", "75056"),
        "Agent d'entr": ("national", None),
        "Serveur - Le": ("national", None),
    }


def test_a_title_written_as_the_acronym_a_label_gives_is_that_appellation(rome_classifier: Any) -> None:
    """ "ASH" is "Agent de service hospitalier (ASH)" (its letters alone read like "Cash manager")."""
    assert rome_classifier.classify("ASH H/F", k=1)[0][0] == "J1301"
    assert rome_classifier.classify("IDE", k=1)[0][0] == "J1506"  # Infirmier en soins généraux (IDE)
