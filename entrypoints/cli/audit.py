"""``matching audit``: the trust audit (parity, biased ranker, biased labels, twins) as a report."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    CommunesFile,
    EncoderOption,
    RomeDir,
    app,
    console,
    err_console,
    user_errors,
)
from entrypoints.cli.ranking import CutoffWeek, TrackingUri, WorldOption, _world_context
from models import DEFAULT_MODEL_NAME


@app.command("audit")
@user_errors
def audit(
    world: WorldOption = None,
    out: Annotated[Path, typer.Option(help="Folder of the report (report.md, plots, audit.json).")] = Path(
        "var/audit"
    ),
    champion: Annotated[
        bool,
        typer.Option(
            "--champion/--retrain",
            help="Audit the registered champion (default), or a ranker trained here on the world's history.",
        ),
    ] = True,
    people: Annotated[int, typer.Option(min=50, help="At most this many jobseekers audited.")] = 2000,
    offers: Annotated[int, typer.Option(min=20, help="At most this many offers sourced.")] = 600,
    twins: Annotated[int, typer.Option(min=10, help="People declared twice (counterfactual twins).")] = 300,
    floor: Annotated[
        float, typer.Option(min=0.5, max=1.0, help="Parity ratio under which the monitor alarms.")
    ] = 0.9,
    cutoff_week: CutoffWeek = None,
    tracking_uri: TrackingUri = None,
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = DEFAULT_MODEL_NAME,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    encoder: EncoderOption = None,
) -> None:
    """Audit a ranker for group fairness on a simulated market and write a report (exit 1 if a check fails).

    Exposure and equal opportunity@20 by sex, age band and QPV for alerts and sourcing; a deliberately
    biased ranker must trip the monitor; a bias injected into the history must not be amplified;
    counterfactual twins must move by at most one place in 99 % of pairs.
    """
    from eval.audit.report import write_report
    from eval.audit.runner import AuditConfig, run_audit
    from models.registry import RegistryError
    from models.training import train_ranker

    ctx = _world_context(world, rome_dir, encoder, cutoff_week, follow_index=False)
    if champion:
        try:
            ranker, version = bootstrap.model_registry(
                tracking_uri=tracking_uri, model_name=model_name
            ).load()
        except RegistryError as error:
            raise typer.BadParameter(f"{error}; or pass --retrain to audit a ranker trained here") from None
        audited = f"{model_name} v{version} (champion)"
    else:
        with err_console.status("training a ranker on the history before the cut-off"):
            ranker = train_ranker(ctx.tables, ctx.builder, cutoff=ctx.cutoff).ranker
        audited = "ranker trained on the world's history"
    config = AuditConfig(max_people=people, max_offers=offers, twins=twins, floor=floor)
    with err_console.status("auditing") as status:
        result = run_audit(
            ctx,
            ranker,
            bootstrap.communes(communes_file=communes_file),
            config,
            progress=lambda message: status.update(message),
        )
    result.protocol["model"] = audited
    report = write_report(result, out, "matching " + " ".join(sys.argv[1:]))
    for check, holds in result.checks().items():
        console.print(f"{'[green]✓[/]' if holds else '[red]✗[/]'} {check}")
    console.print(f"report: {report}")
    if not result.passed:
        raise typer.Exit(code=1)


def _week(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


@app.command("drift")
@user_errors
def drift(
    world: WorldOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Read offers and profiles from this database instead of a world folder."),
    ] = None,
    reference_week: Annotated[
        str | None, typer.Option(help="A day of the reference week (default: the week before the current).")
    ] = None,
    current_week: Annotated[
        str | None,
        typer.Option(help="A day of the week compared (default: the last complete week of offers)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder of the report (report.md, drift.json).")] = Path(
        "var/drift"
    ),
) -> None:
    """Compare the offers created and the profiles registered in two weeks: PSI, KS, missing values."""
    import pandas as pd

    from entrypoints.cli.common import load_world_checked
    from eval.drift import drift_between_weeks, last_complete_week
    from matching.artifacts import atomic_folder

    if database_url is not None:
        from serving.storage.market import read_market_tables

        tables = read_market_tables(bootstrap.engine(database_url=database_url))
    else:
        from eval.simulator.records import world_tables

        tables = world_tables(load_world_checked(world)[0])
    if tables.offers.empty:
        raise typer.BadParameter("no offers to compare")
    current = pd.Timestamp(_week(current_week) or last_complete_week(tables))
    reference = pd.Timestamp(_week(reference_week) or current - pd.Timedelta(days=7))
    report = drift_between_weeks(tables, reference, current)
    with atomic_folder(out) as staging:
        (staging / "report.md").write_text(report.markdown())
        payload = {
            "reference_week": f"{report.reference_week:%Y-%m-%d}",
            "current_week": f"{report.current_week:%Y-%m-%d}",
            "sizes": report.sizes,
            "offers": report.offers.to_dict(orient="records"),
            "profiles": report.profiles.to_dict(orient="records"),
            "drifted": report.drifted,
        }
        (staging / "drift.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    console.print(report.markdown())
    console.print(f"drifted: {', '.join(report.drifted) or 'none'} · report: {out / 'report.md'}")
