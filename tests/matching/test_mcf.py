"""Mon Compte Formation catalogue: the real re-exports of ../shared/data/trainings, the official ';' form."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching.errors import IngestError
from matching.ingest.mcf import parse_mcf


@pytest.fixture(scope="module")
def mcf_dir(trainings_data: Path) -> Path:
    return trainings_data / "mcf_catalogue"


def test_every_real_sample_is_read(mcf_dir: Path) -> None:
    counts = {}
    for path in sorted(mcf_dir.glob("*.csv")):
        parsed = parse_mcf(path.read_text(encoding="utf-8"), path.name)
        assert parsed.separator == "," and parsed.rows == len(parsed.trainings)
        assert len({t.id for t in parsed.trainings}) == parsed.rows  # one id per row
        counts[path.name] = parsed.rows
    assert counts == {
        "mcf_sample_2024-07-11_RNCP_nsf326.csv": 100,
        "mcf_sample_2024-07-11_RS_nsf326_with_titles.csv": 100,
        "mcf_sample_2024-07-16_RS_nsf326.csv": 100,
        "mcf_sample_subset_columns_nsf326.csv": 200,
    }


def test_pandas_floats_index_column_and_html_are_undone(mcf_dir: Path) -> None:
    parsed = parse_mcf(
        (mcf_dir / "mcf_sample_2024-07-11_RS_nsf326_with_titles.csv").read_text(encoding="utf-8")
    )
    first = parsed.trainings[0]
    assert (first.id, first.title, first.organisation) == (
        "78959578200051_M-FOR1512",
        "PhotoShop sur mesure",
        "FORMALTIC",
    )
    assert first.formacodes == ("46006", "71133") and (first.department, first.region) == (
        "34",
        "76",
    )  # "34.0"
    assert (first.referential, first.certification) == ("RS", "6204")  # code_rncp -1: none
    assert (first.hours_min, first.hours_max, first.price_mean) == (21, 21, 2330)
    assert first.objectives.startswith("Formateurs reconnus") and "<li>" not in first.objectives


def test_the_official_semicolon_export_and_its_later_columns() -> None:
    text = (
        "date_chargement;nom_of;siret_of;type_referentiel;code_rs;code_rncp;intitule_certification;"
        "intitule_formation;code_formacode_1;code_rome_1;code_rome_2;nombre_heures_total_min;"
        "nombre_heures_total_max;nombre_heures_total_mean;objectif_formation\n"
        "2025-01-02;ACME;12345678901234;RNCP;;37873;TP CDA;Concepteur d'applications;31067;m1805;M1805;"
        '280;300;290;"&lt;p&gt;Concevoir&lt;/p&gt;"\n'
        ";Sans titre;1234;RS;1;;;;;;;;;;\n"
        "2025-01-02;B;12345;RS;9;;Tosa;;;;;400;300;350;\n"
    )
    parsed = parse_mcf(text)
    assert parsed.separator == ";" and parsed.rows == 3 and len(parsed.trainings) == 2
    cda = parsed.trainings[0]
    assert (cda.siret, cda.certification, cda.rome_codes, cda.hours_mean) == (
        "12345678901234",
        "37873",
        ("M1805", "M1805"),
        290,
    )
    assert cda.objectives == "Concevoir"
    tosa = parsed.trainings[1]
    assert tosa.siret is None and tosa.hours_mean is None and tosa.title == "Tosa"
    assert set(parsed.problem_counts()) == {
        ("intitule_formation", "no title: row not read"),
        ("siret", "not a 14-digit SIRET: not kept"),
        ("nombre_heures_total_min", "above the max: hours not read"),
    }


def test_a_csv_that_is_not_the_catalogue_stops_in_one_line() -> None:
    with pytest.raises(IngestError, match=r"offres\.csv: not a Mon Compte Formation catalogue"):
        parse_mcf("id,intitule\n1,Cariste\n", "offres.csv")
