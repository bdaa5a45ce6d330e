"""The whole real offers file (3,589 France Travail offers) through the ingester and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from matching.geo import Communes
from matching.ingest import parse_offers, read_offer_records
from matching.ingest.ft_offers import FREE_TEXT_ONLY, NO_AMOUNT, PART_TIME_HOURS_UNKNOWN
from matching.referential import Referential


@pytest.fixture(scope="module")
def parsed(offers_file: Path, real_referential: Referential, real_communes: Communes):  # type: ignore[no-untyped-def]
    return parse_offers(read_offer_records(offers_file), referential=real_referential, communes=real_communes)


def test_at_least_99_percent_parsed(parsed) -> None:  # type: ignore[no-untyped-def]
    offers, report = parsed
    assert report.total == 3589
    assert report.parsed / report.total >= 0.99
    assert len(offers) == report.parsed  # ids are unique in the file


def test_salary_and_hours_rates(parsed) -> None:  # type: ignore[no-untyped-def]
    offers, report = parsed
    assert report.salary_stated > 1000
    # every stated salary is read or counted unread, and only for reasons nothing could remedy: no
    # amount ("Annuel de"), an hourly wage of a part-time job without hours, an amount in free text
    assert report.salary_parsed + sum(report.salary_unread.values()) == report.salary_stated
    assert set(report.salary_unread) <= {NO_AMOUNT, PART_TIME_HOURS_UNKNOWN, FREE_TEXT_ONLY}
    assert report.salary_parsed / report.salary_stated >= 0.93
    assert report.hours_parsed + sum(report.hours_unread.values()) == report.hours_stated
    assert report.hours_parsed / report.hours_stated >= 0.98
    salaries = [o.salary_min_monthly for o in offers if o.salary_min_monthly]
    assert min(salaries) >= 300
    assert max(salaries) <= 30_000
    assert all(o.salary_max_monthly >= o.salary_min_monthly for o in offers if o.salary_min_monthly)  # type: ignore[operator]


def test_codes_resolved(parsed, real_referential: Referential) -> None:  # type: ignore[no-untyped-def]
    offers, _ = parsed
    assert all(o.rome_code in real_referential.fiches for o in offers)
    with_app = [o for o in offers if o.appellation_code]
    assert len(with_app) / len(offers) > 0.8
    assert all(o.skills for o in offers if o.required_skills)
    assert sum(o.location.has_coordinates for o in offers) / len(offers) > 0.75


def test_cli_dry_run_report(offers_file: Path, rome_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "never.sqlite"
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            "offers",
            str(offers_file),
            "--dry-run",
            "--rome-dir",
            str(rome_dir),
            "--database-url",
            f"sqlite:///{db}",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(line.startswith("parsed 3589 rejected 0") for line in lines)
    assert "salary parsed" in result.output
    printed = " ".join(result.output.split())  # rich wraps long lines
    assert (
        "ROME codes: 2891 as stated; 584 filed under the appellation's sub-fiche; 52 stated kept" in printed
    )
    assert not db.exists()  # --dry-run writes nothing
