"""``matching daily OFFERS``: the day's France Travail offers ingested, the indexes updated, alerts sent.

Three steps, each idempotent and each resumable on its own, so the job is both: the ingest is one
transaction of upserts keyed by content hash (the same file changes nothing), the index update writes
a new version only when something changed (and switches to it atomically), and the incremental alert
batch resumes an interrupted run and alerts each (subscription, offer) once. Run twice on the same
input, the second run sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    CommunesFile,
    DatabaseUrl,
    EncoderOption,
    IndexDir,
    RomeDir,
    _progress,
    app,
    console,
    user_errors,
)
from entrypoints.cli.ranking import TrackingUri
from entrypoints.cli.serving import Scheduler, UseDask, Workers, run_alerts
from matching.errors import IngestError

if TYPE_CHECKING:
    from matching.ingest import IngestReport
    from serving.storage.repository import UpsertCounts

OFFER_FILES = ("*.json", "*.jsonl")


def offer_files(path: Path) -> list[Path]:
    """``path`` itself, or the France Travail v2 JSON files of the folder ``path`` in name order.

    Raises
    ------
    IngestError
        Nothing there, or a folder without ``.json`` / ``.jsonl`` files.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise IngestError(f"offers file or folder not found: {path}")
    files = sorted({f for pattern in OFFER_FILES for f in path.glob(pattern) if f.is_file()})
    if not files:
        raise IngestError(f"no .json or .jsonl offer files in {path}")
    return files


def ingest(
    path: Path, *, rome_dir: Path | None, communes_file: Path | None, database_url: str | None
) -> tuple[UpsertCounts, IngestReport]:
    """Parse every offer of ``path`` (a file or a folder of pages) and upsert them in one transaction."""
    from matching.ingest import parse_offers, read_offer_records
    from serving.storage.db import migrate

    records = [record for file in offer_files(path) for record in read_offer_records(file)]
    with _progress() as progress:
        task = progress.add_task("parsing offers", total=len(records))
        offers, report = parse_offers(
            records,
            referential=bootstrap.referential(rome_dir=rome_dir),
            communes=bootstrap.communes(communes_file=communes_file),
            on_record=lambda: progress.advance(task),
        )
    migrate(bootstrap.engine(database_url=database_url))
    return bootstrap.repository(database_url=database_url).upsert_offers(offers), report


@app.command("daily")
@user_errors
def daily(
    offers: Annotated[
        Path,
        typer.Argument(
            help="The day's offers: a France Travail 'Offres d'emploi v2' JSON file (array, API page or "
            "JSON lines) or a folder of them."
        ),
    ],
    index_dir: IndexDir = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="The job's moment (UTC; default now): expiry day and ranking moment."),
    ] = None,
    dask: UseDask = False,
    scheduler: Scheduler = None,
    workers: Workers = None,
    database_url: DatabaseUrl = None,
    tracking_uri: TrackingUri = None,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    encoder: EncoderOption = None,
) -> None:
    """Ingest the day's offers, publish a new index version, and run the incremental alert batch.

    Idempotent and resumable: started again after a failure, or on the same input, it redoes only what
    is missing (the second run on the same file sends no alert). Ends with one summary line.
    """
    counts, report = ingest(offers, rome_dir=rome_dir, communes_file=communes_file, database_url=database_url)
    summary, update = run_alerts(
        incremental=True,
        update_index=True,
        index_dir=index_dir,
        as_of=as_of,
        dask=dask,
        scheduler=scheduler,
        workers=workers,
        database_url=database_url,
        tracking_uri=tracking_uri,
        rome_dir=rome_dir,
        encoder=encoder,
    )
    assert update is not None  # asked for
    expired = update.offers.dropped.get("expired", 0)
    console.print(
        f"daily: offers {counts.inserted:,} new, {counts.updated:,} updated, {expired:,} expired, "
        f"{report.rejected:,} refused; index version {update.version}; "
        f"{summary.alerted:,} subscriptions alerted, {summary.alerts:,} alerts sent"
        + (" (alert run resumed)" if summary.resumed else ""),
        soft_wrap=True,
    )
