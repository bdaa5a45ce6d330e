"""Readers of the Formacode tables and of the Formacode ↔ ROME evidence in real offers.

Formats (``../shared/data/trainings/README.md``):

* Centre Inffo's Formacode thesaurus, 8th edition (``FCod-utf-8.csv``): ``;``, no header, no quoting,
  15 fields (code, LABEL, label, type, semantic field, ``$``-separated synonyms, broader, narrower,
  related terms, definition, scope note, level, NSF, ``$``-separated "ROME v2 code + label", index
  descriptors); ``PUB`` rows have 4;
* the V12 → V13 correspondence (TAB, every field quoted, CRLF, no header): status (``N`` unchanged,
  ``R`` renumbered, ``S`` suppressed, ``C`` created in V13: no V12 code, as the 40 such rows show),
  V12 code and label, V13 code and label;
* ROME v2 → Formacode (``RomeFCod-utf-8.csv``): ``code;label;LABEL CODE$LABEL CODE…``;
* France Travail offers (Offres d'emploi v2 JSON): ``formations[].codeFormation`` (a Formacode) with
  ``domaineLibelle``, beside the offer's ``romeCode`` and ``competences[].code``.

Every reader takes the file's text (I/O stays with the caller) and raises :class:`IngestError` in one
line when the text is not of its format.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

from matching.errors import IngestError

_CODE = re.compile(r"^\d{5}$")
_LABELLED_CODE = re.compile(r"^(?P<label>.*?)\s*(?P<code>\d{5})$")


def formacode(value: object) -> str | None:
    """A 5-digit Formacode from a cell (``"31006"``, ``"31006.0"``, ``31006``), else ``None``."""
    text = str(value).strip() if value is not None else ""
    if text.endswith(".0"):
        text = text[:-2]
    return text if _CODE.match(text) else None


@dataclass(frozen=True)
class FormacodeTerm:
    """A Formacode descriptor: its label (as cased as the source gives it), synonyms and definition,
    and, in the 2003 thesaurus, the ROME v2 occupations it trains for (``(code, label)`` pairs)."""

    code: str
    label: str
    synonyms: tuple[str, ...] = ()
    definition: str = ""
    rome_v2: tuple[tuple[str, str], ...] = ()
    kind: str = "DOM"  # DOM training field, DIP diploma, PUB public, OUT… tools and methods, PAY… countries

    @property
    def is_field(self) -> bool:
        """Whether the descriptor names a training field (``DOM``), what a course teaches."""
        return self.kind.startswith("DOM")


def read_formacode_thesaurus(text: str) -> dict[str, FormacodeTerm]:
    """The descriptors of the 2003 thesaurus (``FCod-utf-8.csv``), by code.

    Raises
    ------
    IngestError
        When no row has a 5-digit code in its first field (not this table).
    """
    terms: dict[str, FormacodeTerm] = {}
    for fields in csv.reader(io.StringIO(text), delimiter=";", quoting=csv.QUOTE_NONE):
        code = formacode(fields[0]) if fields else None
        if code is None or len(fields) < 3:
            continue
        extra = fields + [""] * (15 - len(fields))
        rome_v2 = []
        for item in extra[13].split("$"):
            match = re.match(r"^\s*(\d{5})\s+(.+?)\s*$", item)
            if match:
                rome_v2.append((match.group(1), match.group(2)))
        terms[code] = FormacodeTerm(
            code=code,
            label=(fields[2] or fields[1]).strip(),
            synonyms=tuple(s.strip() for s in extra[5].split("$") if s.strip()),
            definition=extra[9].strip(),
            rome_v2=tuple(rome_v2),
            kind=fields[3].strip().upper() if len(fields) > 3 else "",
        )
    if not terms:
        raise IngestError("not a Formacode thesaurus: no row starts with a 5-digit code and a label")
    return terms


@dataclass(frozen=True)
class FormacodeChange:
    """One row of the V12 → V13 correspondence."""

    status: str  # N unchanged, R renumbered, S suppressed, C created in V13 (no V12 code)
    v12: str | None
    v12_label: str
    v13: str | None
    v13_label: str


def read_v12_v13(text: str) -> list[FormacodeChange]:
    """The rows of the V12 → V13 table (``formacode_v12_v13_correspondance.tsv``).

    Raises
    ------
    IngestError
        When no row has a status and a 5-digit code (not this table).
    """
    rows = []
    for fields in csv.reader(io.StringIO(text), delimiter="\t"):
        if len(fields) < 5 or (formacode(fields[1]) is None and formacode(fields[3]) is None):
            continue
        rows.append(
            FormacodeChange(
                status=fields[0].strip().upper(),
                v12=formacode(fields[1]),
                v12_label=fields[2].strip(),
                v13=formacode(fields[3]),
                v13_label=fields[4].strip(),
            )
        )
    if not rows:
        raise IngestError("not a Formacode V12 -> V13 table: no row has a status and a 5-digit code")
    return rows


def read_rome_v2_formacodes(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(ROME v2 code, its label, its Formacodes)`` rows of ``RomeFCod-utf-8.csv``.

    Raises
    ------
    IngestError
        When no row is ``code;label;LABEL CODE…``.
    """
    rows = []
    for fields in csv.reader(io.StringIO(text), delimiter=";", quoting=csv.QUOTE_NONE):
        if len(fields) < 3 or not re.match(r"^\d{5}$", fields[0].strip()):
            continue
        codes = []
        for item in fields[2].split("$"):
            match = _LABELLED_CODE.match(item.strip())
            if match:
                codes.append(match.group("code"))
        if codes:
            rows.append((fields[0].strip(), fields[1].strip(), tuple(codes)))
    if not rows:
        raise IngestError("not a ROME v2 -> Formacode table: no row is 'code;label;LABEL CODE$…'")
    return rows


@dataclass(frozen=True)
class OfferFormation:
    """A Formacode an offer asks for, with the offer's ROME code and listed competences."""

    offer_id: str
    formacode: str
    label: str
    rome_code: str | None
    competences: tuple[str, ...]


def read_offer_formations(text: str) -> list[OfferFormation]:
    """Every ``(offer, Formacode)`` of an Offres d'emploi v2 JSON document (a list, or ``resultats``).

    Raises
    ------
    IngestError
        When the text is not JSON or holds no list of offers.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"offers are not JSON: {error.msg} at line {error.lineno}") from None
    offers = data.get("resultats") if isinstance(data, dict) else data
    if not isinstance(offers, list):
        raise IngestError("offers: expected a JSON list of offers (or an object with 'resultats')")
    out = []
    for offer in offers:
        if not isinstance(offer, dict):
            continue
        competences = tuple(
            str(c["code"]) for c in offer.get("competences") or [] if isinstance(c, dict) and c.get("code")
        )
        seen = set()
        for item in offer.get("formations") or []:
            code = formacode(item.get("codeFormation")) if isinstance(item, dict) else None
            if code is None or code in seen:
                continue
            seen.add(code)
            out.append(
                OfferFormation(
                    offer_id=str(offer.get("id", "")),
                    formacode=code,
                    label=str(item.get("domaineLibelle") or "").strip(),
                    rome_code=offer.get("romeCode") or None,
                    competences=competences,
                )
            )
    return out
