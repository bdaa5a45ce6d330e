"""Where a France Travail offer's job is: ``lieuTravail`` placed at the best known level.

France Travail gives a workplace as a commune (INSEE code, postal code, coordinates), or only as a
département (``"49 - Maine et Loire"``), a region (``"Hauts-de-France"``), a foreign country
(``"Luxembourg (Frontalier)"``) or ``"France"``. Each becomes a :class:`~matching.domain.Location` with
its :class:`~matching.domain.Precision`:

========================  =====================================================================
precision                 placed at; "within my commute" (see :class:`matching.index.ItemFilter`)
========================  =====================================================================
``commune``               the offer's point checked against its commune, else the commune's;
                          the person's commute reaches the point
``code_postal``           the centroid of the communes sharing the postal code; the commute
                          reaches the nearest of them (the centroid's distance − their extent)
``departement``           the département's centroid; the commute reaches its edge (distance −
                          the département's extent, :meth:`matching.geo.Communes.department_area`)
``region``                the region's centroid; the commute reaches its edge, as a département
``pays``                  nowhere: abroad, never alerted to people (none can ask for it yet)
``national``              anywhere: only an explicit "France" (or remote work) is national
``inconnu``               nowhere: nothing usable, never alerted
========================  =====================================================================

Every fault met on real offers is fixed by kind and reported as a ``(field, problem)`` warning: a
merged commune's old INSEE code (found again through the postal code), a commune given only by name,
latitude and longitude swapped, a point far from its commune or outside its département.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from matching.domain import Location, Precision
from matching.geo import (
    Area,
    Communes,
    check_point,
    department_of,
    find_region,
    haversine_km,
    in_france,
    place_key,
    swap_checked,
)
from matching.views import clean_title

MAX_KM_FROM_COMMUNE = 30.0  # coordinates farther than this from the offer's commune are not trusted
_DEPARTMENT_LABEL = re.compile(r"^\s*(\d{2,3}|2[AB])\s*-\s*(.*)$", re.IGNORECASE)
_INSEE = re.compile(r"\d{5}|2[AB]\d{3}")
#: Labels that say the job is anywhere in France (as place_key writes them).
NATIONAL_LABELS = frozenset(
    {"FRANCE", "FRANCE ENTIERE", "FRANCE METROPOLITAINE", "TELETRAVAIL", "A DISTANCE"}
)
#: Words that name a foreign country or abroad in France Travail's labels ("Luxembourg (Frontalier)",
#: "Québec Canada", "Principauté de Monaco", "Suisse").
FOREIGN_WORDS = frozenset(
    {
        "ETRANGER",
        "LUXEMBOURG",
        "BELGIQUE",
        "SUISSE",
        "ALLEMAGNE",
        "ESPAGNE",
        "ITALIE",
        "MONACO",
        "ANDORRE",
        "ROYAUME UNI",
        "PAYS BAS",
        "PORTUGAL",
        "IRLANDE",
        "CANADA",
        "QUEBEC",
        "ETATS UNIS",
    }
)

_NAME = r"[A-Za-zÀ-ÖØ-öø-ÿ'’][A-Za-zÀ-ÖØ-öø-ÿ'’ -]{1,40}?"
_DEPT = r"(\d{2}|2[AB]|97\d)"
# "… (ANNECY 74)", "… - Paris (75)": a commune and its département
_TITLE_WITH_DEPARTMENT = re.compile(rf"\(\s*({_NAME})\s*[-–,]?\s*{_DEPT}\s*\)|({_NAME})\s*\(\s*{_DEPT}\s*\)")
# "Data Engineer - Transport - Nantes": the last part of a title cut by dashes, bars or " à "
_TITLE_SEPARATOR = re.compile(r"\s[-–|/]\s|\sà\s", re.IGNORECASE)
_TITLE_IN_PARENTHESES = re.compile(rf"\(\s*({_NAME})\s*\)")

Warnings = list[tuple[str, str]]
_FIELD = "lieuTravail.commune"
_POINT = "lieuTravail.latitude"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _point(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _in_area(
    label: str | None, area: Area, precision: Precision, point: tuple[float, float] | None, warnings: Warnings
) -> Location:
    """An approximate place: the offer's own point when it lies in the area, else the area's centroid."""
    if point is not None:
        checked, problem = (
            check_point(*point, area.code, area) if precision is Precision.DEPARTEMENT else (point, None)
        )
        if checked is not None:
            if problem:
                warnings.append((_POINT, problem))
            return Location(
                label=label, lat=checked[0], lon=checked[1], precision=Precision.COMMUNE, area=area.code
            )
        warnings.append((_POINT, f"{problem}, its centroid used"))
    return Location(
        label=label, lat=area.lat, lon=area.lon, precision=precision, area=area.code, extent_km=area.extent_km
    )


def _at_commune(
    insee: str,
    label: str | None,
    commune: tuple[float, float],
    point: tuple[float, float] | None,
    communes: Communes,
    warnings: Warnings,
) -> Location:
    """A commune's place: the offer's point checked against it (swapped back, or the commune's)."""
    if point is None:
        lat, lon = commune
    elif communes.approximate:
        # the built-in fallback knows départements only: the point is checked against its département
        checked, problem = check_point(
            *point, department_of(insee), communes.department_area(department_of(insee))
        )
        if problem:
            warnings.append((_POINT, problem if checked is not None else f"{problem}, its centroid used"))
        lat, lon = checked if checked is not None else commune
    else:
        near, swapped = swap_checked(
            *point, lambda a, b: float(haversine_km(a, b, *commune)) <= MAX_KM_FROM_COMMUNE
        )
        if near is None:
            warnings.append(
                (_POINT, f"more than {MAX_KM_FROM_COMMUNE:.0f} km from the commune, commune used")
            )
        elif swapped:
            warnings.append((_POINT, "latitude and longitude swapped"))
        lat, lon = near if near is not None else commune
    if communes.approximate and insee not in communes and point is None:
        # the built-in fallback knows départements only: say so, with the département's extent
        area = communes.department_area(department_of(insee))
        if area is not None:
            return Location(
                insee=insee,
                label=label,
                lat=lat,
                lon=lon,
                precision=Precision.DEPARTEMENT,
                area=area.code,
                extent_km=area.extent_km,
            )
    return Location(insee=insee, label=label, lat=lat, lon=lon, precision=Precision.COMMUNE)


def commune_in_title(title: str | None, communes: Communes) -> str | None:
    """The commune a job title names, when an offer's place says only "France".

    35 of the 477 real offers placed in "France" name their town in the title ("AGENT D'ENTRETIEN …
    (ANNECY 74)", "Data Engineer - Transport - Nantes (H/F)"). Read only where titles put a place: a
    name with its département code, the last part after a dash, or a name in parentheses; and only a
    name that one commune bears (within the département when given), never a guess.

    Returns
    -------
    str or None
        The INSEE code.
    """
    text = clean_title(title or "")
    for match in _TITLE_WITH_DEPARTMENT.finditer(text):
        name, department = (
            (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        )
        found = communes.by_name(_TITLE_SEPARATOR.split(name)[-1].strip(), department.upper())
        if found:
            return found
    parts = _TITLE_SEPARATOR.split(text)
    if len(parts) > 1 and (found := communes.by_name(parts[-1].strip())):
        return found
    for match in _TITLE_IN_PARENTHESES.finditer(text):
        if found := communes.by_name(match.group(1).strip()):
            return found
    return None


def _by_label(
    label: str | None, point: tuple[float, float] | None, communes: Communes | None, warnings: Warnings
) -> Location:
    """A place known by its label only: national, a region, a commune's name, abroad, or unknown."""
    key = place_key(label or "")
    if key in NATIONAL_LABELS:
        if point is not None and in_france(*point):
            # "France" with a point in France (29 real offers): the point says more than the label
            warnings.append((_POINT, "national label with coordinates, the point used"))
            return Location(label=label, lat=point[0], lon=point[1], precision=Precision.COMMUNE)
        return Location(label=label, precision=Precision.NATIONAL)
    if communes is not None:
        region = find_region(label)
        area = communes.region_area(region) if region else None
        if area is not None:
            return Location(
                label=label,
                lat=area.lat,
                lon=area.lon,
                precision=Precision.REGION,
                area=area.code,
                extent_km=area.extent_km,
            )
    padded = f" {key} "
    if any(f" {word} " in padded for word in FOREIGN_WORDS):
        # the label as the area, cut to the column's length (a partner may write a sentence)
        return Location(label=label, precision=Precision.COUNTRY, area=(label or "")[:64] or None)
    if point is not None and in_france(*point):
        # a bare point (a partner's feed): where it is, as long as it lies in France
        return Location(label=label, lat=point[0], lon=point[1], precision=Precision.COMMUNE)
    return Location(label=label, precision=Precision.UNKNOWN)


def parse_place(raw: Mapping[str, Any], communes: Communes | None) -> tuple[Location, Warnings]:
    """Place an offer's ``lieuTravail`` at the best known level (see the module's table).

    Parameters
    ----------
    raw
        The offer, with fields of the right JSON types (see ``well_typed``); some extractions drop
        ``lieuTravail`` and keep flat ``code_insee`` / ``nom_commune`` fields, read as well.
    communes
        The commune base; without it a place keeps only the coordinates the offer gives.

    Returns
    -------
    location : Location
        With its precision, area and extent.
    warnings : list of (str, str)
        ``(field, problem)`` for each fault found and how it was recovered.
    """
    warnings: Warnings = []
    place: Mapping[str, Any] = raw["lieuTravail"] if isinstance(raw.get("lieuTravail"), dict) else {}
    insee = place.get("commune") or raw.get("code_insee")
    label = place.get("libelle") or raw.get("nom_commune")
    label = label.strip() if isinstance(label, str) and label.strip() else None
    raw_point = (_number(place.get("latitude")), _number(place.get("longitude")))
    point = _point(*raw_point)
    if point is None and raw_point != (None, None):
        warnings.append((_POINT, "invalid coordinates"))
    if insee is not None and not _INSEE.fullmatch(str(insee)):
        warnings.append((_FIELD, "not an INSEE code"))
        insee = None
    insee = str(insee) if insee is not None else None
    if communes is None:
        if point is not None:
            return Location(
                insee=insee, label=label, lat=point[0], lon=point[1], precision=Precision.COMMUNE
            ), warnings
        if insee is not None:
            return Location(insee=insee, label=label, precision=Precision.COMMUNE), warnings
        match = _DEPARTMENT_LABEL.match(label or "")
        if match:
            return Location(
                label=label, precision=Precision.DEPARTEMENT, area=match.group(1).upper()
            ), warnings
        return _by_label(label, point, None, warnings), warnings

    match = _DEPARTMENT_LABEL.match(label or "")
    department = match.group(1).upper() if match else None
    if (insee is None or insee not in communes) and not communes.approximate:
        # a merged commune's old code (a commune déléguée), or no code at all: the postal code tells,
        # else the commune's name within the label's département
        postal = place.get("codePostal")
        found = communes.by_postal_code(str(postal), label) if postal else None
        how = f"postal code {postal}"
        if found is None and label and match and match.group(2).strip():
            found = communes.by_name(match.group(2), department)
            how = "its name"
        if found is not None:
            what = f"unknown INSEE code {insee}" if insee else "no INSEE code"
            warnings.append((_FIELD, f"{what}, commune {found} found by {how}"))
            insee = found
        elif postal and (area := communes.postal_area(str(postal))) is not None:
            if insee:
                warnings.append((_FIELD, f"unknown INSEE code {insee}, placed at its postal code"))
            return _in_area(label, area, Precision.POSTAL_CODE, None, warnings), warnings
    if insee is not None:
        if insee in communes or communes.approximate:
            try:
                commune = communes.coords(insee)
            except LookupError:
                commune = None
            if commune is not None:
                return _at_commune(insee, label, commune, point, communes, warnings), warnings
        warnings.append((_FIELD, "unknown INSEE code, placed at its département"))
        department = department or department_of(insee)
    if department is not None:
        area = communes.department_area(department)
        if area is not None:
            return _in_area(label, area, Precision.DEPARTEMENT, point, warnings), warnings
        warnings.append((_FIELD, f"unknown département {department}"))
    if point is None and place_key(label or "") in NATIONAL_LABELS:
        title = raw.get("intitule") if isinstance(raw.get("intitule"), str) else None
        found = commune_in_title(title, communes)
        if found is not None and found in communes:
            warnings.append((_FIELD, "national label, the commune named in the title used"))
            return _at_commune(found, label, communes.coords(found), None, communes, warnings), warnings
    location = _by_label(label, point, communes, warnings)
    if location.precision is Precision.UNKNOWN and point is not None:
        warnings.append((_POINT, "coordinates outside France without a commune or département, not used"))
    return location, warnings
