"""LHEO training catalogues: the real documents of ../shared/data/trainings/lheo, and broken ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from matching.errors import IngestError
from matching.ingest.lheo import parse_lheo


@pytest.fixture(scope="module")
def lheo_dir(trainings_data: Path) -> Path:
    return trainings_data / "lheo"


@pytest.fixture(scope="module")
def schema(lheo_dir: Path):  # type: ignore[no-untyped-def]
    import xmlschema

    return xmlschema.XMLSchema(str(lheo_dir / "xsd" / "lheo-2.3.xsd"))


def test_the_onisep_export_gives_its_one_session(lheo_dir: Path, schema) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_lheo(
        (lheo_dir / "examples/official_2.2/exemple-bts-onisep.xml").read_bytes(), schema=schema
    )
    assert (parsed.version, parsed.shape, len(parsed.sessions), parsed.problems) == ("2.2", "offres", 1, [])
    session = parsed.sessions[0]
    assert session.title == "BTS négociation et relation client"
    assert session.rome_codes == ("D1402", "D1403", "D1408") and session.rome_version == "V3"
    assert session.formacodes == ("34582", "34076") and session.formacode_version == "V11"  # principal first
    assert session.nsf_codes == ("312",) and session.rncp == "474" and session.certifying is True
    assert (session.start, session.end) == (date(2015, 9, 1), date(2017, 8, 31))
    assert session.hours is None  # "2 ans": no hours stated
    assert session.place is not None and (session.place.insee, session.place.lat) == ("29233", 47.882108)
    assert (session.organisation, session.siret, session.modality) == (
        "Lycée Kerneuzec",
        "19290076900014",
        "presentiel",
    )
    assert (
        session.objectives.startswith("A la fois vendeur") and "<p>" not in session.objectives
    )  # HTML read as text


def test_the_intercarif_summary_gives_ten_sessions(lheo_dir: Path, schema) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_lheo(
        (lheo_dir / "examples/intercarif/bob-emploi_carif_lheo-index.xml").read_bytes(), schema=schema
    )
    assert (parsed.version, parsed.shape, len(parsed.sessions)) == ("2.2", "index", 10)
    first = parsed.sessions[0]
    assert first.id == "14_AF_0000011179_SE_0000093700" and first.hours == 482
    assert first.place is not None and (first.place.lat, first.place.lon) == (
        48.897144,
        2.320914,
    )  # from extras
    # "20170900": the month is known, the day is not
    second = parsed.sessions[1]
    assert (second.start, second.end) == (date(2017, 9, 1), date(2018, 3, 1))
    assert parsed.problem_counts()[("periode/debut", "day unknown: the 1st of the month")] == 8
    assert len({s.id for s in parsed.sessions}) == 10


def test_the_anotea_flux_is_read_and_its_faults_reported(lheo_dir: Path, schema) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_lheo(
        (lheo_dir / "examples/intercarif/anotea_intercarif-data-test_redacted.xml").read_bytes(),
        schema=schema,
    )
    assert len(parsed.sessions) == 1
    session = parsed.sessions[0]
    assert (session.hours_centre, session.hours_company, session.hours) == (585, 112, 697)
    assert session.funders == ("2",) and session.siret is None  # 15 digits: not kept
    xsd = [p for p in parsed.problems if p.problem.startswith("XSD")]
    assert len(xsd) == 4  # the coordonneFs typo, two 15-digit SIRETs, a courriel before adresse
    assert any("coordonneFs" in p.problem for p in xsd)


def test_lheo_1_and_broken_documents_stop_in_one_line(lheo_dir: Path) -> None:
    with pytest.raises(IngestError, match=r"not an LHEO 2\.2 or 2\.3 document .*1\.3\.0"):
        parse_lheo((lheo_dir / "examples/official_1.3.0/exemple-photographe.xml").read_bytes(), "photo.xml")
    with pytest.raises(IngestError, match="without a namespace"):
        parse_lheo((lheo_dir / "examples/official_1.3.0/exemple-leger.xml").read_bytes())
    with pytest.raises(IngestError, match=r"broken\.xml: not well-formed XML"):
        parse_lheo(b"<lheo xmlns='http://lheo.gouv.fr/2.3'><offres>", "broken.xml")
    with pytest.raises(IngestError, match="not well-formed"):
        parse_lheo("<lheo>é</lheo>".encode("latin-1"), "latin.xml")  # declared nothing: read as UTF-8


def test_entities_are_never_expanded() -> None:
    evil = b"""<?xml version="1.0"?><!DOCTYPE lheo [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <lheo xmlns="http://lheo.gouv.fr/2.3"><offres><formation numero="F1"><intitule-formation>&x;</intitule-formation>
    <action numero="A1"/></formation></offres></lheo>"""
    parsed = parse_lheo(evil)
    # expanded, the title would be the file's contents; the reference stays as written
    assert [s.title for s in parsed.sessions] == ["&x;"]


def test_fields_that_cannot_be_read_are_dropped_with_a_problem() -> None:
    doc = b"""<lheo xmlns="http://lheo.gouv.fr/2.3"><offres>
    <formation numero="F1"><intitule-formation>Soudeur</intitule-formation>
      <domaine-formation><code-ROME ref="V4">H2913</code-ROME><code-ROME>H2913</code-ROME></domaine-formation>
      <action numero="A1"><nombre-heures-total>beaucoup</nombre-heures-total><modalites-enseignement>7</modalites-enseignement>
        <session numero="S1"><periode><debut>20250230</debut><fin>20250101</fin></periode></session>
        <session numero="S2"><periode><debut>20250901</debut><fin>20250301</fin></periode></session>
        <session><periode><debut>00000000</debut><fin>99999999</fin></periode></session>
      </action></formation>
    <formation numero="F2"><intitule-formation>-</intitule-formation></formation>
    </offres></lheo>"""
    parsed = parse_lheo(doc)
    assert [s.id for s in parsed.sessions] == ["S1", "S2", "A1#1"]
    assert all(s.hours is None and s.modality is None for s in parsed.sessions)
    assert parsed.sessions[0].rome_codes == ("H2913",) and parsed.sessions[0].rome_version == "V4"
    assert (parsed.sessions[1].start, parsed.sessions[1].end) == (None, None)
    assert set(parsed.problem_counts()) == {
        ("code-ROME", "codes of several ROME versions: the first one's kept"),
        ("nombre-heures-total", "not a number"),
        ("modalites-enseignement", "unknown code"),
        ("periode/debut", "no such day"),
        ("periode", "ends before it starts: dates not read"),
        ("intitule-formation", "missing: formation not read"),
    }
