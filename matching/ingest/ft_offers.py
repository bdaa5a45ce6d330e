"""Parser for offers in the France Travail "Offres d'emploi v2" JSON format.

Pure functions: a raw offer dict in, an :class:`~matching.domain.Offer` (or a rejection) out, with a
list of field-level issues. An offer is *rejected* only when a field the engine cannot work without is
unusable (id, title, ROME code, creation date); any other unparsable field is dropped to ``None`` and
reported as a *warning*, never silently.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from matching.domain import (
    ContractType,
    ExperienceRequirement,
    Location,
    Offer,
    RomeSource,
    older_version,
)
from matching.geo import Communes
from matching.ingest.ft_place import parse_place
from matching.referential import Appellation, Referential, normalize_label
from matching.schedule import WorkSchedule, employer_size_band, schedule_attributes, workforce_stated

if TYPE_CHECKING:
    from matching.rome_classifier import RomeClassifier

HOURS_PER_MONTH_FULL_TIME = 35 * 52 / 12  # 151.67 h: the legal monthly base in France
FULL_TIME_MIN_HOURS = 34.0
PLAUSIBLE_MONTHLY_SALARY = (300.0, 30_000.0)
PLAUSIBLE_WEEKLY_HOURS = (1.0, 60.0)
# An offer without a romeCode is coded by the ROME classifier (lexical, ``encoder=None``, fit on the
# referential alone) and refused when its best code's probability is below this floor. Measured on
# the 3,589 real offers, title, description and competences classified, romeCode hidden ("right":
# the code the offer is filed under): below 0.4 the best code is wrong more often than right (40 %
# right for probabilities in [0.3, 0.4), 22 % in [0.2, 0.3)), from 0.4 up it is right 57-81 % of each
# band; the offers kept at 0.4 (74 %) get the right code 73 % of the time, the right parent fiche 82 %.
# Measure again if the classifier's signals or calibration change (its labels-only split in
# `matching eval rome`).
MIN_INFERRED_ROME_CONFIDENCE = 0.4
# The key of the ingest report's ROME resolutions for an offer whose appellation label names no
# appellation of the referential (its stated code kept); the others are RomeSource values.
NO_APPELLATION_FOUND = "no appellation found"

# Why a stated salary or stated hours were not read: the problems :func:`parse_salary` and
# :func:`parse_weekly_hours` raise, and what the parse warns when it reads nothing (a salary only in
# the free-text comment, hours written elsewhere than the label's start). The ingest report counts
# what it could not read by these reasons.
NO_AMOUNT = "no amount"
TOO_MANY_AMOUNTS = "more than two amounts"
IMPLAUSIBLE_AMOUNT = "implausible amount"
PART_TIME_HOURS_UNKNOWN = "hourly wage of unknown part-time hours"
SALARY_PROBLEMS = (NO_AMOUNT, TOO_MANY_AMOUNTS, IMPLAUSIBLE_AMOUNT, PART_TIME_HOURS_UNKNOWN)
FREE_TEXT_ONLY = "amount in free text only"
IMPLAUSIBLE_HOURS = "implausible weekly hours"
HOURS_NOT_READ = "hours written but not read"
PAID_MONTHS = (12.0, 16.0)  # "sur N mois" outside this is not a spread of the year's pay: ignored
FULL_TIME_WEEKLY_HOURS = 35.0  # the legal working week (Code du travail, L3121-27)
FULL_TIME_ANNUAL_HOURS = 1607.0  # the legal working year of a 35 h week (Code du travail, L3121-41)

# "Mensuel de", "Annuel de", "Horaire de", "Autre de", "De": the period word opens the label.
_PERIOD_RE = re.compile(r"\s*(?P<period>annuel|mensuel|horaire|autre)?\s*(?:de\b)?", re.IGNORECASE)
# An amount: digits and an optional decimal part after "." or ","; or digits grouped by threes with
# spaces (no-break ones too), dots or commas ("1 800,00", "1.800,00", "45 000", "42,000"). A lone
# separator before exactly three digits is read as a thousands separator: France Travail writes its
# decimals with one or two digits ("1800.0", "11,88").
_AMOUNT_RE = re.compile(r"(?P<whole>\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+)(?:[.,](?P<decimals>\d+))?(?!\d)")
_PAID_MONTHS_RE = re.compile(r"\bsur\s+(?P<months>\d+(?:[.,]\d+)?)\s*mois\b", re.IGNORECASE)
# Where the variable part of a pay begins ("+ commissions", "+ primes", "10 % du CA"): the salary is
# its fixed part only, what the person is sure to earn.
_VARIABLE_PAY_RE = re.compile(
    r"\+|\bcommissions?\b|\bvariables?\b|\bprimes?\b|\bint[ée]ressement\b|\d+(?:[.,]\d+)?\s*%",
    re.IGNORECASE,
)
# An amount of money in the free-text comment ("45 - 55 k€ brut annuel", "1977€ BRUT/mois"): a
# salary stated there, which the parser does not read, is counted as unread.
_FREE_TEXT_AMOUNT_RE = re.compile(r"\d\s*(?:k\s*€|k\b|€|euros?\b)", re.IGNORECASE)
# "35H Travail en journée", "35H30 …", "37H4", "5H Horaires variables", "temps partiel - 24H Autre",
# "24,5 heures", "151H67 mensuel", "1607H annuelles": the hours open the label, after an optional
# "temps partiel/plein -" (a clock time later in a free text, "8h30", is not weekly hours); "mensuel"
# or "annuel" on the same line makes them hours a month or a year.
_HOURS_RE = re.compile(
    r"(?:temps\s+(?:partiel|plein)\s*[-–:]?\s*)?"
    r"(?P<hours>\d{1,4})(?:[.,](?P<decimals>\d+))?\s*h(?:(?P<minutes>\d{1,2})(?!\d)|eures?)?"
    r"[ \t]*(?:(?P<month>mensuel|par\s+mois|/\s*mois)|(?P<year>annuel|par\s+an|/\s*an\b))?",
    re.IGNORECASE,
)
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
    minimum. ``paid_months`` is the number of monthly pays a year the amounts were spread over ("sur 13
    mois": 13; 12 for an annual amount, already the year's pay); ``months_ignored`` a written number
    of months that could not be one (outside :data:`PAID_MONTHS`, 0 excepted: it means none written).
    """

    period: str
    stated_period: str
    min_monthly: float
    max_monthly: float
    max_capped: bool = False
    paid_months: float = 12.0
    months_ignored: float | None = None

    @property
    def period_corrected(self) -> bool:
        return self.period != self.stated_period


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str
    problem: str


