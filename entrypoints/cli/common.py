"""What every command group shares: the ``matching`` app, its sub-apps, common options, error handling.

Every user error (:class:`~matching.errors.MatchingError`) ends as a one-line red message and exit
code 2, never a stack trace.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from matching.errors import MatchingError

if TYPE_CHECKING:
    from eval.simulator import World
    from matching.referential import Referential

app = typer.Typer(
    help="Matching engine for job offers, jobseeker profiles and trainings (ROME 4.0).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
rome_app = typer.Typer(
    help="Query the ROME 4.0 referential; build the ROME classifier and code texts with it.",
    no_args_is_help=True,
)
ingest_app = typer.Typer(help="Ingest external data.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and loading.", no_args_is_help=True)
geo_app = typer.Typer(help="Geography tools.", no_args_is_help=True)
model_app = typer.Typer(
    help="Models: build the offline encoder, list and roll back rankers.", no_args_is_help=True
)
eval_app = typer.Typer(help="Offline evaluation (rankers without a subcommand).")
index_app = typer.Typer(help="Candidate indexes over offers, profiles and trainings.", no_args_is_help=True)
formacode_app = typer.Typer(
    help="Formacode → ROME competences: build the links trainings' taught skills come from, show them.",
    no_args_is_help=True,
)
skills_app = typer.Typer(
    help="Skills from offers' texts: build the skill extractor, read an offer's skills with it.",
    no_args_is_help=True,
)
app.add_typer(rome_app, name="rome")
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")
app.add_typer(geo_app, name="geo")
app.add_typer(model_app, name="model")
app.add_typer(eval_app, name="eval")
app.add_typer(index_app, name="index")
app.add_typer(formacode_app, name="formacode")
app.add_typer(skills_app, name="skills")

# Tables keep their columns when the output is piped or captured (rich would assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the width
F = TypeVar("F", bound=Callable[..., Any])

RomeDir = Annotated[
    Path | None,
    typer.Option(
        "--rome-dir",
        help="Official ROME 4.0 CSV export folder, or 'builtin' (default: MATCHING_ROME_DIR, else the "
        "reference data's rome_v460 when present, else the built-in referential).",
    ),
]
CommunesFile = Annotated[
    Path | None,
    typer.Option(
        "--communes",
        help="La Poste commune base CSV, or 'builtin' (default: MATCHING_COMMUNES_FILE, else the reference "
        "data's when present, else built-in département centroids).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: MATCHING_DATABASE_URL, else a SQLite file under var/).",
    ),
]
IndexDir = Annotated[
    Path | None, typer.Option("--index", help="Candidate indexes (default: MATCHING_INDEX_DIR or var/index).")
]


def user_errors(func: F) -> F:
    """Turn engine errors and the system's refusals (``OSError``) into one clear line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MatchingError as error:
            err_console.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(code=2) from None
        except BrokenPipeError:
            # the reader stopped early (`... --json | head`): not an error; stdout goes to /dev/null so
            # that flushing it at exit does not fail again (Python's documented recipe for SIGPIPE)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(code=0) from None
        except OSError as error:  # the machine's side (permissions, a full disk, a held lock): no traceback
            where = f" ({error.filename})" if error.filename else ""
            err_console.print(f"[bold red]error:[/] {error.strerror or error}{where}", markup=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        # what a command writes to standard output (JSON lines, figures) stays there, not on the
        # bar's standard error
        redirect_stdout=False,
    )


def stage_reporter(progress: Progress, verb: str) -> Callable[[str, int, int], None]:
    """A ``(stage, done, total)`` callback drawing one bar per stage, named ``"<verb> <stage>"`` (the
    stage alone when ``verb`` is empty), with the counts, the time spent and the time left."""
    tasks: dict[str, TaskID] = {}
    # Output to a file or a pipe (`make run > log`) gets no live bar: a stage running longer than
    # LOG_EVERY_S seconds says the same in a plain line every LOG_EVERY_S seconds and at its end
    # (counts, time spent, time left).
    plain = not progress.console.is_terminal
    started: dict[str, float] = {}
    said: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        name = f"{verb} {stage}".strip()
        if stage not in tasks:
            tasks[stage] = progress.add_task(name, total=total)
            started[stage] = said[stage] = time.monotonic()
        progress.update(tasks[stage], completed=done)
        now = time.monotonic()
        # a quick stage stays silent, as its transient bar would be
        long_enough = now - started[stage] >= LOG_EVERY_S
        if plain and long_enough and (now - said[stage] >= LOG_EVERY_S or (total and done >= total)):
            said[stage] = now
            spent = now - started[stage]
            left = spent / done * (total - done) if done and total else None
            share = f" ({100 * done / total:.0f} %)" if total else ""
            eta = f", about {_duration(left)} left" if left else ""
            progress.console.print(f"{name}: {done}/{total or '?'}{share}, {_duration(spent)}{eta}")

    return report


#: Seconds between two plain progress lines of one stage when the output is not a terminal.
LOG_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    """``"2 min 05 s"``, ``"12 s"``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


EncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder",
        help="'e5', 'e5-onnx', 'use', 'hashing' (lexical, no model), 'none' (classifier: lexical only), or a model folder (default: MATCHING_ENCODER, else 'e5').",
    ),
]


def load_world_checked(world: Path | None, rome_dir: Path | None = None) -> tuple[World, Referential]:
    """Read a world folder (default: the sample world) with the referential it was generated on.

    The world's manifest names its referential version: the built-in referential for a world made on
    it (the committed sample world), else the official export given by ``rome_dir`` or the settings.

    Raises
    ------
    MatchingError
        If the folder is not a world, or no referential at hand is the one it was generated on.
    """
    from entrypoints import bootstrap
    from entrypoints.settings import get_settings
    from eval.simulator import read_manifest, read_world

    folder = world or get_settings().sample_dir
    ref = bootstrap.referential_of_world(
        folder, str(read_manifest(folder)["referential_version"]), rome_dir=rome_dir
    )
    return read_world(folder), ref
