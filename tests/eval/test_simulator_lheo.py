"""The simulator's trainings as an LHEO 2.3 catalogue: valid against the XSD, read back by the real
parser into the same courses (what LHEO carries), through the ingest command too."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from eval.simulator import World
from eval.simulator.lheo import trainings_lheo
from eval.simulator.records import world_trainings
from matching.geo import Communes
from matching.ingest.lheo import parse_lheo
from matching.ingest.trainings import trainings_from_sessions
from matching.referential import load_referential


def test_the_worlds_trainings_round_trip_through_the_lheo_reader(
    sample_world: World, trainings_data: Path, real_communes: Communes
) -> None:
    import xmlschema

    trainings = list(world_trainings(sample_world))[:60]
    undated = trainings[0].model_copy(update={"id": "UNDATED", "start_date": None, "end_date": None})
    document = trainings_lheo([*trainings, undated], real_communes)
    schema = xmlschema.XMLSchema(str(trainings_data / "lheo/xsd/lheo-2.3.xsd"))
    parsed = parse_lheo(document, "world.xml", schema)
    assert (parsed.version, parsed.shape, len(parsed.sessions)) == (
        "2.3",
        "offres",
        60,
    )  # undated: no session
    assert parsed.problems == []  # valid against the XSD, nothing dropped
    back, problems = trainings_from_sessions(parsed.sessions, load_referential(), real_communes)
    assert problems == []
    for before, after in zip(trainings, back, strict=True):
        assert after.id == f"lheo-{before.id}"
        assert (after.title, after.hours, after.start_date, after.end_date, after.modality) == (
            before.title,
            before.hours,
            before.start_date,
            before.end_date,
            before.modality,
        )
        assert (after.rome_codes, after.formacode, after.organisation) == (
            before.rome_codes,
            before.formacode,
            before.organisation,
        )
        assert after.location.insee == before.location.insee
        assert after.location.lat == pytest.approx(before.location.lat, abs=1e-6)
        assert after.poe_eligible == (before.hours < 400)
        assert (
            after.skills == ()
        )  # LHEO carries no skills: an ingested course teaches what its Formacode links


def test_sample_writes_the_catalogue_that_ingest_reads(tmp_path: Path) -> None:
    runner = CliRunner()
    world, catalogue = tmp_path / "world", tmp_path / "trainings.xml"
    result = runner.invoke(
        app,
        [
            *("sample", "--profiles", "60", "--offers", "40", "--trainings", "12", "--months", "0"),
            *("--out", str(world), "--lheo", str(catalogue)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"12 trainings written as LHEO 2.3 to {catalogue}" in result.output
    result = runner.invoke(app, ["sample", "--profiles", "60", "--out", str(world), "--lheo", str(tmp_path)])
    assert result.exit_code == 2 and "names a file to write, not a folder" in result.output
    result = runner.invoke(app, ["ingest", "trainings", str(catalogue), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "trainings.xml: LHEO 2.3 (full export), 12 sessions, 12 trainings" in result.output
