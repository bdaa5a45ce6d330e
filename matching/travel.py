"""Estimated commute time by means of transport: what "too far" means for someone without a car.

A person judges a commute in minutes by their own means of transport, not in straight-line km: 20 km
is 30 minutes by car outside a city and well over an hour by bus. The engine holds no timetable or
road network, so it estimates door-to-door minutes from the straight-line distance, the person's
declared means of transport (:class:`~matching.domain.MobilityMode`) and how dense the workplace's
area is, measured from the market itself (the share of the market's offers with fewer offers within
10 km: dense areas have slower cars and better public transport).

Orders of magnitude: the average one-way commute in France is about 25 minutes for a median
12–15 km (DARES Analyses 2015-081, "Les temps de déplacement entre domicile et travail"); cars are
the main mode outside large cities and public transport competitive only in dense areas (Insee
Première n° 1835, 2021). These figures set the speeds below; they are estimates, and the ranker
learns how much they matter. Only the ratio to the person's own budget ever reaches the ranker,
never the place (the feature allowlist forbids it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The modes, in the order of the speed tables (values of :class:`matching.domain.MobilityMode`).
MODES = ("voiture", "transports_en_commun", "velo", "marche")
DEFAULT_MODE = "voiture"  # most commuters drive (Insee Première n° 1835: 74 %)
#: Door-to-door speed (km/h of straight-line distance) in the sparsest and the densest areas.
SPEED_SPARSE_KMH = np.array([40.0, 10.0, 13.0, 4.5])
SPEED_DENSE_KMH = np.array([24.0, 18.0, 14.0, 4.5])
#: Fixed minutes of a trip: parking, walking to a stop and waiting.
TRIP_OVERHEAD_MIN = np.array([5.0, 10.0, 2.0, 0.0])
#: Speed at which a radius declared in km becomes a budget in minutes (a typical area).
TYPICAL_SPEED_KMH = (SPEED_SPARSE_KMH + SPEED_DENSE_KMH) / 2.0
DENSITY_RADIUS_KM = 10.0
_EARTH_RADIUS_KM = 6371.0


def mode_index(modes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Position of each mode in :data:`MODES`, shape ``(m,)``; unknown or missing modes read as
    :data:`DEFAULT_MODE` (most commuters drive)."""
    index = {m: i for i, m in enumerate(MODES)}
    default = index[DEFAULT_MODE]
    values = np.asarray(modes, dtype=object).reshape(-1).tolist()
    return np.fromiter((index.get(str(v), default) for v in values), np.int64, len(values))


def density_rank(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """How dense each place's area is among the given places, shape ``(n,)`` in [0, 1] (NaN where a
    coordinate is missing): the share of places with fewer places within 10 km."""
    from scipy.spatial import cKDTree
    from scipy.stats import rankdata

    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    out = np.full(len(lat), np.nan)
    known = np.isfinite(lat) & np.isfinite(lon)
    if known.sum() < 2:
        return np.where(known, 0.5, np.nan)
    phi, lmb = np.radians(lat[known]), np.radians(lon[known])
    xyz = np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])
    chord = 2.0 * np.sin(DENSITY_RADIUS_KM / _EARTH_RADIUS_KM / 2.0)
    counts = np.asarray(cKDTree(xyz).query_ball_point(xyz, chord, return_length=True), dtype=float)
    out[known] = (rankdata(counts) - 1.0) / (len(counts) - 1.0)
    return out


def travel_minutes(
    km: FloatArray,
    modes: npt.ArrayLike,
    density: FloatArray,
    *,
    sparse_kmh: FloatArray = SPEED_SPARSE_KMH,
    dense_kmh: FloatArray = SPEED_DENSE_KMH,
    overhead_min: FloatArray = TRIP_OVERHEAD_MIN,
) -> FloatArray:
    """Estimated door-to-door minutes of each commute, shape ``(m,)`` (NaN where ``km`` or the
    density is unknown).

    Parameters
    ----------
    km
        Straight-line distances, shape ``(m,)``.
    modes
        Each person's declared means of transport (:data:`MODES`; others read as a car).
    density
        The workplace's :func:`density_rank`, shape ``(m,)``.
    sparse_kmh, dense_kmh, overhead_min
        Speed tables by mode, shape ``(len(MODES),)`` (defaults: the engine's estimates above).
    """
    mode = mode_index(modes)
    density = np.asarray(density, dtype=float)
    speed = sparse_kmh[mode] + (dense_kmh[mode] - sparse_kmh[mode]) * density
    return np.asarray(overhead_min[mode] + np.asarray(km, dtype=float) / speed * 60.0, dtype=np.float64)


def commute_budget_minutes(max_minutes: FloatArray, max_km: FloatArray, modes: npt.ArrayLike) -> FloatArray:
    """Each person's commute budget in minutes, shape ``(m,)``: the minutes they declared, else their
    declared radius at their mode's typical speed (NaN when they declared neither)."""
    mode = mode_index(modes)
    minutes = np.asarray(max_minutes, dtype=float)
    from_km = TRIP_OVERHEAD_MIN[mode] + np.asarray(max_km, dtype=float) / TYPICAL_SPEED_KMH[mode] * 60.0
    return np.asarray(np.where(np.isfinite(minutes) & (minutes > 0), minutes, from_km), dtype=np.float64)
