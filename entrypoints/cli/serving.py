"""Commands of the serving side: ``matching alerts run`` (the alert batch)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import DatabaseUrl, EncoderOption, RomeDir, app, console, err_console, user_errors
from entrypoints.cli.ranking import TrackingUri

alerts_app = typer.Typer(help="Offer alerts for subscriptions.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
IndexDir = Annotated[
    Path | None, typer.Option("--index", help="Candidate indexes (default: MATCHING_INDEX_DIR or var/index).")
]


@app.command("serve")
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
    tracking_uri: TrackingUri = None,
    encoder: EncoderOption = None,
) -> None:
    """Serve the API (alerts, sourcing, POE suggestions) with uvicorn; docs at /docs."""
    import uvicorn

    from serving.app import create_app

    container = bootstrap.serving_container(
        database_url=database_url, index_dir=index_dir, encoder_spec=encoder, tracking_uri=tracking_uri
    )
    uvicorn.run(create_app(container), host=host, port=port)


@token_app.command("create")
@user_errors
def token_create(
    role: Annotated[str, typer.Option(help="jobseeker, counsellor or admin.")],
    subject: Annotated[str, typer.Option(help="The profile id (jobseeker) or the agent's id.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API token and print it (the secret is shown only this once)."""
    from matching.errors import MatchingError
    from serving.security import Role, TokenService

    try:
        chosen = Role(role)
    except ValueError:
        raise MatchingError(f"unknown role {role!r}: jobseeker, counsellor or admin") from None
    engine = bootstrap.engine(database_url=database_url)
    if (
        chosen == Role.JOBSEEKER
        and bootstrap.repository(database_url=database_url).get_profile(subject) is None
    ):
        raise MatchingError(f"no profile {subject!r} in the database")
    console.print(TokenService(engine).create(chosen, subject))


@alerts_app.command("run")
@user_errors
def alerts_run(
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Only offers created since the last finished run.")
    ] = False,
    index_dir: Annotated[
        Path | None,
        typer.Option("--index", help="Candidate indexes (default: MATCHING_INDEX_DIR or var/index)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", help="Rank as of this moment (UTC; default now), e.g. to replay a simulated world."
        ),
    ] = None,
    chunk: Annotated[
        int, typer.Option(min=1, help="Subscriptions ranked together (committed one by one).")
    ] = 100,
    dask: Annotated[
        bool, typer.Option("--dask", help="Rank partitions (by ROME block) on a Dask cluster.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (implies --dask; default: a LocalCluster on this machine)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="LocalCluster worker processes (default: one per core).")
    ] = None,
    partitions: Annotated[int | None, typer.Option(min=1, help="Partitions (default: 4 per worker).")] = None,
    database_url: DatabaseUrl = None,
    tracking_uri: TrackingUri = None,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Compute alerts for every active subscription (nightly) or for new offers (incremental).

    Each (subscription, offer) is alerted at most once; a run killed midway resumes when started again.
    """
    from serving.batch.alerts import run_alert_batch
    from serving.storage.db import ensure_schema
    from serving.storage.store import ServingStore

    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)  # fail closed, with the command to run, on a database not at the latest schema
    service = bootstrap.ranking_service(
        index_dir=index_dir, encoder_spec=encoder, tracking_uri=tracking_uri, rome_dir=rome_dir
    )
    if service.unavailable_model:
        err_console.print(
            f"[yellow]no usable champion ranker ({service.unavailable_model}): rule-based ranking[/]"
        )
    store = ServingStore(engine)
    mode = "incremental" if incremental else "nightly"
    moment = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
    with err_console.status("ranking offers for subscriptions") as status:

        def progress(done: int, total: int) -> None:
            status.update(f"subscriptions {done:,}/{total:,}")

        if dask or scheduler:
            from serving.batch.distributed import dask_client, run_alert_batch_dask

            loader = bootstrap.database_loader(
                engine.url.render_as_string(hide_password=False),
                index_dir=index_dir,
                encoder_spec=encoder,
                tracking_uri=tracking_uri,
                rome_dir=rome_dir,
            )
            status.update("starting the Dask cluster")
            with dask_client(scheduler, workers=workers) as client:
                summary = run_alert_batch_dask(
                    store,
                    service,
                    client,
                    loader,
                    mode=mode,
                    as_of=moment,
                    partitions=partitions,
                    progress=progress,
                )
        else:
            summary = run_alert_batch(store, service, mode=mode, chunk=chunk, as_of=moment, progress=progress)
    bootstrap.save_cache(service.generator.encoder)  # type: ignore[arg-type]
    console.print(
        f"alert run {summary.run_id}{' (resumed)' if summary.resumed else ''}: {summary.subscriptions:,} subscriptions, "
        f"{summary.alerts:,} alerts, {summary.quiet:,} quiet (nothing fitted), {summary.waiting:,} not due (cadence); "
        f"{summary.created:,} new subscriptions; ranking {summary.ranking}"
    )
