"""Building the Formacode → ROME competence links from the reference data's tables, real offers and
catalogues (:mod:`matching.formacode`); file reading stays here, the linking is pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matching.artifacts import sha256_file
from matching.encoders.base import Encoder
from matching.errors import IngestError, MatchingError
from matching.formacode import FormacodeSkillLinker, FormacodeThesaurus, TitleCoder
from matching.ingest.formacode import (
    formacode,
    read_formacode_thesaurus,
    read_offer_formations,
    read_rome_v2_formacodes,
    read_v12_v13,
)
from matching.ingest.mcf import parse_mcf
from matching.referential import Referential

#: Where each table sits under the reference data (``../shared/data``; see its ``trainings/README.md``).
THESAURUS = Path("trainings/lheo/formacode/FCod-utf-8.csv")
V12_V13 = Path("trainings/formacode/formacode_v12_v13_correspondance.tsv")
ROME_V2 = Path("trainings/lheo/rome_formacode/RomeFCod-utf-8.csv")
OFFERS = Path("offers_ft_api_v2/offers.json")
CATALOGUES = Path("trainings/mcf_catalogue")


@dataclass
class FormacodeSources:
    """The files a build reads (``None``: absent) and their checksums, which name the build."""

    thesaurus: Path
    v12_v13: Path | None = None
    rome_v2: Path | None = None
    offers: Path | None = None
    catalogues: list[Path] = field(default_factory=list)

    @classmethod
    def under(cls, reference_data: Path, offers: Path | None = None) -> FormacodeSources:
        """The tables under ``reference_data``; ``offers`` replaces its offers file.

        Raises
        ------
        MatchingError
            When the Formacode thesaurus is not there (nothing to link).
        """
        thesaurus = reference_data / THESAURUS
        if not thesaurus.is_file():
            raise MatchingError(
                f"no Formacode thesaurus at {thesaurus}: set MATCHING_REFERENCE_DATA to the reference data"
            )

        def present(relative: Path) -> Path | None:
            path = reference_data / relative
            return path if path.is_file() else None

        folder = reference_data / CATALOGUES
        return cls(
            thesaurus=thesaurus,
            v12_v13=present(V12_V13),
            rome_v2=present(ROME_V2),
            offers=offers if offers is not None else present(OFFERS),
            catalogues=sorted(folder.glob("**/*.csv")) if folder.is_dir() else [],
        )

    def checksums(self) -> dict[str, str | None]:
        """``{file name: sha256}`` of every source (a build whose sources did not change is skipped)."""
        paths = [self.thesaurus, self.v12_v13, self.rome_v2, self.offers, *self.catalogues]
        return {p.name: sha256_file(p) for p in paths if p is not None}


def read_source(path: Path) -> str:
    """A source's text; one line naming the file when it is not UTF-8 or cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{path.name}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise IngestError(f"{path}: cannot be read ({error.strerror})") from None


def read_thesaurus(sources: FormacodeSources) -> tuple[FormacodeThesaurus, set[str]]:
    """The thesaurus with the V12 → V13 table and the labels the catalogues and offers print, and every
    Formacode the catalogues name."""
    labels: dict[str, str] = {}
    named: set[str] = set()
    for path in sources.catalogues:
        for course in parse_mcf(read_source(path), path.name).trainings:
            named.update(course.formacodes)
            if course.formacodes and course.formacode_label:
                labels[course.formacodes[0]] = course.formacode_label
    if sources.offers is not None:
        for item in read_offer_formations(read_source(sources.offers)):
            if item.label:
                labels.setdefault(item.formacode, item.label)
    terms = read_formacode_thesaurus(read_source(sources.thesaurus))
    changes = read_v12_v13(read_source(sources.v12_v13)) if sources.v12_v13 else []
    return FormacodeThesaurus(terms, changes, labels), named


def build_formacode_links(
    sources: FormacodeSources,
    referential: Referential,
    encoder: Encoder,
    *,
    title_coder: TitleCoder | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> FormacodeSkillLinker:
    """Link every Formacode the sources know (the thesaurus, the V13 table, the offers' and the
    catalogues' codes) to the ROME competences it teaches.

    Raises
    ------
    MatchingError
        When a source is not of its format (:class:`~matching.errors.IngestError`, one line).
    """
    thesaurus, named = read_thesaurus(sources)
    rome_v2 = read_rome_v2_formacodes(read_source(sources.rome_v2)) if sources.rome_v2 else []
    offers = read_offer_formations(read_source(sources.offers)) if sources.offers else []
    codes = {c for c in set(thesaurus.codes) | {o.formacode for o in offers} | named if formacode(c)}
    return FormacodeSkillLinker(referential, encoder).fit(
        thesaurus,
        rome_v2=rome_v2,
        offer_formations=offers,
        codes=sorted(codes),
        title_coder=title_coder,
        progress=progress,
    )
