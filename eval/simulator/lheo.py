"""The simulator's trainings written as an LHEO 2.3 catalogue (``lheo/offres/formation/action/session``).

A simulated world has no public training catalogue behind it; writing its courses in the Carif-Oref
format makes the demo read them through the same parser, checks and Formacode links as a real
catalogue (:mod:`matching.ingest.lheo`, ``matching ingest trainings``). One formation, action and session
per training, numbered with the training's id; every element the LHEO 2.3 XSD requires is written, with
"-" where the world knows nothing (contacts, the body's activity number), as Carif-Oref exports do.

What crosses over: title, Formacode, ROME 4.0 codes (``ref="V4"``: without it LHEO means ROME V3), hours,
session dates, place (commune, postal code, coordinates), modality, body. What does not: the skills the
world says a course teaches (LHEO has no field for them; an ingested course teaches what its Formacode
links to) and its outcome rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from lxml import etree

from matching.domain import Training, TrainingModality
from matching.geo import Communes

NAMESPACE = "http://lheo.gouv.fr/2.3"
#: ``dict-modalites-enseignement`` of LHEO 2.3: 0 on site, 1 blended, 2 remote.
MODALITY_CODES = {TrainingModality.ON_SITE: "0", TrainingModality.BLENDED: "1", TrainingModality.REMOTE: "2"}
UNKNOWN = "-"
#: ``code-public-vise`` (Formacode public descriptor): 83056, "demandeur d'emploi".
JOBSEEKERS = "83056"
#: A SIRET of zeros names no real body (LHEO requires one); nor does a postal code of zeros (LHEO
#: requires five characters; the reader places a course by its coordinates and INSEE code first).
NO_SIRET = "00000000000000"
NO_POSTAL_CODE = "00000"


def _add(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _address(parent: etree._Element, training: Training, communes: Communes | None) -> None:
    place = training.location
    address = _add(parent, "adresse")
    _add(address, "ligne", UNKNOWN)
    postal = communes.postal_code_of(place.insee) if communes is not None and place.insee else None
    _add(address, "codepostal", postal or NO_POSTAL_CODE)
    name = communes.name_of(place.insee) if communes is not None else None
    _add(address, "ville", name or place.label or UNKNOWN)
    if place.insee:
        _add(address, "code-INSEE-commune", place.insee)
    if place.lat is not None and place.lon is not None:
        where = _add(address, "geolocalisation")
        _add(where, "latitude", f"{place.lat:.6f}")
        _add(where, "longitude", f"{place.lon:.6f}")


def _contact(parent: etree._Element, name: str) -> None:
    coordinates = _add(_add(parent, name), "coordonnees")
    _add(coordinates, "nom", UNKNOWN)


def trainings_lheo(trainings: Iterable[Training], communes: Communes | None = None) -> bytes:
    """An LHEO 2.3 document of ``trainings`` (UTF-8 bytes with the XML declaration).

    Parameters
    ----------
    trainings
        Dated trainings (a course whose dates are to confirm is no session: it is left out).
    communes
        Names the communes and their postal codes ("-" without).

    Returns
    -------
    bytes
        The document; it validates against ``lheo-2.3.xsd``.
    """
    root = etree.Element(f"{{{NAMESPACE}}}lheo", nsmap={None: NAMESPACE})
    offres = _add(root, "offres")
    for training in trainings:
        if training.start_date is None or training.end_date is None:
            continue
        formation = _add(offres, "formation", numero=training.id)
        domain = _add(formation, "domaine-formation")
        if training.formacode:
            _add(domain, "code-FORMACODE", training.formacode, ref="V13", tag="principal")
        for code in training.rome_codes[:5]:
            _add(domain, "code-ROME", code, ref="V4")
        _add(formation, "intitule-formation", training.title)
        _add(formation, "objectif-formation", f"Se préparer au métier : {training.title}")
        _add(formation, "resultats-attendus", UNKNOWN)
        _add(formation, "contenu-formation", UNKNOWN)
        _add(formation, "certifiante", "0")
        _contact(formation, "contact-formation")
        _add(formation, "parcours-de-formation", "1")
        _add(formation, "code-niveau-entree", "0")
        action = _add(formation, "action", numero=training.id)
        _add(action, "rythme-formation", "Temps plein")
        _add(action, "code-public-vise", JOBSEEKERS, ref="V13")
        _add(action, "niveau-entree-obligatoire", "0")
        _add(action, "modalites-alternance", UNKNOWN)
        _add(action, "modalites-enseignement", MODALITY_CODES[training.modality])
        _add(action, "conditions-specifiques", UNKNOWN)
        _add(action, "prise-en-charge-frais-possible", "1")
        _address(_add(_add(action, "lieu-de-formation"), "coordonnees"), training, communes)
        _add(action, "modalites-entrees-sorties", "0")
        session = _add(action, "session", numero=training.id)
        period = _add(session, "periode")
        _add(period, "debut", _day(training.start_date))
        _add(period, "fin", _day(training.end_date))
        _address(_add(session, "adresse-inscription"), training, communes)
        _add(action, "nombre-heures-total", f"{training.hours:g}")
        trainer = _add(action, "organisme-formateur")
        _add(_add(trainer, "SIRET-formateur"), "SIRET", NO_SIRET)
        _add(trainer, "raison-sociale-formateur", training.organisation or UNKNOWN)
        body = _add(formation, "organisme-formation-responsable")
        _add(body, "numero-activite", "00000000000")
        _add(_add(body, "SIRET-organisme-formation"), "SIRET", NO_SIRET)
        _add(body, "nom-organisme", training.organisation or UNKNOWN)
        _add(body, "raison-sociale", training.organisation or UNKNOWN)
        _contact(body, "coordonnees-organisme")
        _contact(body, "contact-organisme")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
