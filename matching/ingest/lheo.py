"""LHEO training catalogues (Carif-Oref XML, versions 2.2 and 2.3) -> training sessions.

LHEO ("Langage Harmonisé d'Échange d'informations sur l'Offre de formation", lheo.gouv.fr) nests
``formation`` (what is taught: title, objectives, Formacode / NSF / ROME codes, certification) ->
``action`` (how and where: place, hours, teaching modality, public, funders, trainer) -> ``session``
(when: ``periode/debut``, ``periode/fin``). Two document shapes are read:

* the full export ``lheo/offres/formation/action/session`` (Intercarif "flux", ONISEP);
* the search summary ``lheo-index/resumes-offres/resume-offre`` (Intercarif web service), one
  ``resume-offre`` per action with its sessions and the place, hours and trainer flattened.

One :class:`LheoSession` comes out per session (an action without a session gives one without dates).
A field that cannot be read is dropped with a problem naming the record and the field, as the offers
ingest does; a document that is not XML, not LHEO or of another version stops with one line
(:class:`~matching.errors.IngestError`). XML is read with lxml without network access nor entity
expansion (an export is data, never a reason to fetch or expand anything).

Rules from the LHEO 2.3 definition (``lheo-gml-2.3.xml``): ``code-ROME`` without a ``ref`` attribute is
ROME V3 (each V3 code is the parent fiche of the same code in ROME 4.0); dates are ``AAAAMMJJ``, with
``00`` for an unknown day or month, ``00000000`` / ``99999999`` for none; ``modalites-enseignement`` is
0 on site, 1 blended, 2 remote (``dict-modalites-enseignement``).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from matching.errors import IngestError

#: Namespace URI -> LHEO version read.
NAMESPACES = {"http://www.lheo.org/2.2": "2.2", "http://lheo.gouv.fr/2.3": "2.3"}
#: ``modalites-enseignement`` codes (``dict-modalites-enseignement`` of LHEO 2.3).
MODALITIES = {"0": "presentiel", "1": "mixte", "2": "distance"}
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
#: A SIRET: 14 digits (the LHEO XSD's length; INSEE's establishment number).
SIRET = re.compile(r"\d{14}")


def plain_text(raw: str) -> str:
    """Text as people read it: HTML entities decoded, tags removed ("&lt;p&gt;" in ONISEP exports,
    ``<ul><li>`` in Mon Compte Formation), spaces collapsed."""
    return _SPACES.sub(" ", _TAGS.sub(" ", html.unescape(raw))).strip()


@dataclass(frozen=True)
class LheoPlace:
    """Where an action takes place (``lieu-de-formation``) or where to enrol (``adresse-inscription``)."""

    label: str | None = None
    postcode: str | None = None
    city: str | None = None
    insee: str | None = None
    department: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class LheoSession:
    """One training session with what its formation and action say.

    ``id`` is the session's ``numero`` (else its action's with the session's rank); hours are as the
    document states them (``None`` where it states none); ``rome_codes`` keep the document's codes
    with their version in ``rome_version`` (``"V3"`` when ``ref`` is absent).
    """

    id: str
    formation_id: str | None
    action_id: str | None
    title: str
    objectives: str = ""
    contents: str = ""
    formacodes: tuple[str, ...] = ()
    formacode_version: str | None = None
    nsf_codes: tuple[str, ...] = ()
    rome_codes: tuple[str, ...] = ()
    rome_version: str = "V3"
    certifying: bool | None = None
    rncp: str | None = None
    rs: str | None = None
    certifinfo: str | None = None
    hours_total: float | None = None
    hours_centre: float | None = None
    hours_company: float | None = None
    start: date | None = None
    end: date | None = None
    place: LheoPlace | None = None
    modality: str | None = None
    organisation: str | None = None
    siret: str | None = None
    funders: tuple[str, ...] = ()
    public_codes: tuple[str, ...] = ()

    @property
    def hours(self) -> float | None:
        """Total hours: ``nombre-heures-total``, else centre plus company hours."""
        if self.hours_total is not None:
            return self.hours_total
        parts = [h for h in (self.hours_centre, self.hours_company) if h is not None]
        return sum(parts) if parts else None


@dataclass(frozen=True)
class LheoProblem:
    """A field of a record that was not read (``record`` is the session, action or formation id)."""

    record: str
    field: str
    problem: str


@dataclass
class LheoParse:
    """What a document gave: its version and shape, the sessions, and the problems met."""

    version: str
    shape: str  # "offres" (full export) or "index" (search summary)
    sessions: list[LheoSession] = field(default_factory=list)
    problems: list[LheoProblem] = field(default_factory=list)

    def problem_counts(self) -> Counter[tuple[str, str]]:
        """``(field, problem)`` -> how many records."""
        return Counter((p.field, p.problem) for p in self.problems)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _child(element: Any, *path: str) -> Any | None:
    for name in path:
        if element is None:
            return None
        found = _children(element, name)
        element = found[0] if found else None
    return element


def _text(element: Any) -> str | None:
    """An element's text, HTML tags and entities removed ("&lt;p&gt;" in ONISEP exports), spaces
    collapsed; ``None`` when empty or "-" (LHEO's filler for a mandatory field left blank)."""
    if element is None:
        return None
    text = plain_text("".join(element.itertext()))
    return text if text and text != "-" else None


class _Reader:
    """Reads one document's records, collecting problems."""

    def __init__(self) -> None:
        self.problems: list[LheoProblem] = []

    def problem(self, record: str, name: str, message: str) -> None:
        self.problems.append(LheoProblem(record, name, message))

    def number(self, element: Any, name: str, record: str) -> float | None:
        """Hours: a positive number up to 20,000."""
        value = self.bounded(_text(_child(element, name)), 0.0, 20_000.0, record, name)
        if value == 0.0:
            self.problem(record, name, "out of range")
            return None
        return value

    def day(self, element: Any, name: str, record: str) -> date | None:
        """``AAAAMMJJ``: ``00`` day -> the 1st (a month is known), ``00000000``/``99999999`` -> none."""
        text = _text(_child(element, name))
        if text is None or text in ("00000000", "99999999"):
            return None
        if not re.fullmatch(r"\d{8}", text):
            self.problem(record, f"periode/{name}", "not a date AAAAMMJJ")
            return None
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
        if month == 0:
            self.problem(record, f"periode/{name}", "month unknown: date not read")
            return None
        if day == 0:
            self.problem(record, f"periode/{name}", "day unknown: the 1st of the month")
        try:
            return date(year, month, day or 1)
        except ValueError:
            self.problem(record, f"periode/{name}", "no such day")
            return None

    def bounded(self, text: str | None, low: float, high: float, record: str, name: str) -> float | None:
        """A number in ``[low, high]`` (a decimal comma read as a point), else a problem."""
        if text is None:
            return None
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            self.problem(record, name, "not a number")
            return None
        if not low <= value <= high:
            self.problem(record, name, "out of range")
            return None
        return value

    def address(self, element: Any, record: str, label: str | None = None) -> LheoPlace | None:
        if element is None:
            return None
        geo = _child(element, "geolocalisation")
        return LheoPlace(
            label=label,
            postcode=_text(_child(element, "codepostal")),
            city=_text(_child(element, "ville")),
            insee=_text(_child(element, "code-INSEE-commune")),
            department=_text(_child(element, "departement")),
            region=_text(_child(element, "region")),
            lat=self.bounded(_text(_child(geo, "latitude")), -90, 90, record, "geolocalisation/latitude"),
            lon=self.bounded(_text(_child(geo, "longitude")), -180, 180, record, "geolocalisation/longitude"),
        )

    def domain(self, element: Any, record: str) -> dict[str, Any]:
        """Formacode, NSF and ROME codes of a ``domaine-formation``."""
        domain = _child(element, "domaine-formation")
        if domain is None:
            return {}
        formacodes = [c for c in _children(domain, "code-FORMACODE") if _text(c)]
        # the principal Formacode first, then the document's order
        formacodes.sort(key=lambda c: c.get("tag") != "principal")
        romes = [c for c in _children(domain, "code-ROME") if _text(c)]
        versions = {c.get("ref") or "V3" for c in romes}
        if len(versions) > 1:
            self.problem(record, "code-ROME", "codes of several ROME versions: the first one's kept")
        rome_version = romes[0].get("ref") or "V3" if romes else "V3"
        return {
            "formacodes": tuple(str(_text(c)) for c in formacodes),
            "formacode_version": formacodes[0].get("ref") if formacodes else None,
            "nsf_codes": tuple(str(_text(c)) for c in _children(domain, "code-NSF") if _text(c)),
            "rome_codes": tuple(
                str(_text(c)).upper() for c in romes if (c.get("ref") or "V3") == rome_version
            ),
            "rome_version": rome_version,
        }

    def certification(self, element: Any) -> dict[str, Any]:
        block = _child(element, "certification")
        certifying = _text(_child(element, "certifiante"))
        return {
            "certifying": None if certifying is None else certifying == "1",
            "rncp": _text(_child(block, "code-RNCP")),
            "rs": _text(_child(block, "code-RS")),
            "certifinfo": _text(_child(block, "code-CERTIFINFO")),
        }

    def siret(self, text: str | None, record: str, name: str) -> str | None:
        """A SIRET is 14 digits (the XSD's limit): anything else is not kept."""
        if text is None:
            return None
        digits = text.replace(" ", "")
        if not SIRET.fullmatch(digits):
            self.problem(record, name, "not a 14-digit SIRET: not kept")
            return None
        return digits

    def modality(self, element: Any, record: str) -> str | None:
        code = _text(_child(element, "modalites-enseignement"))
        if code is None:
            return None
        if code not in MODALITIES:
            self.problem(record, "modalites-enseignement", "unknown code")
            return None
        return MODALITIES[code]

    def periods(
        self, sessions: list[Any], record: str
    ) -> list[tuple[str | None, date | None, date | None, Any]]:
        out = []
        for session in sessions:
            period = _child(session, "periode")
            start, end = self.day(period, "debut", record), self.day(period, "fin", record)
            if start and end and end < start:
                self.problem(record, "periode", "ends before it starts: dates not read")
                start = end = None
            out.append((session.get("numero"), start, end, session))
        return out


def _parse_offres(root: Any, reader: _Reader) -> list[LheoSession]:
    sessions = []
    offres = _child(root, "offres")
    for formation in _children(offres, "formation") if offres is not None else []:
        formation_id = formation.get("numero")
        title = _text(_child(formation, "intitule-formation"))
        if title is None:
            reader.problem(formation_id or "?", "intitule-formation", "missing: formation not read")
            continue
        common: dict[str, Any] = {
            "formation_id": formation_id,
            "title": title,
            "objectives": _text(_child(formation, "objectif-formation")) or "",
            "contents": _text(_child(formation, "contenu-formation")) or "",
            **reader.domain(formation, formation_id or title),
            **reader.certification(formation),
        }
        responsible = _child(formation, "organisme-formation-responsable")
        for rank, action in enumerate(_children(formation, "action")):
            action_id = action.get("numero") or f"{formation_id}/{rank + 1}"
            trainer = _child(action, "organisme-formateur")
            organisation = _text(_child(trainer, "raison-sociale-formateur")) or _text(
                _child(responsible, "nom-organisme")
            )
            siret = reader.siret(
                _text(_child(trainer, "SIRET-formateur", "SIRET"))
                or _text(_child(responsible, "SIRET-organisme-formation", "SIRET")),
                action_id,
                "SIRET",
            )
            place_block = _child(action, "lieu-de-formation", "coordonnees")
            place = reader.address(
                _child(place_block, "adresse"), action_id, _text(_child(place_block, "nom"))
            )
            funders = tuple(
                str(_text(_child(f, "code-financeur")))
                for f in _children(action, "organisme-financeur")
                if _text(_child(f, "code-financeur"))
            )
            for number, start, end, session in reader.periods(_children(action, "session"), action_id) or [
                (None, None, None, None)
            ]:
                session_id = number or f"{action_id}#{rank + 1}"
                enrol = reader.address(_child(session, "adresse-inscription", "adresse"), session_id)
                sessions.append(
                    LheoSession(
                        id=session_id,
                        action_id=action_id,
                        **common,
                        hours_total=reader.number(action, "nombre-heures-total", action_id),
                        hours_centre=reader.number(action, "nombre-heures-centre", action_id),
                        hours_company=reader.number(action, "nombre-heures-entreprise", action_id),
                        start=start,
                        end=end,
                        place=place or enrol,
                        modality=reader.modality(action, action_id),
                        organisation=organisation,
                        siret=siret,
                        funders=funders,
                        public_codes=tuple(
                            str(_text(c)) for c in _children(action, "code-public-vise") if _text(c)
                        ),
                    )
                )
    return sessions


def _parse_index(root: Any, reader: _Reader) -> list[LheoSession]:
    sessions = []
    summaries = _child(root, "resumes-offres")
    for rank, offer in enumerate(_children(summaries, "resume-offre") if summaries is not None else []):
        record = offer.get("numero") or f"resume-offre {rank + 1}"
        title = _text(_child(offer, "intitule-formation"))
        if title is None:
            reader.problem(record, "intitule-formation", "missing: offer not read")
            continue
        extras = {
            extra.get("info"): _text(extra)
            for block in _children(offer, "extras")
            for extra in _children(block, "extra")
        }
        place = LheoPlace(
            postcode=_text(_child(offer, "codepostal")),
            city=_text(_child(offer, "ville")),
            insee=_text(_child(offer, "code-INSEE-commune")),
            department=_text(_child(offer, "departement")),
            region=_text(_child(offer, "region")),
            lat=reader.bounded(extras.get("latitude"), -90, 90, record, "extras/latitude"),
            lon=reader.bounded(extras.get("longitude"), -180, 180, record, "extras/longitude"),
        )
        common: dict[str, Any] = {
            "formation_id": None,
            "action_id": record,
            "title": title,
            **reader.domain(offer, record),
            **reader.certification(offer),
            "hours_total": reader.number(offer, "nombre-heures-total", record),
            "place": place,
            "modality": reader.modality(offer, record),
            "organisation": _text(_child(offer, "nom-organisme")),
            "siret": reader.siret(_text(_child(offer, "SIRET")), record, "SIRET"),
            "public_codes": tuple(str(_text(c)) for c in _children(offer, "code-public-vise") if _text(c)),
        }
        periods = reader.periods(_children(offer, "session"), record)
        for k, (number, start, end, _session) in enumerate(periods or [(None, None, None, None)]):
            session_id = number or (record if len(periods) <= 1 else f"{record}#{k + 1}")
            sessions.append(LheoSession(id=session_id, **common, start=start, end=end))
    return sessions


def schema_problems(root: Any, schema: Any) -> list[LheoProblem]:
    """What the LHEO 2.3 XSD says of a parsed document, one problem per error.

    Parameters
    ----------
    root
        The document's root element (lxml); a 2.2 document is checked with its namespace read as
        2.3's (2.3 only adds elements and attributes; three of the four real 2.2 documents validate so).
    schema
        An ``xmlschema.XMLSchema`` of ``lheo-2.3.xsd`` (loaded once by the caller: about a second).
    """
    from lxml import etree

    if etree.QName(root).namespace == "http://www.lheo.org/2.2":
        data = etree.tostring(root).replace(b"http://www.lheo.org/2.2", b"http://lheo.gouv.fr/2.3")
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    out = []
    for error in schema.iter_errors(root):
        element, record = getattr(error, "elem", None), "document"
        while element is not None and hasattr(element, "getparent"):
            if element.get("numero"):
                record = str(element.get("numero"))
                break
            element = element.getparent()
        path = re.sub(r"\{[^}]*\}", "", str(error.path or "/"))
        reason = _SPACES.sub(" ", re.sub(r"\{[^}]*\}", "", str(error.reason or error))).strip()
        out.append(LheoProblem(record, path, f"XSD: {reason}"))
    return out


def parse_lheo(data: bytes, source: str = "document", schema: Any | None = None) -> LheoParse:
    """Parse an LHEO 2.2 or 2.3 document (full export or search summary).

    Parameters
    ----------
    data
        The document's bytes (its XML declaration, or UTF-8, gives the encoding).
    source
        How to name the document in errors (a file name).
    schema
        The LHEO 2.3 XSD (``xmlschema.XMLSchema``): when given, its errors are problems too (never
        fatal: a record the XSD refuses is still read as far as it can be).

    Returns
    -------
    LheoParse
        Version, shape, one :class:`LheoSession` per session, and the problems of the fields not read.

    Raises
    ------
    IngestError
        If the bytes are not well-formed XML, or not an LHEO 2.2 / 2.3 ``lheo`` or ``lheo-index``
        document (LHEO 1.3.0 and its ``lheo-leger`` summary have another tree: export again in 2.2+).
    """
    from lxml import etree  # the training ingest's parser only

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise IngestError(f"{source}: not well-formed XML ({error.msg}, line {error.lineno})") from None
    namespace = etree.QName(root).namespace
    name = _local(root)
    if namespace not in NAMESPACES or name not in ("lheo", "lheo-index"):
        found = f"{name} in namespace {namespace}" if namespace else f"{name} without a namespace (LHEO 1.x)"
        raise IngestError(
            f"{source}: not an LHEO 2.2 or 2.3 document ({found}); expected lheo or lheo-index in "
            + " or ".join(NAMESPACES)
        )
    reader = _Reader()
    shape = "offres" if name == "lheo" else "index"
    sessions = _parse_offres(root, reader) if shape == "offres" else _parse_index(root, reader)
    problems = reader.problems + (schema_problems(root, schema) if schema is not None else [])
    return LheoParse(NAMESPACES[namespace], shape, sessions, problems)