@dataclass
class OfferParse:
    """Outcome of parsing one raw offer: the offer, or the issues that rejected it, plus warnings.

    ``rome_resolution`` says how the offer's ROME code was settled against its appellation: a
    :class:`~matching.domain.RomeSource` value, or :data:`NO_APPELLATION_FOUND`; ``None`` when nothing
    was checked (no referential, or the offer rejected).
    """

    offer: Offer | None
    rejections: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)
    rome_resolution: str | None = None


def _to_float(text: str) -> float:
    """An amount as written ("1800.0", "11,88", "1 800,00", "1.800,00", "42,000") as a number.

    Raises
    ------
    ValueError
        When ``text`` is not one amount.
    """
    match = _AMOUNT_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an amount: {text!r}")
    whole = re.sub(r"\D", "", match["whole"])
    return float(f"{whole}.{match['decimals'] or 0}")


def _period_from_amount(amount: float) -> str:
    return "horaire" if amount < 100 else "mensuel" if amount < 10_000 else "annuel"


def _monthly_factor(
    period: str, weekly_hours: float | None, full_time: bool | None, paid_months: float
) -> float | None:
    """What turns an amount of ``period`` into euros a month, ``None`` when the hours needed are unknown.

    An annual amount is the year's pay: / 12 whatever the number of pays. A monthly pay paid
    ``paid_months`` times a year (a thirteenth month: 13) is worth × ``paid_months`` / 12 a month; an
    hourly rate is worth × weekly hours × 52 / 12 a month (the legal monthly base: 151.67 h for 35 h,
    Code du travail, L3242-1), at 35 h when the hours are unknown and the job is not part-time, and
    spread like a monthly pay.
    """
    if period == "annuel":
        return 1 / 12
    per_month = 1.0
    if period == "horaire":
        if weekly_hours is None and full_time is False:
            return None  # a part-time job of unknown hours: any number of hours would be a guess
        per_month = (weekly_hours or FULL_TIME_WEEKLY_HOURS) * 52 / 12
    return per_month * paid_months / 12


def _paid_months(libelle: str) -> tuple[str, float, float | None]:
    """``libelle`` without its "sur N mois", the months of pay applied (12 by default), and N if ignored."""
    match = _PAID_MONTHS_RE.search(libelle)
    if match is None:
        return libelle, 12.0, None
    rest = libelle[: match.start()] + " " + libelle[match.end() :]
    months = _to_float(match["months"])
    if PAID_MONTHS[0] <= months <= PAID_MONTHS[1]:
        return rest, months, None
    return rest, 12.0, (months or None)  # "sur 0.0 mois" is France Travail's "not filled in"


