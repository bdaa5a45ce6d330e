"""Training ingest use case and command: real LHEO files stored once, broken files reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from entrypoints.cli import app
from matching.referential import Referential
from serving.batch.trainings import NO_SESSION_DATES, ingest_trainings, training_files
from serving.storage.db import migrate
from serving.storage.repository import SqlRepository


@pytest.fixture
def intercarif(trainings_data: Path, tmp_path: Path) -> Path:
    source = trainings_data / "lheo" / "examples" / "intercarif"
    folder = tmp_path / "lheo"
    shutil.copytree(source, folder)
    return folder


def test_real_files_are_stored_once(engine: Engine, intercarif: Path, real_referential: Referential) -> None:
    migrate(engine)
    repository = SqlRepository(engine)
    files = training_files(intercarif)
    for _ in range(2):  # ingesting again replaces, never duplicates
        run = ingest_trainings(files, repository, referential=real_referential, communes=None)
        assert [(f.path.name, f.sessions, f.trainings) for f in run.files] == [
            ("anotea_intercarif-data-test_redacted.xml", 1, 1),
            ("bob-emploi_carif_lheo-index.xml", 10, 10),
            ("bob-emploi_carif_single_offer.xml", 1, 1),
        ]
    trainings = {t.id: t for t in repository.trainings()}
    assert len(trainings) == 12
    plongeur = trainings["lheo-14_AF_0000066306_SE_0000262635"]
    assert (plongeur.title, plongeur.hours, plongeur.poe_eligible) == (
        "CQP plongeur - officier de cuisine",
        300,
        True,
    )
    assert plongeur.rome_codes == ("G1605",) and plongeur.location.insee == "92012"


def test_a_broken_file_is_reported_and_the_others_read(
    intercarif: Path, real_referential: Referential
) -> None:
    (intercarif / "cut.xml").write_bytes(b"<lheo-index xmlns='http://www.lheo.org/2.2'><resumes-offres>")
    run = ingest_trainings(training_files(intercarif), None, referential=real_referential, communes=None)
    assert [f.path.name for f in run.failed] == ["cut.xml"]
    assert "not well-formed XML" in (run.failed[0].error or "")
    assert sum(f.trainings for f in run.files) == 12 and run.stored == 0


def test_the_command_reports_per_file_and_exits_2_on_a_bad_file(intercarif: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "trainings", str(intercarif), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "bob-emploi_carif_lheo-index.xml: LHEO 2.2 (summary), 10 sessions, 10 trainings" in result.output
    assert "read 3 of 3 files, 12 trainings (dry run: nothing stored)" in result.output
    (intercarif / "notes.xml").write_text("<notes/>")
    result = runner.invoke(app, ["ingest", "trainings", str(intercarif), "--dry-run"])
    assert result.exit_code == 2
    assert "notes.xml: not an LHEO 2.2 or 2.3 document" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["ingest", "trainings", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "trainings file or folder not found" in result.output


def test_mon_compte_formation_catalogues_are_stored_with_dates_to_confirm(
    engine: Engine, trainings_data: Path, tmp_path: Path, real_referential: Referential
) -> None:
    source = trainings_data / "mcf_catalogue"
    folder = tmp_path / "mcf"
    shutil.copytree(source, folder)
    (folder / "latin1.csv").write_bytes(
        "intitule_certification,code_formacode_1\nCariste é,31\n".encode("latin-1")
    )
    migrate(engine)
    repository = SqlRepository(engine)
    for _ in range(2):  # ingesting again replaces, never duplicates
        run = ingest_trainings(
            training_files(folder), repository, referential=real_referential, communes=None
        )
    read = {f.path.name: (f.shape, f.sessions, f.trainings) for f in run.files if not f.error}
    assert read["mcf_sample_subset_columns_nsf326.csv"] == ("catalogue", 200, 0)  # no hours columns
    assert sum(n for _, n, _ in read.values()) == 500
    kept = sum(t for _, _, t in read.values())
    assert kept == 169 and run.problems[("session", NO_SESSION_DATES)] == kept
    assert run.problems[("nombre_heures_total", "no hours (0 or empty): not stored")] == 330
    assert run.problems[("nombre_heures_total", "over 3000 hours: not stored")] == 1
    stored = repository.trainings()
    assert len(stored) == kept and all(t.start_date is None and t.end_date is None for t in stored)
    assert [f.path.name for f in run.failed] == ["latin1.csv"] and "UTF-8" in (run.failed[0].error or "")
