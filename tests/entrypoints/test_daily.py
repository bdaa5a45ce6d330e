"""``matching daily``: ingest, index update and incremental alerts, idempotent on the same input;
``matching index update`` and ``matching alerts run --update-index`` on their own."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from entrypoints.cli import app
from matching.referential import Referential
from serving.storage.db import make_engine

runner = CliRunner()
DAY = "2025-02-17"
WEEK_LATER = "2025-02-25"  # every weekly subscription alerted on DAY is due again


def _daily_line(output: str) -> dict[str, int]:
    """The counts of the summary line ``daily: offers N new, …`` (followed by the delivery's line)."""
    lines = output.strip().splitlines()
    assert lines[-1].startswith("deliver: ") and lines[-2].startswith("daily: "), output
    line = lines[-2]
    pattern = (
        r"offers (\d+) new, (\d+) updated, (\d+) closed, (\d+) expired, (\d+) refused; index version \S+; "
        r"(\d+) subscriptions alerted, (\d+) alerts sent"
    )
    match = re.search(pattern, re.sub(r"(?<=\d),(?=\d)", "", line))  # 2,203 -> 2203
    assert match is not None, line
    keys = ("new", "updated", "closed", "expired", "refused", "alerted", "sent")
    return dict(zip(keys, map(int, match.groups()), strict=True))


@pytest.mark.slow
def test_daily_twice_on_the_same_file_sends_nothing_the_second_time(
    load_small_world: Callable[[Engine], None],
    offer_for_a_person: tuple[str, Callable[[str], dict[str, Any]]],
    offers_file: Path,
    builtin: Referential,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the digests go to a Maildir of the test (the e-mails themselves are tested in test_delivery)
    monkeypatch.setenv("MATCHING_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.delenv("MATCHING_SMTP_URL", raising=False)  # never a developer's real relay
    url = f"sqlite:///{tmp_path / 'daily.sqlite'}"
    engine = make_engine(url)
    load_small_world(engine)
    engine.dispose()
    _, moved = offer_for_a_person
    real = [r for r in json.loads(offers_file.read_text()) if r.get("romeCode") in builtin.fiches][:3]
    unusable = {"id": "FT-BROKEN", "intitule": "Sans code"}
    day_file = tmp_path / "offers.json"
    day_file.write_text(json.dumps({"resultats": [*real, moved("FT-NEAR-1"), unusable]}))
    common = [
        "--database-url",
        url,
        "--index",
        str(tmp_path / "index"),
        "--encoder",
        "hashing",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
    ]

    first = runner.invoke(app, ["daily", str(day_file), "--as-of", DAY, *common])
    assert first.exit_code == 0, first.output
    counts = _daily_line(first.output)
    assert (counts["new"], counts["updated"], counts["refused"]) == (4, 0, 1)
    assert counts["sent"] > 0 and counts["alerted"] > 0
    assert "index version" in first.output and "published" in first.output

    # the same file a week later: every subscription is due, nothing is new, nothing is sent
    second = runner.invoke(app, ["daily", str(day_file), "--as-of", WEEK_LATER, *common])
    assert second.exit_code == 0, second.output
    counts = _daily_line(second.output)
    assert (counts["new"], counts["updated"], counts["sent"], counts["alerted"]) == (0, 0, 0, 0)

    # the control: one more offer for the same person that day is new, and sent
    day_file.write_text(json.dumps([*real, moved("FT-NEAR-1"), moved("FT-NEAR-2")]))
    third = runner.invoke(app, ["daily", str(day_file), "--as-of", WEEK_LATER, *common])
    assert third.exit_code == 0, third.output
    counts = _daily_line(third.output)
    assert counts["new"] == 1 and counts["sent"] >= 1

    # what the served engine gives these real offers: each located one opened through sourcing
    served = runner.invoke(app, ["eval", "served", "--json", *common])
    assert served.exit_code == 0, served.output
    figures = json.loads(served.output.strip().splitlines()[-1])
    # the France Travail offers stored (3 real, 2 moved to the person; the simulated ones are not) with
    # a place: the moved two at least
    located = figures["sourcing"]["offers"]
    assert 2 <= located <= 5
    assert 0 < figures["sourcing"]["with_candidate"] <= located
    with make_engine(url).connect() as connection:
        alerted = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT a.offer_id) FROM alerts a JOIN offers o ON o.id = a.offer_id "
                "WHERE o.source = 'france_travail'"
            )
        ).one()
    assert (figures["alerts"]["alerts"], figures["alerts"]["offers_alerted"]) == tuple(alerted)
    assert figures["alerts"]["offers_alerted"] >= 2  # FT-NEAR-1 and FT-NEAR-2 went to their person
    assert "located offers" in served.output and "alerted to" in served.output
    with make_engine(url).connect() as connection:
        unlocated = connection.scalar(
            text(
                "SELECT count(*) FROM alerts a JOIN offers o ON o.id = a.offer_id "
                "WHERE o.source = 'france_travail' AND o.lat IS NULL"
            )
        )
    assert figures["alerts"]["alerts_unlocated"] == unlocated
    assert figures["alerts"]["alerts_nowhere"] == 0  # abroad or unknown places are alerted to no one
    # a measurement serves nobody: nothing logged, so no counsellor's next list is rotated by it
    with make_engine(url).connect() as connection:
        logged = connection.scalar(text("SELECT count(*) FROM recommendation_log WHERE kind = 'sourcing'"))
    assert logged == 0

    # France Travail's full extract without one of its offers: that offer is closed, out of the index
    full_file = tmp_path / "full.json"
    full_file.write_text(json.dumps([*real[1:], moved("FT-NEAR-1"), moved("FT-NEAR-2")]))
    fourth = runner.invoke(app, ["daily", str(full_file), "--full", "--as-of", WEEK_LATER, *common])
    assert fourth.exit_code == 0, fourth.output
    counts = _daily_line(fourth.output)
    assert (counts["new"], counts["closed"], counts["sent"]) == (0, 1, 0)
    assert "1 withdrawn" in fourth.output or "withdrawn 1" in fourth.output
    # a truncated extract would close most offers: refused, nothing written
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps([real[1]]))
    refused = runner.invoke(app, ["ingest", "offers", str(truncated), "--full", "--database-url", url])
    assert refused.exit_code == 2 and "truncated download" in refused.output, refused.output
    assert "Traceback" not in refused.output
    dry = runner.invoke(
        app, ["ingest", "offers", str(truncated), "--full", "--dry-run", "--database-url", url]
    )
    assert dry.exit_code == 0 and "would be closed" in dry.output and "would refuse" in dry.output, dry.output

    # the index alone, then the alert batch refreshing it first: both up to date already
    update = runner.invoke(app, ["index", "update", "--as-of", WEEK_LATER, *common[:6]])
    assert update.exit_code == 0, update.output
    assert "unchanged" in update.output and "; 0 texts embedded" in update.output
    # without --encoder: the encoder the published indexes were built with (hashing), not the default
    # e5 (which would embed every text again, or fail without its build)
    without_encoder = [a for a in common if a not in {"--encoder", "hashing"}]
    alerts = runner.invoke(
        app, ["alerts", "run", "--incremental", "--update-index", "--as-of", WEEK_LATER, *without_encoder]
    )
    assert alerts.exit_code == 0, alerts.output
    assert "unchanged" in alerts.output and ", 0 alerts," in alerts.output
    assert "; 0 texts embedded" in alerts.output


def test_daily_user_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["daily", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not found" in missing.output
    empty = runner.invoke(app, ["daily", str(tmp_path)])
    assert empty.exit_code == 2 and "no .json or .jsonl" in empty.output
    assert "Traceback" not in missing.output + empty.output