def parse_salary(
    libelle: str, weekly_hours: float | None = None, full_time: bool | None = None
) -> SalaryRange:
    """Parse ``salaire.libelle`` into a monthly gross range.

    Handles every wording France Travail writes — "Annuel de 45000.0 Euros à 55000.0 Euros sur 12.0
    mois", "Mensuel de 1800,00 Euros", "Horaire de 11.88 Euros sur 13 mois", "Autre de 30000,00 Euros à
    40000,00 Euros", "De 20000,00 Euros" — and their damaged forms. The rules (README, "Salaries, hours
    and contracts of real offers"):

    * one amount is the minimum and the maximum; two, in either order and whatever separates them
      ("à", a separator damaged by re-encoding: "ï¿½", "�", "Ã ", or none), are the range; more is
      :data:`TOO_MANY_AMOUNTS`. Decimal commas and thousands separators are read (:func:`_to_float`);
    * a pay's variable part ("+ commissions", "+ primes", "10 %") is dropped: the fixed part only;
    * annual amounts / 12; monthly × N / 12 when paid "sur N mois" (N in :data:`PAID_MONTHS`, else
      ignored); hourly × the offer's weekly hours × 52 / 12 × N / 12, at 35 h when the hours are unknown
      unless the job is part-time (then :data:`PART_TIME_HOURS_UNKNOWN`);
    * an "Autre" or unnamed period, or a written one under which the range is implausible, is inferred
      from the amount (< 100 hourly, < 10,000 monthly, else annual); :attr:`SalaryRange.period_corrected`
      says so. The plausible monthly range is :data:`PLAUSIBLE_MONTHLY_SALARY` for a full-time job, its
      floor scaled down to the offer's hours for a part-time one;
    * when no period makes the whole range plausible (the maximum above the ceiling or over 4x the
      minimum: a typo), the maximum is replaced by the minimum (:attr:`SalaryRange.max_capped`).

    Parameters
    ----------
    libelle
        ``salaire.libelle``.
    weekly_hours, full_time
        The offer's, from :func:`parse_weekly_hours`: hourly rates are turned monthly with them.

    Raises
    ------
    FieldProblem
        With one of :data:`SALARY_PROBLEMS` when no monthly amount can be read.
    """
    text, paid_months, months_ignored = _paid_months(html.unescape(libelle or ""))
    variable = _VARIABLE_PAY_RE.search(text)
    fixed = text[: variable.start()] if variable else text
    head = _PERIOD_RE.match(fixed)
    assert head is not None  # every part of the pattern is optional
    amounts = [_to_float(m[0]) for m in _AMOUNT_RE.finditer(fixed, head.end())]
    if not amounts:
        raise FieldProblem(NO_AMOUNT)
    if len(amounts) > 2:
        raise FieldProblem(TOO_MANY_AMOUNTS)
    low, high = min(amounts), max(amounts)
    inferred = _period_from_amount(low)
    stated = (head["period"] or "autre").lower()
    stated = inferred if stated == "autre" else stated
    floor, ceiling = PLAUSIBLE_MONTHLY_SALARY
    if weekly_hours is not None:
        floor *= min(1.0, weekly_hours / FULL_TIME_WEEKLY_HOURS)  # a part-time pay is a smaller one
    converted: list[tuple[str, float, float]] = []
    for period in dict.fromkeys([stated, inferred]):
        factor = _monthly_factor(period, weekly_hours, full_time, paid_months)
        if factor is not None:
            converted.append((period, low * factor, high * factor))
    # the first period under which the whole range is plausible, else the first that makes its minimum
    # so (the maximum a typo, replaced by the minimum)
    chosen = next(
        ((p, lo, hi, False) for p, lo, hi in converted if floor <= lo and hi <= min(ceiling, 4 * lo)),
        next(((p, lo, lo, True) for p, lo, _ in converted if floor <= lo <= ceiling), None),
    )
    if chosen is None:
        hourly_unknown = len(converted) < len({stated, inferred})
        raise FieldProblem(PART_TIME_HOURS_UNKNOWN if hourly_unknown else IMPLAUSIBLE_AMOUNT)
    period, low_monthly, high_monthly, capped = chosen
    return SalaryRange(
        period=period,
        stated_period=stated,
        min_monthly=round(low_monthly, 2),
        max_monthly=round(high_monthly, 2),
        max_capped=capped,
        paid_months=12.0 if period == "annuel" else paid_months,
        months_ignored=months_ignored,
    )


