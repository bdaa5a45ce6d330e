"""LHEO sessions -> trainings: what a session needs, ROME V3 codes, places, POE eligibility."""

from __future__ import annotations

from datetime import date

from matching.domain import Precision, TrainingModality
from matching.geo import load_communes
from matching.ingest.lheo import LheoPlace, LheoSession
from matching.ingest.trainings import training_from_session, training_id, trainings_from_sessions
from matching.referential import Referential


def _session(**fields) -> LheoSession:  # type: ignore[no-untyped-def]
    base = {
        "id": "SE_1",
        "formation_id": "F1",
        "action_id": "A1",
        "title": "Préparateur de commandes",
        "rome_codes": ("N1103",),
        "hours_total": 210.0,
        "start": date(2025, 4, 1),
        "end": date(2025, 6, 1),
    }
    return LheoSession(**{**base, **fields})


def test_a_full_session_is_a_poe_training(builtin: Referential) -> None:
    training, problems = training_from_session(
        _session(modality="distance", formacodes=("31706", "31705")), builtin
    )
    assert problems == [] and training is not None
    assert (training.id, training.hours, training.poe_eligible) == ("lheo-SE_1", 210.0, True)
    assert (training.rome_codes, training.formacode, training.modality) == (
        ("N1103",),
        "31706",
        TrainingModality.REMOTE,
    )
    assert (training.start_date, training.end_date) == (date(2025, 4, 1), date(2025, 6, 1))
    long, _ = training_from_session(
        _session(hours_total=None, hours_centre=385.0, hours_company=70.0), builtin
    )
    assert long is not None and (long.hours, long.poe_eligible) == (455.0, False)  # 400 h or more: no POE


def test_sessions_without_hours_or_start_are_counted_not_stored(builtin: Referential) -> None:
    trainings, problems = trainings_from_sessions(
        [_session(hours_total=None), _session(id="SE_2", start=None), _session(id="SE_3", end=None)], builtin
    )
    assert [t.id for t in trainings] == ["lheo-SE_3"]
    assert trainings[0].end_date == date(2025, 4, 1)  # the start date, said in a problem
    assert [p.problem.split(":")[0] for p in problems] == ["no hours stated", "no start date", "no end date"]


def test_rome_codes_unknown_to_the_referential_are_dropped(builtin: Referential) -> None:
    training, problems = training_from_session(_session(rome_codes=("N1103", "Z9999", "N1103")), builtin)
    assert training is not None and training.rome_codes == ("N1103",)
    assert [p.field for p in problems] == ["code-ROME"] and "Z9999 (V3)" in problems[0].problem


def test_places_from_coordinates_commune_or_departement(builtin: Referential) -> None:
    builtin_communes = load_communes()  # département centroids
    point, _ = training_from_session(
        _session(place=LheoPlace(city="Paris", insee="75117", lat=48.89, lon=2.32)), builtin, builtin_communes
    )
    assert point is not None and (point.location.lat, point.location.precision) == (48.89, Precision.COMMUNE)
    area, _ = training_from_session(
        _session(place=LheoPlace(city="Ailleurs", department="49")), builtin, builtin_communes
    )
    assert (
        area is not None and area.location.precision == Precision.DEPARTEMENT and area.location.extent_km > 0
    )
    nowhere, _ = training_from_session(_session(place=None), builtin, builtin_communes)
    assert nowhere is not None and not nowhere.location.has_coordinates


def test_ids_fit_the_store() -> None:
    assert training_id("14_AF_0000011179_SE_0000093700") == "lheo-14_AF_0000011179_SE_0000093700"
    long = training_id("X" * 100)
    assert len(long) == 64 and long != training_id("X" * 99 + "Y")
