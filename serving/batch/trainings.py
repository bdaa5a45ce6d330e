"""The training ingest use case: LHEO catalogue files parsed, checked against the XSD, and stored; Mon
Compte Formation catalogues read and reported (they list no sessions to store).

Each file is read on its own: a file that is not well-formed XML, or not LHEO 2.2 / 2.3, is reported
in one line and the others go on; inside a file, a field that cannot be read is dropped with a problem
and a session that is no training (no hours, no start) is counted, never the whole run. Storing
replaces a training of the same id (``lheo-<session numero>``): ingesting a file again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matching.errors import IngestError
from matching.geo import Communes
from matching.ingest.lheo import parse_lheo
from matching.ingest.mcf import parse_mcf
from matching.ingest.trainings import trainings_from_sessions
from matching.referential import Referential
from serving.batch.ingest import files_of

if TYPE_CHECKING:
    from serving.storage.repository import SqlRepository

TRAINING_FILES = ("*.xml", "*.csv")
#: Why a Mon Compte Formation training is read but not stored (the engine's trainings are sessions).
NO_SESSION_DATES = (
    "no session dates in the Mon Compte Formation catalogue: read, not stored (dates to confirm)"
)


@dataclass(frozen=True)
class TrainingFile:
    """What one file gave: its LHEO version and shape (``"MCF"``, ``"catalogue"`` for a Mon Compte
    Formation CSV, whose trainings are counted in ``sessions``), sessions read, trainings kept; or its
    error."""

    path: Path
    version: str | None = None
    shape: str | None = None
    sessions: int = 0
    trainings: int = 0
    error: str | None = None


@dataclass
class TrainingIngest:
    """The run: per file, the problems by ``(field, problem)``, and how many trainings were stored."""

    files: list[TrainingFile] = field(default_factory=list)
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)
    stored: int = 0

    @property
    def failed(self) -> list[TrainingFile]:
        return [f for f in self.files if f.error]


def _catalogue(path: Path, run: TrainingIngest) -> TrainingFile:
    """A Mon Compte Formation CSV: read and reported; its trainings have no sessions to store."""
    try:
        parsed = parse_mcf(path.read_text(encoding="utf-8-sig"), path.name)
    except (IngestError, OSError, UnicodeDecodeError) as error:
        message = (
            str(error)
            if isinstance(error, IngestError)
            else f"{path.name}: not readable as UTF-8 text ({error})"
        )
        return TrainingFile(path, error=message)
    run.problems.update(parsed.problem_counts())
    if parsed.trainings:
        run.problems[("session", NO_SESSION_DATES)] += len(parsed.trainings)
    return TrainingFile(path, "MCF", "catalogue", len(parsed.trainings), 0)


def training_files(path: Path) -> list[Path]:
    """``[path]`` for a file; a folder's ``*.xml`` (LHEO) and ``*.csv`` (Mon Compte Formation) files in
    name order (see
    :func:`serving.batch.ingest.files_of`)."""
    return files_of(path, TRAINING_FILES, "training")


def ingest_trainings(
    paths: Sequence[Path],
    repository: SqlRepository | None,
    *,
    referential: Referential | None,
    communes: Communes | None,
    schema: Any | None = None,
    on_file: Callable[[], None] | None = None,
) -> TrainingIngest:
    """Parse LHEO files into trainings and store them (``repository=None``: a dry run).

    Parameters
    ----------
    paths
        LHEO 2.2 / 2.3 documents (full export or search summary).
    repository
        Where the trainings go; ``None`` reads and reports only.
    referential, communes
        ROME codes are checked against the referential; places without coordinates are placed with
        the communes.
    schema
        The LHEO 2.3 XSD (``xmlschema.XMLSchema``): its errors are reported per record, never fatal.
    on_file
        Called after each file (progress).
    """
    run = TrainingIngest()
    for path in paths:
        if path.suffix.lower() == ".csv":
            run.files.append(_catalogue(path, run))
            if on_file:
                on_file()
            continue
        try:
            parsed = parse_lheo(path.read_bytes(), path.name, schema)
        except (IngestError, OSError) as error:
            run.files.append(TrainingFile(path, error=str(error)))
            if on_file:
                on_file()
            continue
        trainings, problems = trainings_from_sessions(parsed.sessions, referential, communes)
        run.problems.update(parsed.problem_counts())
        run.problems.update((p.field, p.problem) for p in problems)
        if repository is not None and trainings:
            run.stored += repository.upsert_trainings(trainings)
        run.files.append(
            TrainingFile(path, parsed.version, parsed.shape, len(parsed.sessions), len(trainings))
        )
        if on_file:
            on_file()
    return run