def salary_in_free_text_only(salaire: Mapping[str, Any]) -> bool:
    """Whether a ``salaire`` object states an amount only in its free-text ``commentaire``.

    France Travail's "Autre" salary (``complement1`` or ``complement2`` "Autre", no ``libelle``) is
    written in the comment, in any words ("45 - 55 k€ brut annuel", "1800 € net /mois"): net or gross,
    any period, not read — it is counted as a salary stated but unread (:data:`FREE_TEXT_ONLY`).
    """
    comment = salaire.get("commentaire")
    return (
        not salaire.get("libelle") and isinstance(comment, str) and bool(_FREE_TEXT_AMOUNT_RE.search(comment))
    )


def parse_weekly_hours(libelle: str | None, converti: str | None) -> tuple[float | None, bool | None]:
    """Parse weekly hours and the full-time flag from ``dureeTravailLibelle(Converti)``.

    Returns ``(hours, full_time)``; "35H30 Travail en journée" gives ``(35.5, True)``, "temps partiel -
    24H Autre" ``(24.0, False)``, "temps partiel" ``(None, False)``. Digits after the "H" are minutes
    ("37H4": 37 h 04), or hundredths when they cannot be minutes ("151H67": 151.67 h). Hours a month
    ("151H67 mensuel") are × 12 / 52 a week (151.67 h a month is 35 h a week, Code du travail,
    L3242-1); hours a year ("1607H annuelles") × 35 / 1607 (1,607 h a year is the 35 h week, L3121-41).

    Raises
    ------
    FieldProblem
        :data:`IMPLAUSIBLE_HOURS`, when hours are written but outside a plausible weekly range.
    """
    hours: float | None = None
    text = (libelle or "").strip()
    match = _HOURS_RE.match(text)
    if match:
        hours = _to_float(f"{match['hours']}.{match['decimals'] or 0}")
        if match["minutes"]:
            minutes = int(match["minutes"])
            hours += minutes / 60 if minutes < 60 else minutes / 100
        if match["month"]:
            hours *= 12 / 52
        elif match["year"]:
            hours *= FULL_TIME_WEEKLY_HOURS / FULL_TIME_ANNUAL_HOURS
        low, high = PLAUSIBLE_WEEKLY_HOURS
        if not low <= hours <= high:
            raise FieldProblem(IMPLAUSIBLE_HOURS)
    label = (converti or "").strip().lower() or text.lower()
    full_time: bool | None
    if "plein" in label:
        full_time = True
    elif "partiel" in label:
        full_time = False
    else:
        full_time = None if hours is None else hours >= FULL_TIME_MIN_HOURS
    return (round(hours, 2) if hours is not None else None), full_time


def _parse_hours_and_salary(
    raw: Mapping[str, Any], issues: _Collector
) -> tuple[float | None, bool | None, SalaryRange | None]:
    """Weekly hours, full-time flag and salary of a well-typed raw offer, each problem warned.

    Hours written but not read, and a salary stated only in free text, are warned too: the ingest
    report counts them as stated but unread (:meth:`IngestReport.add`).
    """
    label = raw.get("dureeTravailLibelle")
    converti = raw.get("dureeTravailLibelleConverti")
    weekly_hours: float | None = None
    try:
        weekly_hours, full_time = parse_weekly_hours(label, converti)
    except FieldProblem as problem:
        issues.warn("dureeTravailLibelle", str(problem))
        full_time = parse_weekly_hours(None, converti)[1]  # "Temps partiel" still tells
    else:
        if weekly_hours is None and _HOURS_STATED_RE.search(label or ""):
            issues.warn("dureeTravailLibelle", HOURS_NOT_READ)

    salaire: Mapping[str, Any] = raw["salaire"] if isinstance(raw.get("salaire"), dict) else {}
    if salary_in_free_text_only(salaire):
        issues.warn("salaire.commentaire", FREE_TEXT_ONLY)
    if not salaire.get("libelle"):
        return weekly_hours, full_time, None
    try:
        salary = parse_salary(salaire["libelle"], weekly_hours, full_time)
    except FieldProblem as problem:
        issues.warn("salaire.libelle", str(problem))
        return weekly_hours, full_time, None
    if salary.period_corrected:
        issues.warn("salaire.libelle", f"period corrected from {salary.stated_period} to {salary.period}")
    if salary.max_capped:
        issues.warn("salaire.libelle", "implausible maximum replaced by the minimum")
    if salary.months_ignored is not None:
        issues.warn("salaire.libelle", f"'sur N mois' outside {PAID_MONTHS[0]:g}-{PAID_MONTHS[1]:g} ignored")
    return weekly_hours, full_time, salary


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
    "complementExercice": _TEXT,
    "conditionExercice": _TEXT,
    "trancheEffectifEtab": _CODE,  # INSEE's two-digit code, which a feed may send as a number
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
    location, warnings = parse_place(raw, communes)
    for name, problem in warnings:
        issues.warn(name, problem)
    return location


