"""Commands of the serving side: ``matching serve``, ``matching token create``, ``matching alerts run``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    DatabaseUrl,
    EncoderOption,
    IndexDir,
    RomeDir,
    _progress,
    app,
    console,
    err_console,
    eval_app,
    user_errors,
)
from entrypoints.cli.ranking import TrackingUri
from matching.clock import as_utc
from matching.errors import MatchingError

if TYPE_CHECKING:
    from serving.batch.alerts import BatchSummary
    from serving.batch.index_update import IndexUpdate

alerts_app = typer.Typer(help="Offer alerts for subscriptions.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


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
    role: Annotated[str, typer.Option(help="jobseeker, counsellor, admin or partner (publishes offers).")],
    subject: Annotated[
        str, typer.Option(help="The profile id (jobseeker), the agent's id, or the partner's name.")
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API token and print it (the secret is shown only this once)."""
    from matching.errors import MatchingError
    from serving.security import Role, TokenService

    try:
        chosen = Role(role)
    except ValueError:
        raise MatchingError(f"unknown role {role!r}: {', '.join(Role)}") from None
    engine = bootstrap.engine(database_url=database_url)
    if (
        chosen == Role.JOBSEEKER
        and bootstrap.repository(database_url=database_url).get_profile(subject) is None
    ):
        raise MatchingError(f"no profile {subject!r} in the database")
    console.print(TokenService(engine).create(chosen, subject))


