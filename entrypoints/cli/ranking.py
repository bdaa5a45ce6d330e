"""Commands of the ranking stage: ``matching train``, ``matching eval`` (ranking), ``matching model …``.

Registered on the main app by :mod:`entrypoints.cli`; heavy libraries are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from entrypoints import bootstrap
from entrypoints.cli.common import (
    EncoderOption,
    RomeDir,
    _progress,
    app,
    console,
    err_console,
    eval_app,
    load_world_checked,
    model_app,
    stage_reporter,
    user_errors,
)
from entrypoints.settings import get_settings
from eval.simulator.records import world_tables
from models import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    from eval.market import MarketContext
    from eval.ranking import RankingEvaluation

WorldOption = Annotated[
    Path | None,
    typer.Option("--world", help="World folder written by `matching sample` (default: the sample world)."),
]
CutoffWeek = Annotated[
    int | None,
    typer.Option(
        help="Week of the temporal cut: learn before it, evaluate after (default: 70 % of the weeks)."
    ),
]
People = Annotated[int, typer.Option(help="At most this many jobseekers in the evaluation.")]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else a SQLite store under var/mlflow).",
    ),
]
SOURCING_METRICS = {
    "ndcg@10": "NDCG@10",
    "hires@10": "hires@10",
    "refusal_rate@10": "refused@10",
    "coverage@10": "candidates shown",
    "exposure_gini@10": "candidate Gini",
}
ModelName = Annotated[str, typer.Option(help="Registered model name.")]
DEFAULT_MODEL = DEFAULT_MODEL_NAME
TABLE_METRICS = {
    "ndcg@10": "NDCG@10",
    "recall@10": "recall@10",
    "mrr": "MRR",
    "hires@10": "hires@10",
    "refusal_rate@10": "refused@10",
    "exposure_gini@10": "Gini",
    "fairness_min_ratio": "parity",
}


def _context(
    world: Path | None,
    rome_dir: Path | None,
    encoder: str | None,
    cutoff_week: int | None,
    *,
    follow_index: bool = False,
) -> MarketContext:
    """The evaluation context of a world; with ``follow_index``, embedded with the encoder of the
    published indexes unless one is asked for (a ranker trained for serving must see the similarity
    its indexes give)."""
    from eval.market import MarketContext
    from features.validation import validate_tables

    data, ref = load_world_checked(world, rome_dir)
    if data.hidden.empty or data.interactions.empty:
        raise typer.BadParameter("the world has no interactions to learn from: generate it with --months ≥ 1")
    # refuse broken training data before anything is embedded, fitted or logged
    validate_tables(world_tables(data))
    index_dir = get_settings().index_dir if follow_index else None
    enc = bootstrap.encoder(choice=bootstrap.encoder_choice(spec=encoder, index_dir=index_dir))
    with _progress() as progress:
        try:
            ctx = MarketContext.build(
                data,
                ref,
                enc,
                cutoff_week=cutoff_week,
                progress=stage_reporter(progress, f"embedding ({enc.name})"),
            )
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    bootstrap.save_cache(enc)
    return ctx


def _evaluate(ctx: MarketContext, people: int, with_feedback: bool) -> RankingEvaluation:
    from eval.feedback import FeedbackConfig
    from eval.market import MarketEvalConfig
    from eval.ranking import evaluate_rankers

    with err_console.status("evaluating") as status:
        return evaluate_rankers(
            ctx,
            eval_config=MarketEvalConfig(max_people=people),
            feedback_config=FeedbackConfig(),
            with_feedback=with_feedback,
            progress=lambda message: status.update(message),
        )


def _print_table(
    rows: dict[str, dict[str, float]], title: str, metrics: dict[str, str] = TABLE_METRICS
) -> None:
    table = Table(title=title)
    table.add_column("ranker", no_wrap=True)
    for label in metrics.values():
        table.add_column(label, justify="right", no_wrap=True)
    for name, values in rows.items():
        table.add_row(name, *(f"{values.get(m, float('nan')):.3f}" for m in metrics))
    console.print(table)


def _print_feedback(feedback: dict[str, dict[str, float]]) -> None:
    table = Table(title="Feedback loop: repeat refusals for the same reason (share of the cohort's alerts)")
    for column in (
        "reason",
        "people",
        "round 1",
        "r2 frozen",
        "r2 learning",
        "drop",
        "alerts r2 f/l",
        "applied r2 f/l",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for reason, row in feedback.items():
        table.add_row(
            reason,
            f"{row['people']:.0f}",
            f"{row['round1']:.3f}",
            f"{row['round2_frozen']:.3f}",
            f"{row['round2']:.3f}",
            f"{row['drop']:.0%}",
            f"{row['alerts_round2_frozen']:.0f}/{row['alerts_round2']:.0f}",
            f"{row['applications_round2_frozen']:.0f}/{row['applications_round2']:.0f}",
        )
    console.print(table)


# -- eval (ranking) -----------------------------------------------------------------------------------
@eval_app.callback(invoke_without_command=True)
@user_errors
def eval_ranking(
    context: typer.Context,
    world: WorldOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")] = False,
    report: Annotated[Path, typer.Option(help="Folder of the HTML/PNG report.")] = Path(
        "var/reports/ranking"
    ),
    people: People = 600,
    cutoff_week: CutoffWeek = None,
    feedback: Annotated[bool, typer.Option(help="Run the two-round feedback-loop experiment.")] = True,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Compare the learned ranker with random, popularity, rule-based, embedding-only and BM25 rankers.

    Without a subcommand: the offline ranking evaluation on a simulated world (see `eval rome` for the
    ROME classifier).
    """
    if context.invoked_subcommand is not None:
        return
    from eval.report import write_report

    ctx = _context(world, rome_dir, encoder, cutoff_week)
    evaluation = _evaluate(ctx, people, feedback)
    path = write_report(evaluation, report)
    _print_table(
        evaluation.table(),
        f"Offline ranking evaluation (cut-off {ctx.cutoff:%Y-%m-%d}, encoder {ctx.encoder.name})",
    )
    console.print(", ".join(f"{k} {v:.2f}×" for k, v in evaluation.ratios().items()))
    _print_table(
        evaluation.market.sourcing, "Sourcing: consenting candidates ranked for open offers", SOURCING_METRICS
    )
    if evaluation.feedback:
        _print_feedback(evaluation.feedback)
    console.print(f"report written to {path}")
    if json_out:
        print(orjson.dumps(evaluation.as_json()).decode())