def lacks_rome_code(raw: Any) -> bool:
    """Whether a record has no ``romeCode`` (absent, empty, or not text), as partner feeds send.

    Such a record is coded by the ROME classifier when :func:`parse_offer` is given one; see
    :func:`rome_classifier_for`.
    """
    code = raw.get("romeCode") if isinstance(raw, dict) else None
    return not isinstance(code, str) or not code.strip()


def rome_classifier_for(records: Iterable[Any], referential: Referential | None) -> RomeClassifier | None:
    """The ROME classifier that codes the records without a ``romeCode``, fit once for a run.

    Parameters
    ----------
    records
        The run's raw records (iterated once: pass a list, not a generator, if they are parsed after).
    referential
        The referential the offers are checked against; the classifier's classes are its fiches.

    Returns
    -------
    RomeClassifier | None
        :func:`fit_rome_classifier`'s; ``None`` without a referential or when every record has a
        ``romeCode`` (nothing to fit for).
    """
    if referential is None or not any(lacks_rome_code(raw) for raw in records):
        return None
    return fit_rome_classifier(referential)


def fit_rome_classifier(referential: Referential) -> RomeClassifier:
    """The ROME classifier that codes offers without a ``romeCode``: lexical (``encoder=None``: no
    model to load in an ingest job or an API process), fit on the referential alone (about 10 s on
    the official ROME 4.0, 2 cores; not the one `matching rome build` saves, which also learns from
    labelled offers and may embed): :data:`MIN_INFERRED_ROME_CONFIDENCE` was measured on this one's
    probabilities."""
    from matching.rome_classifier import RomeClassifier  # scikit-learn, only when a code is missing

    return RomeClassifier(referential, encoder=None).fit()


def _infer_rome_code(classifier: RomeClassifier, raw: Mapping[str, Any], title: str) -> tuple[str, float]:
    """The classifier's best code for an offer's texts and its confidence.

    The offer (title, description, listed competences) and its appellation label are each classified
    (a label of the referential alone is then an exact hit), and the most confident wins. An appellation label the referential knows also brings
    its appellations' long labels: sources write ROME's short labels ("Administratreur(trice) système
    & réseaux information et com"), which the classifier does not index (17 of the real offers, their
    romeCode hidden, fell below the confidence floor for that). ``romeLibelle`` is left out (but for
    an empty title): on the real offers it made the exact code less often right (0.90 against 0.96),
    a fiche label outweighing the appellation of one of its sub-fiches.
    """
    from matching.rome_classifier import OfferText  # loaded with the classifier

    label = raw.get("appellationlibelle")
    referential = classifier.referential
    found = referential.find_appellations(label) if referential is not None and isinstance(label, str) else ()
    labels = (label, *(app.label for app in found))
    description = raw.get("description")
    competences = tuple(str(item["code"]) for item in _as_list(raw.get("competences")) if item.get("code"))
    offer = OfferText(title, description if isinstance(description, str) else "", competences)
    queries = [
        offer,
        *(OfferText(text) for text in dict.fromkeys(labels) if isinstance(text, str) and text.strip()),
    ]
    codes, confidences = classifier.predict(queries, k=1)
    best = max(range(len(queries)), key=lambda row: float(confidences[row, 0]))
    return str(codes[best, 0]), float(confidences[best, 0])


def _appellation_for(referential: Referential, label: str, rome_code: str) -> Appellation | None:
    """The appellation an offer's ``appellationlibelle`` names, the best for its ROME code.

    A label can name appellations of several fiches (6 labels of ROME 4.0 v460, some only through a
    gendered form derived from a label, "Conductrice de machines à papier ou carton" from "Aide
    conducteur/conductrice …"), and :meth:`Referential.find_appellations` returns them in the
    export's order. Preferred: one of the code's own fiche, then one of its sub-fiches, then any
    other; within each, one whose label is written so (long or short label) over one matched through a
    derived gendered form.
    """
    wanted = normalize_label(label)

    def rank(app: Appellation) -> tuple[int, bool]:
        fiche = referential.fiches[app.fiche_code]
        relation = 0 if fiche.code == rome_code else 1 if fiche.parent_code == rome_code else 2
        return relation, wanted not in {normalize_label(app.label), normalize_label(app.short_label)}

    return min(referential.find_appellations(label), key=rank, default=None)


@dataclass(frozen=True, slots=True)
class _Filing:
    """The ROME code an offer is filed under, where it comes from, and its appellation's code."""

    rome_code: str
    source: RomeSource
    stated_rome_code: str | None = None
    appellation_code: str | None = None
    resolution: str | None = None  # OfferParse.rome_resolution


