from __future__ import annotations

import numpy as np
import pytest

from matching.errors import GeoError, UnknownCodeError
from matching.geo import (
    Communes,
    department_of,
    display_name,
    haversine_km,
    load_communes,
    load_laposte,
)


def test_haversine_known_distances() -> None:
    paris, lyon = (48.8566, 2.3522), (45.7640, 4.8357)
    assert haversine_km(*paris, *lyon) == pytest.approx(392, abs=3)
    assert haversine_km(*paris, *paris) == 0
    lat = np.array([48.8566, 45.7640])
    lon = np.array([2.3522, 4.8357])
    matrix = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert matrix.shape == (2, 2)
    assert np.allclose(matrix, matrix.T)


def test_department_of() -> None:
    assert department_of("69381") == "69"
    assert department_of("2A004") == "2A"
    assert department_of("97411") == "974"
    with pytest.raises(UnknownCodeError):
        department_of("123")


def test_laposte_base(real_communes: Communes) -> None:
    assert len(real_communes) > 35_000
    lat, lon = real_communes.coords("69381")
    assert 45.7 < lat < 45.8
    assert 4.8 < lon < 4.9
    # whole-city codes are placed at their arrondissements' mean
    assert real_communes.distance_km("75056", "69123") == pytest.approx(392, abs=5)
    with pytest.raises(UnknownCodeError):
        real_communes.coords("00000")


def test_fallback_resolves_any_code_approximately(real_communes: Communes) -> None:
    fallback = load_communes()
    assert fallback.approximate
    assert 96 <= len(fallback) <= 120
    # a commune absent from the fallback lands at its département centroid, a few tens of km away
    exact = real_communes.coords("69381")
    approx = fallback.coords("69381")
    assert haversine_km(*exact, *approx) < 60


def test_not_a_laposte_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.csv"
    bad.write_text("a;b\n1;2\n")
    with pytest.raises(GeoError, match="missing column"):
        load_laposte(bad)
    with pytest.raises(GeoError, match="not found"):
        load_laposte(tmp_path / "none.csv")


@pytest.mark.parametrize(
    ("laposte", "shown"),
    [
        ("ST DENIS EN VAL", "Saint-Denis-en-Val"),
        ("LE HAVRE", "Le Havre"),
        ("L ISLE D ABEAU", "L'Isle-d'Abeau"),
        ("LA ROCHE SUR YON", "La Roche-sur-Yon"),
        ("MARSEILLE 15", "Marseille 15"),
        ("Lyon", "Lyon"),
    ],
)
def test_display_name(laposte: str, shown: str) -> None:
    assert display_name(laposte) == shown


def test_places_are_named(real_communes: Communes) -> None:
    """The La Poste base keeps every commune's name: pages show it, never the INSEE code."""
    assert real_communes.name_of("13215") == "Marseille 15"
    # the whole cities, beside their arrondissements (Lyon's are 69381…: not its prefix + "01")
    assert [real_communes.name_of(c) for c in ("75056", "69123", "13055")] == ["Paris", "Lyon", "Marseille"]
    assert real_communes.name_of("00000") is None and real_communes.name_of(None) is None
    assert all(real_communes.names)