Incremental = Annotated[
    bool,
    typer.Option(
        "--incremental",
        help="Only offers received since each subscription was last ranked (not the whole open market).",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (implies --dask; default: a LocalCluster on this machine)."),
]
UseDask = Annotated[bool, typer.Option("--dask", help="Rank partitions (by ROME block) on a Dask cluster.")]
Workers = Annotated[
    int | None, typer.Option(min=1, help="LocalCluster worker processes (default: one per core).")
]


@alerts_app.command("run")
@user_errors
def alerts_run(
    incremental: Incremental = False,
    update_index: Annotated[
        bool | None,
        typer.Option(
            "--update-index/--no-update-index",
            help="First publish a new index version from the database (`matching index update`), so that "
            "offers stored since the last one (ingested, published through the API) are ranked. "
            "Default: on with --incremental (new offers are its point), off otherwise.",
            show_default=False,
        ),
    ] = None,
    index_dir: IndexDir = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="Rank as of this moment (UTC; default: the engine's clock, MATCHING_NOW or now), e.g. to "
            "replay a simulated world.",
        ),
    ] = None,
    chunk: Annotated[
        int, typer.Option(min=1, help="Subscriptions ranked together (committed one by one).")
    ] = 100,
    dask: UseDask = False,
    scheduler: Scheduler = None,
    workers: Workers = None,
    partitions: Annotated[int | None, typer.Option(min=1, help="Partitions (default: 4 per worker).")] = None,
    database_url: DatabaseUrl = None,
    tracking_uri: TrackingUri = None,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Compute alerts for every active subscription (nightly) or for new offers (incremental).

    Each (subscription, offer) is alerted at most once; a run killed midway resumes when started again.
    """
    summary, _ = run_alerts(
        incremental=incremental,
        update_index=incremental if update_index is None else update_index,
        index_dir=index_dir,
        as_of=as_of,
        chunk=chunk,
        dask=dask,
        scheduler=scheduler,
        workers=workers,
        partitions=partitions,
        database_url=database_url,
        tracking_uri=tracking_uri,
        rome_dir=rome_dir,
        encoder=encoder,
    )
    console.print(
        f"alert run {summary.run_id}{' (resumed)' if summary.resumed else ''}: {summary.subscriptions:,} subscriptions, "
        f"{summary.alerts:,} alerts, {summary.quiet:,} quiet (nothing fitted), {summary.waiting:,} not due (cadence); "
        f"{summary.created:,} new subscriptions; ranking {summary.ranking}",
        soft_wrap=True,
    )


def run_alerts(
    *,
    incremental: bool,
    update_index: bool = False,
    index_dir: Path | None = None,
    as_of: datetime | None = None,
    chunk: int = 100,
    dask: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    partitions: int | None = None,
    database_url: str | None = None,
    tracking_uri: str | None = None,
    rome_dir: Path | None = None,
    encoder: str | None = None,
) -> tuple[BatchSummary, IndexUpdate | None]:
    """Run (or resume) the alert batch on the database with the published indexes and the champion,
    in this process or on Dask (``dask`` or a ``scheduler`` address), with a progress bar.

    With ``update_index``, first publish an index version from the database (its line is printed).

    Returns
    -------
    tuple
        What the run produced, and the index update (``None`` without ``update_index``).

    Raises
    ------
    StorageError
        The database is unreachable or not at the latest schema.
    """
    from entrypoints.cli.common import _progress
    from entrypoints.cli.index import update_from_database, update_line
    from serving.batch.alerts import run_alert_batch
    from serving.storage.db import ensure_schema
    from serving.storage.store import ServingStore

    # a moment without a zone is UTC, for the index update and the batch alike; none: the engine's clock
    # (MATCHING_NOW in a demo), the one the API stamps answers with
    moment = as_utc(as_of) if as_of is not None else bootstrap.clock().now()
    update = None
    if update_index:
        update = update_from_database(
            index_dir=index_dir, database_url=database_url, encoder=encoder, rome_dir=rome_dir, as_of=moment
        )
        console.print(update_line(update), soft_wrap=True)  # one line, whatever the width

    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)  # fail closed, with the command to run, on a database not at the latest schema
    service = bootstrap.ranking_service(
        index_dir=index_dir, encoder_spec=encoder, tracking_uri=tracking_uri, rome_dir=rome_dir
    )
    if service.unavailable_model:
        err_console.print(
            f"[yellow]no usable champion ranker ({service.unavailable_model}): rule-based ranking[/]"
        )
    store = ServingStore(engine, clock=bootstrap.clock())
    mode = "incremental" if incremental else "nightly"
    with _progress() as bar:
        task = bar.add_task("ranking offers for subscriptions", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if dask or scheduler:
            from serving.batch.distributed import dask_client, run_alert_batch_dask

            loader = bootstrap.database_loader(
                engine.url.render_as_string(hide_password=False),
                index_dir=index_dir,
                encoder_spec=encoder,
                tracking_uri=tracking_uri,
                rome_dir=rome_dir,
            )
            bar.update(task, description="starting the Dask cluster")
            with dask_client(scheduler, workers=workers) as client:
                bar.update(task, description="ranking offers for subscriptions (Dask)")
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
    return summary, update


@eval_app.command("served")
@user_errors
def eval_served(
    source: Annotated[
        str,
        typer.Option(help="The offers to measure: their source ('france_travail': the ingested real ones)."),
    ] = "france_travail",
    k: Annotated[
        int, typer.Option(min=1, max=100, help="Candidates asked per offer, as a counsellor's page.")
    ] = 20,
    sample: Annotated[
        int, typer.Option(min=0, help="Open this many offers drawn with --seed (0: every located offer).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the --sample draw.")] = 0,
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
    tracking_uri: TrackingUri = None,
    encoder: EncoderOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")] = False,
) -> None:
    """What the served engine gives the real offers: sourcing coverage and alerts sent.

    Opens every open offer of SOURCE with a known place through the sourcing use case the API serves
    (``GET /offers/{id}/candidates``; the lists are logged under the counsellor ``eval-served``), and
    counts the alerts of those offers already in the database, with the "why" of a few.
    """
    import random

    import orjson

    from eval.served import alert_coverage, declared_contracts_respected, sourcing_coverage
    from serving.security import Principal, Role

    container = bootstrap.serving_container(
        database_url=database_url, index_dir=index_dir, encoder_spec=encoder, tracking_uri=tracking_uri
    )
    repository = container.repository
    offers = [
        o
        for o in repository.live_offers(container.clock.today())
        if o.source == source and o.location.lat is not None and o.location.lon is not None
    ]
    if not offers:
        raise MatchingError(f"no open offer with a known place from source {source!r} in the database")
    if sample and sample < len(offers):
        offers = sorted(random.Random(seed).sample(offers, sample), key=lambda o: o.id)
    principal = Principal(token_id="eval-served", role=Role.COUNSELLOR, subject_id="eval-served")
    with _progress() as progress:
        task = progress.add_task("opening offers", total=len(offers))
        sourcing, empty = sourcing_coverage(
            container, principal, offers, k=k, on_offer=lambda: progress.advance(task)
        )
    alerts = alert_coverage(container, source=source)
    out = err_console if json_out else console  # --json: stdout holds the JSON alone
    out.print(
        f"sourcing: {sourcing['with_candidate']:,.0f} of {sourcing['offers']:,.0f} located offers "
        f"({sourcing['share_with_candidate']:.1%}) get at least one consenting candidate with an explanation "
        f"({sourcing['mean_candidates']:.1f} listed on average, k={k})",
        soft_wrap=True,
    )
    if empty:
        titles = {o.id: o.title for o in offers}
        out.print(
            "  without a candidate, e.g.: " + "; ".join(f"{i} {titles[i]!r}" for i in empty[:5]),
            soft_wrap=True,
            markup=False,
        )
    figures = alerts.figures
    out.print(
        f"alerts: {figures['offers_alerted']:,.0f} offers of {source!r} alerted to "
        f"{figures['jobseekers_alerted']:,.0f} jobseekers ({figures['alerts']:,.0f} of the "
        f"{figures['alerts_all_sources']:,.0f} alerts in the database); "
        f"{figures['alerts_unlocated']:,.0f} of them for national offers (no place: anyone's commute), "
        f"{figures['alerts_approximate']:,.0f} for offers placed at a département, region or postal code "
        f"(the commute reaching its edge), {figures['alerts_nowhere']:,.0f} for offers abroad or of an "
        "unknown place",
        soft_wrap=True,
    )
    for example in alerts.examples:
        why = example.why
        out.print(
            f"  {example.profile_id} ← {example.offer_id} {example.title!r}, {example.place or 'lieu inconnu'}: "
            f"{why.rome_relation} · {why.commute}"
            + "".join(f" · ✓ {s}" for s in why.skills_covered[:2])
            + "".join(f" · ✗ {s}" for s in why.skills_missing[:2]),
            soft_wrap=True,
            markup=False,
        )
    criteria = declared_contracts_respected(container.engine)
    out.print(
        f"declared contracts: {criteria['alerts_outside']:,.0f} of the {criteria['alerts_declaring']:,.0f} alerts "
        f"to subscriptions declaring contracts carry another one ({criteria['share_outside']:.1%}; "
        "a person who opted in to other contracts is not counted)",
        soft_wrap=True,
    )
    if json_out:
        payload = {
            "source": source,
            "k": k,
            "sourcing": sourcing,
            "alerts": figures,
            "declared_contracts": criteria,
        }
        print(orjson.dumps(payload).decode())