# -- train ---------------------------------------------------------------------------------------------
@app.command("train")
@user_errors
def train(
    world: WorldOption = None,
    tracking_uri: TrackingUri = None,
    model_name: ModelName = DEFAULT_MODEL,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "alert-ranker",
    people: People = 600,
    cutoff_week: CutoffWeek = None,
    promote: Annotated[
        bool, typer.Option(help="Move the champion alias if the promotion gate passes.")
    ] = True,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Train the LambdaRank reranker, log it to MLflow, register it, and promote it if it passes the gate.

    Gate: NDCG@10 not below the current champion's and no fairness ratio worse, both measured on the
    same evaluation.
    """
    from eval.ranking import champion_metrics, gate_metrics
    from models.registry import flatten_metrics, promotion_gate

    # validates the training data (pandera); the encoder of the served indexes unless one is asked for
    ctx = _context(world, rome_dir, encoder, cutoff_week, follow_index=True)
    evaluation = _evaluate(ctx, people, with_feedback=True)
    registry = bootstrap.model_registry(tracking_uri=tracking_uri, model_name=model_name)
    with err_console.status("logging to MLflow"):
        champion = champion_metrics(ctx, registry, people)
        metrics: dict[str, Any] = {
            **evaluation.table(),
            "feedback": {f"{r}.drop": v["drop"] for r, v in evaluation.feedback.items()},
        }
        run_id, version = registry.log_run(
            evaluation.training.ranker,
            params={f"protocol.{k}": v for k, v in evaluation.protocol.items()},
            metrics=metrics,
            data_fingerprint=evaluation.training.data_fingerprint,
            tags={"world_fingerprint": ctx.tables.fingerprint()},
            experiment=experiment,
        )
    candidate = gate_metrics(evaluation.market.metrics["ltr"], evaluation.market.fairness["ltr"])
    decision = promotion_gate(candidate, champion[1] if champion else None)
    _print_table(
        {
            "candidate": {**candidate, **evaluation.table()["ltr"]},
            **({f"champion v{champion[0]}": champion[1]} if champion else {}),
        },
        "Promotion gate",
    )
    console.print(
        f"MLflow run {run_id}: registered {model_name} v{version} ({len(flatten_metrics(metrics))} metrics logged)"
    )
    if decision.promote and promote:
        registry.promote(version)
        console.print(f"[green]promoted[/] v{version} to @champion: " + "; ".join(decision.reasons))
    else:
        why = "; ".join(decision.reasons) if not decision.promote else "--no-promote given"
        console.print(f"[yellow]not promoted[/]: {why}")


# -- model registry -----------------------------------------------------------------------------------
@model_app.command("rollback")
@user_errors
def model_rollback(tracking_uri: TrackingUri = None, model_name: ModelName = DEFAULT_MODEL) -> None:
    """Point the champion alias back to the version the current champion replaced."""

    current, previous = bootstrap.model_registry(tracking_uri=tracking_uri, model_name=model_name).rollback()
    console.print(f"{model_name}@champion: v{current} → v{previous}")


@model_app.command("promote")
@user_errors
def model_promote(
    version: Annotated[
        str, typer.Argument(help="The registered version to serve (see `matching model list`).")
    ],
    tracking_uri: TrackingUri = None,
    model_name: ModelName = DEFAULT_MODEL,
) -> None:
    """Point the champion alias at a registered version, whatever the promotion gate said (the API and
    the alert batch follow it; `matching model rollback` goes back)."""

    registry = bootstrap.model_registry(tracking_uri=tracking_uri, model_name=model_name)
    version = version.removeprefix("v")
    before = registry.champion_version()
    registry.promote(version)
    console.print(f"{model_name}@champion: " + (f"v{before} → v{version}" if before else f"v{version}"))


@model_app.command("list")
@user_errors
def model_list(tracking_uri: TrackingUri = None, model_name: ModelName = DEFAULT_MODEL) -> None:
    """Registered versions of the ranker, newest first, with the champion marked."""

    registry = bootstrap.model_registry(tracking_uri=tracking_uri, model_name=model_name)
    versions = registry.describe()
    if not versions:
        console.print(f"no registered versions of {model_name}: run `matching train`")
        return
    champion = registry.champion_version()
    table = Table(title=f"{model_name} ({registry.tracking_uri})")
    for column in ("version", "champion", "NDCG@10", "created", "run"):
        table.add_column(column)
    for row in versions:
        mark = "★" if str(row["version"]) == champion else ""
        table.add_row(str(row["version"]), mark, str(row["ndcg_at_10"])[:6], row["created"], row["run_id"])
    console.print(table)