def _file_rome_code(
    referential: Referential | None,
    rome_code: str,
    label: str | None,
    *,
    inferred: bool,
    issues: _Collector,
) -> _Filing:
    """Settle an offer's ROME code against its appellation label (rules in :func:`parse_offer`'s Notes).

    An inferred code keeps the appellation only when it is of the inferred fiche: the classifier read
    the label and preferred its code, there is no stated code to file under a sub-fiche of or to flag.
    """
    source = RomeSource.INFERRED if inferred else RomeSource.STATED
    if referential is None:
        return _Filing(rome_code, source, resolution=source if inferred else None)
    appellation = _appellation_for(referential, label, rome_code) if label else None
    if appellation is None:
        return _Filing(
            rome_code, source, resolution=NO_APPELLATION_FOUND if label and not inferred else source
        )
    if appellation.fiche_code == rome_code:
        return _Filing(rome_code, source, appellation_code=appellation.code, resolution=source)
    if inferred:
        return _Filing(rome_code, source, resolution=source)
    if referential.fiches[appellation.fiche_code].parent_code == rome_code:
        subfiche = RomeSource.SUBFICHE
        return _Filing(appellation.fiche_code, subfiche, rome_code, appellation.code, resolution=subfiche)
    issues.warn(
        "appellationlibelle", "of a ROME fiche unrelated to romeCode, which is kept; appellation not used"
    )
    return _Filing(rome_code, RomeSource.CONFLICT, rome_code, resolution=RomeSource.CONFLICT)


def _plain(text: str) -> str:
    """A one-line text as people read it: HTML entities decoded (6 real titles, 8 employers and 284
    descriptions write "d&apos;analyse"), spaces collapsed."""
    return " ".join(html.unescape(text).split())


def _employer(raw: Mapping[str, Any]) -> str | None:
    """The employer's name (``entreprise.nom``; 59 % of the real offers name one, the others are
    anonymous)."""
    company = raw.get("entreprise")
    name = company.get("nom") if isinstance(company, dict) else None
    return _plain(name) if isinstance(name, str) and name.strip() else None


def _apply_url(raw: Mapping[str, Any], issues: _Collector) -> str | None:
    """Where to apply: the employer's application page (``contact.urlPostulation``), else the offer's
    page at France Travail (``origineOffre.urlOrigine``, on every real offer); only http(s) links."""
    candidates = []
    for block, key in (("contact", "urlPostulation"), ("origineOffre", "urlOrigine")):
        value = raw.get(block)
        if isinstance(value, dict) and isinstance(value.get(key), str) and value[key].strip():
            candidates.append((f"{block}.{key}", value[key].strip()))
    for name, url in candidates:
        parts = urlsplit(url)
        # a web page on a named host; "https://francetravail.fr@other.example/" names another host
        if (
            parts.scheme in ("http", "https")
            and parts.hostname
            and "@" not in parts.netloc
            and " " not in url
        ):
            return url
        issues.warn(name, "not an http(s) link to a named host, not offered to apply")
    return None


def _schedule(raw: Mapping[str, Any], description: str, issues: _Collector) -> tuple[WorkSchedule, ...]:
    """The unusual hours an offer states (:func:`matching.schedule.schedule_attributes`).

    Read from ``dureeTravailLibelle`` ("35H\\nTravail de nuit"), ``complementExercice`` (which goes on
    with it: "temps partiel\\nTravail le samedi" + "et jours fériés"), ``conditionExercice``, each of
    ``contexteTravail.horaires`` and ``contexteTravail.conditionsExercice`` (lists in the real offers,
    one text in the API's documentation: both read) and the description. An entry of another type is
    dropped with a warning naming it.
    """
    texts: list[str | None] = [
        raw.get("dureeTravailLibelle"),
        raw.get("complementExercice"),
        raw.get("conditionExercice"),
    ]
    context = raw.get("contexteTravail")
    if context is not None and not isinstance(context, dict):
        issues.warn("contexteTravail", f"expected an object, got {_kind(context)}: dropped")
    elif context is not None:
        for key in ("horaires", "conditionsExercice"):
            value = context.get(key)
            items = [value] if isinstance(value, str) else value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str):
                    texts.append(item)
                elif item is not None:
                    issues.warn(f"contexteTravail.{key}", f"expected text, got {_kind(item)}: dropped")
    return schedule_attributes(*texts, description)


def _employer_size_band(raw: Mapping[str, Any], issues: _Collector) -> int | None:
    """The hiring establishment's workforce band (``trancheEffectifEtab``, "20 à 49 salariés" or INSEE's
    code "12") as INSEE's ordinal (:func:`matching.schedule.employer_size_band`); "Non renseigné" is
    none, a wording that names no band is dropped with a warning."""
    value = raw.get("trancheEffectifEtab")
    if value is None:
        return None
    band = employer_size_band(str(value))
    if band is None and workforce_stated(str(value)):
        issues.warn("trancheEffectifEtab", "not a workforce band: dropped")
    return band


