"""`matching formacode show` and the ingest reading the saved links; bad codes and stale links in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from entrypoints.settings import get_settings
from matching.encoders import HashingEncoder
from matching.formacode import FormacodeSkillLinker, FormacodeThesaurus
from matching.ingest.formacode import FormacodeTerm, OfferFormation
from matching.referential import Referential


@pytest.fixture
def links_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A links folder of this test's own (the session's is shared by every test)."""
    monkeypatch.setenv("MATCHING_FORMACODE_LINKS_DIR", str(tmp_path / "formacode-links"))
    get_settings.cache_clear()
    yield tmp_path / "formacode-links"
    monkeypatch.undo()
    get_settings.cache_clear()


def test_show_reads_the_saved_links_and_refuses_bad_ones(
    builtin: Referential, tmp_path: Path, links_dir: Path
) -> None:
    thesaurus = FormacodeThesaurus({"31900": FormacodeTerm("31900", "conduite de chariot élévateur")})
    offers = [OfferFormation(f"o{i}", "31900", "", "N1103", ("900001",)) for i in range(3)]
    folder = get_settings().formacode_links_dir
    assert folder == links_dir
    FormacodeSkillLinker(builtin, HashingEncoder(), null_pairs=500).fit(
        thesaurus, offer_formations=offers
    ).save(folder)
    runner = CliRunner()
    result = runner.invoke(app, ["formacode", "show", "31900"])
    assert result.exit_code == 0, result.output
    assert "900001" in result.output and "offres via N1103" in result.output
    for code, message in (("abc", "is not a Formacode"), ("12345", "no link to a ROME competence")):
        result = runner.invoke(app, ["formacode", "show", code])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    # altered links: refused in one line by show; the ingest reads on without them
    state = json.loads((folder / "links.json").read_text())
    state["links"]["31900"] = []
    (folder / "links.json").write_text(json.dumps(state))
    result = runner.invoke(app, ["formacode", "show", "31900"])
    assert (
        result.exit_code == 2 and "checksum" in result.output and "formacode build --force" in result.output
    )
    catalogue = tmp_path / "mcf.csv"
    catalogue.write_text(
        "intitule_certification;code_formacode_1;nombre_heures_total_mean;code_departement\nCariste;31900;35;49\n"
    )
    result = runner.invoke(app, ["ingest", "trainings", str(catalogue), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Formacode links not used" in result.output and "1 trainings" in result.output
