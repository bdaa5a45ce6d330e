"""Salaries and hours of France Travail offers: one test per rule of the README's table ("Salaries, hours
and contracts of real offers"), on the wordings found in the 3,589 real offers and their damaged forms."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from matching.ingest import parse_offer, parse_offers, parse_salary, parse_weekly_hours
from matching.ingest.ft_offers import (
    FREE_TEXT_ONLY,
    HOURS_NOT_READ,
    IMPLAUSIBLE_AMOUNT,
    IMPLAUSIBLE_HOURS,
    NO_AMOUNT,
    PART_TIME_HOURS_UNKNOWN,
    TOO_MANY_AMOUNTS,
    FieldProblem,
    IngestReport,
)

HOURLY = 52 / 12  # weeks a month


@pytest.mark.parametrize(
    ("libelle", "hours", "low", "high", "period"),
    [
        # annual over N months: the year's pay / 12, whatever N
        ("Annuel de 45000.0 Euros à 55000.0 Euros sur 13.0 mois", None, 3750.0, 4583.33, "annuel"),
        ("Annuel de 33000.0 Euros sur 12.5 mois", None, 2750.0, 2750.0, "annuel"),
        ("Annuel de 46000,00 Euros à 55000,00 Euros", None, 3833.33, 4583.33, "annuel"),
        # monthly over N months: × N / 12 (a thirteenth month is pay)
        ("Mensuel de 1800.0 Euros sur 12.0 mois", None, 1800.0, 1800.0, "mensuel"),
        ("Mensuel de 1802.00 Euros sur 13 mois", None, 1952.17, 1952.17, "mensuel"),
        ("Mensuel de 2200.0 Euros à 2400.0 Euros sur 13.0 mois", None, 2383.33, 2600.0, "mensuel"),
        ("Mensuel de 1800,00 Euros sur 12.5 mois", None, 1875.0, 1875.0, "mensuel"),
        # hourly: × the offer's weekly hours × 52 / 12, spread like a monthly pay
        ("Horaire de 12.00 Euros", 24.0, 12 * 24 * HOURLY, 12 * 24 * HOURLY, "horaire"),
        ("Horaire de 11.88 Euros sur 13 mois", 35.0, 11.88 * 35 * HOURLY * 13 / 12, None, "horaire"),
        ("Horaire de 11.88 Euros sur 0.0 mois", None, 1801.8, 1801.8, "horaire"),  # 0: not filled in
        ("Horaire de 12.13 Euros à 12.14 Euros sur 12.0 mois", 18.0, 946.14, 946.92, "horaire"),
        # a short part-time week: the plausible floor is scaled to the hours (5 h at 11.88 €/h)
        ("Horaire de 11.88 Euros", 5.0, 257.4, 257.4, "horaire"),
        # "Autre" or no period: from the amount
        ("Autre de 30000,00 Euros à 40000,00 Euros", None, 2500.0, 3333.33, "annuel"),
        ("De 1839,76 Euros à 1935,31 Euros", None, 1839.76, 1935.31, "mensuel"),
        # a stated period under which the range is implausible: from the amount, the whole range
        ("Mensuel de 30000.0 Euros à 40000.0 Euros sur 12.0 mois", None, 2500.0, 3333.33, "annuel"),
        ("Mensuel de 28000.0 Euros à 40000.0 Euros sur 13.0 mois", None, 2333.33, 3333.33, "annuel"),
        ("Annuel de 2080,00 Euros à 2147,00 Euros", None, 2080.0, 2147.0, "mensuel"),
        # decimal commas, thousands separators
        ("Mensuel de 1 800,00 Euros", None, 1800.0, 1800.0, "mensuel"),
        ("Mensuel de 1\u00a0800,50 Euros", None, 1800.5, 1800.5, "mensuel"),
        ("Mensuel de 1.800,00 Euros à 2.100,00 Euros", None, 1800.0, 2100.0, "mensuel"),
        ("Annuel de 45 000 Euros", None, 3750.0, 3750.0, "annuel"),
        ("Annuel de 42,000 Euros", None, 3500.0, 3500.0, "annuel"),
        # range separators damaged, doubled, as an HTML entity, or lost
        ("Mensuel de 1600,00 Euros ï¿½ï¿½ 1800,00 Euros", None, 1600.0, 1800.0, "mensuel"),
        ("Mensuel de 1600,00 Euros &agrave; 1800,00 Euros", None, 1600.0, 1800.0, "mensuel"),
        ("Mensuel de 1600,00 Euros &#224; 1800,00 Euros", None, 1600.0, 1800.0, "mensuel"),
        ("Mensuel de 1600,00 Euros 1800,00 Euros", None, 1600.0, 1800.0, "mensuel"),
        ("Mensuel de 1600 à 1800 Euros", None, 1600.0, 1800.0, "mensuel"),
        # commissions, bonuses, variable pay: the fixed part only
        ("Mensuel de 1500,00 Euros + commissions", None, 1500.0, 1500.0, "mensuel"),
        ("Mensuel de 1500,00 Euros + 10 % du chiffre d'affaires", None, 1500.0, 1500.0, "mensuel"),
        ("Annuel de 30000 Euros fixe, variable de 10000 Euros", None, 2500.0, 2500.0, "annuel"),
        ("Mensuel de 1800 Euros et primes de 300 Euros", None, 1800.0, 1800.0, "mensuel"),
    ],
)
def test_each_salary_wording_gives_one_monthly_gross(
    libelle: str, hours: float | None, low: float, high: float | None, period: str
) -> None:
    salary = parse_salary(libelle, hours)
    assert salary.min_monthly == pytest.approx(low, abs=0.01)
    assert salary.max_monthly == pytest.approx(low if high is None else high, abs=0.01)
    assert salary.period == period
    assert not salary.max_capped


def test_paid_months_outside_a_year_of_pay_are_ignored_and_said() -> None:
    salary = parse_salary("Mensuel de 1800.0 Euros sur 10 mois")
    assert (salary.min_monthly, salary.paid_months, salary.months_ignored) == (1800.0, 12.0, 10.0)
    result = parse_offer(_offer(salaire={"libelle": "Mensuel de 1800.0 Euros sur 10 mois"}))
    assert [w.problem for w in result.warnings] == ["'sur N mois' outside 12-16 ignored"]
    assert parse_salary("Horaire de 11.88 Euros sur 0.0 mois").months_ignored is None


def test_an_implausible_maximum_is_replaced_by_the_minimum() -> None:
    salary = parse_salary("Annuel de 45000,00 Euros à 550000,00 Euros")  # a typo of the real file
    assert salary.max_capped and salary.max_monthly == salary.min_monthly == 3750.0


@pytest.mark.parametrize(
    ("libelle", "hours", "full_time", "problem"),
    [
        ("Annuel de", None, None, NO_AMOUNT),  # 9 real offers
        ("selon profil", None, None, NO_AMOUNT),
        ("Mensuel de 1500 Euros à 1800 Euros à 2000 Euros", None, None, TOO_MANY_AMOUNTS),
        ("Annuel de 0,5 Euros", None, None, IMPLAUSIBLE_AMOUNT),
        # hourly pay of a part-time job whose hours are not written: 35 h would be a guess
        ("Horaire de 11.88 Euros sur 12.0 mois", None, False, PART_TIME_HOURS_UNKNOWN),
        ("Mensuel de 11,88 Euros", None, False, PART_TIME_HOURS_UNKNOWN),  # hourly typed as monthly
    ],
)
def test_unreadable_salaries_say_why(
    libelle: str, hours: float | None, full_time: bool | None, problem: str
) -> None:
    with pytest.raises(FieldProblem, match=problem):
        parse_salary(libelle, hours, full_time)


def test_hourly_wage_without_hours_is_at_35_hours_unless_part_time() -> None:
    assert parse_salary("Horaire de 11.88 Euros", None, True).min_monthly == 1801.8
    assert parse_salary("Horaire de 11.88 Euros", None, None).min_monthly == 1801.8


@pytest.mark.parametrize(
    ("libelle", "converti", "hours", "full_time"),
    [
        ("temps partiel - 28H30 Autre", "Temps partiel", 28.5, False),
        ("Temps partiel 24H", None, 24.0, False),
        ("TEMPS PARTIEL : 20H Travail en journée", None, 20.0, False),
        ("5H Horaires variables", "Temps partiel", 5.0, False),
        ("18 H  Travail en journée", "Temps partiel", 18.0, False),
        ("37H4\nTravail en journée", "Temps plein", 37.07, True),  # 37 h 04, a real label
        ("36H50", "Temps plein", 36.83, True),
        ("24,5 heures", None, 24.5, False),
        ("151H67 mensuel", None, 35.0, True),  # hours a month: × 12 / 52
        ("130 heures par mois", None, 30.0, False),
        ("1607H annuelles", None, 35.0, True),  # hours a year: × 35 / 1607
        ("35H\nHoraires annuels", "Temps plein", 35.0, True),  # "annuels" on the next line: weekly
        ("temps partiel\nTravail en journée", "Temps partiel", None, False),
    ],
)
def test_weekly_hours_of_every_wording(
    libelle: str, converti: str | None, hours: float | None, full_time: bool
) -> None:
    assert parse_weekly_hours(libelle, converti) == (hours, full_time)


@pytest.mark.parametrize("libelle", ["151H67", "99H Autre", "1607H"])
def test_implausible_weekly_hours(libelle: str) -> None:
    with pytest.raises(FieldProblem, match=IMPLAUSIBLE_HOURS):
        parse_weekly_hours(libelle, None)


def _offer(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "SAL1",
        "intitule": "Serveur H/F",
        "romeCode": "G1803",
        "dateCreation": "2025-01-10T08:00:00Z",
        "typeContrat": "CDI",
        "dureeTravailLibelle": "35H Travail en journée",
        "dureeTravailLibelleConverti": "Temps plein",
    }
    raw.update(overrides)
    return raw


def test_an_offer_converts_its_hourly_wage_with_its_own_hours() -> None:
    part_time = _offer(
        salaire={"libelle": "Horaire de 12.00 Euros sur 13 mois"},
        dureeTravailLibelle="temps partiel - 24H Autre",
        dureeTravailLibelleConverti="Temps partiel",
    )
    offer = parse_offer(part_time).offer
    assert offer is not None and offer.weekly_hours == 24.0
    assert offer.salary_min_monthly == pytest.approx(12 * 24 * HOURLY * 13 / 12, abs=0.01)


def test_complements_are_benefits_and_a_free_text_amount_is_not_read() -> None:
    with_label = _offer(
        salaire={
            "libelle": "Mensuel de 1900.0 Euros",
            "complement1": "Primes",
            "complement2": "Autre",
            "commentaire": "+ commissions 500 €",
        }
    )
    offer = parse_offer(with_label).offer
    assert offer is not None and (offer.salary_min_monthly, offer.salary_max_monthly) == (1900.0, 1900.0)
    free_text = parse_offer(_offer(salaire={"complement1": "Autre", "commentaire": "45 - 55 k€ brut annuel"}))
    assert free_text.offer is not None and free_text.offer.salary_min_monthly is None
    assert [(w.field, w.problem) for w in free_text.warnings] == [("salaire.commentaire", FREE_TEXT_ONLY)]
    negotiable = parse_offer(_offer(salaire={"complement1": "Autre", "commentaire": "selon profil"}))
    assert not negotiable.warnings  # no amount stated: nothing lost


def test_the_report_counts_what_it_could_not_read() -> None:
    records = [
        _offer(id="A", salaire={"libelle": "Mensuel de 1900.0 Euros"}),
        _offer(id="B", salaire={"libelle": "Annuel de"}),
        _offer(id="C", salaire={"complement1": "Autre", "commentaire": "1977€ BRUT/mois"}),
        _offer(
            id="D",
            salaire={"libelle": "Horaire de 11.88 Euros"},
            dureeTravailLibelle="temps partiel\nTravail en journée",
            dureeTravailLibelleConverti="Temps partiel",
        ),
        _offer(id="E", salaire={"commentaire": "A négocier"}, dureeTravailLibelle="Travail de 8h à 17h"),
        _offer(id="F", dureeTravailLibelle="99H Autre"),
    ]
    _, report = parse_offers(records)
    assert (report.salary_stated, report.salary_parsed) == (4, 1)
    assert report.salary_unread == Counter({NO_AMOUNT: 1, FREE_TEXT_ONLY: 1, PART_TIME_HOURS_UNKNOWN: 1})
    assert (report.hours_stated, report.hours_parsed) == (5, 3)
    assert report.hours_unread == Counter({HOURS_NOT_READ: 1, IMPLAUSIBLE_HOURS: 1})
    assert report.coverage(report.hours_parsed, report.hours_stated, report.hours_unread) == (
        f"3/5 stated (60.0%; unread: 1 {HOURS_NOT_READ}, 1 {IMPLAUSIBLE_HOURS})"
    )


def test_the_report_never_rounds_a_loss_up_to_100_percent() -> None:
    report = IngestReport()
    assert (
        report.coverage(9_999, 10_000, Counter({NO_AMOUNT: 1}))
        == "9999/10000 stated (99.9%; unread: 1 no amount)"
    )
    assert report.coverage(7, 7, Counter()) == "7/7 stated (100.0%)"
    assert report.coverage(0, 0, Counter()) == "none stated"
