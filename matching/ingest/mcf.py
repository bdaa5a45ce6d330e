"""The Mon Compte Formation catalogue (Caisse des Dépôts open data) -> catalogue trainings.

The dataset ``moncompteformation_catalogueformation`` lists, per training of a body, its
certification (RNCP or RS), Formacode and NSF codes, hours (min / max / mean over its actions), price
and place (département, region) — and no session dates: a suggestion from it says "dates to confirm".
Its official export is ``;``-separated; the re-exports found in public projects are ``,``-separated
pandas dumps with a leading unnamed index column and codes turned into floats ("31006.0", "35.0"). Both
are read, and both column sets of the dataset's history (``date_extract`` / ``date_chargement``,
``code_inventaire`` / ``code_rs``, ``siret`` / ``siret_of``, with ``code_rome_1..5`` and the texts of the
later one). A value that cannot be read is dropped with a problem naming the row and the column.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from matching.errors import IngestError
from matching.ingest.lheo import SIRET, plain_text

#: A column of the later schema -> its name in the earlier one.
ALIASES = {"date_chargement": "date_extract", "code_rs": "code_inventaire", "siret_of": "siret"}
_FLOAT_CODE = re.compile(r"^(\d+)\.0$")


@dataclass(frozen=True)
class McfTraining:
    """One catalogue training (no sessions: its dates are to confirm with the body)."""

    id: str
    title: str
    organisation: str | None = None
    siret: str | None = None
    referential: str | None = None  # "RNCP" or "RS"
    certification: str | None = None  # its RNCP or RS number
    formacodes: tuple[str, ...] = ()
    formacode_label: str = ""  # the principal Formacode's label (``libelle_code_formacode_principal``)
    nsf_codes: tuple[str, ...] = ()
    rome_codes: tuple[str, ...] = ()
    hours_min: float | None = None
    hours_max: float | None = None
    hours_mean: float | None = None
    price_mean: float | None = None
    department: str | None = None
    region: str | None = None
    remote_sessions: int | None = None
    objectives: str = ""


@dataclass
class McfParse:
    """What a catalogue file gave: its separator, the trainings, and the problems by row."""

    separator: str
    rows: int
    trainings: list[McfTraining] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, problem)

    def problem_counts(self) -> Counter[tuple[str, str]]:
        return Counter((column, problem) for _, column, problem in self.problems)


def _code(value: str | None) -> str | None:
    """A code as written, "31006.0" read as "31006"; "", "-1" and "nan" are none."""
    text = (value or "").strip()
    if text in ("", "-1", "nan", "NaN"):
        return None
    float_code = _FLOAT_CODE.match(text)
    return float_code.group(1) if float_code else text


def _plain(value: str | None) -> str:
    return plain_text(value or "")


def parse_mcf(text: str, source: str = "catalogue") -> McfParse:
    """Parse a Mon Compte Formation catalogue CSV (``;`` official or ``,`` re-export).

    Parameters
    ----------
    text
        The file's text (decoded).
    source
        How to name it in errors.

    Returns
    -------
    McfParse
        One :class:`McfTraining` per row with a title (``intitule_formation``, else the certification's).

    Raises
    ------
    IngestError
        If the header names none of the catalogue's columns (not this dataset).
    """
    header = text.split("\n", 1)[0]
    separator = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=separator)
    columns = {ALIASES.get(c, c) for c in reader.fieldnames or ()}
    if not {"intitule_certification", "code_formacode_1"} <= columns:
        raise IngestError(
            f"{source}: not a Mon Compte Formation catalogue (no intitule_certification and code_formacode_1 columns)"
        )
    parsed = McfParse(separator, 0)
    seen: Counter[str] = Counter()
    for number, raw in enumerate(reader, start=2):  # the header is line 1
        parsed.rows += 1
        row = {ALIASES.get(k, k): (v or "") for k, v in raw.items() if k}  # the unnamed index column goes

        def number_of(column: str, row: dict[str, str] = row, line: int = number) -> float | None:
            value = _code(row.get(column))
            if value is None:
                return None
            try:
                found = float(value.replace(",", "."))
            except ValueError:
                parsed.problems.append((line, column, "not a number"))
                return None
            if found < 0:
                parsed.problems.append((line, column, "negative"))
                return None
            return found

        title = _plain(row.get("intitule_formation")) or _plain(row.get("intitule_certification"))
        if not title:
            parsed.problems.append((number, "intitule_formation", "no title: row not read"))
            continue
        hours = [number_of(f"nombre_heures_total_{k}") for k in ("min", "max", "mean")]
        if hours[2] == 0.0:  # 130 of the 300 real rows with hours: a placeholder, not a training of no hours
            parsed.problems.append((number, "nombre_heures_total_mean", "0 hours: hours not read"))
            hours = [None, None, None]
        if hours[0] is not None and hours[1] is not None and hours[0] > hours[1]:
            parsed.problems.append((number, "nombre_heures_total_min", "above the max: hours not read"))
            hours = [None, None, None]
        siret = _code(row.get("siret"))
        if siret is not None and not SIRET.fullmatch(siret):
            parsed.problems.append((number, "siret", "not a 14-digit SIRET: not kept"))
            siret = None
        referential = _code(row.get("type_referentiel"))
        certification = (
            _code(row.get("code_rncp")) if referential == "RNCP" else _code(row.get("code_inventaire"))
        )
        # the catalogue's own id when the export has it; else body, certification and title (stable
        # across extracts as long as the body offers that certification under that title)
        key = _code(row.get("numero_formation")) or "|".join(
            str(part) for part in (siret or _plain(row.get("nom_of")), referential, certification, title)
        )
        seen[key] += 1
        remote = number_of("nb_session_a_distance")
        parsed.trainings.append(
            McfTraining(
                id=key if seen[key] == 1 else f"{key}#{seen[key]}",
                title=title,
                organisation=_plain(row.get("nom_of")) or None,
                siret=siret,
                referential=referential,
                certification=certification,
                formacodes=tuple(
                    c for c in (_code(row.get(f"code_formacode_{i}")) for i in range(1, 6)) if c
                ),
                formacode_label=_plain(row.get("libelle_code_formacode_principal")),
                nsf_codes=tuple(c for c in (_code(row.get(f"code_nsf_{i}")) for i in range(1, 4)) if c),
                rome_codes=tuple(
                    c.upper() for c in (_code(row.get(f"code_rome_{i}")) for i in range(1, 6)) if c
                ),
                hours_min=hours[0],
                hours_max=hours[1],
                hours_mean=hours[2],
                price_mean=number_of("frais_ttc_tot_mean"),
                department=_code(row.get("code_departement")),
                region=_code(row.get("code_region")),
                remote_sessions=None if remote is None else int(remote),
                objectives=_plain(row.get("objectif_formation")) or _plain(row.get("points_forts")),
            )
        )
    return parsed
