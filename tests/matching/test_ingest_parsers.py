"""Parsers of the France Travail v2 fields, on hand-written cases with known answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.domain import ContractType, ExperienceRequirement
from matching.ingest import parse_experience, parse_offer, parse_offers, parse_salary, parse_weekly_hours
from matching.ingest.ft_offers import FieldProblem


@pytest.mark.parametrize(
    ("libelle", "low", "high", "period"),
    [
        ("Annuel de 45000.0 Euros à 55000.0 Euros sur 12.0 mois", 3750.0, 4583.33, "annuel"),
        ("Mensuel de 1800.0 Euros sur 12.0 mois", 1800.0, 1800.0, "mensuel"),
        ("Horaire de 11.88 Euros", 1801.8, 1801.8, "horaire"),
        ("Autre de 30000,00 Euros à 40000,00 Euros", 2500.0, 3333.33, "annuel"),
        ("De 20000,00 Euros à 20000,00 Euros", 1666.67, 1666.67, "annuel"),
        ("Autre de 1839,76 Euros à 1935,31 Euros", 1839.76, 1935.31, "mensuel"),
        ("Mensuel de 38000.0 Euros sur 12.0 mois", 3166.67, 3166.67, "annuel"),  # annual typed as monthly
        ("Mensuel de 11,88 Euros à 14,00 Euros", 1801.8, 2123.33, "horaire"),  # hourly typed as monthly
    ],
)
def test_salary_normalised_to_monthly(libelle: str, low: float, high: float, period: str) -> None:
    salary = parse_salary(libelle)
    assert salary.min_monthly == pytest.approx(low, abs=0.01)
    assert salary.max_monthly == pytest.approx(high, abs=0.01)
    assert salary.period == period


def test_hourly_salary_uses_the_offers_hours() -> None:
    assert parse_salary("Horaire de 12 Euros", weekly_hours=20).min_monthly == pytest.approx(
        12 * 20 * 52 / 12, abs=0.01
    )


def test_salary_max_typo_is_capped() -> None:
    salary = parse_salary("Annuel de 45000,00 Euros à 550000,00 Euros")
    assert salary.max_capped
    assert salary.max_monthly == salary.min_monthly


@pytest.mark.parametrize("libelle", ["Annuel de", "", "selon profil", "Annuel de 0,5 Euros"])
def test_salary_without_usable_amount(libelle: str) -> None:
    with pytest.raises(FieldProblem):
        parse_salary(libelle)


@pytest.mark.parametrize(
    ("libelle", "converti", "hours", "full_time"),
    [
        ("35H Travail en journée", "Temps plein", 35.0, True),
        ("39H Autre", None, 39.0, True),
        ("35 H  Travail en journée", None, 35.0, True),
        ("35H30\nTravail en journée", None, 35.5, True),
        ("24H Travail en journée", None, 24.0, False),
        ("temps partiel\nTravail en journée", None, None, False),
        ("Temps plein", None, None, True),
        (None, "Temps partiel", None, False),
        (None, None, None, None),
    ],
)
def test_weekly_hours(
    libelle: str | None, converti: str | None, hours: float | None, full_time: bool | None
) -> None:
    assert parse_weekly_hours(libelle, converti) == (hours, full_time)


def test_implausible_hours() -> None:
    with pytest.raises(FieldProblem):
        parse_weekly_hours("99H Autre", None)


@pytest.mark.parametrize(
    ("code", "libelle", "expected"),
    [
        ("D", "Débutant accepté", (ExperienceRequirement.BEGINNER_OK, 0)),
        ("E", "Expérience exigée de 3 An(s)", (ExperienceRequirement.REQUIRED, 36)),
        ("S", "12 Mois", (ExperienceRequirement.WISHED, 12)),
        ("E", "Expérience exigée", (ExperienceRequirement.REQUIRED, None)),
        ("?", None, (None, None)),
    ],
)
def test_experience(code: str, libelle: str | None, expected: tuple[Any, Any]) -> None:
    assert parse_experience(code, libelle) == expected


def _offer(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "123ABC",
        "intitule": "Cariste H/F",
        "romeCode": "N1101",
        "appellationlibelle": "Cariste",
        "dateCreation": "2024-12-12T09:59:00.878Z",
        "typeContrat": "CDI",
        "salaire": {"libelle": "Mensuel de 1900.0 Euros"},
        "dureeTravailLibelle": "35H Travail en journée",
        "lieuTravail": {"libelle": "69 - Lyon", "latitude": 45.76, "longitude": 4.83, "commune": "69381"},
        "competences": [{"code": "900001", "libelle": "x", "exigence": "E"}, {"libelle": "free text"}],
    }
    raw.update(overrides)
    return raw


def test_parse_offer_with_referential(builtin) -> None:  # type: ignore[no-untyped-def]
    result = parse_offer(_offer(), referential=builtin)
    offer = result.offer
    assert offer is not None
    assert not result.warnings
    assert offer.contract_type is ContractType.CDI
    assert offer.appellation_code is not None
    assert builtin.appellation(offer.appellation_code).fiche_code == "N1101"
    assert offer.required_skills == ("900001",)
    assert offer.location.insee == "69381"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": ""}, "id"),
        ({"romeCode": "XX"}, "romeCode"),
        ({"romeCode": None}, "romeCode"),
        ({"dateCreation": "yesterday"}, "dateCreation"),
        ({"intitule": "", "appellationlibelle": None, "romeLibelle": None}, "intitule"),
    ],
)
def test_rejections_name_the_field(overrides: dict[str, Any], field: str) -> None:
    result = parse_offer(_offer(**overrides))
    assert result.offer is None
    assert field in {r.field for r in result.rejections}


@given(order=st.permutations(range(4)))
def test_a_repeated_id_keeps_its_newest_version_whatever_the_order(order: list[int]) -> None:
    versions = [
        _offer(intitule="sans date"),  # no dateActualisation: older than any dated version
        _offer(intitule="janvier", dateActualisation="2025-01-10T08:00:00Z"),
        _offer(intitule="mars", dateActualisation="2025-03-10T08:00:00"),  # no zone: read as UTC
        _offer(intitule="février", dateActualisation="2025-02-10T08:00:00.000Z"),
    ]
    offers, report = parse_offers([versions[i] for i in order])
    assert [o.title for o in offers] == ["mars"]
    assert (report.parsed, report.superseded) == (4, 3)


def test_a_repeated_id_on_the_same_date_keeps_the_later_record() -> None:
    first, second = (_offer(intitule=title, dateActualisation="2025-01-10T08:00:00Z") for title in "AB")
    assert [o.title for o in parse_offers([first, second])[0]] == ["B"]
    assert [o.title for o in parse_offers([second, first])[0]] == ["A"]
    # a refused record, however recent, never replaces a parsed version of its id
    refused = _offer(romeCode="XX", dateActualisation="2025-06-01T00:00:00Z")
    offers, report = parse_offers([first, refused])
    assert [o.title for o in offers] == ["A"] and report.superseded == 0


def test_unknown_rome_code_rejected_with_referential(builtin) -> None:  # type: ignore[no-untyped-def]
    result = parse_offer(_offer(romeCode="A1101"), referential=builtin)
    assert result.offer is None
    assert result.rejections[0].problem == "unknown to the referential"


def test_field_problems_keep_the_offer() -> None:
    result = parse_offer(_offer(typeContrat="ZZZ", salaire={"libelle": "Annuel de"}))
    assert result.offer is not None
    assert result.offer.contract_type is None
    assert result.offer.salary_min_monthly is None
    assert {w.field for w in result.warnings} == {"typeContrat", "salaire.libelle"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": json_values,
            "intitule": json_values,
            "romeCode": st.sampled_from(["N1101", "M1811", "", "n1101"]) | json_values,
            "dateCreation": st.sampled_from(["2024-01-01T00:00:00Z", "bad"]) | json_values,
            "salaire": st.fixed_dictionaries({}, optional={"libelle": st.text(max_size=40) | json_values})
            | json_values,
            "dureeTravailLibelle": st.text(max_size=30) | json_values,
            "lieuTravail": st.fixed_dictionaries(
                {}, optional={"latitude": json_values, "longitude": json_values, "commune": json_values}
            )
            | json_values,
            "competences": json_values,
            "typeContrat": json_values,
            "experienceExige": json_values,
            "nombrePostes": json_values,
        },
    )
)
def test_malformed_offers_never_crash(raw: dict[str, Any]) -> None:
    result = parse_offer(raw)
    assert (result.offer is None) == bool(result.rejections)


@pytest.mark.parametrize(
    ("lat", "lon", "expected", "problem"),
    [
        (45.76, 4.83, (45.76, 4.83), None),  # near its commune: kept
        (4.83, 45.76, (45.76, 4.83), "latitude and longitude swapped"),
        (46.23, 2.21, (45.7699, 4.8292), "more than 30 km from the commune, commune used"),
        (None, None, (45.7699, 4.8292), None),  # missing: the commune's
    ],
)
def test_coordinates_checked_against_the_commune(
    lat: float | None, lon: float | None, expected: tuple[float, float], problem: str | None
) -> None:
    """Real offers carry swapped coordinates (Marseille at 5.36° N) or a default point far away."""
    import numpy as np

    from matching.geo import Communes

    lyon = Communes(np.array(["69381"]), np.array(["LYON 01"]), np.array([45.7699]), np.array([4.8292]))
    place = {"libelle": "69 - Lyon", "latitude": lat, "longitude": lon, "commune": "69381"}
    result = parse_offer(_offer(lieuTravail=place), communes=lyon)
    assert result.offer is not None
    assert (result.offer.location.lat, result.offer.location.lon) == pytest.approx(expected)
    assert [w.problem for w in result.warnings] == ([problem] if problem else [])
