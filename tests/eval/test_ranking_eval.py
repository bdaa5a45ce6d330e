"""End to end: the learned ranker against the baselines on simulated markets, the feedback loop, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from eval.feedback import FeedbackConfig, feedback_experiment
from eval.market import MarketContext, MarketEvalConfig
from eval.ranking import evaluate_rankers
from eval.simulator import World, write_world
from eval.simulator.oracle import GRADE_REFUSED, MarketOracle
from matching.encoders import CachedEncoder, USEEncoder
from matching.referential import Referential
from models.ranker import RankerConfig
from models.training import HyperGrid

RANKERS = {"ltr", "ltr_served", "rule", "embedding", "bm25", "popularity", "random"}


def test_oracle_refuses_what_breaks_a_hidden_preference(small_world: World) -> None:
    import numpy as np

    oracle = MarketOracle(small_world)
    sent = small_world.interactions[small_world.interactions["event"] == "alert_sent"].head(2000)
    truth = oracle.relevance(sent["profile_id"], sent["offer_id"], week=1, rng=np.random.default_rng(0))
    assert ((truth.grade == GRADE_REFUSED) == (truth.reason != "")).all()
    # a deterministic violation (contract or salary) is always refused
    hard = truth.violated[:, [3, 5]].any(axis=1)
    assert (truth.grade[hard] == GRADE_REFUSED).all()
    with pytest.raises(KeyError):
        oracle.relevance(["nobody"], [sent["offer_id"].iloc[0]], week=1, rng=np.random.default_rng(0))


def test_learned_ranker_beats_rule_and_random_on_a_small_market(small_market: MarketContext) -> None:
    grid = HyperGrid(num_leaves=(7, 15), min_child_samples=(20, 80))
    evaluation = evaluate_rankers(
        small_market,
        ranker_config=RankerConfig(n_estimators=80),
        eval_config=MarketEvalConfig(max_people=300),
        with_feedback=False,
        tune=grid,
    )
    table = evaluation.table()
    assert set(table) == RANKERS
    assert table["ltr"]["ndcg@10"] > table["rule"]["ndcg@10"] > table["random"]["ndcg@10"]
    assert table["ltr"]["refusal_rate@10"] < table["random"]["refusal_rate@10"]
    assert table["ltr"]["lift@10"] > table["rule"]["lift@10"] > table["random"]["lift@10"] == 0
    assert all(0 < table[name]["ndcg@10_sd"] < 0.1 for name in RANKERS)  # five draws of the grades
    assert all(0 < table[name]["fairness_min_ratio"] <= 1 for name in RANKERS)
    payload = json.loads(json.dumps(evaluation.as_json()))
    assert payload["ratios"]["ltr/rule"] > 1
    assert payload["sourcing_ratios"] == pytest.approx(evaluation.sourcing_ratios(), rel=1e-5)
    assert set(payload["sourcing_ratios"]) == {f"ltr/{name}" for name in RANKERS - {"ltr", "ltr_served"}} | {
        "ltr_served/rule"
    }
    protocol = payload["protocol"]
    assert protocol["grade_draws"] == 5
    chosen = protocol["hyper_parameters"]
    assert (chosen["num_leaves"], chosen["min_child_samples"]) in {(7, 20), (7, 80), (15, 20), (15, 80)}
    assert evaluation.training.ranker.config.num_leaves == chosen["num_leaves"]
    assert len(chosen["grid"]) == 4 and chosen["validation_from"] < protocol["cutoff"]


def test_feedback_loop_learns_from_stated_reasons(small_market: MarketContext) -> None:
    from eval.ranking import train_ranker

    trained = train_ranker(
        small_market.tables,
        small_market.builder,
        cutoff=small_market.cutoff,
        config=RankerConfig(n_estimators=60),
    )
    result = feedback_experiment(
        small_market, trained.ranker, FeedbackConfig(max_people=800), RankerConfig(n_estimators=60)
    )
    assert result["all"]["people"] > 20
    assert result["all"]["round2"] < result["all"]["round2_frozen"]
    assert result["all"]["drop"] >= 0.5


def test_eval_and_train_commands(tmp_path: Path, small_world: World) -> None:
    write_world(small_world, tmp_path / "world")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "eval",
            "--world",
            str(tmp_path / "world"),
            "--encoder",
            "hashing",
            "--json",
            "--people",
            "150",
            "--no-feedback",
            "--cutoff-week",
            "6",
            "--report",
            str(tmp_path / "report"),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(payload) >= RANKERS and "ndcg@10" in payload["ltr"]
    assert {"ndcg@10_sd", "lift@10"} <= set(payload["ltr"]) and payload["random"]["lift@10"] == 0
    assert "ltr/rule" in payload["sourcing_ratios"]
    assert (
        payload["protocol"]["hyper_parameters"]["chosen_by"] == "validation split inside the training period"
    )
    assert "mean ± sd of 5 grade draws" in result.stdout and " ± " in result.stdout
    assert "sourcing: ltr/rule" in result.stdout and "chosen among 6" in result.stdout
    assert (tmp_path / "report" / "report.html").is_file() and (tmp_path / "report" / "ndcg.png").is_file()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    train = [
        "train",
        "--world",
        str(tmp_path / "world"),
        "--encoder",
        "hashing",
        "--people",
        "150",
        "--cutoff-week",
        "6",
        "--tracking-uri",
        uri,
    ]
    first = runner.invoke(app, train)
    assert first.exit_code == 0, first.output
    assert "promoted v1" in first.stdout
    second = runner.invoke(app, train)
    assert "promoted v2" in second.stdout  # same data, same seed: same NDCG, gate passes
    rollback = runner.invoke(app, ["model", "rollback", "--tracking-uri", uri])
    assert rollback.exit_code == 0 and "v2 → v1" in rollback.stdout
    again = runner.invoke(app, ["model", "rollback", "--tracking-uri", uri])
    assert again.exit_code == 2 and "no earlier version" in again.output
    promote = runner.invoke(app, ["model", "promote", "v2", "--tracking-uri", uri])
    assert promote.exit_code == 0 and "v1 → v2" in promote.stdout
    back = runner.invoke(app, ["model", "rollback", "--tracking-uri", uri])
    assert back.exit_code == 0 and "v2 → v1" in back.stdout  # a promotion can be rolled back
    missing = runner.invoke(app, ["model", "promote", "9", "--tracking-uri", uri])
    assert missing.exit_code == 2 and "no version '9'" in missing.output and "Traceback" not in missing.output


def test_eval_refuses_a_missing_world(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "--world", str(tmp_path / "none"), "--encoder", "hashing"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_done_when_targets_on_the_sample_world(builtin: Referential, sample_world: World) -> None:
    """The issue's targets: NDCG@10 ≥ 1.3 × rule and ≥ 1.1 × embedding; repeat refusals −50 % per reason."""
    ctx = MarketContext.build(sample_world, builtin, CachedEncoder(USEEncoder()))
    evaluation = evaluate_rankers(ctx)
    ratios = evaluation.ratios()
    assert ratios["ltr/rule"] >= 1.3
    assert ratios["ltr/embedding"] >= 1.1
    for reason, row in evaluation.feedback.items():
        if reason != "autre":  # unstated reasons cannot be learned from
            assert row["drop"] >= 0.5, reason
    # per reason the cohorts are small (tens of people); pooled, learning must beat the frozen control
    assert evaluation.feedback["all"]["round2"] < evaluation.feedback["all"]["round2_frozen"]
