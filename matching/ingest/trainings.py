"""Training sessions read from catalogues (:mod:`matching.ingest.lheo`) -> the engine's :class:`Training`.

What a session must state to be a training the engine can suggest (a POE is chosen for its hours,
its start and its place): its hours and its start date. Sessions without them are counted, with the
reason, and not stored. The rest is read as follows:

* ROME codes: LHEO's default version is ROME V3, and every V3 code is the parent fiche of the same
  code in ROME 4.0 (all 531 v347 codes are v460 parent codes, ``../shared/data/trainings/rome_v3``):
  a V3 code is kept when the referential has it, an unknown one is dropped with a problem;
* place: the document's coordinates when it has them, else the commune of its INSEE code, else its
  postal code's, else its département's centroid and extent; none: anywhere a commute reaches is
  left to the filters (no coordinates);
* an end date missing: the start date (one day), said in a problem;
* POE eligibility: under 400 hours (the POE's legal ceiling, Code du travail L. 6326-1 ff.).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from matching.domain import Location, Precision, Training, TrainingModality
from matching.geo import Communes
from matching.ingest.lheo import LheoProblem, LheoSession
from matching.referential import Referential

POE_MAX_HOURS = 400.0
MAX_HOURS = 3000.0  # :class:`Training`'s bound: a longer "session" is a whole curriculum
ID_PREFIX = "lheo-"
_MODALITIES = {
    "presentiel": TrainingModality.ON_SITE,
    "mixte": TrainingModality.BLENDED,
    "distance": TrainingModality.REMOTE,
}


def training_id(session_id: str) -> str:
    """The stored id of a session: ``lheo-<numero>``, shortened with a hash beyond 64 characters."""
    full = ID_PREFIX + session_id
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
            return Location(
                label=label,
                lat=area.lat,
                lon=area.lon,
                precision=precision,
                area=area.code,
                extent_km=area.extent_km,
            )
    return Location(label=label)


def training_from_session(
    session: LheoSession, referential: Referential | None, communes: Communes | None = None
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
    training = Training(
        id=training_id(session.id),
        title=session.title,
        rome_codes=tuple(dict.fromkeys(rome_codes)),
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
    sessions: Iterable[LheoSession], referential: Referential | None, communes: Communes | None = None
) -> tuple[list[Training], list[LheoProblem]]:
    """:func:`training_from_session` over many sessions; one training per id (the last one wins)."""
    trainings: dict[str, Training] = {}
    problems: list[LheoProblem] = []
    for session in sessions:
        training, found = training_from_session(session, referential, communes)
        problems.extend(found)
        if training is not None:
            trainings[training.id] = training
    return list(trainings.values()), problems
