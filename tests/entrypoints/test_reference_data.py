"""Real reference data by default: the official ROME and La Poste communes when they are there, the
built-in ones when asked for or absent, and worlds read with the referential they were made on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints import bootstrap
from entrypoints.cli import app
from entrypoints.settings import Settings, get_settings

runner = CliRunner()
SAMPLE_WORLD = Path(__file__).resolve().parents[2] / "data" / "sample" / "world"


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither referential nor communes set (the test session asks for the built-in ones)."""
    monkeypatch.delenv("MATCHING_ROME_DIR", raising=False)
    monkeypatch.delenv("MATCHING_COMMUNES_FILE", raising=False)


@pytest.fixture
def official_defaults(
    unset: None, reference_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Settings]:
    """The settings a user gets with the reference data present and nothing else set."""
    monkeypatch.setenv("MATCHING_REFERENCE_DATA", str(reference_data))
    monkeypatch.setenv("MATCHING_INDEX_DIR", str(tmp_path / "index"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_defaults_follow_the_reference_data(unset: None, reference_data: Path, tmp_path: Path) -> None:
    present = Settings(_env_file=None, reference_data=reference_data)  # type: ignore[call-arg]
    assert present.rome_dir == reference_data / "rome_v460"
    assert present.communes_file == reference_data / "communes" / "laposte_hexasmal_latlon.csv"
    absent = Settings(_env_file=None, reference_data=tmp_path)  # type: ignore[call-arg]
    assert absent.rome_dir is None and absent.communes_file is None  # the built-in fallback
    asked = Settings(
        _env_file=None, reference_data=reference_data, rome_dir="builtin", communes_file="BUILTIN"
    )  # type: ignore[call-arg, arg-type]
    assert asked.rome_dir is None and asked.communes_file is None
    assert bootstrap.referential(asked).version == "builtin-1"
    assert bootstrap.communes(asked).approximate
    assert bootstrap.referential(present).version == "ROME 4.0 v60"
    assert not bootstrap.communes(present).approximate


def test_commands_use_the_official_referential_by_default(official_defaults: Settings) -> None:
    result = runner.invoke(app, ["rome", "info"])
    assert result.exit_code == 0, result.output
    assert "ROME 4.0 v60" in result.output
    assert "M1851" in runner.invoke(app, ["rome", "show", "M1851"]).output  # a real offer's code
    result = runner.invoke(app, ["rome", "info", "--rome-dir", "builtin"])
    assert "builtin-1" in result.output


def test_a_world_is_read_with_its_own_referential(official_defaults: Settings, tmp_path: Path) -> None:
    """The committed sample world (built-in) still builds indexes with the official default; a world
    whose referential is at hand nowhere is one line and exit 2, naming the fix."""
    result = runner.invoke(
        app,
        [
            "index",
            "build",
            "--world",
            str(SAMPLE_WORLD),
            "--encoder",
            "hashing",
            "--out",
            str(tmp_path / "i"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "i" / "generator.json").read_text())["referential"] == "builtin-1"
    odd = tmp_path / "odd"
    odd.mkdir()
    manifest = json.loads((SAMPLE_WORLD / "manifest.json").read_text())
    (odd / "manifest.json").write_text(json.dumps({**manifest, "referential_version": "ROME 4.0 v59"}))
    result = runner.invoke(app, ["eval", "--world", str(odd), "--encoder", "hashing"])
    assert result.exit_code == 2
    assert "generated on ROME 4.0 v59, not on ROME 4.0 v60" in result.output
    assert "--rome-dir" in result.output and "Traceback" not in result.output


def test_sample_keeps_the_committed_world(
    official_defaults: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`matching sample` without --out would replace the built-in sample world by an official one: refused."""
    default = tmp_path / "sample"  # the default world folder, holding a world made on the built-in one
    default.mkdir()
    before = (SAMPLE_WORLD / "manifest.json").read_bytes()
    (default / "manifest.json").write_bytes(before)
    monkeypatch.setenv("MATCHING_SAMPLE_DIR", str(default))
    get_settings.cache_clear()
    result = runner.invoke(app, ["sample", "--profiles", "20", "--offers", "20", "--months", "0"])
    assert result.exit_code == 2
    assert "holds a world made on builtin-1, not ROME 4.0 v60" in result.output
    assert (default / "manifest.json").read_bytes() == before


def test_sample_anchored_on_real_offers(
    official_defaults: Settings, offers_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        [
            *("sample", "--anchor-offers", str(offers_file), "--profiles", "400", "--offers", "100"),
            *("--trainings", "50", "--months", "1", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "anchored on 3,589 offers" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["referential_version"] == "ROME 4.0 v60"
    seeds = manifest["config"]["anchor"]["seeds"]
    assert {code for _insee, code, _weight in seeds} >= {"M1801", "M1851", "K2303"}
