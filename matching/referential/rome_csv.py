"""Loader for the official ROME 4.0 CSV export (``unix_*_v<NNN>_utf8.csv`` files).

I/O edge: reads the files, checks columns, decodes 8-bit files that are named ``utf8`` (France
Travail ships at least one), and hands plain tables to :class:`~matching.referential.model.Referential`.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from matching.domain import ROME_CODE_PATTERN
from matching.errors import ReferentialError
from matching.referential.model import Appellation, Fiche, FicheSkills, Referential, Skill, SkillKind

_RUBRIC_KIND = {"1": SkillKind.SAVOIR_FAIRE, "2": SkillKind.SAVOIR_ETRE, "3": SkillKind.SAVOIR}
_SKILLS_BLOCK = "5"
_CONTEXTS_BLOCK = "6"
_CORE_FLAG = "Principale"
_MACRO_NATURE = "Macro-compétence"

# table name -> columns the loader reads; the file is ``unix_<table>_v<NNN>_utf8.csv``
REQUIRED_TABLES: dict[str, tuple[str, ...]] = {
    "referentiel_code_rome": ("code_rome", "libelle_rome", "code_rome_parent"),
    "cr_gd_dp": ("code_rome", "code_grand_domaine", "code_domaine_professionel"),
    "grand_domaine": ("code_grand_domaine", "libelle_grand_domaine"),
    "domaine_professionnel": ("code_domaine_professionnel", "libelle_domaine_professionnel"),
    "referentiel_appellation": (
        "code_ogr",
        "libelle_appellation_long",
        "libelle_appellation_court",
        "code_rome",
        "classification",
    ),
    "item": ("code_ogr", "libelle", "code_rubrique"),
    "liens_rome_referentiels": ("code_rome", "code_compo_bloc", "code_ogr"),
    "coherence_item": ("code_rome", "code_ogr", "coeur_metier"),
    "rubrique_mobilite": ("code_rome", "code_rome_cible", "numero_ordre"),
}
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "referentiel_savoir": ("code_ogr_savoir", "sous_categorie_savoir"),
    "referentiel_competence": ("code_ogr", "nature", "code_ogr_macro_comp"),
    "texte": ("code_rome", "libelle_type_texte", "position_phrase", "libelle_texte"),
    "referentiel_contexte_travail": ("code_ogr", "libelle_cont_travail"),
    # This one is 8-bit (ISO-8859-15) in the v460 export, despite its name.
    "arborescence_secteur_naf": ("code_rome", "libelle_secteur_naf"),
}


def _find_file(rome_dir: Path, table: str) -> Path | None:
    matches = sorted(rome_dir.glob(f"unix_{table}_v*_utf8.csv"))
    return matches[-1] if matches else None


def decode_legacy_text(raw: bytes) -> str:
    """Decode bytes that are not UTF-8: Windows-1252 or ISO-8859-15, told apart by the bytes themselves.

    Bytes 0x80-0x9F are letters in Windows-1252 but control codes in ISO-8859-15, so their presence
    means Windows-1252. Without them ISO-8859-15 is the right reading for French: the v460 NAF file
    writes "œ" as 0xBD, which Windows-1252 would show as "½" ("Man½uvre").
    """
    if any(0x80 <= byte <= 0x9F for byte in raw):
        return raw.decode("cp1252", errors="replace")
    return raw.decode("iso-8859-15")


def read_rome_table(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """Yield the rows of one export file as dicts, decoding legacy 8-bit files despite their ``utf8`` name.

    Raises
    ------
    ReferentialError
        If a required column is missing.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # France Travail ships some "utf8" files in an 8-bit encoding (the NAF tree in v460).
        text = decode_legacy_text(raw)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ReferentialError(f"{path.name}: missing column(s) {', '.join(missing)}")
    yield from reader


def rome_text(sentences: Iterable[str]) -> str:
    """One block of ``unix_texte`` as French prose.

    The official export doubles every apostrophe, as an SQL dump escapes it (``L''agent d''accueil``,
    5,248 rows of v460), and writes a block's sentences one per row without their final stop; glued
    with spaces they run into each other. Each sentence gets its apostrophes back and ends with a stop
    unless it already ends with punctuation.

    Parameters
    ----------
    sentences
        The block's ``libelle_texte`` values, in ``position_phrase`` order.

    Returns
    -------
    str
        ``"L'agent d'accueil oriente … adapté. Tient à jour l'agenda des rendez-vous."``
    """
    out = []
    for sentence in sentences:
        text = sentence.replace("''", "'").strip()
        if text:
            out.append(text if text[-1] in ".!?:;…" else f"{text}.")
    return " ".join(out)


def _read_version(rome_dir: Path) -> str:
    version_file = rome_dir / "version.txt"
    if version_file.exists():
        match = re.search(r"Numero de version\s*:\s*(\d+)", version_file.read_text(errors="replace"))
        if match:
            return f"ROME 4.0 v{match.group(1)}"
    stems = sorted(rome_dir.glob("unix_referentiel_code_rome_v*_utf8.csv"))
    match = re.search(r"_v(\d+)_utf8", stems[-1].name) if stems else None
    return f"ROME 4.0 v{match.group(1)}" if match else "ROME 4.0"


