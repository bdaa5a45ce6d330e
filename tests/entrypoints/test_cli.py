"""The ``matching`` command line: commands end in one line and exit 2 on user errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from entrypoints.settings import get_settings

runner = CliRunner()


def test_rome_commands_on_builtin() -> None:
    result = runner.invoke(app, ["rome", "info"])
    assert result.exit_code == 0
    assert "builtin-1" in result.output
    result = runner.invoke(app, ["rome", "distance", "n1101", "N1104"])
    assert result.exit_code == 0
    assert "mobility rank 1" in result.output
    result = runner.invoke(app, ["rome", "show", "N1103"])
    assert result.exit_code == 0
    assert "N1104" in result.output


def test_user_errors_are_one_line_messages() -> None:
    result = runner.invoke(app, ["rome", "show", "N1102"])
    assert result.exit_code == 2
    assert "unknown ROME code 'N1102'" in result.output
    assert "Did you mean" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["ingest", "offers", "/nonexistent.json"])
    assert result.exit_code == 2
    assert "not found" in result.output
    result = runner.invoke(app, ["sample", "--profiles", "3"])
    assert result.exit_code == 2
    assert "n_profiles" in result.output


def test_invalid_settings_are_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()  # settings are read once per process: read them again with bad values
    monkeypatch.setenv("MATCHING_REFRESH_SECONDS", "abc")
    monkeypatch.setenv("MATCHING_ENCODER_INT8", "maybe")
    try:
        result = runner.invoke(app, ["rome", "info"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "MATCHING_REFRESH_SECONDS" in result.output and "MATCHING_ENCODER_INT8" in result.output
    assert "Traceback" not in result.output and "ValidationError" not in result.output


def test_sample_and_load(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = tmp_path / "world"
    result = runner.invoke(
        app,
        [
            "sample",
            "--profiles",
            "200",
            "--offers",
            "150",
            "--trainings",
            "20",
            "--months",
            "1",
            "--out",
            str(out),
            "--load",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()
    assert "loaded: profiles 200" in result.output
    result = runner.invoke(app, ["db", "load-world", str(out), "--database-url", url])
    assert result.exit_code == 0, result.output


def test_bad_offers_file(tmp_path: Path) -> None:
    bad = tmp_path / "offers.json"
    bad.write_text('{"not": "offers"}')
    result = runner.invoke(app, ["ingest", "offers", str(bad), "--dry-run"])
    assert result.exit_code == 2
    assert "resultats" in result.output
    lines = tmp_path / "offers.jsonl"
    lines.write_text(
        '{"id": "1", "intitule": "Cariste", "romeCode": "N1101", "dateCreation": "2025-01-01T00:00:00Z"}\n[1]\n'
    )
    result = runner.invoke(app, ["ingest", "offers", str(lines), "--dry-run"])
    assert result.exit_code == 0
    assert "parsed 1 rejected 1" in result.output


def test_token_create_for_a_partner(tmp_path: Path) -> None:
    from serving.security import Role, TokenService
    from serving.storage.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(make_engine(url))
    result = runner.invoke(
        app, ["token", "create", "--role", "partner", "--subject", "jobboard-1", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    principal = TokenService(make_engine(url)).verify(result.output.strip())
    assert principal.role == Role.PARTNER and principal.subject_id == "jobboard-1"
    wrong = runner.invoke(
        app, ["token", "create", "--role", "employer", "--subject", "x", "--database-url", url]
    )
    assert wrong.exit_code == 2 and "partner" in wrong.output


def test_commands_follow_the_encoder_of_the_published_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from entrypoints.bootstrap import EncoderChoice, encoder_choice
    from entrypoints.settings import Settings
    from matching.candidates import GENERATOR_FILE

    for name in ("MATCHING_ENCODER", "MATCHING_ENCODER_INT8", "MATCHING_ENCODER_MAX_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    built = EncoderChoice("e5-onnx", int8=False, max_tokens=96)
    (tmp_path / GENERATOR_FILE).write_text(json.dumps({"info": {"version": "v1", **built.info()}}))
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert encoder_choice(defaults, index_dir=tmp_path) == built  # nothing set: the index's
    assert encoder_choice(defaults, "e5-onnx", index_dir=tmp_path) == built  # the same one asked: its cut too
    assert encoder_choice(defaults, "hashing", index_dir=tmp_path) == EncoderChoice("hashing")  # another
    # a variable set on purpose wins for its field; the others still follow the index
    longer = Settings(_env_file=None, encoder_max_tokens=128)  # type: ignore[call-arg]
    assert encoder_choice(longer, index_dir=tmp_path) == EncoderChoice("e5-onnx", max_tokens=128)
    other = Settings(_env_file=None, encoder="e5")  # type: ignore[call-arg]
    assert encoder_choice(other, index_dir=tmp_path) == EncoderChoice("e5")
    assert encoder_choice(defaults, index_dir=tmp_path / "none") == EncoderChoice("e5")  # no index yet
    assert encoder_choice(defaults) == EncoderChoice("e5")  # not asked to follow one
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / GENERATOR_FILE).write_text(json.dumps({"info": {"version": "v0"}}))  # recorded nothing
    assert encoder_choice(defaults, index_dir=legacy) == EncoderChoice("e5")
    assert EncoderChoice.from_info(built.info()) == built


def test_a_dry_run_prints_each_offer_as_read(ft_cases: Path, rome_dir: Path, communes_file: Path) -> None:
    """``ingest offers --dry-run --json``: one JSON object per record on standard output, with the
    normalised fields anyone can check against the source, and nothing stored."""
    import json

    result = runner.invoke(
        app,
        [
            "ingest",
            "offers",
            str(ft_cases / "02-lieu-departement-only.json"),
            "--dry-run",
            "--json",
            "--rome-dir",
            str(rome_dir),
            "--communes",
            str(communes_file),
        ],
    )
    assert result.exit_code == 0, result.output
    read = {
        r["id"]: r for r in (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))
    }
    assert set(read) == {"BH02A", "BH02B", "BH02C", "BH02D"}
    assert read["BH02A"]["place"]["precision"] == "departement" and read["BH02A"]["place"]["area"] == "49"
    assert read["BH02C"]["place"] == {
        "precision": "national",
        "insee": None,
        "label": "France",
        "area": None,
        "lat": None,
        "lon": None,
        "extent_km": 0.0,
    }
    assert read["BH02D"]["rome"] == {
        "code": "I1401",
        "source": "offre",
        "inferred": False,
        "stated_code": None,
        "confidence": None,
    }
    assert (read["BH02D"]["weekly_hours"], read["BH02D"]["contract"]) == (35.0, "CDI")
    refused = runner.invoke(
        app, ["ingest", "offers", str(ft_cases / "02-lieu-departement-only.json"), "--json"]
    )
    assert refused.exit_code == 2 and "--dry-run" in refused.output and "Traceback" not in refused.output


def test_progress_to_a_file_is_told_in_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run > log` gets no live bar: each stage says its counts, time spent and time left."""
    import io

    from rich.console import Console

    import entrypoints.cli.common as common

    sink = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=sink, force_terminal=False, width=200))
    monkeypatch.setattr(common, "LOG_EVERY_S", 0.0)
    with common._progress() as progress:
        report = common.stage_reporter(progress, "train")
        for done in range(0, 11, 5):
            report("boosting", done, 10)
    lines = [line for line in sink.getvalue().splitlines() if line.strip()]
    assert lines[-1].startswith("train boosting: 10/10 (100 %), ") and "5/10 (50 %)" in lines[-2]
    assert "left" in lines[-2]


