"""``matching bench``: the national-scale benchmark, and ``bench api`` / ``bench retrieval`` on smaller
worlds (measurements in :mod:`eval.bench`; this module wires settings and parts to them and prints).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from entrypoints.cli.common import EncoderOption, RomeDir, app, console, user_errors
from matching.errors import MatchingError

# Help from the callback's docstring: it describes what runs without a subcommand.
bench_app = typer.Typer()
app.add_typer(bench_app, name="bench")


# -- national (no subcommand) ---------------------------------------------------------------------------
@bench_app.callback(invoke_without_command=True)
@user_errors
def bench(
    context: typer.Context,
    world: Annotated[
        Path, typer.Option(help="National world written by `matching sample --profiles 1000000 …`.")
    ] = Path("var/national"),
    parts: Annotated[
        str, typer.Option(help="Comma-separated parts: encoder, index, sourcing, incremental, alerts.")
    ] = "encoder,index,sourcing,incremental,alerts",
    work: Annotated[Path, typer.Option(help="Folder for the indexes built and the JSON results.")] = Path(
        "var/bench"
    ),
    rome_dir: RomeDir = None,
    queries: Annotated[int, typer.Option(min=10, help="Sourcing queries timed.")] = 300,
    new_offers: Annotated[int, typer.Option(min=100, help="New offers embedded and indexed.")] = 50_000,
    alert_workers: Annotated[
        str, typer.Option(help="Dask worker counts the alert part runs with, comma-separated.")
    ] = "1,2",
    subscriptions: Annotated[
        int, typer.Option(min=100, help="Subscriptions ranked by the alert part (1 then 2 Dask workers).")
    ] = 40_000,
) -> None:
    """Benchmarks; without a subcommand, the national-scale one.

    Measures encoder throughput, index build and memory, sourcing latency, incremental indexing and
    the alert batch on a national-size world, each part in its own process; writes
    `<work>/bench.json` and prints a Markdown table. `bench api` and `bench retrieval` run on smaller
    worlds.
    """
    if context.invoked_subcommand is not None:
        return
    from entrypoints.settings import get_settings
    from eval.bench.national import BenchPaths
    from eval.bench.runner import PARTS, markdown, run_parts
    from eval.simulator import read_manifest

    chosen = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        raise MatchingError(f"unknown benchmark parts: {', '.join(unknown)} (known: {', '.join(PARTS)})")
    read_manifest(world)  # a clear error when the world is missing
    settings = get_settings()
    official = settings.reference_data / "rome_v460"
    paths = BenchPaths(
        world=world.resolve(),
        work=work.resolve(),
        rome_dir=rome_dir or settings.rome_dir or (official if official.is_dir() else None),
        model_dir=settings.model_dir,
    )
    options: dict[str, dict[str, Any]] = {
        "sourcing": {"queries": queries, "sample_world": settings.sample_dir},
        "incremental": {"offers": new_offers},
        "alerts": {
            "subscriptions": subscriptions,
            "workers": _counts(alert_workers),
            "sample_world": settings.sample_dir,
        },
    }
    try:
        results = run_parts(chosen, paths, options)
    except (ValueError, RuntimeError) as error:
        raise MatchingError(str(error)) from None
    merged = paths.work / "bench.json"
    previous = json.loads(merged.read_text()) if merged.exists() else {}
    merged.write_text(json.dumps(previous | results, indent=2) + "\n")
    console.print(markdown(previous | results))
    console.print(f"results: {merged}")


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise MatchingError(
            f"--alert-workers takes comma-separated counts, e.g. 1,2 (got {text!r})"
        ) from None
    if not counts or min(counts) < 1:
        raise MatchingError("--alert-workers needs at least one count of 1 or more")
    return counts


# -- api ------------------------------------------------------------------------------------------------
@bench_app.command("api")
@user_errors
def bench_api(
    world: Annotated[
        Path | None, typer.Option(help="World folder with interactions (default: the sample world).")
    ] = None,
    encoder: EncoderOption = None,
    requests: Annotated[int, typer.Option(min=10, help="Requests timed per endpoint.")] = 200,
    rome_dir: RomeDir = None,
) -> None:
    """Latency of the serving endpoints and the alert batch's throughput on a small world.

    Times sourcing top-50, my alerts and alert feedback (in-process ASGI calls) and the alert batch, on
    the world loaded into a throw-away SQLite database. Prints one line per figure and, last, one JSON
    line.
    """
    from entrypoints import bootstrap
    from entrypoints.cli.common import load_world_checked
    from entrypoints.world_loader import load_world
    from eval.bench.api import api_latency

    data, referential = load_world_checked(world, rome_dir)
    cached = bootstrap.encoder(spec=encoder)
    try:
        results = api_latency(data, referential, cached, load_world, requests=requests)
    finally:  # embeddings computed before a failure are not computed again next time
        bootstrap.save_cache(cached)
    console.print(
        f"cores: {os.cpu_count()}, world: {len(data.profiles):,} profiles, {len(data.offers):,} offers"
    )
    _print_figures({"encoder": cached.name, **results})


# -- retrieval ------------------------------------------------------------------------------------------
@bench_app.command("delivery")
@user_errors
def bench_delivery(
    people: Annotated[int, typer.Option(min=100, help="People, each with one digest to send.")] = 20_000,
    per_digest: Annotated[int, typer.Option(min=1, max=20, help="Alerts per digest.")] = 5,
    shards: Annotated[
        int, typer.Option(min=1, max=64, help="Dispatcher processes run together (--shard i/n).")
    ] = 1,
) -> None:
    """Alert e-mails: digests rendered and handed to a real SMTP server (loopback) per second."""
    from entrypoints import bootstrap
    from eval.bench.delivery import delivery_throughput

    figures = delivery_throughput(
        bootstrap.referential(), bootstrap.communes(), people=people, per_digest=per_digest, shards=shards
    )
    console.print(json.dumps(figures), soft_wrap=True)


@bench_app.command("retrieval")
@user_errors
def bench_retrieval(
    reference_data: Annotated[
        Path | None,
        typer.Option(
            help="Reference data folder: rome_v460/, communes/, offers_ft_api_v2/ (default: MATCHING_REFERENCE_DATA)."
        ),
    ] = None,
    recall_profiles: Annotated[
        int, typer.Option(min=10, help="Profiles of the recall part's market.")
    ] = 20_000,
    recall_offers: Annotated[int, typer.Option(min=10, help="Offers of the recall part's market.")] = 10_000,
    latency_offers: Annotated[
        int, typer.Option(min=100, help="Offers indexed by the latency part.")
    ] = 100_000,
    queries: Annotated[int, typer.Option(min=1, help="Profiles timed by the latency part.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the simulated markets.")] = 1,
    skip_speed: Annotated[bool, typer.Option(help="Skip the encoder speed part.")] = False,
    skip_recall: Annotated[bool, typer.Option(help="Skip the recall part.")] = False,
    latency_encoder: Annotated[str, typer.Option(help="'use' (fast to build 100k) or 'e5-int8'.")] = "use",
) -> None:
    """Encoder speed, candidate recall and query latency of retrieval.

    Encoder speed on real offers, recall@100 of applied/hired offers in a simulated market, and query
    latency at 100k offers (official ROME, La Poste communes). Prints one line per figure and, last,
    one JSON line.
    """
    from entrypoints import bootstrap
    from entrypoints.settings import get_settings
    from eval.bench.retrieval import LATENCY_ENCODERS, retrieval_bench

    if latency_encoder not in LATENCY_ENCODERS:
        raise MatchingError(
            f"--latency-encoder takes {' or '.join(LATENCY_ENCODERS)} (got {latency_encoder!r})"
        )
    settings = get_settings()
    data = reference_data or settings.reference_data
    results = retrieval_bench(
        bootstrap.referential(rome_dir=data / "rome_v460"),
        bootstrap.communes(communes_file=data / "communes" / "laposte_hexasmal_latlon.csv"),
        data / "offers_ft_api_v2" / "offers.json",
        settings.model_dir,
        recall_profiles=recall_profiles,
        recall_offers=recall_offers,
        latency_offers=latency_offers,
        queries=queries,
        seed=seed,
        speed=not skip_speed,
        recall=not skip_recall,
        latency_encoder=latency_encoder,
    )
    _print_figures(results)


def _print_figures(results: dict[str, Any]) -> None:
    """One line per figure (a latency's percentiles on one line), then every figure as one JSON line
    for scripts."""
    for name, value in results.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{key} {figure:g}" for key, figure in value.items())
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
        console.print(f"{name}: {shown}", markup=False, highlight=False)
    typer.echo(json.dumps(results))