def load_rome_csv(rome_dir: Path) -> Referential:
    """Load the official ROME 4.0 export found in ``rome_dir``.

    Parameters
    ----------
    rome_dir
        Folder holding the ``unix_*_utf8.csv`` files (and optionally ``version.txt``).

    Raises
    ------
    ReferentialError
        If the folder or a required file is missing, a column is missing, or links are inconsistent.
    """
    rome_dir = Path(rome_dir)
    if not rome_dir.is_dir():
        raise ReferentialError(f"ROME export folder not found: {rome_dir}")
    files: dict[str, Path] = {}
    absent = []
    for table in REQUIRED_TABLES:
        found = _find_file(rome_dir, table)
        if found is None:
            absent.append(f"unix_{table}_v*_utf8.csv")
        else:
            files[table] = found
    if absent:
        raise ReferentialError(f"ROME export in {rome_dir} is incomplete; missing: {', '.join(absent)}")

    def rows(table: str) -> Iterator[dict[str, str]]:
        columns = REQUIRED_TABLES.get(table) or OPTIONAL_TABLES[table]
        path = files.get(table) or _find_file(rome_dir, table)
        if path is None:
            return iter(())
        return read_rome_table(path, columns)

    grand_domains = {r["code_grand_domaine"]: r["libelle_grand_domaine"] for r in rows("grand_domaine")}
    domains = {
        r["code_domaine_professionnel"]: r["libelle_domaine_professionnel"]
        for r in rows("domaine_professionnel")
    }
    fiche_domain = {
        r["code_rome"]: (r["code_grand_domaine"], r["code_domaine_professionel"]) for r in rows("cr_gd_dp")
    }

    definitions: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in rows("texte"):
        if r["libelle_type_texte"] == "definition":
            definitions[r["code_rome"]].append((int(r["position_phrase"] or 0), r["libelle_texte"]))

    fiches: dict[str, Fiche] = {}
    for line, r in enumerate(rows("referentiel_code_rome"), start=2):
        code = r["code_rome"]
        if not re.match(ROME_CODE_PATTERN, code):
            raise ReferentialError(
                f"unix_referentiel_code_rome, line {line}: code_rome {code!r} is not a ROME code"
            )
        # Every code starts with its grand domain letter and domain (A11..); the cr_gd_dp table is the
        # authority, the code prefix a fallback for fiches it does not list.
        grand, domain = fiche_domain.get(code, (code[0], code[:3]))
        text = rome_text(sentence for _, sentence in sorted(definitions.get(code, [])))
        fiches[code] = Fiche(code, r["libelle_rome"], r["code_rome_parent"] or code, domain, grand, text)

    appellations = {
        r["code_ogr"]: Appellation(
            code=r["code_ogr"],
            label=r["libelle_appellation_long"],
            short_label=r["libelle_appellation_court"] or r["libelle_appellation_long"],
            fiche_code=r["code_rome"],
            principal=r["classification"] == "PRINCIPALE",
        )
        for r in rows("referentiel_appellation")
    }

    skills: dict[str, Skill] = {}
    context_labels: dict[str, str] = {}
    category = {r["code_ogr_savoir"]: r["sous_categorie_savoir"] for r in rows("referentiel_savoir")}
    competences = {r["code_ogr"]: r for r in rows("referentiel_competence")}
    for r in rows("item"):
        kind = _RUBRIC_KIND.get(r["code_rubrique"])
        if kind is None:
            context_labels[r["code_ogr"]] = r["libelle"]
        else:
            code = r["code_ogr"]
            competence = competences.get(code, {})
            skills[code] = Skill(
                code,
                r["libelle"],
                kind,
                category.get(code, ""),
                macro=competence.get("nature") == _MACRO_NATURE,
                macro_code=competence.get("code_ogr_macro_comp", ""),
            )
    for r in rows("referentiel_contexte_travail"):
        context_labels.setdefault(r["code_ogr"], r["libelle_cont_travail"])

    core_pairs = {
        (r["code_rome"], r["code_ogr"]) for r in rows("coherence_item") if r["coeur_metier"] == _CORE_FLAG
    }
    core: dict[str, list[str]] = defaultdict(list)
    other: dict[str, list[str]] = defaultdict(list)
    contexts: dict[str, list[str]] = defaultdict(list)
    for r in rows("liens_rome_referentiels"):
        code, item, block = r["code_rome"], r["code_ogr"], r["code_compo_bloc"]
        if block == _SKILLS_BLOCK:
            (core if (code, item) in core_pairs else other)[code].append(item)
        elif block == _CONTEXTS_BLOCK:
            contexts[code].append(item)
    fiche_skills = {
        code: FicheSkills(core=tuple(core.get(code, ())), other=tuple(other.get(code, ())))
        for code in set(core) | set(other)
    }

    mobility_lists: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in rows("rubrique_mobilite"):
        try:
            rank = int(r["numero_ordre"])
        except ValueError:
            raise ReferentialError(
                f"mobility link {r['code_rome']}->{r['code_rome_cible']}: rank {r['numero_ordre']!r} is not a number"
            ) from None
        mobility_lists[r["code_rome"]].append((r["code_rome_cible"], rank))
    mobility = {
        code: tuple(sorted(links, key=lambda link: link[1])) for code, links in mobility_lists.items()
    }

    sectors: dict[str, list[str]] = defaultdict(list)
    for r in rows("arborescence_secteur_naf"):
        sectors[r["code_rome"]].append(r["libelle_secteur_naf"])

    return Referential(
        version=_read_version(rome_dir),
        fiches=fiches,
        appellations=appellations,
        skills=skills,
        fiche_skills=fiche_skills,
        mobility=mobility,
        domains=domains,
        grand_domains=grand_domains,
        work_contexts={code: tuple(items) for code, items in contexts.items()},
        context_labels=context_labels,
        naf_sectors={code: tuple(labels) for code, labels in sectors.items()},
    )