def test_rome_build_then_classify_reads_the_saved_classifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATCHING_ROME_CLASSIFIER_DIR", str(tmp_path / "rome"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, ["rome", "build", "--examples", "none", "--rome-dir", "builtin", "--encoder", "none"]
        )
        assert result.exit_code == 0, result.output
        assert "0 labelled titles" in result.output and (tmp_path / "rome" / "manifest.json").is_file()
        result = runner.invoke(app, ["rome", "classify", "Cariste H/F", "-k", "2"])
        assert result.exit_code == 0, result.output
        first = result.output.splitlines()[0].split()
        assert first[0] == "N1101" and 0.5 < float(first[1]) <= 1
        result = runner.invoke(
            app, ["rome", "build", "--examples", "none", "--rome-dir", "builtin", "--encoder", "none"]
        )
        assert result.exit_code == 0 and "up to date" in result.output  # same inputs: not built again
        result = runner.invoke(app, ["rome", "classify", "  "])
        assert result.exit_code == 2 and "nothing to classify" in result.output
        (tmp_path / "rome" / "classifier.pkl").write_bytes(b"truncated")
        result = runner.invoke(app, ["rome", "classify", "Cariste H/F"])
        assert result.exit_code == 2
        assert "checksum" in result.output and "matching rome build --force" in result.output
        assert "Traceback" not in result.output
    finally:
        get_settings.cache_clear()
