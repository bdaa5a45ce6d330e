"""``matching skills build|extract`` on real offers: built once, up to date after, an altered extractor
refused in one line (exit 2) until built again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from entrypoints.settings import get_settings
from matching.ingest import read_offer_records

runner = CliRunner()


def test_skills_build_then_extract_reads_the_saved_extractor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offers_file: Path, rome_dir: Path
) -> None:
    # the real offers of three occupations, those that list competences and those that do not
    records = [r for r in read_offer_records(offers_file) if r.get("romeCode") in {"K2303", "K2307", "M1801"}]
    offers = tmp_path / "offers.json"
    offers.write_text(json.dumps(records[:400], ensure_ascii=False))
    monkeypatch.setenv("MATCHING_SKILL_EXTRACTOR_DIR", str(tmp_path / "skills"))
    get_settings.cache_clear()
    build = ["skills", "build", "--offers", str(offers), "--rome-dir", str(rome_dir)]
    try:
        result = runner.invoke(app, build)
        assert result.exit_code == 0, result.output
        assert "skill extractor learned from" in result.output
        extract = [
            "skills",
            "extract",
            "Ripeur H/F",
            "--description",
            "Collecte des ordures ménagères",
            "--rome",
            "K2303",
        ]
        result = runner.invoke(app, [*extract, "--rome-dir", str(rome_dir)])
        assert result.exit_code == 0, result.output
        assert "Collecter des déchets ménagers ou industriels" in result.output
        result = runner.invoke(app, build)
        assert result.exit_code == 0 and "up to date" in result.output  # same inputs: not built again
        result = runner.invoke(
            app, ["skills", "extract", "Ripeur", "--rome", "Z9999", "--rome-dir", str(rome_dir)]
        )
        assert result.exit_code == 2 and "not a ROME code" in result.output
        result = runner.invoke(
            app, ["skills", "extract", "  ", "--rome", "k2303", "--rome-dir", str(rome_dir)]
        )
        assert result.exit_code == 2 and "title is empty" in result.output
        with (tmp_path / "skills" / "ranker.txt").open("a") as handle:
            handle.write("altered")
        result = runner.invoke(app, [*extract, "--rome-dir", str(rome_dir)])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "checksum" in result.output and "run `matching skills build`" in result.output
        result = runner.invoke(app, build)  # the altered one is built again
        assert result.exit_code == 0 and "building skill extractor again" in result.output
    finally:
        get_settings.cache_clear()
