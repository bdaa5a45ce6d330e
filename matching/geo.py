"""Geography: INSEE commune code -> coordinates, and great-circle distances.

Two sources behind one :class:`Communes` interface:

* the La Poste postal-code base with coordinates (``laposte_hexasmal`` CSV, ``;``-separated), exact per
  commune;
* a built-in fallback of département centroids computed from that base (``geo_data/departements.csv``,
  written by :func:`build_department_table`), which resolves any INSEE code to its département's centroid.

Both also place a workplace known only by its département or region (:meth:`Communes.department_area`,
:meth:`Communes.region_area`): the area's centroid and its extent, the radius around the centroid within
which its communes lie. The département → region table comes from INSEE's Code officiel géographique
(``--cog`` of ``matching geo build-fallback``) and region names from ``geo_data/regions.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.errors import GeoError, UnknownCodeError

EARTH_RADIUS_KM = 6371.0088
FALLBACK_RESOURCE = "departements.csv"
REGIONS_RESOURCE = "regions.csv"
TERRITORIES_RESOURCE = "territories.csv"
#: A point farther than this many times its département's extent from the département's centroid (and
#: than :data:`MIN_OFF_KM`) is not in that département: the La Poste base and offers both hold such
#: points (a default point shared by four overseas collectivities, latitude and longitude swapped).
OFF_EXTENT_FACTOR = 3.0
MIN_OFF_KM = 60.0
#: Share of an area's communes within its extent: the 90th percentile of their distances to the
#: centroid, so that a few outlying communes (islands, enclaves) do not widen a whole département.
EXTENT_QUANTILE = 0.9
LAPOSTE_COLUMNS = ("Code_commune_INSEE", "Nom_commune", "Code_postal", "latitude", "longitude")
# Paris, Lyon and Marseille are split into arrondissements in the La Poste base; offers also use the
# whole-city code, which we place at the mean of its arrondissements.
_CITIES_WITH_ARRONDISSEMENTS = {"75056": "751", "69123": "6938", "13055": "132"}

FloatArray = npt.NDArray[np.float64]


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in km between points given in degrees; inputs broadcast like NumPy arrays.

    Returns
    -------
    ndarray of float64
        Distances with the broadcast shape of the inputs (a 0-d array for scalars).
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)


def department_of(insee: str) -> str:
    """Return the département code of an INSEE commune code (``"2A"`` for Corsica, ``"974"`` overseas)."""
    insee = insee.strip().upper()
    if len(insee) != 5:
        raise UnknownCodeError("commune", insee)
    return insee[:3] if insee.startswith("97") or insee.startswith("98") else insee[:2]


@dataclass(frozen=True)
class Area:
    """A département or a region as a place: its centroid and its extent.

    Attributes
    ----------
    code : str
        Département (``"49"``, ``"2A"``, ``"974"``) or region (``"52"``) code.
    name : str
        Its name for people (regions only; a département's is its code).
    lat, lon : float
        Centroid in degrees (mean of its communes).
    extent_km : float
        Radius around the centroid, in km, holding :data:`EXTENT_QUANTILE` of its communes.
    """

    code: str
    name: str
    lat: float
    lon: float
    extent_km: float


@lru_cache(maxsize=8)
def _read_resource(name: str) -> tuple[dict[str, str], ...]:
    text = resources.files("matching").joinpath("geo_data", name).read_text("utf-8")
    return tuple(csv.DictReader(text.splitlines()))


def _builtin_department_regions() -> dict[str, str]:
    return {r["departement"]: r["region"] for r in _read_resource(FALLBACK_RESOURCE) if r.get("region")}


def department_regions() -> dict[str, str]:
    """Département code → region code (INSEE's COG, from the built-in fallback table)."""
    return _builtin_department_regions()


def region_names() -> dict[str, str]:
    """Region code → official name (``geo_data/regions.csv``, INSEE's 18 regions since 2016)."""
    return {r["region"]: r["name"] for r in _read_resource(REGIONS_RESOURCE)}


@lru_cache(maxsize=32)
def _region_circles(region: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    rows = [r for r in _read_resource(FALLBACK_RESOURCE) if r.get("region") == region]
    return (
        np.array([float(r["centroid_lat"]) for r in rows]),
        np.array([float(r["centroid_lon"]) for r in rows]),
        np.array([float(r["extent_km"]) for r in rows]),
    )


def region_edge_km(region: str, lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """Distance in km from points to a region's nearest département edge.

    A region is the union of its départements, each a disc (its centroid and extent, from the built-in
    table): the distance is the smallest, over its départements, of the distance to the centroid minus
    the extent (0 inside). One disc around the whole region would reach far beyond it (Nouvelle-
    Aquitaine's reaches Toulouse and Nantes).

    Returns
    -------
    ndarray of float64
        Shape of ``lat`` (broadcast with ``lon``); ``inf`` for an unknown region, NaN where a point is.
    """
    lats, lons, extents = _region_circles(region)
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    if not len(lats):
        return np.full(np.broadcast(lat, lon).shape, np.inf)
    km = haversine_km(lat[..., None], lon[..., None], lats, lons) - extents
    return np.asarray(np.maximum(km.min(axis=-1), 0.0), dtype=np.float64)


@lru_cache(maxsize=1)
def _region_of_key() -> dict[str, str]:
    """Each region's official name and usual aliases, as :func:`place_key` writes them → its code."""
    return {
        place_key(name): row["region"]
        for row in _read_resource(REGIONS_RESOURCE)
        for name in (row["name"], *(a for a in row["aliases"].split("|") if a))
    }


def find_region(label: str | None) -> str | None:
    """The region a place label names (``"Ile-de-France"``, ``"Hauts-de-France"``, ``"PACA"``), by its
    official name or a usual alias compared as :func:`place_key` writes them; ``None`` otherwise."""
    return _region_of_key().get(place_key(label or ""))


@dataclass(frozen=True)
class Territory:
    """Metropolitan France or an overseas territory: a bounding box and a reference point.

    ``geo_data/territories.csv``: generous boxes (a few km around the coasts) and the chef-lieu as
    reference point, read off IGN / OpenStreetMap maps.
    """

    code: str
    name: str
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    ref_lat: float
    ref_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


@lru_cache(maxsize=1)
def territories() -> dict[str, Territory]:
    """Territory code (``"FR"`` for metropolitan France, else the overseas département or
    collectivity code, ``"974"``) → :class:`Territory`."""
    return {
        r["territory"]: Territory(
            r["territory"],
            r["name"],
            *(float(r[k]) for k in ("lat_min", "lat_max", "lon_min", "lon_max", "ref_lat", "ref_lon")),
        )
        for r in _read_resource(TERRITORIES_RESOURCE)
    }


def territory_of(department: str) -> Territory | None:
    """The territory a département belongs to; ``None`` for codes outside France (``"99"``)."""
    return territories().get("FR" if len(department) == 2 and department != "99" else department)


def check_point(
    lat: float, lon: float, department: str, area: Area | None = None
) -> tuple[tuple[float, float] | None, str | None]:
    """Check a point against the département it should lie in.

    The point must lie in its territory's box and, for a metropolitan département whose ``area``
    (centroid and extent) is given, within ``max(OFF_EXTENT_FACTOR × extent, MIN_OFF_KM)`` km of the
    centroid (overseas, archipelagos such as the Loyalty Islands make the box the only sound check).

    Returns
    -------
    point : (lat, lon) or None
        The point, swapped back when only its swapped form passes, ``None`` when neither passes.
    problem : str or None
        ``"latitude and longitude swapped"``, ``"outside its département"`` or ``None`` (a good point).
    """

    def inside(a: float, b: float) -> bool:
        territory = territory_of(department)
        if territory is not None and not territory.contains(a, b):
            return False
        if area is None or territory is None or territory.code != "FR":
            return True
        reach = max(OFF_EXTENT_FACTOR * area.extent_km, MIN_OFF_KM)
        return float(haversine_km(a, b, area.lat, area.lon)) <= reach

    point, swapped = swap_checked(lat, lon, inside)
    if point is None:
        return None, "outside its département"
    return point, "latitude and longitude swapped" if swapped else None


def swap_checked(
    lat: float, lon: float, inside: Callable[[float, float], bool]
) -> tuple[tuple[float, float] | None, bool]:
    """A point where ``inside`` says it should be, swapped back when only its swapped form is there.

    Latitude and longitude arrive swapped in real offers (Marseille at 5.36° N, 43.35° E) and in the
    La Poste base alike; every check of a point against a place goes through this one rule.

    Returns
    -------
    point : (lat, lon) or None
        ``(lat, lon)``, or ``(lon, lat)`` when only that passes, else ``None``.
    swapped : bool
        Whether the point was swapped back.
    """
    if inside(lat, lon):
        return (lat, lon), False
    if -90 <= lon <= 90 and inside(lon, lat):
        return (lon, lat), True
    return None, False


def in_france(lat: float, lon: float) -> bool:
    """Whether a point lies in metropolitan France or an overseas territory (their boxes)."""
    return any(t.contains(lat, lon) for t in territories().values())


def _extent(lat_c: float, lon_c: float, lat: FloatArray, lon: FloatArray) -> float:
    return float(np.quantile(haversine_km(lat_c, lon_c, lat, lon), EXTENT_QUANTILE)) if len(lat) else 0.0


@dataclass
class Communes:
    """Commune table: INSEE code, name, latitude, longitude (arrays of equal length ``n``).

    Attributes
    ----------
    insee, names : ndarray of str, shape (n,)
    lat, lon : ndarray of float64, shape (n,)
    department_centroids : dict
        ``département -> (lat, lon)``; used to place codes missing from the table when ``approximate``.
    department_extents : dict
        ``département -> km``: radius around the centroid holding :data:`EXTENT_QUANTILE` of its communes.
    department_regions : dict
        ``département -> region code`` (INSEE's Code officiel géographique).
    approximate : bool
        True for the built-in fallback, where unknown codes resolve to their département centroid.
    """

    insee: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray
    department_centroids: dict[str, tuple[float, float]] = field(default_factory=dict)
    department_extents: dict[str, float] = field(default_factory=dict)
    department_regions: dict[str, str] = field(default_factory=_builtin_department_regions)
    approximate: bool = False
    # postal code -> {place name (commune or La Poste "Ligne_5" locality, a commune déléguée), as
    # place_key writes it -> INSEE code}; empty for the built-in fallback
    postal_places: dict[str, dict[str, str]] = field(default_factory=dict)
    # (INSEE code, problem) of each commune whose coordinates the base got wrong, corrected on load
    corrections: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._row = {code: i for i, code in enumerate(self.insee.tolist())}
        self._by_name: dict[tuple[str, str], list[str]] | None = None

    def department_area(self, code: str) -> Area | None:
        """The département ``code`` as a place (centroid and extent), ``None`` when unknown."""
        centroid = self.department_centroids.get(code)
        if centroid is None:
            return None
        return Area(code, code, centroid[0], centroid[1], self.department_extents.get(code, 0.0))

    def region_area(self, code: str) -> Area | None:
        """The region ``code`` as a place, ``None`` when unknown.

        Its centroid is the mean of its départements' centroids; its extent reaches the farthest
        département's own extent (an upper bound: a workplace "in the region" may be anywhere in it).
        """
        members = [
            area
            for dept, region in self.department_regions.items()
            if region == code and (area := self.department_area(dept)) is not None
        ]
        if not members:
            return None
        lat = float(np.mean([a.lat for a in members]))
        lon = float(np.mean([a.lon for a in members]))
        extent = max(float(haversine_km(lat, lon, a.lat, a.lon)) + a.extent_km for a in members)
        return Area(code, region_names().get(code, code), lat, lon, extent)

    def postal_area(self, postal_code: str) -> Area | None:
        """The communes sharing a postal code as one place (centroid, and the distance from it to the
        farthest of them as extent); ``None`` for a postal code the base does not hold."""
        codes = sorted({c for c in self.postal_places.get(postal_code.strip(), {}).values() if c in self})
        if not codes:
            return None
        rows = [self._row[c] for c in codes]
        lat, lon = float(np.mean(self.lat[rows])), float(np.mean(self.lon[rows]))
        extent = float(np.max(haversine_km(lat, lon, self.lat[rows], self.lon[rows])))
        return Area(postal_code.strip(), postal_code.strip(), lat, lon, extent)

    def by_name(self, label: str | None, department: str | None = None) -> str | None:
        """The INSEE code of the commune a place label names (``"49 - ANGERS"``), within ``department``
        when given; ``None`` when no commune or several bear that name (never a guess)."""
        if self._by_name is None:
            index: dict[tuple[str, str], list[str]] = defaultdict(list)
            for code, name in zip(self.insee.tolist(), self.names.tolist(), strict=True):
                index[(department_of(code), place_key(name))].append(code)
                index[("", place_key(name))].append(code)
            self._by_name = dict(index)
        found = self._by_name.get((department or "", place_key(label or "")), [])
        return found[0] if len(found) == 1 else None

    def __len__(self) -> int:
        return len(self.insee)

    def __contains__(self, insee: object) -> bool:
        return insee in self._row

    def coords(self, insee: str) -> tuple[float, float]:
        """Return ``(lat, lon)`` of a commune, or raise :class:`UnknownCodeError`."""
        row = self._row.get(insee)
        if row is not None:
            return float(self.lat[row]), float(self.lon[row])
        if self.approximate:
            centroid = self.department_centroids.get(department_of(insee))
            if centroid is not None:
                return centroid
        raise UnknownCodeError("commune", insee)

    def by_postal_code(self, postal_code: str | None, label: str | None = None) -> str | None:
        """The commune a postal code stands for, when an offer's INSEE code is missing or outdated.

        Communes merge (a commune déléguée keeps its postal code, not its INSEE code: "74 - CRAN
        GEVRIER", 74093, 74960 is Annecy, 74010) and sources carry old codes: the La Poste base
        still lists each former commune as a locality of its postal code.

        Parameters
        ----------
        postal_code
            Five digits.
        label
            The place as the offer writes it ("74 - CRAN GEVRIER"): tells communes sharing a postal
            code apart.

        Returns
        -------
        str or None
            The INSEE code: the postal code's only commune, else the one whose name or locality the
            label gives; ``None`` when neither tells (never a guess).
        """
        places = self.postal_places.get((postal_code or "").strip())
        if not places:
            return None
        codes = set(places.values())
        if len(codes) == 1:
            return next(iter(codes))
        return places.get(place_key(label or ""))

    def postal_code_of(self, insee: str | None) -> str | None:
        """A postal code of the commune (the smallest of its codes), ``None`` when the base has none."""
        if not insee:
            return None
        if not hasattr(self, "_postal_of"):  # built once: a commune's codes from the postal index
            postal_of: dict[str, str] = {}
            for postal_code in sorted(self.postal_places):
                for code in self.postal_places[postal_code].values():
                    postal_of.setdefault(code, postal_code)
            self._postal_of = postal_of
        return self._postal_of.get(insee)

    def name_of(self, insee: str | None) -> str | None:
        """The commune's name for display (``"Marseille 15"``, ``"Saint-Denis"``…), ``None`` when the
        table does not hold the code (the fallback's centroids have no name)."""
        row = self._row.get(insee) if insee else None
        return None if row is None else display_name(str(self.names[row]))

    def distance_km(self, insee_a: str, insee_b: str) -> float:
        """Great-circle distance between two communes in km."""
        (lat1, lon1), (lat2, lon2) = self.coords(insee_a), self.coords(insee_b)
        return float(haversine_km(lat1, lon1, lat2, lon2))


def place_key(text: str) -> str:
    """A place name compared as La Poste writes it: ``"74 - Cran-Gévrier"`` → ``"CRAN GEVRIER"``
    (a leading département code dropped, accents, hyphens and apostrophes gone, upper case)."""
    import unicodedata

    text = re.sub(r"^\s*(\d{2,3}|2[AB])\s*-\s*", "", text)
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[-'’]", " ", plain).upper().split())


def display_name(name: str) -> str:
    """A La Poste commune name (upper case, no hyphen or apostrophe: ``"ST DENIS EN VAL"``) as people
    write it (``"Saint-Denis-en-Val"``, ``"Le Havre"``, ``"L'Isle-d'Abeau"``, ``"Marseille 15"``);
    accents the base lacks stay lacking, and a name already in mixed case is kept."""
    if not name.isupper():
        return name
    words = name.lower().split()
    number = " ".join(w for w in words if w.isdigit())  # arrondissement: "Paris 08"
    words = [w for w in words if not w.isdigit()]
    article = ""
    if len(words) > 1 and words[0] in _ARTICLES:  # "Le Havre", "Les Mureaux": a space, no hyphen
        article = words.pop(0).capitalize() + " "
    parts: list[str] = []
    for k, word in enumerate(words):
        if word in _SAINTS:
            word = _SAINTS[word]
        elif k == 0 or word not in _PARTICLES:
            word = word.capitalize()
        if parts and parts[-1].lower() in _ELIDED:  # "l isle" -> "l'Isle", "d abeau" -> "d'Abeau"
            parts[-1] += "'" + word
        else:
            parts.append(word)
    return f"{article}{'-'.join(parts)} {number}".strip()


_ARTICLES = frozenset({"le", "la", "les"})
_ELIDED = frozenset({"l", "d"})
_PARTICLES = frozenset(
    {"de", "du", "des", "la", "le", "les", "et", "en", "sur", "sous", "aux", "au", "l", "d"}
)
_SAINTS = {"st": "Saint", "ste": "Sainte"}


_COLUMN_ALIASES = {"Nom_de_la_commune": "Nom_commune"}  # the current official export's header


def _read_laposte_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a La Poste base, whichever of its published variants ``path`` is.

    UTF-8 (with or without BOM) or the Latin-1 of the current official export; a header that starts
    with ``#`` and writes ``Nom_de_la_commune``; coordinates as ``latitude`` / ``longitude`` or as one
    ``coordonnees_gps`` column (``"lat,lon"``).

    Raises
    ------
    GeoError
        No such file, a header without the La Poste columns, or a base without coordinates.
    """
    if not path.is_file():
        raise GeoError(f"commune file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the official export since 2023
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
    header = [
        _COLUMN_ALIASES.get(c.lstrip("#").strip(), c.lstrip("#").strip()) for c in reader.fieldnames or []
    ]
    reader.fieldnames = header
    if "coordonnees_gps" in header and not {"latitude", "longitude"} <= set(header):
        rows = []
        for row in reader:
            lat, _, lon = (row.get("coordonnees_gps") or "").partition(",")
            rows.append({**row, "latitude": lat.strip(), "longitude": lon.strip()})
        header = [*header, "latitude", "longitude"]
    else:
        rows = list(reader)
    if {"Code_commune_INSEE", "Code_postal"} <= set(header) and not {"latitude", "longitude"} <= set(header):
        raise GeoError(
            f"{path.name}: a La Poste base without coordinates (the current official export has none): "
            "give the one with latitude/longitude or coordonnees_gps columns"
        )
    missing = [c for c in LAPOSTE_COLUMNS if c not in header]
    if missing:
        raise GeoError(f"{path.name}: not a La Poste commune base (missing column(s) {', '.join(missing)})")
    return rows


def _centroids(points: dict[str, list[tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    return {
        key: (float(np.mean([p[0] for p in pts])), float(np.mean([p[1] for p in pts])))
        for key, pts in points.items()
    }


def _checked_base(
    coords: dict[str, tuple[float, float]],
) -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    """The base's commune points checked against their territory, then their département
    (:func:`check_point`): swapped ones swapped back, the others moved to their département's
    centroid (of its good points) in metropolitan France, to their territory's chef-lieu overseas.

    The real base places Saint-Barthélemy and Saint-Martin at Saint-Pierre-et-Miquelon's point, 3,000
    km away, and 44 communes of French Polynesia at one point west of it.

    Returns
    -------
    coords : dict
        INSEE code → ``(lat, lon)``, corrected.
    corrections : list of (str, str)
        ``(INSEE code, problem)`` for each corrected commune.
    """
    out: dict[str, tuple[float, float]] = {}
    bad: list[tuple[str, str]] = []
    for code, (lat, lon) in coords.items():
        point, problem = check_point(lat, lon, department_of(code))
        if point is not None:
            out[code] = point
        if problem is not None:
            bad.append((code, problem))
    by_department: dict[str, list[str]] = defaultdict(list)
    for code in out:
        by_department[department_of(code)].append(code)
    for dept, codes in by_department.items():
        lats = np.array([out[c][0] for c in codes])
        lons = np.array([out[c][1] for c in codes])
        centroid = (float(np.median(lats)), float(np.median(lons)))  # robust to the points being checked
        area = Area(dept, dept, *centroid, _extent(*centroid, lats, lons))
        for code in codes:
            point, problem = check_point(*out[code], dept, area)
            if problem is not None:
                bad.append((code, problem))
                if point is None:
                    del out[code]
                else:
                    out[code] = point
    good = {d: [out[c] for c in codes if c in out] for d, codes in by_department.items()}
    kept = _centroids({d: points for d, points in good.items() if points})
    for code, _ in bad:
        if code in out:
            continue
        dept = department_of(code)
        territory = territory_of(dept)
        if dept in kept and (territory is None or territory.code == "FR"):
            out[code] = kept[dept]
        elif territory is not None:  # overseas, a mean of scattered islands is in the ocean: the chef-lieu
            out[code] = (territory.ref_lat, territory.ref_lon)
    return out, [(code, f"{problem}, corrected") for code, problem in bad]


def load_laposte(path: Path) -> Communes:
    """Load the La Poste postal-code base into a commune table (one row per INSEE code).

    A commune with several postal codes appears on several rows; its coordinates are averaged. Rows
    without coordinates are skipped (never guessed).
    """
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    names: dict[str, str] = {}
    postal_places: dict[str, dict[str, str]] = defaultdict(dict)
    for row in _read_laposte_rows(Path(path)):
        try:
            lat, lon = float(row["latitude"]), float(row["longitude"])
        except ValueError:
            continue
        code = row["Code_commune_INSEE"].strip()
        points[code].append((lat, lon))
        names.setdefault(code, row["Nom_commune"].strip())
        places = postal_places[row["Code_postal"].strip()]
        for name in (row["Nom_commune"], row.get("Ligne_5") or ""):
            if name.strip():
                places.setdefault(place_key(name), code)
    if not points:
        raise GeoError(f"{path}: no commune with coordinates")
    for city, prefix in _CITIES_WITH_ARRONDISSEMENTS.items():
        districts = sorted(code for code in points if code.startswith(prefix))
        if city not in points and districts:
            points[city] = [p for code in districts for p in points[code]]
            # the first arrondissement's name without its number: "LYON 01" (69381) → "LYON"
            names[city] = names[districts[0]].rsplit(" ", 1)[0]
    coords, corrections = _checked_base(_centroids(points))
    codes = sorted(coords)
    by_department: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for code in codes:
        by_department[department_of(code)].append(coords[code])
    centroids = _centroids(by_department)
    extents = {
        dept: _extent(*centroids[dept], np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
        for dept, pts in by_department.items()
    }
    return Communes(
        insee=np.array(codes),
        names=np.array([names[c] for c in codes]),
        lat=np.array([coords[c][0] for c in codes]),
        lon=np.array([coords[c][1] for c in codes]),
        department_centroids=centroids,
        department_extents=extents,
        postal_places=dict(postal_places),
        corrections=corrections,
    )


def read_cog_regions(path: Path) -> dict[str, str]:
    """Département → region codes from INSEE's Code officiel géographique (``v_commune`` CSV, columns
    ``DEP`` and ``REG``).

    Raises
    ------
    GeoError
        No such file, or a file without those columns.
    """
    if not Path(path).is_file():
        raise GeoError(f"COG file not found: {path}")
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"DEP", "REG"} <= set(reader.fieldnames or []):
            raise GeoError(f"{Path(path).name}: not an INSEE COG commune file (no DEP and REG columns)")
        return {r["DEP"]: r["REG"] for r in reader if r["DEP"] and r["REG"]}


def build_department_table(communes: Communes, regions: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Compute the built-in fallback: per département, its centroid, extent, region and a main commune.

    The main commune is the one nearest to the mean position of the département's communes; it gives
    the quickstart world one real place per département (never one whose point the base got wrong).
    ``regions`` (département → region, see
    :func:`read_cog_regions`) defaults to the built-in table's.
    """
    regions = regions if regions is not None else communes.department_regions
    rows = []
    departments = np.array([department_of(c) for c in communes.insee.tolist()])
    corrected = np.isin(communes.insee, [code for code, _ in communes.corrections])
    for dept in sorted(set(departments.tolist())):
        mask = departments == dept
        if (mask & ~corrected).any():
            mask &= ~corrected  # a main commune whose own coordinates the base got right
        lat_c, lon_c = communes.department_centroids[dept]
        nearest = int(np.argmin(haversine_km(lat_c, lon_c, communes.lat[mask], communes.lon[mask])))
        rows.append(
            {
                "departement": dept,
                "region": regions.get(dept, ""),
                "centroid_lat": f"{lat_c:.5f}",
                "centroid_lon": f"{lon_c:.5f}",
                "extent_km": f"{communes.department_extents.get(dept, 0.0):.1f}",
                "commune_insee": str(communes.insee[mask][nearest]),
                "commune_name": str(communes.names[mask][nearest]),
                "commune_lat": f"{communes.lat[mask][nearest]:.5f}",
                "commune_lon": f"{communes.lon[mask][nearest]:.5f}",
            }
        )
    return rows


def write_department_table(rows: Sequence[dict[str, str]], path: Path) -> None:
    """Write the fallback table as CSV (``geo_data/departements.csv`` in the package)."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def load_fallback() -> Communes:
    """Load the built-in fallback: one main commune per département, any code placed at its centroid."""
    rows = _read_resource(FALLBACK_RESOURCE)
    return Communes(
        insee=np.array([r["commune_insee"] for r in rows]),
        names=np.array([r["commune_name"] for r in rows]),
        lat=np.array([float(r["commune_lat"]) for r in rows]),
        lon=np.array([float(r["commune_lon"]) for r in rows]),
        department_centroids={
            r["departement"]: (float(r["centroid_lat"]), float(r["centroid_lon"])) for r in rows
        },
        department_extents={r["departement"]: float(r["extent_km"]) for r in rows},
        approximate=True,
    )


def load_communes(communes_file: Path | str | None = None) -> Communes:
    """Load the La Poste base from ``communes_file``, or the built-in fallback when it is ``None``."""
    return load_fallback() if communes_file is None else load_laposte(Path(communes_file))
