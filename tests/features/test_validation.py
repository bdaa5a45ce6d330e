"""Training data validation (pandera): clean data passes, broken data is refused with the rows named,
and ``matching train`` stops before fitting anything."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from eval.simulator import World
from eval.simulator.io import write_world
from eval.simulator.records import world_tables
from features.tables import MarketTables
from features.validation import TrainingDataError, validate_tables, validate_training_set


@pytest.fixture(scope="module")
def tables(small_world: World) -> MarketTables:
    return world_tables(small_world)


def test_clean_tables_pass(tables: MarketTables) -> None:
    validate_tables(tables)


def test_broken_tables_are_refused_with_the_rows_named(tables: MarketTables) -> None:
    profiles = tables.profiles.copy()
    profiles.iloc[3, profiles.columns.get_loc("max_commute_km")] = 900.0
    offers = tables.offers.copy()
    offers.iloc[5, offers.columns.get_loc("salary_min_monthly")] = 5000.0
    offers.iloc[5, offers.columns.get_loc("salary_max_monthly")] = 2000.0
    offers.iloc[6, offers.columns.get_loc("rome_code")] = "n1101"
    events = tables.events.copy()
    refused = events.index[events["event"] == "refused"][0]
    events.loc[refused, "reason"] = "trop loin"
    with pytest.raises(TrainingDataError) as caught:
        validate_tables(replace(tables, profiles=profiles, offers=offers, events=events))
    message = str(caught.value)
    assert "max_commute_km" in message and "(rows 3)" in message
    assert "salary_min_monthly ≤ salary_max_monthly" in message and "(rows 5)" in message
    assert "rome_code" in message and "(rows 6)" in message
    assert "a refusal carries a known reason" in message and f"(rows {refused})" in message


def test_training_set_checks() -> None:
    X = pd.DataFrame({"core_skill_coverage": [0.5, np.nan, 1.0], "distance_ratio": [0.2, 0.3, 0.1]})
    validate_training_set(X, [0, 3, 5], [3])
    with pytest.raises(TrainingDataError, match="no infinite feature value"):
        validate_training_set(X.assign(distance_ratio=[0.2, np.inf, 0.1]), [0, 3, 5], [3])
    with pytest.raises(TrainingDataError, match=r"grades outside 0\.\.5"):
        validate_training_set(X, [0, 3, 7], [3])
    with pytest.raises(TrainingDataError, match="list sizes"):
        validate_training_set(X, [0, 3, 5], [2])
    with pytest.raises(TrainingDataError, match="age_band"):
        validate_training_set(X.assign(age_band=[1.0, 2.0, 3.0]), [0, 3, 5], [3])


def test_matching_train_refuses_broken_data(small_world: World, tmp_path: Path) -> None:
    profiles = small_world.profiles.copy()
    profiles.loc[profiles.index[0], "experience_months"] = -12
    folder = write_world(replace(small_world, profiles=profiles), tmp_path / "world")
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--world",
            str(folder),
            "--encoder",
            "hashing",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "training data refused" in result.output and "experience_months" in result.output
    assert not (tmp_path / "artifacts").exists()  # nothing was logged
