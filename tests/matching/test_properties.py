"""Properties of the ingest parsers (salary, hours, experience, dates) and of the ROME loader, drawn by
hypothesis: what holds for every input, not only for the hand-written cases."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matching.errors import IngestError, MatchingError
from matching.ingest import (
    parse_experience,
    parse_offer,
    parse_offers,
    parse_salary,
    parse_weekly_hours,
    read_offer_records,
)
from matching.ingest.ft_offers import (
    FULL_TIME_WEEKLY_HOURS,
    PLAUSIBLE_MONTHLY_SALARY,
    PLAUSIBLE_WEEKLY_HOURS,
    SALARY_PROBLEMS,
    FieldProblem,
)
from matching.referential import load_rome_csv
from matching.referential.rome_csv import OPTIONAL_TABLES, REQUIRED_TABLES

FLOOR, CEILING = PLAUSIBLE_MONTHLY_SALARY
amounts = st.decimals(min_value=FLOOR, max_value=CEILING, places=2, allow_nan=False).map(float)


def written(amount: float, comma: bool) -> str:
    text = f"{amount:.2f}"
    return text.replace(".", ",") if comma else text


# -- salary --------------------------------------------------------------------------------------------
@given(st.text(max_size=80), st.none() | st.floats(min_value=1, max_value=70), st.none() | st.booleans())
def test_any_salary_text_parses_or_says_why(
    libelle: str, hours: float | None, full_time: bool | None
) -> None:
    try:
        salary = parse_salary(libelle, hours, full_time)
    except FieldProblem as problem:
        why = str(problem)
    else:
        why = ""
    if why:
        assert why in SALARY_PROBLEMS
        return
    # a part-time pay is judged at its hours: the floor scales down with them
    floor = FLOOR * min(1.0, (hours or FULL_TIME_WEEKLY_HOURS) / FULL_TIME_WEEKLY_HOURS)
    assert floor <= salary.min_monthly <= salary.max_monthly <= CEILING


@given(amounts, amounts, st.booleans())
def test_monthly_ranges_round_trip(a: float, b: float, comma: bool) -> None:
    low, high = sorted((a, b))
    assume(high <= 4 * low)
    salary = parse_salary(
        f"Mensuel de {written(low, comma)} Euros à {written(high, comma)} Euros sur 12.0 mois"
    )
    assert (salary.min_monthly, salary.max_monthly) == (round(low, 2), round(high, 2))
    assert not salary.period_corrected and not salary.max_capped


@given(amounts, st.booleans())
def test_annual_amounts_are_twelfths(monthly: float, comma: bool) -> None:
    annual = round(monthly * 12, 2)
    assume(annual >= 10_000)  # below that an amount reads as monthly whatever the period says
    salary = parse_salary(f"Annuel de {written(annual, comma)} Euros")
    assert salary.min_monthly == pytest.approx(annual / 12, abs=0.01)


@given(
    st.decimals(min_value=5, max_value=99, places=2).map(float),
    st.floats(min_value=PLAUSIBLE_WEEKLY_HOURS[0], max_value=PLAUSIBLE_WEEKLY_HOURS[1]),
)
def test_hourly_rates_use_the_weekly_hours(rate: float, hours: float) -> None:
    monthly = rate * hours * 52 / 12
    assume(FLOOR <= monthly <= CEILING)
    assert parse_salary(f"Horaire de {rate:.2f} Euros", hours).min_monthly == pytest.approx(monthly, abs=0.01)


@given(amounts, amounts)
def test_salary_order_of_bounds_does_not_matter(a: float, b: float) -> None:
    forward = parse_salary(f"Mensuel de {a:.2f} Euros à {b:.2f} Euros")
    backward = parse_salary(f"Mensuel de {b:.2f} Euros à {a:.2f} Euros")
    assert forward == backward


# -- hours and experience -----------------------------------------------------------------------------
@given(st.integers(0, 99), st.integers(0, 59), st.sampled_from(["Temps plein", "Temps partiel", "", None]))
def test_weekly_hours(hours: int, minutes: int, converti: str | None) -> None:
    libelle = f"{hours}H{minutes:02d} Travail en journée" if minutes else f"{hours}H Travail en journée"
    value = hours + minutes / 60
    low, high = PLAUSIBLE_WEEKLY_HOURS
    if not low <= value <= high:
        with pytest.raises(FieldProblem):
            parse_weekly_hours(libelle, converti)
        return
    parsed, full_time = parse_weekly_hours(libelle, converti)
    assert parsed == pytest.approx(value, abs=0.01)
    if converti == "Temps plein":
        assert full_time is True
    elif converti == "Temps partiel":
        assert full_time is False
    else:
        assert full_time is not None


@given(st.text(max_size=40), st.none() | st.text(max_size=20))
def test_any_hours_text_parses_or_says_why(libelle: str, converti: str | None) -> None:
    try:
        hours, _ = parse_weekly_hours(libelle, converti)
    except FieldProblem:
        return
    assert hours is None or PLAUSIBLE_WEEKLY_HOURS[0] <= hours <= PLAUSIBLE_WEEKLY_HOURS[1]


@given(st.integers(1, 40), st.booleans(), st.sampled_from(["S", "E", None]))
def test_experience_months(amount: int, years: bool, code: str | None) -> None:
    unit = ("An(s)" if amount > 1 else "An") if years else "Mois"
    requirement, months = parse_experience(code, f"{amount} {unit}")
    assert months == (12 * amount if years else amount)
    assert (requirement is None) == (code is None)


# -- dates --------------------------------------------------------------------------------------------
def _raw_offer(**fields: Any) -> dict[str, Any]:
    return {"id": "123ABC", "intitule": "Serveur H/F", "romeCode": "G1803", **fields}


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    st.sampled_from(["Z", "+00:00", "+02:00"]),
)
def test_creation_dates_keep_the_instant(moment: datetime, zone: str) -> None:
    text = moment.replace(microsecond=0).isoformat() + zone
    offer = parse_offer(_raw_offer(dateCreation=text)).offer
    assert offer is not None
    offset = timedelta(hours=2) if zone == "+02:00" else timedelta(0)
    assert offer.created_at.astimezone(UTC) == (moment.replace(microsecond=0) - offset).replace(tzinfo=UTC)


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_any_creation_date_is_parsed_or_rejected_by_name(value: Any) -> None:
    result = parse_offer(_raw_offer(dateCreation=value))
    if result.offer is None:
        assert "dateCreation" in {r.field for r in result.rejections}


# -- ROME loader --------------------------------------------------------------------------------------
fiche_codes = st.lists(
    st.from_regex(r"\A[A-N][1-9]\d{3}\Z", fullmatch=True), min_size=2, max_size=8, unique=True
)
labels = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)


@st.composite
def exports(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    """A small consistent ROME export: fiches (some under a parent), appellations, skills, links."""
    codes = draw(fiche_codes)
    parents = {c: (codes[0] if i and draw(st.booleans()) else "") for i, c in enumerate(codes)}
    apps = [
        {
            "code_ogr": str(10000 + i),
            "libelle_appellation_long": draw(labels),
            "libelle_appellation_court": "",
            "code_rome": draw(st.sampled_from(codes)),
            "classification": draw(st.sampled_from(["PRINCIPALE", "SYNONYME"])),
        }
        for i in range(draw(st.integers(0, 6)))
    ]
    items = [
        {"code_ogr": str(20000 + i), "libelle": draw(labels), "code_rubrique": draw(st.sampled_from("1236"))}
        for i in range(draw(st.integers(1, 6)))
    ]
    skill_items = [i["code_ogr"] for i in items if i["code_rubrique"] in "123"]
    links = [
        {"code_rome": draw(st.sampled_from(codes)), "code_compo_bloc": "5", "code_ogr": item}
        for item in skill_items
    ]
    mobility = [
        {"code_rome": source, "code_rome_cible": target, "numero_ordre": str(draw(st.integers(1, 30)))}
        for source, target in draw(
            st.lists(st.tuples(st.sampled_from(codes), st.sampled_from(codes)), max_size=6, unique=True)
        )
    ]
    return {
        "referentiel_code_rome": [
            {"code_rome": c, "libelle_rome": draw(labels), "code_rome_parent": parents[c]} for c in codes
        ],
        "cr_gd_dp": [
            {"code_rome": c, "code_grand_domaine": c[0], "code_domaine_professionel": c[:3]} for c in codes
        ],
        "grand_domaine": [
            {"code_grand_domaine": g, "libelle_grand_domaine": g} for g in sorted({c[0] for c in codes})
        ],
        "domaine_professionnel": [
            {"code_domaine_professionnel": d, "libelle_domaine_professionnel": d}
            for d in sorted({c[:3] for c in codes})
        ],
        "referentiel_appellation": apps,
        "item": items,
        "liens_rome_referentiels": links,
        "coherence_item": [
            {"code_rome": link["code_rome"], "code_ogr": link["code_ogr"], "coeur_metier": "Principale"}
            for link in links
            if draw(st.booleans())
        ],
        "rubrique_mobilite": mobility,
    }


def write_export(folder: Path, tables: dict[str, list[dict[str, str]]]) -> None:
    for table, rows in tables.items():
        columns = REQUIRED_TABLES.get(table) or OPTIONAL_TABLES[table]
        with (folder / f"unix_{table}_v999_utf8.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_rome_loader_reads_back_what_an_export_holds(tables: dict[str, list[dict[str, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_export(Path(tmp), tables)
        referential = load_rome_csv(Path(tmp))
    assert referential.version == "ROME 4.0 v999"
    fiches = {r["code_rome"]: r for r in tables["referentiel_code_rome"]}
    assert set(referential.fiches) == set(fiches)
    for code, row in fiches.items():
        assert referential.fiches[code].label == row["libelle_rome"]
        assert referential.fiches[code].parent_code == (row["code_rome_parent"] or code)
    assert {a.code: a.fiche_code for a in referential.appellations.values()} == {
        r["code_ogr"]: r["code_rome"] for r in tables["referentiel_appellation"]
    }
    core = {(r["code_rome"], r["code_ogr"]) for r in tables["coherence_item"]}
    for link in tables["liens_rome_referentiels"]:
        skills = referential.skills_of(link["code_rome"])
        assert link["code_ogr"] in (
            skills.core if (link["code_rome"], link["code_ogr"]) in core else skills.other
        )
    for source, targets in referential.mobility.items():
        ranks = [rank for _, rank in targets]
        assert ranks == sorted(ranks), source


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    exports(),
    st.sampled_from(["referentiel_appellation", "rubrique_mobilite", "referentiel_code_rome", "item"]),
    st.sampled_from(["code_rome", "code_rome_cible", "numero_ordre", "code_ogr", "code_rome_parent"]),
    st.text(max_size=6),
)
def test_a_damaged_export_is_refused_with_a_message(
    tables: dict[str, list[dict[str, str]]], table: str, column: str, value: str
) -> None:
    rows = tables[table]
    assume(rows and column in rows[0])
    rows[0] = {**rows[0], column: value}
    with tempfile.TemporaryDirectory() as tmp:
        write_export(Path(tmp), tables)
        message = "loaded"
        try:
            load_rome_csv(Path(tmp))
        except MatchingError as error:  # a clear message, never a KeyError or ValueError from deep inside
            message = str(error)
    assert message


# -- malformed offer files ----------------------------------------------------------------------------
VALID_PAGE = orjson.dumps(
    {
        "resultats": [
            _raw_offer(
                dateCreation="2024-05-02T10:00:00Z",
                salaire={"libelle": "Mensuel de 1900.0 Euros"},
                lieuTravail={"latitude": 45.76, "longitude": 4.83, "commune": "69381"},
            ),
            _raw_offer(id="456DEF", dateCreation="2024-05-03T10:00:00Z", competences=[{"code": "900001"}]),
        ]
    }
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(0, len(VALID_PAGE)).map(lambda cut: VALID_PAGE[:cut]),  # a truncated download
        st.tuples(st.integers(0, len(VALID_PAGE) - 1), st.binary(min_size=1, max_size=4)).map(
            lambda edit: VALID_PAGE[: edit[0]] + edit[1] + VALID_PAGE[edit[0] + 1 :]  # flipped bytes
        ),
        st.binary(max_size=200),
    )
)
def test_a_malformed_offer_file_is_refused_or_parsed_never_crashes(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "offers.json"
        path.write_bytes(content)
        try:
            records = read_offer_records(path)
        except IngestError:
            return
    offers, report = parse_offers(records)
    assert report.total == len(records)  # every record is accounted for: parsed or rejected
    assert len(offers) == report.parsed - report.superseded  # a repeated id keeps one version
    assert sum(report.rejections.values()) >= report.rejected  # each rejection says why
