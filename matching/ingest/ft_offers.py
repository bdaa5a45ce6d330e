"""Parser for offers in the France Travail "Offres d'emploi v2" JSON format.

Pure functions: a raw offer dict in, an :class:`~matching.domain.Offer` (or a rejection) out, with a
list of field-level issues. An offer is *rejected* only when a field the engine cannot work without is
unusable (id, title, ROME code, creation date); any other unparsable field is dropped to ``None`` and
reported as a *warning*, never silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from matching.domain import ContractType, ExperienceRequirement, Location, Offer
from matching.errors import UnknownCodeError
from matching.geo import Communes, haversine_km
from matching.referential import Referential

HOURS_PER_MONTH_FULL_TIME = 35 * 52 / 12  # 151.67 h: the legal monthly base in France
FULL_TIME_MIN_HOURS = 34.0
PLAUSIBLE_MONTHLY_SALARY = (300.0, 30_000.0)
PLAUSIBLE_WEEKLY_HOURS = (1.0, 60.0)
MAX_KM_FROM_COMMUNE = 30.0  # coordinates farther than this from the offer's commune are not trusted

_NUMBER = r"(\d+(?:[.,]\d+)?)"
# The range separator is "à", but feeds re-encoded along the way deliver it damaged ("ï¿½", "�",
# "Ã "): any short run of other characters between "<amount> Euros" and "<amount> Euros" separates a
# range (never "sur", which is followed by months, not euros).
_SALARY_RE = re.compile(
    rf"^\s*(?P<period>annuel|mensuel|horaire|autre)?\s*de\s+{_NUMBER}\s*euros?"
    rf"(?:\s*[^\d\s]{{1,4}}\s*{_NUMBER}\s*euros?)?(?:\s*sur\s*{_NUMBER}\s*mois)?",
    re.IGNORECASE,
)
# "35H Travail en journée", "35H30 …", "5H Horaires variables", "temps partiel - 24H Autre": the
# weekly hours open the label, after an optional "temps partiel/plein -" (a clock time later in a
# free text, "8h30", is not weekly hours)
_HOURS_RE = re.compile(r"(?:temps\s+(?:partiel|plein)\s*-\s*)?(\d{1,2})\s*h\s*(\d{2})?", re.IGNORECASE)
_HOURS_STATED_RE = re.compile(r"\d\s*h", re.IGNORECASE)  # hours are written somewhere in the label
_EXPERIENCE_RE = re.compile(r"(\d+)\s*(an|mois)", re.IGNORECASE)


class FieldProblem(ValueError):
    """A field value that could not be parsed; the message is the problem, shown in reports."""


@dataclass(frozen=True, slots=True)
class SalaryRange:
    """A salary range normalised to monthly gross euros.

    ``period`` is the period used for the conversion; ``stated_period`` the one written in the offer.
    They differ when the written one gives an implausible monthly amount (e.g. "Mensuel de 38000
    Euros", an annual amount). ``max_capped`` tells that an implausible maximum was replaced by the
    minimum.
    """

    period: str
    stated_period: str
    min_monthly: float
    max_monthly: float
    max_capped: bool = False

    @property
    def period_corrected(self) -> bool:
        return self.period != self.stated_period


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str
    problem: str


@dataclass
class OfferParse:
    """Outcome of parsing one raw offer: the offer, or the issues that rejected it, plus warnings."""

    offer: Offer | None
    rejections: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


def _period_from_amount(amount: float) -> str:
    return "horaire" if amount < 100 else "mensuel" if amount < 10_000 else "annuel"


def _monthly_factor(period: str, weekly_hours: float | None) -> float:
    if period == "annuel":
        return 1 / 12
    if period == "horaire":
        return (weekly_hours or 35.0) * 52 / 12
    return 1.0


def parse_salary(libelle: str, weekly_hours: float | None = None) -> SalaryRange:
    """Parse ``salaire.libelle`` into a monthly gross range.

    Handles "Annuel de 45000.0 Euros à 55000.0 Euros sur 12.0 mois", "Mensuel de 1800.0 Euros",
    "Horaire de 11.88 Euros", "Autre de 30000,00 Euros à 40000,00 Euros" and "De 20000,00 Euros". An
    hourly rate is turned monthly with the offer's weekly hours (35 h when unknown). An "Autre" or
    unnamed period, or a written period that gives an implausible monthly amount, is inferred from the
    amount (< 100 hourly, < 10,000 monthly, else annual); :attr:`SalaryRange.period_corrected` says so.
    A maximum above the plausible range or over 4x the minimum is replaced by the minimum.

    Raises
    ------
    FieldProblem
        When no amount can be read or no period gives a plausible monthly amount.
    """
    match = _SALARY_RE.match(libelle or "")
    if match is None:
        raise FieldProblem("no amount")
    low = _to_float(match.group(2))
    high = _to_float(match.group(3)) if match.group(3) else low
    if high < low:
        low, high = high, low
    stated = (match.group("period") or "autre").lower()
    inferred = _period_from_amount(low)
    floor, ceiling = PLAUSIBLE_MONTHLY_SALARY
    for period in dict.fromkeys([inferred if stated == "autre" else stated, inferred]):
        factor = _monthly_factor(period, weekly_hours)
        low_monthly, high_monthly = low * factor, high * factor
        if floor <= low_monthly <= ceiling:
            capped = high_monthly > ceiling or high_monthly > 4 * low_monthly
            return SalaryRange(
                period=period,
                stated_period=inferred if stated == "autre" else stated,
                min_monthly=round(low_monthly, 2),
                max_monthly=round(low_monthly if capped else high_monthly, 2),
                max_capped=capped,
            )
    raise FieldProblem("implausible amount")


def parse_weekly_hours(libelle: str | None, converti: str | None) -> tuple[float | None, bool | None]:
    """Parse weekly hours and the full-time flag from ``dureeTravailLibelle(Converti)``.

    Returns ``(hours, full_time)``; "35H30 Travail en journée" gives ``(35.5, True)``, "temps partiel -
    24H Autre" ``(24.0, False)``, "temps partiel" ``(None, False)``.

    Raises
    ------
    FieldProblem
        When hours are written but outside a plausible weekly range.
    """
    hours: float | None = None
    text = (libelle or "").strip()
    match = _HOURS_RE.match(text)
    if match:
        hours = int(match.group(1)) + (int(match.group(2)) / 60 if match.group(2) else 0.0)
        low, high = PLAUSIBLE_WEEKLY_HOURS
        if not low <= hours <= high:
            raise FieldProblem("implausible weekly hours")
    label = (converti or "").strip().lower() or text.lower()
    full_time: bool | None
    if "plein" in label:
        full_time = True
    elif "partiel" in label:
        full_time = False
    else:
        full_time = None if hours is None else hours >= FULL_TIME_MIN_HOURS
    return (round(hours, 2) if hours is not None else None), full_time


def parse_experience(
    code: str | None, libelle: str | None
) -> tuple[ExperienceRequirement | None, int | None]:
    """Parse ``experienceExige`` (D/S/E) and the months of experience from ``experienceLibelle``."""
    requirement = ExperienceRequirement(code) if code in {e.value for e in ExperienceRequirement} else None
    if requirement is ExperienceRequirement.BEGINNER_OK:
        return requirement, 0
    match = _EXPERIENCE_RE.search(libelle or "")
    if match is None:
        return requirement, None
    amount = int(match.group(1))
    return requirement, amount * 12 if match.group(2).lower() == "an" else amount


def _parse_datetime(text: Any) -> datetime:
    if not isinstance(text, str) or not text:
        raise FieldProblem("missing")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldProblem("not an ISO date") from None


# The JSON types of the "Offres d'emploi v2" fields the parser reads. A field of another type (a number
# where the API sends a string, a list where it sends a code…) comes from a feed that re-encoded the
# record: it is dropped with a warning naming the field, as an unparsable value is, and the record goes
# on; a dict describes an object's fields, a one-element list a list of such objects.
_TEXT: tuple[type, ...] = (str,)
_NUMERIC: tuple[type, ...] = (int, float)
_CODE: tuple[type, ...] = (str, int)  # an INSEE or qualification code some feeds send as a number
_TYPES: dict[str, Any] = {
    "id": _TEXT,
    "intitule": _TEXT,
    "description": _TEXT,
    "romeCode": _TEXT,
    "romeLibelle": _TEXT,
    "appellationlibelle": _TEXT,
    "dateCreation": _TEXT,
    "dateActualisation": _TEXT,
    "typeContrat": _TEXT,
    "experienceExige": _TEXT,
    "experienceLibelle": _TEXT,
    "dureeTravailLibelle": _TEXT,
    "dureeTravailLibelleConverti": _TEXT,
    "qualificationCode": _CODE,
    "nombrePostes": (int,),
    "code_insee": _CODE,
    "nom_commune": _TEXT,
    "lieuTravail": {
        "libelle": _TEXT,
        "commune": _CODE,
        "codePostal": _CODE,
        "latitude": _NUMERIC,
        "longitude": _NUMERIC,
    },
    "salaire": {"libelle": _TEXT},
    "competences": [{"code": _TEXT, "exigence": _TEXT}],
    "formations": [{"codeFormation": _TEXT}],
}
_KIND = {str: "text", int: "a number", float: "a number", dict: "an object", list: "a list"}


def _kind(value: Any) -> str:
    return "true/false" if isinstance(value, bool) else _KIND.get(type(value), type(value).__name__)


def _typed(value: Any, expected: Any, where: str, issues: _Collector) -> Any:
    """``value`` with every field of a wrong JSON type removed (and reported); ``None`` if itself is."""
    if value is None:
        return None
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            issues.warn(where, f"expected an object, got {_kind(value)}: dropped")
            return None
        out = dict(value)
        for key, inner in expected.items():
            if key in out:
                checked = _typed(out[key], inner, f"{where}.{key}", issues)
                if checked is None:
                    del out[key]
                else:
                    out[key] = checked
        return out
    if isinstance(expected, list):
        if not isinstance(value, list):
            issues.warn(where, f"expected a list, got {_kind(value)}: dropped")
            return None
        items = [_typed(item, expected[0], where, issues) for item in value]
        return [item for item in items if item is not None]
    if isinstance(value, bool) or not isinstance(value, expected):
        wanted = "text" if expected is _TEXT else "a number" if expected is _NUMERIC else "text or a number"
        if expected == (int,):
            wanted = "a whole number"
        issues.warn(where, f"expected {wanted}, got {_kind(value)}: dropped")
        return None
    return value


def well_typed(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldIssue]]:
    """The record with every field the parser reads checked against its JSON type.

    Parameters
    ----------
    raw
        One France Travail v2 record.

    Returns
    -------
    tuple[dict[str, Any], list[FieldIssue]]
        The record without the fields of a wrong type (a number for ``salaire.libelle``, a list for
        ``experienceExige`` or a competence code…), and one warning per field dropped.
    """
    issues = _Collector()
    out = dict(raw)
    for key, expected in _TYPES.items():
        if key in out:
            value = _typed(out[key], expected, key, issues)
            if value is None:
                del out[key]  # null or of a wrong type: absent, as the parser reads it
            else:
                out[key] = value
    return out, issues.warnings


def _as_list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class _Collector:
    """Accumulates issues while fields are parsed one by one."""

    def __init__(self) -> None:
        self.rejections: list[FieldIssue] = []
        self.warnings: list[FieldIssue] = []

    def reject(self, name: str, problem: str) -> None:
        self.rejections.append(FieldIssue(name, problem))

    def warn(self, name: str, problem: str) -> None:
        self.warnings.append(FieldIssue(name, problem))


def _parse_location(raw: Mapping[str, Any], communes: Communes | None, issues: _Collector) -> Location:
    place: Mapping[str, Any] = raw["lieuTravail"] if isinstance(raw.get("lieuTravail"), dict) else {}
    # Some extractions drop lieuTravail but keep flat code_insee / nom_commune fields.
    insee = place.get("commune") or raw.get("code_insee")
    label = place.get("libelle") or raw.get("nom_commune")
    lat, lon = place.get("latitude"), place.get("longitude")
    if insee is not None and not re.fullmatch(r"\d{5}|2[AB]\d{3}", str(insee)):
        issues.warn("lieuTravail.commune", "not an INSEE code")
        insee = None
    if communes is not None and (insee is None or str(insee) not in communes) and not communes.approximate:
        # a merged commune's old code (a commune déléguée), or no code at all: its postal code tells
        postal = place.get("codePostal")
        found = communes.by_postal_code(str(postal), label) if postal else None
        if found is not None:
            issues.warn(
                "lieuTravail.commune",
                f"{'unknown INSEE code ' + str(insee) if insee else 'no INSEE code'}, "
                f"commune {found} found by postal code {postal}",
            )
            insee = found
    if insee and communes is not None:
        try:
            commune = communes.coords(str(insee))
        except UnknownCodeError:
            issues.warn("lieuTravail.commune", "unknown INSEE code")
        else:
            lat, lon = _checked_coordinates(
                lat, lon, commune, approximate=communes.approximate, issues=issues
            )
    if (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    ):
        return Location(insee=insee, label=label, lat=float(lat), lon=float(lon))
    if lat is not None or lon is not None:
        issues.warn("lieuTravail.latitude", "invalid coordinates")
    return Location(insee=insee, label=label)


def _checked_coordinates(
    lat: Any, lon: Any, commune: tuple[float, float], *, approximate: bool, issues: _Collector
) -> tuple[Any, Any]:
    """The offer's coordinates checked against its commune's: the commune's when missing or far off.

    Some offers carry latitude and longitude swapped (Marseille at 5.36° N, 43.35° E) or a default
    point (the centre of France for a Nanterre offer): trusted as given, they put the job hundreds of
    kilometres from its commune, and sourcing finds no one. Against the built-in département centroids
    (``approximate``) only missing coordinates are filled.
    """
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        return commune
    if approximate:
        return lat, lon
    if float(haversine_km(lat, lon, *commune)) <= MAX_KM_FROM_COMMUNE:
        return lat, lon
    if -90 <= lon <= 90 and float(haversine_km(lon, lat, *commune)) <= MAX_KM_FROM_COMMUNE:
        issues.warn("lieuTravail.latitude", "latitude and longitude swapped")
        return lon, lat
    issues.warn(
        "lieuTravail.latitude", f"more than {MAX_KM_FROM_COMMUNE:.0f} km from the commune, commune used"
    )
    return commune


def _find_appellation(referential: Referential, label: str, rome_code: str) -> str | None:
    candidates = referential.find_appellations(label)
    for app in candidates:
        if app.fiche_code == rome_code:
            return app.code
    return candidates[0].code if candidates else None


def parse_offer(
    raw: Any, *, referential: Referential | None = None, communes: Communes | None = None
) -> OfferParse:
    """Parse one raw France Travail v2 offer.

    Parameters
    ----------
    raw
        One element of the API's ``resultats`` list (any JSON value is accepted; non-objects are
        rejected).
    referential
        When given, the ROME code must be known and the appellation label is resolved to its OGR code.
    communes
        When given, offers with an INSEE code but no coordinates are geocoded.
    """
    issues = _Collector()
    if not isinstance(raw, dict):
        issues.reject("record", "not a JSON object")
        return OfferParse(None, issues.rejections)
    raw, dropped = well_typed(raw)
    issues.warnings.extend(dropped)

    offer_id = raw.get("id")
    if not isinstance(offer_id, str) or not offer_id.strip():
        issues.reject("id", "missing")
    title = raw.get("intitule")
    if not isinstance(title, str) or not title.strip():
        # A handful of real offers have an empty title; their appellation label is the job title.
        title = raw.get("appellationlibelle") or raw.get("romeLibelle")
        if isinstance(title, str) and title.strip():
            issues.warn("intitule", "empty, appellation label used")
        else:
            issues.reject("intitule", "missing")
    rome_code = raw.get("romeCode")
    if not isinstance(rome_code, str) or not re.fullmatch(r"[A-N]\d{4}", rome_code):
        issues.reject("romeCode", "missing" if not rome_code else "malformed")
    elif referential is not None and rome_code not in referential.fiches:
        issues.reject("romeCode", "unknown to the referential")
    try:
        created_at = _parse_datetime(raw.get("dateCreation"))
    except FieldProblem as problem:
        issues.reject("dateCreation", str(problem))
    try:
        updated_at: datetime | None = _parse_datetime(raw.get("dateActualisation"))
    except FieldProblem:
        updated_at = None
    if issues.rejections:
        return OfferParse(None, issues.rejections, issues.warnings)

    assert isinstance(offer_id, str)
    assert isinstance(title, str)
    assert isinstance(rome_code, str)
    contract: ContractType | None = None
    contract_code = raw.get("typeContrat")
    if contract_code:
        try:
            contract = ContractType(contract_code)
        except ValueError:
            issues.warn("typeContrat", "unknown contract code")

    weekly_hours: float | None = None
    full_time: bool | None = None
    try:
        weekly_hours, full_time = parse_weekly_hours(
            raw.get("dureeTravailLibelle"), raw.get("dureeTravailLibelleConverti")
        )
    except FieldProblem as problem:
        issues.warn("dureeTravailLibelle", str(problem))

    salary: SalaryRange | None = None
    salary_text = (raw.get("salaire") or {}).get("libelle") if isinstance(raw.get("salaire"), dict) else None
    if salary_text:
        try:
            salary = parse_salary(salary_text, weekly_hours)
        except FieldProblem as problem:
            issues.warn("salaire.libelle", str(problem))
        else:
            if salary.period_corrected:
                issues.warn(
                    "salaire.libelle", f"period corrected from {salary.stated_period} to {salary.period}"
                )
            if salary.max_capped:
                issues.warn("salaire.libelle", "implausible maximum replaced by the minimum")

    experience, experience_months = parse_experience(raw.get("experienceExige"), raw.get("experienceLibelle"))
    skills, required = [], []
    for item in _as_list(raw.get("competences")):
        code = item.get("code")
        if not code:
            continue  # free-text competences without a ROME code carry no referential signal
        if referential is not None and code not in referential.skills:
            issues.warn("competences", "unknown skill code")
            continue
        skills.append(str(code))
        if item.get("exigence") == "E":
            required.append(str(code))
    formacodes = [str(f["codeFormation"]) for f in _as_list(raw.get("formations")) if f.get("codeFormation")]
    appellation_label = (
        raw.get("appellationlibelle") if isinstance(raw.get("appellationlibelle"), str) else None
    )
    appellation_code = (
        _find_appellation(referential, appellation_label, rome_code)
        if referential and appellation_label
        else None
    )
    positions = raw.get("nombrePostes")
    try:
        offer = Offer(
            id=offer_id.strip(),
            title=title.strip(),
            description=raw.get("description") if isinstance(raw.get("description"), str) else "",
            rome_code=rome_code,
            appellation_code=appellation_code,
            appellation_label=appellation_label,
            location=_parse_location(raw, communes, issues),
            contract_type=contract,
            weekly_hours=weekly_hours,
            full_time=full_time,
            salary_min_monthly=salary.min_monthly if salary else None,
            salary_max_monthly=salary.max_monthly if salary else None,
            experience=experience,
            experience_months=experience_months,
            qualification_code=str(raw["qualificationCode"]) if raw.get("qualificationCode") else None,
            skills=tuple(dict.fromkeys(skills)),
            required_skills=tuple(dict.fromkeys(required)),
            formacodes=tuple(dict.fromkeys(formacodes)),
            positions=positions if isinstance(positions, int) and positions >= 1 else 1,
            created_at=created_at,
            updated_at=updated_at,
        )
    except ValidationError as error:
        for detail in error.errors():
            issues.reject(".".join(str(part) for part in detail["loc"]) or "offer", detail["msg"])
        return OfferParse(None, issues.rejections, issues.warnings)
    return OfferParse(offer, [], issues.warnings)


@dataclass
class IngestReport:
    """Counts of an ingest run; ``rejections`` and ``warnings`` count ``(field, problem)`` pairs."""

    total: int = 0
    parsed: int = 0
    rejections: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: Counter[tuple[str, str]] = field(default_factory=Counter)
    salary_stated: int = 0
    salary_parsed: int = 0
    hours_stated: int = 0
    hours_parsed: int = 0
    located: int = 0

    @property
    def rejected(self) -> int:
        return self.total - self.parsed

    def rate(self, parsed: int, stated: int) -> float:
        return parsed / stated if stated else 0.0

    def add(self, raw: Any, result: OfferParse) -> None:
        """Count one record and what its parse gave (fields of a wrong type count as absent)."""
        self.total += 1
        self.warnings.update((w.field, w.problem) for w in result.warnings)
        if result.offer is None:
            self.rejections.update((r.field, r.problem) for r in result.rejections)
            return
        self.parsed += 1
        offer = result.offer
        raw, _ = well_typed(raw)
        salary = raw.get("salaire") if isinstance(raw.get("salaire"), dict) else {}
        self.salary_stated += bool(salary.get("libelle"))
        self.salary_parsed += offer.salary_min_monthly is not None
        self.hours_stated += bool(_HOURS_STATED_RE.search(raw.get("dureeTravailLibelle") or ""))
        self.hours_parsed += offer.weekly_hours is not None
        self.located += offer.location.has_coordinates


def parse_offers(
    records: Iterable[Any],
    *,
    referential: Referential | None = None,
    communes: Communes | None = None,
    on_record: Callable[[], None] | None = None,
) -> tuple[list[Offer], IngestReport]:
    """Parse many raw offers; returns the parsed offers (last one wins on a repeated id) and a report.

    ``on_record`` is called after each record (e.g. to advance a progress bar).
    """
    report = IngestReport()
    offers: dict[str, Offer] = {}
    for raw in records:
        result = parse_offer(raw, referential=referential, communes=communes)
        report.add(raw, result)
        if result.offer is not None:
            offers[result.offer.id] = result.offer
        if on_record is not None:
            on_record()
    return list(offers.values()), report