def parse_offer(
    raw: Any,
    *,
    referential: Referential | None = None,
    communes: Communes | None = None,
    classifier: RomeClassifier | None = None,
) -> OfferParse:
    """Parse one raw France Travail v2 offer.

    Parameters
    ----------
    raw
        One element of the API's ``resultats`` list (any JSON value is accepted; non-objects are
        rejected).
    referential
        When given, the ROME code must be known and the appellation label is resolved to its OGR code;
        the code is settled against the appellation's fiche (see Notes).
    communes
        When given, offers with an INSEE code but no coordinates are geocoded.
    classifier
        When given (fit on ``referential``, see :func:`rome_classifier_for`), an offer without a
        ``romeCode`` is coded from its title and appellation label (:attr:`RomeSource.INFERRED`, with
        the confidence), and refused only below :data:`MIN_INFERRED_ROME_CONFIDENCE`; without one it is
        refused.

    Notes
    -----
    ROME 4.0 split fiches into a parent and sub-fiches (``code_rome_parent`` of the export), and moved
    appellations to the sub-fiches, while offers still carry the parent's code: 17 % of the real
    offers name an appellation of another fiche than their ``romeCode`` (M1403 with "Data analyst",
    an appellation of M1419, whose parent is M1403). So, with a referential:

    * appellation of a sub-fiche of the stated code: the offer is filed under that sub-fiche
      (:attr:`RomeSource.SUBFICHE`, the source's code in ``stated_rome_code``): the more precise
      fiche, and the one the source itself chose through the appellation;
    * appellation of an unrelated fiche (a sibling sub-fiche, the code's parent, another domain —
      52 real offers, 38 of them siblings as M1811 with "Architecte de bases de données" of M1868,
      neither more precise than the other): the stated code is kept and flagged
      (:attr:`RomeSource.CONFLICT`, ``stated_rome_code`` set, a warning), and the appellation code
      is not kept, so that what is filed is one fiche — the encoder's view
      (:func:`matching.views.offer_view`) reads the stated fiche's label and skills, not another
      fiche's appellation (the label the source wrote stays in ``appellation_label``);
    * otherwise (the appellation of the stated fiche, or none found): :attr:`RomeSource.STATED`.
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
    rome_confidence: float | None = None
    if classifier is not None and lacks_rome_code(raw) and isinstance(title, str) and title.strip():
        rome_code, rome_confidence = _infer_rome_code(classifier, raw, title)
        if rome_confidence < MIN_INFERRED_ROME_CONFIDENCE:
            issues.reject(
                "romeCode",
                f"missing, ROME classifier not confident enough (below {MIN_INFERRED_ROME_CONFIDENCE:g})",
            )
        else:
            issues.warn("romeCode", "missing, inferred by the ROME classifier")
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
    except FieldProblem as problem:
        updated_at = None
        if raw.get("dateActualisation") is not None:  # absent is usual; unreadable loses versions
            issues.warn("dateActualisation", f"{problem}: this version counts as older than any dated one")
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

    weekly_hours, full_time, salary = _parse_hours_and_salary(raw, issues)

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
    filing = _file_rome_code(
        referential, rome_code, appellation_label, inferred=rome_confidence is not None, issues=issues
    )
    positions = raw.get("nombrePostes")
    description = html.unescape(raw["description"]) if isinstance(raw.get("description"), str) else ""
    try:
        offer = Offer(
            id=offer_id.strip(),
            title=_plain(title),
            description=description,
            rome_code=filing.rome_code,
            rome_source=filing.source,
            stated_rome_code=filing.stated_rome_code,
            rome_confidence=rome_confidence,
            appellation_code=filing.appellation_code,
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
            employer=_employer(raw),
            apply_url=_apply_url(raw, issues),
            schedule=_schedule(raw, description, issues),
            employer_size_band=_employer_size_band(raw, issues),
        )
    except ValidationError as error:
        for detail in error.errors():
            issues.reject(".".join(str(part) for part in detail["loc"]) or "offer", detail["msg"])
        return OfferParse(None, issues.rejections, issues.warnings)
    return OfferParse(offer, [], issues.warnings, filing.resolution)


# How an offer's ROME code was settled, as the ingest report prints it, in this order.
ROME_RESOLUTIONS: dict[str, str] = {
    RomeSource.STATED: "as stated",
    RomeSource.SUBFICHE: "filed under the appellation's sub-fiche",
    RomeSource.CONFLICT: "stated kept, appellation of an unrelated fiche",
    NO_APPELLATION_FOUND: "stated kept, appellation not found",
    RomeSource.INFERRED: "inferred by the ROME classifier (no romeCode)",
}


def _reason(result: OfferParse, fields: tuple[str, ...]) -> str:
    """The problem a parse warned on one of ``fields`` (the first), "not read" when it warned none."""
    return next((w.problem for w in result.warnings if w.field in fields), "not read")


@dataclass
class IngestReport:
    """Counts of an ingest run; ``rejections`` and ``warnings`` count ``(field, problem)`` pairs.

    ``superseded`` counts the parsed versions of an offer left for another version of the same id in
    the run (see :func:`parse_offers`): the offers kept are ``parsed - superseded``.
    ``rome_resolutions`` counts how the parsed offers' ROME codes were settled against their
    appellations (:attr:`OfferParse.rome_resolution`; empty without a referential): see
    :data:`ROME_RESOLUTIONS`.
    """

    total: int = 0
    parsed: int = 0
    superseded: int = 0
    rejections: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: Counter[tuple[str, str]] = field(default_factory=Counter)
    salary_stated: int = 0
    salary_parsed: int = 0
    salary_unread: Counter[str] = field(default_factory=Counter)
    hours_stated: int = 0
    hours_parsed: int = 0
    hours_unread: Counter[str] = field(default_factory=Counter)
    located: int = 0
    places: Counter[str] = field(default_factory=Counter)  # parsed offers by the precision of their place
    rome_resolutions: Counter[str] = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return self.total - self.parsed

    def rate(self, parsed: int, stated: int) -> float:
        return parsed / stated if stated else 0.0

    def coverage(self, parsed: int, stated: int, unread: Counter[str]) -> str:
        """``"1254/1330 stated (94.2%; unread: 45 amount in free text only, …)"``, for the printers.

        The share is rounded down: 9,999 of 10,000 is 99.9%, never a 100% that hides a loss.
        """
        if not stated:
            return "none stated"
        share = f"{math.floor(1000 * parsed / stated) / 10:.1f}%"
        lost = ", ".join(f"{count} {reason}" for reason, count in unread.most_common())
        return f"{parsed}/{stated} stated ({share}" + (f"; unread: {lost})" if lost else ")")

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
        # stated: a salary label, or an amount in the free-text comment; hours written in the label.
        # What was stated but not read is counted by the reason its parse warned.
        salary = raw.get("salaire") if isinstance(raw.get("salaire"), dict) else {}
        if salary.get("libelle") or salary_in_free_text_only(salary):
            self.salary_stated += 1
            if offer.salary_min_monthly is not None:
                self.salary_parsed += 1
            else:
                self.salary_unread[_reason(result, ("salaire.libelle", "salaire.commentaire"))] += 1
        if _HOURS_STATED_RE.search(raw.get("dureeTravailLibelle") or ""):
            self.hours_stated += 1
            if offer.weekly_hours is not None:
                self.hours_parsed += 1
            else:
                self.hours_unread[_reason(result, ("dureeTravailLibelle",))] += 1
        self.located += offer.location.has_coordinates
        self.places[str(offer.location.precision or "not stated")] += 1
        if result.rome_resolution is not None:
            self.rome_resolutions[result.rome_resolution] += 1


def parse_offers(
    records: Iterable[Any],
    *,
    referential: Referential | None = None,
    communes: Communes | None = None,
    classifier: RomeClassifier | None = None,
    on_record: Callable[[], None] | None = None,
) -> tuple[list[Offer], IngestReport]:
    """Parse many raw offers; returns the parsed offers, one version per id, and a report.

    On a repeated id the newest version is kept, whatever the order of the records: the one with the
    latest ``updated_at`` (``dateActualisation``; one without it is older than one with it, see
    :func:`matching.domain.older_version`); on equal dates, the later record in ``records``. The
    versions left are counted in the report's ``superseded``. A refused record never replaces a parsed
    version of its id.

    ``classifier`` codes the records without a ``romeCode`` (see :func:`parse_offer`; build it once for
    the run with :func:`rome_classifier_for`). ``on_record`` is called after each record (e.g. to
    advance a progress bar).
    """
    report = IngestReport()
    offers: dict[str, Offer] = {}
    for raw in records:
        result = parse_offer(raw, referential=referential, communes=communes, classifier=classifier)
        report.add(raw, result)
        offer = result.offer
        if offer is not None:
            kept = offers.get(offer.id)
            if kept is not None:
                report.superseded += 1
            if kept is None or not older_version(offer.updated_at, kept.updated_at):
                offers[offer.id] = offer
        if on_record is not None:
            on_record()
    return list(offers.values()), report
