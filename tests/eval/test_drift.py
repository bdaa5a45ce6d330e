"""Drift between two weeks: PSI on known answers, the noise floor, shifts that are and are not drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from eval.drift import (
    categorical_psi,
    compare,
    drift_between_weeks,
    noise_floor,
    numeric_psi,
    psi_from_counts,
    week_start,
)
from eval.simulator import World
from eval.simulator.records import world_tables
from features.tables import MarketTables


def test_psi_on_known_answers() -> None:
    assert psi_from_counts([50, 50], [50, 50]) == 0.0
    # shares 0.5/0.5 → 0.8/0.2: 0.3·ln(1.6) + (−0.3)·ln(0.4)
    assert psi_from_counts([50, 50], [80, 20]) == pytest.approx(0.3 * np.log(1.6) - 0.3 * np.log(0.4))
    assert noise_floor(11, 100, 100) == pytest.approx(0.2)
    psi, categories = categorical_psi(pd.Series(["CDI"] * 10), pd.Series(["CDI"] * 5 + ["MIS"] * 5))
    assert categories == 2 and psi > 1


def test_same_distribution_is_stable_and_a_shift_is_drift() -> None:
    rng = np.random.default_rng(0)
    before = pd.DataFrame({"salary": rng.normal(2000, 300, 400), "contract": rng.choice(["CDI", "CDD"], 400)})
    same = pd.DataFrame({"salary": rng.normal(2000, 300, 400), "contract": rng.choice(["CDI", "CDD"], 400)})
    shifted = pd.DataFrame(
        {
            "salary": rng.normal(2600, 300, 400),
            "contract": rng.choice(["CDI", "CDD", "MIS"], 400, p=[0.2, 0.2, 0.6]),
        }
    )
    fields = {"numeric": ("salary",), "categorical": ("contract",)}
    assert set(compare(before, same, fields)["status"]) == {"stable"}
    report = compare(before, shifted, fields).set_index("field")
    assert report.loc["salary", "status"] == "major" and report.loc["salary", "ks"] > 0.5
    assert report.loc["contract", "status"] == "major"
    # values going missing is drift too
    holes = same.assign(salary=same["salary"].where(rng.random(400) > 0.5))
    assert compare(before, holes, fields).set_index("field").loc["salary", "status"] != "stable"
    psi, bins = numeric_psi(before["salary"], same["salary"])
    assert bins == 10 and psi < noise_floor(bins, 400, 400) + 0.1  # ten deciles, no missing bin


def test_drift_between_two_weeks_of_a_world(small_world: World, tmp_path: Path) -> None:
    tables = world_tables(small_world)
    created = pd.to_datetime(tables.offers["created_at"], utc=True)
    weeks = created.map(week_start).value_counts().sort_index()
    full = weeks[weeks >= 30].index
    report = drift_between_weeks(tables, full[-3], full[-2])
    assert report.sizes["offers"] == (weeks[full[-3]], weeks[full[-2]])
    assert set(report.offers["field"]) >= {"salary_min_monthly", "grand_domain", "contract_type"}
    # the same market a week apart drifts nowhere major
    assert "major" not in set(report.offers["status"])
    # salaries multiplied by 1.3 in the later week: caught
    later = created >= full[-2]
    offers = tables.offers.assign(
        salary_min_monthly=np.where(
            later, tables.offers["salary_min_monthly"] * 1.3, tables.offers["salary_min_monthly"]
        )
    )
    shifted = drift_between_weeks(
        MarketTables(tables.profiles, offers, tables.trainings, tables.events), full[-3], full[-2]
    )
    assert "offers.salary_min_monthly" in shifted.drifted


def test_drift_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drift", "--out", str(tmp_path / "drift")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "drift" / "report.md").read_text().startswith("# Drift: week of")
    assert (tmp_path / "drift" / "drift.json").exists()
    bad = CliRunner().invoke(app, ["drift", "--current-week", "next tuesday"])
    assert bad.exit_code == 2 and "not a date" in bad.output
