"""The offer ingest use case: France Travail files parsed and stored, a full extract closing what it no
longer lists.

France Travail's offers carry no end date: the "Offres d'emploi v2" API lists the offers open today,
and one it stops listing was filled or withdrawn. A daily *full* extract is therefore the truth for the
France Travail offers: those stored and missing from it are closed (withdrawn, ``withdrawn_by =
"extract"``), those it lists again are open again. Offers published through the API have their own
source and are never closed by an extract, and an offer withdrawn through the API is never reopened by
one. A truncated download would look like a day of mass closures: an extract that would close more
than ``max_closed_share`` of the open France Travail offers is refused before anything is written.

Files may come out of order (a day run again, an older folder ingested late): a version of an offer
never replaces a newer one (``dateActualisation``), in the input (:func:`matching.ingest.parse_offers`)
or stored (:meth:`~serving.storage.repository.SqlRepository.upsert_offers`). An extract listing an
older version than the stored one is older than that version: it still counts as listing the offer
(not closed), but does not reopen one a later extract closed.

The parse, the upsert and the closure are separate transactions; each is idempotent, so an interrupted
ingest run again on the same input ends in the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matching.domain import FRANCE_TRAVAIL
from matching.errors import IngestError, MatchingError
from matching.geo import Communes
from matching.ingest import IngestReport, parse_offers, read_offer_records, rome_classifier_for
from matching.referential import Referential
from matching.skills import SkillExtractor, with_inferred_skills

if TYPE_CHECKING:  # SQLAlchemy and pandas: imported by the functions that store
    from serving.storage.repository import SqlRepository, UpsertCounts

OFFER_FILES = ("*.json", "*.jsonl")
# A full extract that would close more than this share of the open France Travail offers is more
# likely a truncated download than a day's closures.
MAX_CLOSED_SHARE = 0.5


def offer_files(path: Path) -> list[Path]:
    """The offer files of ``path``.

    Parameters
    ----------
    path
        A file, or a folder of France Travail v2 pages (``*.json``, ``*.jsonl``).

    Returns
    -------
    list[Path]
        ``[path]`` for a file; the folder's offer files in name order.

    Raises
    ------
    IngestError
        Nothing there, or a folder without ``.json`` / ``.jsonl`` files.
    """
    return files_of(path, OFFER_FILES, "offer")


def files_of(path: Path, patterns: Sequence[str], noun: str) -> list[Path]:
    """``[path]`` for a file; a folder's files matching ``patterns``, in name order.

    Raises
    ------
    IngestError
        Nothing at ``path``, or a folder without such files (``noun``, "offer", names them).
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise IngestError(f"{noun}s file or folder not found: {path}")
    files = sorted({f for pattern in patterns for f in path.glob(pattern) if f.is_file()})
    if not files:
        kinds = " or ".join(p.rsplit("*", 1)[-1] for p in patterns)
        raise IngestError(f"no {kinds} {noun} files in {path}")
    return files


def read_offer_files(path: Path) -> list[Any]:
    """The raw offer records of ``path``.

    Parameters
    ----------
    path
        A file, or a folder of pages (see :func:`offer_files`).

    Returns
    -------
    list[Any]
        The records of every file in name order (one element of the API's ``resultats`` each).

    Raises
    ------
    IngestError
        See :func:`offer_files` and :func:`matching.ingest.read_offer_records`.
    """
    return [record for file in offer_files(path) for record in read_offer_records(file)]


@dataclass(frozen=True)
class OfferIngest:
    """What one ingest did (or, in a dry run, would do).

    Attributes
    ----------
    counts
        Offers inserted, updated, unchanged, republished, ids left to another source, and versions
        older than the stored ones (the stored ones kept).
    report
        The parser's report: offers kept, fields dropped or corrected, records refused.
    closed
        France Travail offers a full extract closed (a dry run: would close); 0 without ``full``.
    open_before
        With ``full``: the open France Travail offers before the extract.
    refused
        With ``full`` in a dry run: a real run would refuse the extract (too many closures).
    skills_inferred
        Offers given skills read from their text (:func:`matching.skills.with_inferred_skills`);
        ``None`` when no skill extractor was given.
    """

    counts: UpsertCounts
    report: IngestReport
    closed: int = 0
    open_before: int = 0
    refused: bool = False
    skills_inferred: int | None = None


def ingest_offers(
    records: Sequence[Any],
    repository: SqlRepository,
    *,
    referential: Referential | None,
    communes: Communes | None,
    full: bool = False,
    max_closed_share: float = MAX_CLOSED_SHARE,
    dry_run: bool = False,
    on_record: Callable[[], None] | None = None,
    skills: SkillExtractor | None = None,
) -> OfferIngest:
    """Parse France Travail v2 records and store the offers; a full extract also closes the missing ones.

    Parameters
    ----------
    records
        Raw records (one element of the API's ``resultats`` each; see :func:`read_offer_files`).
    repository
        Where the offers are stored (its schema up to date).
    referential, communes
        For the parser: ROME codes checked and settled against the appellations, records without a
        ``romeCode`` coded by the ROME classifier (:func:`matching.ingest.rome_classifier_for`), places
        geocoded.
    full
        The records are France Travail's full extract of open offers (see the module's docstring).
    max_closed_share
        With ``full``: refuse an extract that would close more than this share (0 to 1) of the open
        France Travail offers.
    dry_run
        Parse and count only; nothing is written.
    on_record
        Called after each record is parsed (progress).
    skills
        The skill extractor (``matching skills build``) that reads each offer's skills from its text;
        ``None``: the offers keep the skills they list, and those read before from the same text.

    Returns
    -------
    OfferIngest
        The counts, the parse report and the offers closed.

    Raises
    ------
    MatchingError
        A full extract closing more than ``max_closed_share`` of the open offers (nothing written;
        a dry run reports it in ``refused`` instead).
    """
    # fit once for the run, and only when a record lacks a romeCode (about 2 s on the official ROME)
    classifier = rome_classifier_for(records, referential)
    offers, report = parse_offers(
        records, referential=referential, communes=communes, classifier=classifier, on_record=on_record
    )
    if skills is not None:
        offers = with_inferred_skills(offers, skills)
    elif not dry_run:  # the skills read before from an unchanged text are kept, not erased
        offers = repository.with_stored_inferred_skills(offers)
    inferred = None if skills is None else sum(bool(o.inferred_skills) for o in offers)
    closed = open_before = 0
    too_many = False
    if full:
        # every id listed counts, parsed or not: an offer whose new version was refused is still open
        listed = {r["id"].strip() for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)}
        closed, open_before = repository.count_missing_offers(listed, source=FRANCE_TRAVAIL)
        too_many = bool(open_before) and closed > max_closed_share * open_before
        if too_many and not dry_run:
            raise MatchingError(
                f"this full extract would close {closed:,} of the {open_before:,} open France Travail "
                f"offers (more than {max_closed_share:.0%}): a truncated download? Nothing was written; "
                "pass --max-closed-share 1 if it is right"
            )
    if dry_run:
        from serving.storage.repository import UpsertCounts

        return OfferIngest(
            UpsertCounts(), report, closed, open_before, refused=too_many, skills_inferred=inferred
        )
    counts = repository.upsert_offers(offers, republish="closed" if full else "none")
    if full:
        closed = repository.close_missing_offers(listed, source=FRANCE_TRAVAIL)
    return OfferIngest(counts, report, closed, open_before, skills_inferred=inferred)
