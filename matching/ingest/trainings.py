"""Training sessions read from catalogues (:mod:`matching.ingest.lheo`) -> the engine's :class:`Training`.

What a session must state to be a training the engine can suggest (a POE is chosen for its hours,
its start and its place): its hours and its start date. Sessions without them are counted, with the
reason, and not stored. The rest is read as follows:

* ROME codes: LHEO's default version is ROME V3, and every V3 code is the parent fiche of the same
  code in ROME 4.0 (all 531 v347 codes are v460 parent codes, ``../shared/data/trainings/rome_v3``):
  a V3 code is kept when the referential has it, an unknown one is dropped with a problem;
* place: the document's coordinates when it has them, else the commune of its INSEE code, else its
  postal code's, else its département's centroid and extent; none: no coordinates (an on-site
  course at an unknown place reaches no commute; a remote one reaches every one);
* an end date missing: the start date (one day), said in a problem;
* POE eligibility: under 400 hours (the POE's legal ceiling, Code du travail L. 6326-1 ff.);
* taught skills: the ROME competences its Formacodes teach (:mod:`matching.formacode`), when links are
  given; a course with no ROME code is filed under the occupations its Formacodes train for.

A Mon Compte Formation course (:func:`training_from_catalogue`) lists no session: it is stored without
dates (to confirm with the body), with its mean hours (else its maximum), placed at its département
(or anywhere, when one of its sessions is taught remotely).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Protocol

from matching.domain import Location, Precision, Training, TrainingModality
from matching.geo import Area, Communes
from matching.ingest.lheo import LheoProblem, LheoSession
from matching.ingest.mcf import McfTraining
from matching.referential import Referential


class SkillLinks(Protocol):
    """What the ingest reads of Formacode links (:class:`matching.formacode.FormacodeSkillLinker`)."""

    def skills_of(self, codes: Iterable[str]) -> tuple[str, ...]: ...

    def fiches_of(self, codes: Iterable[str]) -> tuple[str, ...]: ...


POE_MAX_HOURS = 400.0
MAX_HOURS = 3000.0  # :class:`Training`'s bound: a longer "session" is a whole curriculum
ID_PREFIX = "lheo-"
CATALOGUE_PREFIX = "mcf-"
#: Occupations a course without ROME codes is filed under, from its Formacodes (the strongest first).
MAX_FICHES_FROM_FORMACODES = 3
_MODALITIES = {
    "presentiel": TrainingModality.ON_SITE,
    "mixte": TrainingModality.BLENDED,
    "distance": TrainingModality.REMOTE,
}


def training_id(session_id: str, prefix: str = ID_PREFIX) -> str:
    """The stored id of a session: ``lheo-<numero>`` (``mcf-<id>`` for a catalogue course), shortened
    with a hash beyond 64 characters."""
    full = prefix + session_id
    if len(full) <= 64:
        return full
    return full[:47] + "-" + hashlib.sha256(full.encode()).hexdigest()[:16]


def _location(session: LheoSession, communes: Communes | None) -> Location:
    place = session.place
    if place is None:
        return Location()
    label = place.city or place.label
    if place.lat is not None and place.lon is not None:
        return Location(
            insee=place.insee if place.insee and len(place.insee) == 5 else None,
            label=label,
            lat=place.lat,
            lon=place.lon,
            precision=Precision.COMMUNE,
        )
    if communes is not None:
        if place.insee and place.insee in communes:
            lat, lon = communes.coords(place.insee)
            return Location(insee=place.insee, label=label, lat=lat, lon=lon, precision=Precision.COMMUNE)
        area = communes.postal_area(place.postcode) if place.postcode else None
        precision = Precision.POSTAL_CODE
        if area is None and place.department:
            area, precision = communes.department_area(place.department), Precision.DEPARTEMENT
        if area is not None:
            return _area_location(area, precision, label)
    return Location(label=label)


def _area_location(area: Area, precision: Precision, label: str | None) -> Location:
    """A place known by its area only: the centroid, with the area's extent."""
    return Location(
        label=label, lat=area.lat, lon=area.lon, precision=precision, area=area.code, extent_km=area.extent_km
    )


