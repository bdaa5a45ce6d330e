"""The simulator's family of market models: same people and offers, different decisions, each as told."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from eval.family import FamilySummary, market_models
from eval.simulator import MarketConfig, World, simulate_market
from eval.simulator.behaviour import MECHANISMS, REASONS, true_travel_minutes
from eval.simulator.config import MARKET_MODELS
from eval.simulator.oracle import GRADE_REFUSED, MarketOracle
from matching.geo import Communes, load_communes
from matching.referential import Referential

BASE = MarketConfig(n_profiles=500, n_offers=900, n_trainings=20, months=2, seed=11)


@pytest.fixture(scope="module")
def worlds(builtin: Referential) -> dict[str, World]:
    communes: Communes = load_communes()
    return {
        m: simulate_market(builtin, communes, BASE.model_copy(update={"market": m})) for m in MARKET_MODELS
    }


def _refusals(world: World) -> pd.Series:
    events = world.interactions
    return events.loc[events["event"] == "refused", "reason"]


def test_every_model_has_the_same_people_and_offers_but_its_own_answers(worlds: dict[str, World]) -> None:
    base = worlds["thresholds"]
    assert set(MECHANISMS) == set(MARKET_MODELS)
    for model, world in worlds.items():
        pd.testing.assert_frame_equal(world.profiles, base.profiles)
        pd.testing.assert_frame_equal(world.offers, base.offers)
        assert world.config.market == model
        assert len(_refusals(world)) > 100, model
        if model not in ("thresholds",):
            # cascade and the others change who reads or refuses what: never the very same log
            assert not world.interactions.equals(base.interactions), model


def test_observable_attributes_of_the_other_models_are_in_the_tables(worlds: dict[str, World]) -> None:
    world = worlds["thresholds"]
    profiles, offers = world.profiles, world.offers
    assert set(profiles["mobility_mode"]) <= {"voiture", "transports_en_commun", "velo", "marche"}
    assert 0.5 < (profiles["mobility_mode"] == "voiture").mean() < 0.8
    assert 0.55 < profiles["last_monthly_pay"].notna().mean() < 0.85
    assert 0.2 < profiles["max_commute_minutes"].notna().mean() < 0.5
    with_schedule = offers["schedule"].map(len) > 0
    assert 0.1 < with_schedule.mean() < 0.5
    # the offer's text says its working-time attributes, as a real one does
    assert offers.loc[with_schedule, "description"].str.contains("Horaires :").all()
    assert not offers.loc[~with_schedule, "description"].str.contains("Horaires :").any()
    assert offers["employer_size_band"].between(0, 14).all()
    hidden = world.hidden.columns
    assert "true_own_pay_floor" in hidden and "true_dislikes_nuit" in hidden
    assert not [c for c in profiles.columns if c.startswith("true_")]


def test_schedule_model_refuses_disliked_working_times_for_horaires(worlds: dict[str, World]) -> None:
    shares = {m: (_refusals(w) == "horaires").mean() for m, w in worlds.items()}
    assert shares["schedule"] > 1.5 * shares["thresholds"]
    # ground truth: in the schedule world a read offer with a disliked attribute violates 'horaires'
    world = worlds["schedule"]
    oracle = MarketOracle(world)
    night = world.offers.loc[world.offers["schedule"].map(lambda s: "nuit" in s), "id"].to_numpy()[:50]
    dislikes = world.hidden.set_index("profile_id")["true_dislikes_nuit"]
    people = dislikes.index[dislikes.to_numpy()][:40].to_numpy()
    p, o = np.repeat(people, len(night)), np.tile(night, len(people))
    truth = oracle.relevance(p, o, week=4, rng=np.random.default_rng(0))
    assert truth.violated[:, REASONS.index("horaires")].all()


def test_noisy_reasons_say_autre_more_and_some_people_never_answer(worlds: dict[str, World]) -> None:
    clean, noisy = _refusals(worlds["thresholds"]), _refusals(worlds["noisy_reasons"])
    assert (noisy == "autre").mean() > 2 * (clean == "autre").mean()
    silent = worlds["noisy_reasons"].hidden.set_index("profile_id")["true_gives_reasons"]
    never = set(silent.index[~silent.to_numpy()])
    refusers = set(worlds["noisy_reasons"].interactions.query("event == 'refused'")["profile_id"])
    assert never and not (never & refusers)


def test_utility_trades_salary_against_commute(worlds: dict[str, World]) -> None:
    """A far offer is refused less often when it pays well: a trade-off, not a threshold."""
    world = worlds["utility"]
    oracle = MarketOracle(world)
    profiles = world.profiles.set_index("id")
    offers = world.offers
    rng = np.random.default_rng(1)
    p = rng.choice(profiles.index.to_numpy(), 4000)
    o = rng.choice(offers["id"].to_numpy(), 4000)
    grades = np.stack([oracle.relevance(p, o, week=4, rng=np.random.default_rng(d)).grade for d in range(3)])
    refused = (grades == GRADE_REFUSED).mean(axis=0)
    salary = offers.set_index("id").loc[o, "salary_max_monthly"].to_numpy(float)
    rich = salary > np.quantile(salary, 0.75)
    poor = salary < np.quantile(salary, 0.25)
    assert refused[rich].mean() < refused[poor].mean()


def test_true_travel_minutes_depend_on_mode_and_density() -> None:
    km = np.full(4, 15.0)
    car, bus = np.zeros(4, dtype=np.int64), np.ones(4, dtype=np.int64)
    density = np.array([0.0, 0.3, 0.7, 1.0])
    by_car, by_bus = true_travel_minutes(km, car, density), true_travel_minutes(km, bus, density)
    assert (np.diff(by_car) > 0).all() and (np.diff(by_bus) < 0).all()  # cars slow down, buses improve
    assert (by_bus > by_car).all()


def test_market_models_are_chosen_by_name() -> None:
    assert market_models("all") == MARKET_MODELS
    assert market_models("utility, schedule") == ("utility", "schedule")
    with pytest.raises(ValueError, match="unknown market model nope"):
        market_models("utility,nope")


def test_family_summary_judges_learnable_reasons_with_enough_people() -> None:
    class Fake:
        feedback: ClassVar[dict[str, dict[str, float]]] = {
            "distance": {"people": 40.0, "round2": 0.05, "round2_frozen": 0.10},
            "horaires": {"people": 12.0, "round2": 0.30, "round2_frozen": 0.10},  # too few people
            "autre": {"people": 90.0, "round2": 0.05, "round2_frozen": 0.01},  # states no constraint
            "salaire": {"people": 35.0, "round2": 0.06, "round2_frozen": 0.08},
        }

        def ratios(self) -> dict[str, float]:
            return {"ltr/rule": 1.3, "ltr/embedding": 1.5}

        def sourcing_ratios(self) -> dict[str, float]:
            return {"ltr/rule": 1.2}

    summary = FamilySummary.of("utility", Fake())  # type: ignore[arg-type]
    assert summary.feedback_judged == ("distance", "salaire")
    assert summary.feedback_worst == pytest.approx(0.75)
    assert summary.ltr_over_rule == 1.3 and summary.sourcing_ltr_over_rule == 1.2


@pytest.mark.slow
def test_eval_market_prints_every_model_worst_first_and_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from entrypoints.cli import app

    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--market",
            "thresholds,utility",
            "--encoder",
            "hashing",
            "--people",
            "150",
            "--no-feedback",
            "--json",
            "--report",
            str(tmp_path / "reports"),
        ],
    )
    assert result.exit_code == 0, result.output
    # one report per model
    assert {p.parent.name for p in (tmp_path / "reports").glob("*/report.html")} == {"thresholds", "utility"}
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    summary = payload["summary"]
    assert [row["model"] for row in summary] == sorted(
        (row["model"] for row in summary),
        key=lambda m: next(r["ltr/rule"] for r in summary if r["model"] == m),
    )
    assert set(payload["models"]) == {"thresholds", "utility"}
    assert payload["models"]["utility"]["ltr"]["ndcg@10_sd"] is not None
    assert "Market family, worst case first (seed 7" in result.stdout
    bad = CliRunner().invoke(app, ["eval", "--market", "all", "--world", "data/sample/world"])
    assert bad.exit_code == 2 and "--market generates its own worlds" in bad.output
