"""``matching daily OFFERS``: the day's France Travail offers ingested, the indexes updated, alerts sent.

Four steps, each idempotent and each resumable on its own, so the job is both: the ingest is one
transaction of upserts keyed by content hash (the same file changes nothing), the index update writes
a new version only when something changed (and switches to it atomically), and the incremental alert
batch resumes an interrupted run and alerts each (subscription, offer) once, and the dispatcher
e-mails each person's waiting alerts as one digest, exactly once (:mod:`serving.batch.delivery`). Run twice on the same
input, the second run sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from entrypoints.cli.common import (
    CommunesFile,
    DatabaseUrl,
    EncoderOption,
    IndexDir,
    RomeDir,
    app,
    console,
    err_console,
    user_errors,
)
from entrypoints.cli.data import (
    MAX_CLOSED_SHARE,
    FullExtract,
    MaxClosedShare,
    ingest_offer_files,
)
from entrypoints.cli.ranking import TrackingUri
from entrypoints.cli.serving import Scheduler, UseDask, Workers, run_alerts


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
    full: FullExtract = False,
    max_closed_share: MaxClosedShare = MAX_CLOSED_SHARE,
    index_dir: IndexDir = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="The job's moment (UTC; default: the engine's clock, MATCHING_NOW or now): expiry day and "
            "ranking moment.",
        ),
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
    done = ingest_offer_files(
        offers,
        full=full,
        max_closed_share=max_closed_share,
        rome_dir=rome_dir,
        communes_file=communes_file,
        database_url=database_url,
    )
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
    from entrypoints.cli.delivery import deliver_alerts, delivery_line

    delivered = deliver_alerts(database_url=database_url)
    expired = update.offers.dropped.get("expired", 0)
    console.print(
        f"daily: offers {done.counts.inserted:,} new, {done.counts.updated:,} updated, "
        f"{done.closed:,} closed, {expired:,} expired, {done.report.rejected:,} refused; index version {update.version}; "
        f"{summary.alerted:,} subscriptions alerted, {summary.alerts:,} alerts sent"
        + (" (alert run resumed)" if summary.resumed else "")
        + (f"; {done.counts.republished:,} reopened" if done.counts.republished else "")
        + (f"; {done.counts.conflicts:,} left to another publisher" if done.counts.conflicts else "")
        + (f"; {done.counts.older:,} older than stored" if done.counts.older else "")
        + (f"; {done.report.superseded:,} superseded in the input" if done.report.superseded else ""),
        soft_wrap=True,
    )
    console.print(delivery_line(delivered), soft_wrap=True)
    if delivered.stopped:
        err_console.print(
            f"[bold red]error:[/] delivery stopped: {delivered.stopped}; the rest waits for the next run"
        )
        raise typer.Exit(code=1)
