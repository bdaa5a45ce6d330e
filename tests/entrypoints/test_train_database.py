"""``matching train`` and ``matching eval`` on the events a database logged (``--database-url``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from entrypoints.cli import app
from eval.logged import MIN_TRAINING_OUTCOMES
from models.registry import ModelRegistry
from serving.storage.db import make_engine, public_url

runner = CliRunner()
MODEL = "db-ranker"
CUTOFF = "2025-02-10"  # the small world's 2 months start on 2025-01-06: ~5 weeks on each side


@pytest.fixture
def database_url(tmp_path: Path, load_small_world: Callable[[Engine], None]) -> str:
    """A SQLite copy of the small world: profiles, offers, audit table and its logged events."""
    url = f"sqlite:///{tmp_path / 'logged.sqlite'}"
    engine = make_engine(url)
    load_small_world(engine)
    engine.dispose()
    return url


def _train(url: str, uri: str, *more: str) -> list[str]:
    return [
        "train",
        "--database-url",
        url,
        "--encoder",
        "hashing",
        "--tracking-uri",
        uri,
        "--model-name",
        MODEL,
        "--cutoff",
        CUTOFF,
        *more,
    ]


def test_train_on_logged_events_registers_a_database_version(database_url: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = runner.invoke(app, _train(database_url, uri))
    assert first.exit_code == 0, first.output
    assert "promoted v1" in first.stdout and f"from {database_url}" in first.stdout
    assert "not computed without a simulator" in first.stdout  # the output says what was skipped
    registry = ModelRegistry(uri, model_name=MODEL)
    version = registry.client.get_model_version(MODEL, "1")
    run_tags = registry.client.get_run(version.run_id).data.tags
    for tags in (version.tags, run_tags):
        assert tags["data_source"] == "database"
        assert tags["database_url"] == database_url
        assert tags["cutoff"] == CUTOFF
        assert re.fullmatch(r"[0-9a-f]{64}", tags["data_fingerprint"])
        assert re.fullmatch(r"[0-9a-f]{64}", tags["database_fingerprint"])
    # the events before the cut-off are what it learnt from; the whole log is a wider fingerprint
    assert version.tags["data_fingerprint"] != version.tags["database_fingerprint"]
    params = registry.client.get_run(version.run_id).data.params
    assert params["protocol.graded_by"] == "logged outcomes" and params["protocol.cutoff"] == CUTOFF

    second = runner.invoke(app, _train(database_url, uri, "--no-promote"))
    assert second.exit_code == 0, second.output
    assert "registered db-ranker v2" in second.stdout and "not promoted" in second.stdout
    listed = runner.invoke(app, ["model", "list", "--tracking-uri", uri, "--model-name", MODEL])
    assert listed.exit_code == 0 and "database" in listed.stdout, listed.output
    assert [row["data"] for row in registry.describe()] == ["database", "database"]
    assert registry.gate_verdict("1") == "passed" and registry.gate_verdict("2") is not None  # recorded
    from models.registry import GateDecision

    registry.record_gate("2", GateDecision(False, ["NDCG@10 below the champion's"]))
    promote = runner.invoke(app, ["model", "promote", "v2", "--tracking-uri", uri, "--model-name", MODEL])
    assert promote.exit_code == 0 and "v1 → v2" in promote.stdout, promote.output
    # promoted as asked, and told that the gate said no
    assert "did not pass the promotion gate (NDCG@10 below the champion's)" in promote.output
    assert registry.champion_version() == "2"
    rollback = runner.invoke(app, ["model", "rollback", "--tracking-uri", uri, "--model-name", MODEL])
    assert rollback.exit_code == 0 and "v2 → v1" in rollback.stdout, rollback.output
    assert registry.champion_version() == "1"


def test_train_refuses_a_database_with_too_few_outcomes(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        # every answer gone but a dozen early openings: alerts were sent, hardly any answered
        connection.execute(
            text(
                "DELETE FROM interactions WHERE event != 'alert_sent' AND id NOT IN "
                "(SELECT id FROM interactions WHERE event = 'alert_opened' ORDER BY occurred_at LIMIT 12)"
            )
        )
    engine.dispose()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(app, _train(database_url, uri))
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    match = re.search(r"too few logged outcomes to learn from: (\d+) before the cut-off", result.output)
    assert match is not None and 0 < int(match.group(1)) <= 12, result.output
    assert f"at least {MIN_TRAINING_OUTCOMES} needed" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "artifacts").exists()  # nothing was logged


def test_conflicting_options_are_refused_in_one_line(database_url: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    both = runner.invoke(app, [*_train(database_url, uri), "--world", str(tmp_path)])
    assert both.exit_code == 2 and len(both.output.strip().splitlines()) == 1, both.output
    assert "--world and --database-url are exclusive" in both.output
    weeks = runner.invoke(app, ["eval", "--database-url", database_url, "--cutoff-week", "3"])
    assert weeks.exit_code == 2 and "--cutoff YYYY-MM-DD" in weeks.output, weeks.output
    bad_day = runner.invoke(app, ["eval", "--database-url", database_url, "--cutoff", "2025-13-01"])
    assert bad_day.exit_code == 2 and "is not a day" in bad_day.output, bad_day.output
    empty = runner.invoke(app, ["eval", "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite'}"])
    assert empty.exit_code == 2 and "matching db upgrade" in empty.output, empty.output


def test_eval_on_logged_events(database_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            "--database-url",
            database_url,
            "--encoder",
            "hashing",
            "--json",
            "--report",
            str(tmp_path / "report"),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"ltr", "rule", "embedding", "bm25", "popularity", "random"} <= set(payload)
    # graded by logged outcomes only: no simulated candidates, sourcing or feedback loop
    assert payload["protocol"]["graded_by"] == "logged outcomes"
    assert payload["protocol"]["source"] == database_url
    assert payload["sourcing"] == {} and payload["feedback"] == {}
    assert "hires@10" not in payload["ltr"]
    assert payload["ltr"]["mrr"] > payload["random"]["mrr"]  # the learned order beats a random one
    assert 0 < payload["ltr"]["fairness_min_ratio"] <= 1  # the database holds audit attributes
    assert "not computed without a simulator" in result.stdout
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Non calculé sans simulateur" in html


def test_public_url_hides_the_password() -> None:
    shown = public_url("postgresql+psycopg://matching:s3cret@db.example:5432/matching")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg://matching:***@db.example")
