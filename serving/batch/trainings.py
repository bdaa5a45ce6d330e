"""The training ingest use case: LHEO catalogue files parsed, checked against the XSD, and stored; Mon
Compte Formation catalogues read and stored as courses whose dates are to confirm (they list no
sessions). With Formacode links, each training gets the ROME competences its Formacodes teach.

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

from matching.domain import Training
from matching.errors import IngestError
from matching.geo import Communes
from matching.ingest.lheo import parse_lheo
from matching.ingest.mcf import parse_mcf
from matching.ingest.trainings import SkillLinks, training_from_catalogue, trainings_from_sessions
from matching.referential import Referential
from serving.batch.ingest import files_of

if TYPE_CHECKING:
    from serving.storage.repository import SqlRepository

TRAINING_FILES = ("**/*.xml", "**/*.csv")  # a folder and its sub-folders
#: What a Mon Compte Formation course lacks, said once per course stored.
NO_SESSION_DATES = "no session dates in the Mon Compte Formation catalogue: dates to confirm"


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
    formacodes: set[str] = field(default_factory=set)  # every Formacode the files name
    trainings: list[Training] = field(default_factory=list)  # every training kept (stored or not)

    @property
    def with_skills(self) -> int:
        """Trainings kept that teach at least one linked ROME competence."""
        return sum(bool(t.skills) for t in self.trainings)

    @property
    def failed(self) -> list[TrainingFile]:
        return [f for f in self.files if f.error]


def _catalogue(
    path: Path,
    run: TrainingIngest,
    repository: SqlRepository | None,
    referential: Referential | None,
    communes: Communes | None,
    links: SkillLinks | None,
) -> TrainingFile:
    """A Mon Compte Formation CSV: its courses stored with dates to confirm."""
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
    trainings = {}
    for course in parsed.trainings:
        run.formacodes.update(course.formacodes)
        training, problems = training_from_catalogue(course, referential, communes, links)
        run.problems.update((p.field, p.problem) for p in problems)
        if training is not None:
            trainings[training.id] = training
    if trainings:
        run.problems[("session", NO_SESSION_DATES)] += len(trainings)
    _store(list(trainings.values()), repository, run)
    return TrainingFile(path, "MCF", "catalogue", len(parsed.trainings), len(trainings))


def _store(trainings: list[Training], repository: SqlRepository | None, run: TrainingIngest) -> None:
    run.trainings.extend(trainings)
    if repository is not None and trainings:
        run.stored += repository.upsert_trainings(trainings)


def training_files(path: Path) -> list[Path]:
    """``[path]`` for a file; the ``*.xml`` (LHEO) and ``*.csv`` (Mon Compte Formation) files of a
    folder and its sub-folders, in path order (see :func:`serving.batch.ingest.files_of`)."""
    return files_of(path, TRAINING_FILES, "training")


def ingest_trainings(
    paths: Sequence[Path],
    repository: SqlRepository | None,
    *,
    referential: Referential | None,
    communes: Communes | None,
    schema: Any | None = None,
    links: SkillLinks | None = None,
    on_file: Callable[[], None] | None = None,
) -> TrainingIngest:
    """Parse LHEO files and Mon Compte Formation catalogues into trainings and store them
    (``repository=None``: a dry run).

    Parameters
    ----------
    paths
        LHEO 2.2 / 2.3 documents (full export or search summary), Mon Compte Formation CSVs.
    repository
        Where the trainings go; ``None`` reads and reports only.
    referential, communes
        ROME codes are checked against the referential; places without coordinates are placed with
        the communes.
    schema
        The LHEO 2.3 XSD (``xmlschema.XMLSchema``): its errors are reported per record, never fatal.
    links
        Formacode → ROME competence links (:class:`matching.formacode.FormacodeSkillLinker`): the
        skills each training teaches; ``None``: trainings without skills.
    on_file
        Called after each file (progress).
    """
    run = TrainingIngest()
    for path in paths:
        if path.suffix.lower() == ".csv":
            run.files.append(_catalogue(path, run, repository, referential, communes, links))
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
        trainings, problems = trainings_from_sessions(parsed.sessions, referential, communes, links)
        run.formacodes.update(code for session in parsed.sessions for code in session.formacodes)
        run.problems.update(parsed.problem_counts())
        run.problems.update((p.field, p.problem) for p in problems)
        _store(trainings, repository, run)
        run.files.append(
            TrainingFile(path, parsed.version, parsed.shape, len(parsed.sessions), len(trainings))
        )
        if on_file:
            on_file()
    return run