def _taught(
    formacodes: tuple[str, ...], rome_codes: list[str], links: SkillLinks | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(skills, ROME codes) of a course from its Formacodes' links; its own ROME codes win."""
    if links is None or not formacodes:
        return (), tuple(dict.fromkeys(rome_codes))
    fiches = rome_codes or list(links.fiches_of(formacodes)[:MAX_FICHES_FROM_FORMACODES])
    return links.skills_of(formacodes), tuple(dict.fromkeys(fiches))


def training_from_session(
    session: LheoSession,
    referential: Referential | None,
    communes: Communes | None = None,
    links: SkillLinks | None = None,
) -> tuple[Training | None, list[LheoProblem]]:
    """The :class:`Training` of one session, or ``None`` with the reason it is not one.

    Returns
    -------
    tuple
        The training (``None`` when the session states no hours or no start) and the problems met.
    """
    problems: list[LheoProblem] = []

    def problem(name: str, message: str) -> None:
        problems.append(LheoProblem(session.id, name, message))

    hours = session.hours
    if hours is None:
        problem("nombre-heures", "no hours stated: not stored (a suggestion states its hours)")
        return None, problems
    if hours > MAX_HOURS:
        problem("nombre-heures", f"over {MAX_HOURS:.0f} hours: not stored")
        return None, problems
    if session.start is None:
        problem("session/periode", "no start date: not stored (a suggestion states when it starts)")
        return None, problems
    end = session.end
    if end is None:
        problem("periode/fin", "no end date: the start date used")
        end = session.start
    rome_codes = []
    for code in session.rome_codes:
        if referential is None or code in referential.fiches:
            rome_codes.append(code)
        else:
            problem("code-ROME", f"{code} ({session.rome_version}) not in {referential.version}: dropped")
    skills, rome_codes_ = _taught(session.formacodes, rome_codes, links)
    training = Training(
        id=training_id(session.id),
        title=session.title,
        rome_codes=rome_codes_,
        skills=skills,
        hours=hours,
        start_date=session.start,
        end_date=end,
        location=_location(session, communes),
        modality=_MODALITIES.get(session.modality or "", TrainingModality.ON_SITE),
        organisation=session.organisation or "",
        poe_eligible=hours < POE_MAX_HOURS,
        formacode=session.formacodes[0] if session.formacodes else None,
    )
    return training, problems


def trainings_from_sessions(
    sessions: Iterable[LheoSession],
    referential: Referential | None,
    communes: Communes | None = None,
    links: SkillLinks | None = None,
) -> tuple[list[Training], list[LheoProblem]]:
    """:func:`training_from_session` over many sessions; one training per id (the last one wins)."""
    trainings: dict[str, Training] = {}
    problems: list[LheoProblem] = []
    for session in sessions:
        training, found = training_from_session(session, referential, communes, links)
        problems.extend(found)
        if training is not None:
            trainings[training.id] = training
    return list(trainings.values()), problems


_SAFE_ID = re.compile(r"[A-Za-z0-9_.#-]+")


def _url_safe(key: str, siret: str | None) -> str:
    """The catalogue's own id when it is one (``numero_formation``), else the body's SIRET and a hash of
    the composed key (body, certification, title: spaces, accents and ``|`` belong in no URL)."""
    if _SAFE_ID.fullmatch(key):
        return key
    return f"{siret or 'x'}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def training_from_catalogue(
    course: McfTraining,
    referential: Referential | None,
    communes: Communes | None = None,
    links: SkillLinks | None = None,
) -> tuple[Training | None, list[LheoProblem]]:
    """The :class:`Training` of a Mon Compte Formation course (dates to confirm), or ``None`` with the
    reason: no hours (the catalogue prints 0 for unknown).

    Returns
    -------
    tuple
        The training and the problems met (the course's id names the record).
    """
    problems: list[LheoProblem] = []
    hours = next((h for h in (course.hours_mean, course.hours_max) if h is not None and h > 0), None)
    if hours is None:
        problems.append(LheoProblem(course.id, "nombre_heures_total", "no hours (0 or empty): not stored"))
        return None, problems
    if hours > MAX_HOURS:
        problems.append(
            LheoProblem(course.id, "nombre_heures_total", f"over {MAX_HOURS:.0f} hours: not stored")
        )
        return None, problems
    rome_codes = [c for c in course.rome_codes if referential is None or c in referential.fiches]
    skills, rome_codes_ = _taught(course.formacodes, rome_codes, links)
    remote = bool(course.remote_sessions)
    location = Location()
    if not remote and communes is not None and course.department:
        area = communes.department_area(course.department.zfill(2))
        if area is not None:
            location = _area_location(area, Precision.DEPARTEMENT, f"département {area.code}")
    training = Training(
        id=training_id(_url_safe(course.id, course.siret), CATALOGUE_PREFIX),
        title=course.title,
        rome_codes=rome_codes_,
        skills=skills,
        hours=hours,
        location=location,
        # a session taught remotely reaches anyone: the course is offered at a distance
        modality=TrainingModality.REMOTE if remote else TrainingModality.ON_SITE,
        organisation=course.organisation or "",
        poe_eligible=hours < POE_MAX_HOURS,
        formacode=course.formacodes[0] if course.formacodes else None,
    )
    return training, problems
