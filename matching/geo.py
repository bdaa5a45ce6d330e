"""Geography: INSEE commune code -> coordinates, and great-circle distances.

Two sources behind one :class:`Communes` interface:

* the La Poste postal-code base with coordinates (``laposte_hexasmal`` CSV, ``;``-separated), exact per
  commune;
* a built-in fallback of département centroids computed from that base (``geo_data/departements.csv``,
  written by :func:`build_department_table`), which resolves any INSEE code to its département's centroid.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.errors import GeoError, UnknownCodeError

EARTH_RADIUS_KM = 6371.0088
FALLBACK_RESOURCE = "departements.csv"
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


@dataclass
class Communes:
    """Commune table: INSEE code, name, latitude, longitude (arrays of equal length ``n``).

    Attributes
    ----------
    insee, names : ndarray of str, shape (n,)
    lat, lon : ndarray of float64, shape (n,)
    department_centroids : dict
        ``département -> (lat, lon)``; used to place codes missing from the table when ``approximate``.
    approximate : bool
        True for the built-in fallback, where unknown codes resolve to their département centroid.
    """

    insee: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray
    department_centroids: dict[str, tuple[float, float]] = field(default_factory=dict)
    approximate: bool = False
    # postal code -> {place name (commune or La Poste "Ligne_5" locality, a commune déléguée), as
    # place_key writes it -> INSEE code}; empty for the built-in fallback
    postal_places: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row = {code: i for i, code in enumerate(self.insee.tolist())}

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
        arrondissements = [p for code, pts in points.items() if code.startswith(prefix) for p in pts]
        if city not in points and arrondissements:
            points[city] = arrondissements
            names[city] = names.get(prefix + "01", city).rsplit(" ", 1)[0]
    coords = _centroids(points)
    codes = sorted(coords)
    by_department: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for code in codes:
        by_department[department_of(code)].append(coords[code])
    return Communes(
        insee=np.array(codes),
        names=np.array([names[c] for c in codes]),
        lat=np.array([coords[c][0] for c in codes]),
        lon=np.array([coords[c][1] for c in codes]),
        department_centroids=_centroids(by_department),
        postal_places=dict(postal_places),
    )


def build_department_table(communes: Communes) -> list[dict[str, str]]:
    """Compute the built-in fallback: per département, its centroid and a main commune.

    The main commune is the one nearest to the mean position of the département's communes; it gives
    the quickstart world one real place per département.
    """
    rows = []
    departments = np.array([department_of(c) for c in communes.insee.tolist()])
    for dept in sorted(set(departments.tolist())):
        mask = departments == dept
        lat_c, lon_c = communes.department_centroids[dept]
        nearest = int(np.argmin(haversine_km(lat_c, lon_c, communes.lat[mask], communes.lon[mask])))
        rows.append(
            {
                "departement": dept,
                "centroid_lat": f"{lat_c:.5f}",
                "centroid_lon": f"{lon_c:.5f}",
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
    text = resources.files("matching").joinpath("geo_data", FALLBACK_RESOURCE).read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return Communes(
        insee=np.array([r["commune_insee"] for r in rows]),
        names=np.array([r["commune_name"] for r in rows]),
        lat=np.array([float(r["commune_lat"]) for r in rows]),
        lon=np.array([float(r["commune_lon"]) for r in rows]),
        department_centroids={
            r["departement"]: (float(r["centroid_lat"]), float(r["centroid_lon"])) for r in rows
        },
        approximate=True,
    )


def load_communes(communes_file: Path | str | None = None) -> Communes:
    """Load the La Poste base from ``communes_file``, or the built-in fallback when it is ``None``."""
    return load_fallback() if communes_file is None else load_laposte(Path(communes_file))
