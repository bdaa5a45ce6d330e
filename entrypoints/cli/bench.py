"""``matching bench``: the national-scale benchmark (parts in :mod:`eval.bench`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from entrypoints.cli.common import RomeDir, app, console, user_errors
from matching.errors import MatchingError


@app.command("bench")
@user_errors
def bench(
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
    """Measure encoder throughput, index build and memory, sourcing latency, incremental indexing and
    the alert batch on a national-size world; writes ``<work>/bench.json`` and prints a Markdown table."""
    from entrypoints.settings import get_settings
    from eval.bench.parts import BenchPaths
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
