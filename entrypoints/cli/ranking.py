"""Commands of the ranking stage: ``matching train``, ``matching eval`` (ranking), ``matching model …``.

``train`` and ``eval`` read a simulated world folder (``--world``, the sample world by default) or the
events the service logged in a database (``--database-url``): the same ranker, features, temporal split
and registry either way; on a database only the logged outcomes grade the rankers (:mod:`eval.logged`).

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
from eval.simulator.config import MARKET_MODELS
from matching.artifacts import atomic_folder
from matching.errors import MatchingError
from models import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    import pandas as pd

    from eval.logged import LoggedContext
    from eval.market import MarketContext
    from eval.ranking import RankingEvaluation
    from matching.encoders import CachedEncoder

WorldOption = Annotated[
    Path | None,
    typer.Option("--world", help="World folder written by `matching sample` (default: the sample world)."),
]
DatabaseSource = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Learn from and evaluate on the events the service logged in this database (SQLAlchemy URL) "
        "instead of a world folder.",
    ),
]
CutoffWeek = Annotated[
    int | None,
    typer.Option(
        help="World: week of the temporal cut, learn before it, evaluate after (default: 70 % of the weeks)."
    ),
]
CutoffDay = Annotated[
    str | None,
    typer.Option(
        "--cutoff",
        help="Database: day of the temporal cut, YYYY-MM-DD (UTC): learn from alert lists sent before it, "
        "evaluate on those sent from it on (default: the day by which 70 % of the logged lists were sent).",
    ),
]
People = Annotated[
    int,
    typer.Option(help="At most this many jobseekers in the evaluation (a database's lists are all read)."),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else a SQLite store under var/mlflow).",
    ),
]
SOURCING_METRICS = {
    "ndcg@10": "NDCG@10",
    "lift@10": "lift",
    "hires@10": "hires@10",
    "refusal_rate@10": "refused@10",
    "coverage@10": "candidates shown",
    "exposure_gini@10": "candidate Gini",
}
ModelName = Annotated[str, typer.Option(help="Registered model name.")]
Tune = Annotated[
    bool,
    typer.Option(
        help="Choose the ranker's num_leaves and min_child_samples on a validation split inside the "
        "training period (the latest ~20 % of the lists sent before the cut-off) before fitting."
    ),
]
DEFAULT_MODEL = DEFAULT_MODEL_NAME
TABLE_METRICS = {
    "ndcg@10": "NDCG@10",
    "lift@10": "lift",
    "recall@10": "recall@10",
    "mrr": "MRR",
    "hires@10": "hires@10",
    "refusal_rate@10": "refused@10",
    "exposure_gini@10": "Gini",
    "fairness_min_ratio": "parity",
}
# Logged lists hold a handful of alerts: what @10 counts is the whole list whatever the order, so the
# table shows what the order changes (eval.logged.logged_ranking_metrics).
LOGGED_TABLE_METRICS = {
    "ndcg@10": "NDCG@10",
    "ndcg@3": "NDCG@3",
    "mrr": "MRR",
    "recall@3": "applied@3",
    "refusal_rate@3": "refused@3",
    "fairness_min_ratio": "parity",
}


def _encoder(encoder: str | None, follow_index: bool) -> CachedEncoder:
    """``--encoder``, else (``follow_index``) that of the published indexes, else the settings'."""
    index_dir = get_settings().index_dir if follow_index else None
    return bootstrap.encoder(choice=bootstrap.encoder_choice(spec=encoder, index_dir=index_dir))


def _context(
    world: Path | None,
    database_url: str | None,
    rome_dir: Path | None,
    encoder: str | None,
    cutoff_week: int | None,
    cutoff: str | None,
    *,
    follow_index: bool = False,
) -> LoggedContext:
    """The evaluation context of a world folder or of a database's logged events (not both).

    With ``follow_index``, embedded with the encoder of the published indexes unless one is asked for:
    a ranker trained for serving must see the similarity its indexes give.

    Raises
    ------
    MatchingError
        Both sources given, or a cut-off option of the other source (one line, exit 2).
    """
    if world is not None and database_url is not None:
        raise MatchingError(
            "--world and --database-url are exclusive: learn from a simulated world or from the events "
            "a database logged, not both"
        )
    if database_url is not None:
        if cutoff_week is not None:
            raise MatchingError(
                "--cutoff-week counts a simulated world's weeks: with --database-url give --cutoff YYYY-MM-DD"
            )
        return _database_context(database_url, rome_dir, encoder, cutoff, follow_index=follow_index)
    if cutoff is not None:
        raise MatchingError("--cutoff dates a cut in a database's events: on a world give --cutoff-week")
    return _world_context(world, rome_dir, encoder, cutoff_week, follow_index=follow_index)


def _world_context(
    world: Path | None,
    rome_dir: Path | None,
    encoder: str | None,
    cutoff_week: int | None,
    *,
    follow_index: bool,
) -> MarketContext:
    """The context of a world folder (default: the sample world), its data validated first."""
    from eval.market import MarketContext
    from eval.simulator.records import world_tables
    from features.validation import validate_tables

    data, ref = load_world_checked(world, rome_dir)
    if data.hidden.empty or data.interactions.empty:
        raise typer.BadParameter("the world has no interactions to learn from: generate it with --months ≥ 1")
    # refuse broken training data before anything is embedded, fitted or logged
    validate_tables(world_tables(data))
    enc = _encoder(encoder, follow_index)
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


def _cutoff_day(text: str) -> pd.Timestamp:
    """``--cutoff`` as UTC midnight of that day; a text that is no day is a one-line error."""
    import pandas as pd

    try:
        return pd.Timestamp(text, tz="UTC").floor("D")
    except ValueError:
        raise MatchingError(f"--cutoff {text!r} is not a day (YYYY-MM-DD)") from None


def _database_context(
    database_url: str,
    rome_dir: Path | None,
    encoder: str | None,
    cutoff: str | None,
    *,
    follow_index: bool,
) -> LoggedContext:
    """The context of the events a database logged, cut at ``cutoff`` (default: 70 % of the lists).

    The referential is the one serving uses (``--rome-dir``, else the settings'); audit attributes,
    where the database holds any, serve the parity ratios only.

    Raises
    ------
    MatchingError
        The database is unreachable or not at the latest schema, ``cutoff`` is no day, too few outcomes
        lie on either side of the cut (:class:`~eval.logged.NotEnoughOutcomesError`), or the data are
        refused by validation.
    """
    from eval.logged import LoggedContext, check_enough_outcomes, count_outcomes, default_cutoff
    from features.validation import validate_tables
    from serving.storage.db import ensure_schema, public_url
    from serving.storage.market import read_audit_attributes

    moment = _cutoff_day(cutoff) if cutoff is not None else None  # a bad day fails before any reading
    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)  # a wrong URL or an old schema: one line, before anything is read
    with _progress() as progress:
        tables = bootstrap.database_tables(database_url, progress=stage_reporter(progress, "reading"))
    moment = moment if moment is not None else default_cutoff(tables)
    # refuse an event log too thin to learn from before anything is embedded, fitted or logged
    check_enough_outcomes(count_outcomes(tables, moment), moment)
    validate_tables(tables)
    enc = _encoder(encoder, follow_index)
    with _progress() as progress:
        ctx = LoggedContext.from_tables(
            tables,
            bootstrap.referential(rome_dir=rome_dir),
            enc,
            cutoff=moment,
            source=public_url(database_url),
            audit=read_audit_attributes(engine),
            progress=stage_reporter(progress, ""),  # stages named by the context: embedding, features
        )
    bootstrap.save_cache(enc)
    return ctx


def _evaluate(ctx: LoggedContext, people: int, with_feedback: bool, tune: bool) -> RankingEvaluation:
    from eval.feedback import FeedbackConfig
    from eval.market import MarketEvalConfig
    from eval.ranking import evaluate_rankers

    with _progress() as progress:
        return evaluate_rankers(
            ctx,
            eval_config=MarketEvalConfig(max_people=people),
            feedback_config=FeedbackConfig(),
            with_feedback=with_feedback,
            tune=tune,
            progress=stage_reporter(progress, ""),
        )


def _draws(evaluation: RankingEvaluation) -> str:
    """``", mean ± sd of 5 grade draws"`` for a title where the oracle graded, else nothing."""
    draws = evaluation.protocol.get("grade_draws")
    return f", mean ± sd of {draws} grade draws" if draws else ""


def _hyper_parameters(evaluation: RankingEvaluation) -> str:
    """The ranker's tree settings and how they were chosen, in one line."""
    chosen = evaluation.protocol["hyper_parameters"]
    line = f"ranker: num_leaves {chosen['num_leaves']}, min_child_samples {chosen['min_child_samples']}"
    score = next((v for k, v in chosen.items() if k.startswith("validation_ndcg@")), None)
    if score is None:
        return f"{line}: {chosen['chosen_by']}"
    return (
        f"{line}, chosen among {len(chosen['grid'])} on {chosen['validation_lists']} validation lists sent "
        f"from {chosen['validation_from']} to the cut-off (weighted NDCG@10 {score:.3f})"
    )


def _shown_metrics(ctx: LoggedContext) -> dict[str, str]:
    """The columns of the tables: a world's candidates, or logged lists."""
    from eval.market import MarketContext

    return TABLE_METRICS if isinstance(ctx, MarketContext) else LOGGED_TABLE_METRICS


def _print_logged_note(ctx: LoggedContext, evaluation: RankingEvaluation) -> None:
    """On a database: say what graded the rankers and what could not be computed."""
    from eval.logged import SKIPPED
    from eval.market import MarketContext

    if isinstance(ctx, MarketContext):
        return
    protocol = evaluation.protocol
    console.print(
        f"[yellow]logged outcomes only[/]: {protocol['lists_after_cutoff']} alert lists sent from "
        f"{ctx.cutoff:%Y-%m-%d} on, reordered by each ranker and graded by what was logged "
        "(hired > accepted > applied > opened > not opened > refused)"
    )
    console.print("not computed without a simulator: " + "; ".join(SKIPPED))
    if ctx.audit is None:
        console.print("parity ratios not computed: the database holds no audit attributes")


def _data_tags(ctx: LoggedContext) -> dict[str, str]:
    """MLflow tags naming the data a run learnt from (a database's URL without its password)."""
    from eval.market import MarketContext

    fingerprint = ctx.tables.fingerprint()  # every event, of both sides of the cut
    if isinstance(ctx, MarketContext):
        return {"data_source": "world", "world_fingerprint": fingerprint}
    return {
        "data_source": "database",
        "database_url": ctx.source,
        "database_fingerprint": fingerprint,
        "cutoff": f"{ctx.cutoff:%Y-%m-%d}",
    }


def _print_table(
    rows: dict[str, dict[str, float]], title: str, metrics: dict[str, str] = TABLE_METRICS
) -> None:
    table = Table(title=title)
    table.add_column("ranker", no_wrap=True)
    for label in metrics.values():
        table.add_column(label, justify="right", no_wrap=True)
    for name, values in rows.items():
        table.add_row(name, *(_cell(values, m) for m in metrics))
    console.print(table)


def _cell(values: dict[str, float], metric: str) -> str:
    """``0.695``, or ``0.695 ± 0.004`` for NDCG where its spread over the grading draws is known."""
    value = f"{values.get(metric, float('nan')):.3f}"
    sd = values.get(f"{metric}_sd")
    return f"{value} ± {sd:.3f}" if metric.startswith("ndcg@") and sd is not None else value


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
    database_url: DatabaseSource = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the HTML/PNG report (default var/reports/ranking; with --market, "
            "var/reports/market: a folder per model in it, replaced as a whole)."
        ),
    ] = None,
    people: People = 600,
    cutoff_week: CutoffWeek = None,
    cutoff: CutoffDay = None,
    feedback: Annotated[
        bool, typer.Option(help="Run the two-round feedback-loop experiment (worlds only).")
    ] = True,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
    tune: Tune = True,
    market: Annotated[
        str | None,
        typer.Option(
            "--market",
            help="Run the protocol on worlds of these market models of the simulator family: all, or "
            f"names separated by commas among {', '.join(MARKET_MODELS)} (one world each, with the sample "
            "world's settings; all: about 16-27 min on 2 cores with the e5 encoder).",
        ),
    ] = None,
    market_seed: Annotated[
        int,
        typer.Option(
            help="Seed of the --market worlds: 7 by default, not the sample world's 42, on which the "
            "engine was developed (figures are reported on worlds it was not tuned on)."
        ),
    ] = 7,
) -> None:
    """Compare the learned ranker with random, popularity, rule-based, embedding-only and BM25 rankers.

    Without a subcommand: the offline ranking evaluation on a simulated world, on the events a
    database logged (--database-url: logged lists reordered, graded by their logged outcomes), or on
    every market model of the simulator family (--market all). See `eval rome` for the ROME classifier.
    """
    if context.invoked_subcommand is not None:
        return
    if market is not None:
        if world is not None or database_url is not None or cutoff is not None or cutoff_week is not None:
            raise MatchingError(
                "--market generates its own worlds: give neither --world, --database-url nor a cut-off"
            )
        report = report or Path("var/reports/market")
        _eval_family(market, market_seed, people, feedback, tune, rome_dir, encoder, json_out, report)
        return
    from eval.report import write_report

    ctx = _context(world, database_url, rome_dir, encoder, cutoff_week, cutoff)
    evaluation = _evaluate(ctx, people, feedback, tune)
    path = write_report(evaluation, report or Path("var/reports/ranking"))
    where = f"{ctx.source}, " if database_url is not None else ""
    draws = _draws(evaluation)
    _print_table(
        evaluation.table(),
        f"Offline ranking evaluation ({where}cut-off {ctx.cutoff:%Y-%m-%d}, encoder {ctx.encoder.name}{draws})",
        _shown_metrics(ctx),
    )
    console.print(", ".join(f"{k} {v:.2f}×" for k, v in evaluation.ratios().items()))
    console.print(_hyper_parameters(evaluation))
    if evaluation.market.sourcing:
        _print_table(
            evaluation.market.sourcing,
            f"Sourcing: consenting candidates ranked for open offers{draws}",
            SOURCING_METRICS,
        )
        console.print(
            "sourcing: " + ", ".join(f"{k} {v:.2f}×" for k, v in evaluation.sourcing_ratios().items())
        )
    if evaluation.feedback:
        _print_feedback(evaluation.feedback)
    _print_logged_note(ctx, evaluation)
    console.print(f"report written to {path}")
    if json_out:
        print(orjson.dumps(evaluation.as_json()).decode())


FAMILY_METRICS = {
    "ndcg@10": "NDCG@10",
    "lift@10": "lift",
    "hires@10": "hires@10",
    "refusal_rate@10": "refused@10",
}


def _eval_family(
    choice: str,
    seed: int,
    people: int,
    with_feedback: bool,
    tune: bool,
    rome_dir: Path | None,
    encoder: str | None,
    json_out: bool,
    report: Path,
) -> None:
    """``matching eval --market``: the protocol on each market model, worst case first; one report
    per model under ``report/<model>``."""
    from eval.family import evaluate_family, family_summaries, market_models
    from eval.feedback import FeedbackConfig
    from eval.market import MarketEvalConfig
    from eval.report import write_report
    from eval.simulator.config import MarketConfig

    try:
        models = market_models(choice)
    except ValueError as error:
        raise MatchingError(str(error)) from None
    # the sample world's settings, on its built-in referential and geography unless a ROME export is given
    ref = bootstrap.referential(rome_dir=rome_dir or Path("builtin"))
    communes = bootstrap.communes(communes_file=None if rome_dir else Path("builtin"))
    enc = _encoder(encoder, follow_index=False)
    with _progress() as progress:
        results = evaluate_family(
            ref,
            communes,
            enc,
            models,
            base=MarketConfig(seed=seed),
            eval_config=MarketEvalConfig(max_people=people),
            # five draws of the people's answers: a cohort's repeat rate is a handful of refusals
            feedback_config=FeedbackConfig(draws=5),
            with_feedback=with_feedback,
            tune=tune,
            progress=stage_reporter(progress, ""),
        )
    bootstrap.save_cache(enc)
    summaries = family_summaries(results)
    table = Table(
        title=f"Market family, worst case first (seed {seed}, encoder {enc.name}; "
        "NDCG@10 mean of 5 grade draws)"
    )
    for column in (
        "market model",
        "LTR/rule",
        "LTR/embedding",
        "sourcing LTR/rule",
        "feedback learning/frozen (worst)",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for row in summaries:
        table.add_row(
            row.model,
            f"{row.ltr_over_rule:.2f}",
            f"{row.ltr_over_embedding:.2f}",
            f"{row.sourcing_ltr_over_rule:.2f}",
            f"{row.feedback_worst:.2f} ({', '.join(row.feedback_judged) or 'no cohort'})"
            if with_feedback
            else "not run",
        )
    console.print(table)
    detail = Table(title="Per model and ranker (mean ± sd over the grade draws)")
    detail.add_column("market model")
    detail.add_column("ranker")
    for label in FAMILY_METRICS.values():
        detail.add_column(label, justify="right", no_wrap=True)
    for row in summaries:
        for name, metrics in results[row.model].market.metrics.items():
            detail.add_row(
                row.model,
                name,
                *(
                    f"{metrics.get(m, float('nan')):.3f} ± {metrics.get(m + '_sd', float('nan')):.3f}"
                    for m in FAMILY_METRICS
                ),
            )
    console.print(detail)
    try:
        # one folder for the family, replaced as a whole: no model's report from an earlier run stays
        with atomic_folder(report) as staging:
            for model, evaluation in results.items():
                write_report(evaluation, staging / model)
        console.print(f"reports written to {report}/<model>/report.html")
    except OSError as error:  # the figures above (and the JSON below) are not lost with the reports
        console.print(f"[red]reports not written to {report}: {error}[/red]")
    if json_out:
        print(
            orjson.dumps(
                {
                    "summary": [row.as_dict() for row in summaries],
                    "models": {model: evaluation.as_json() for model, evaluation in results.items()},
                },
                option=orjson.OPT_SERIALIZE_NUMPY,
            ).decode()
        )


# -- train ---------------------------------------------------------------------------------------------
@app.command("train")
@user_errors
def train(
    world: WorldOption = None,
    database_url: DatabaseSource = None,
    tracking_uri: TrackingUri = None,
    model_name: ModelName = DEFAULT_MODEL,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "alert-ranker",
    people: People = 600,
    cutoff_week: CutoffWeek = None,
    cutoff: CutoffDay = None,
    promote: Annotated[
        bool, typer.Option(help="Move the champion alias if the promotion gate passes.")
    ] = True,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
    tune: Tune = True,
) -> None:
    """Train the LambdaRank reranker, log it to MLflow, register it, and promote it if it passes the gate.

    On a simulated world (--world), or on the events the service logged (--database-url: learn from the
    lists sent before --cutoff, evaluate on those sent from it on). Gate: NDCG@10 not below the current
    champion's and no fairness ratio worse, both measured on the same evaluation.
    """
    from eval.ranking import champion_metrics, gate_metrics
    from models.registry import flatten_metrics, promotion_gate

    # validates the training data (pandera); the encoder of the served indexes unless one is asked for
    ctx = _context(world, database_url, rome_dir, encoder, cutoff_week, cutoff, follow_index=True)
    evaluation = _evaluate(ctx, people, with_feedback=True, tune=tune)
    registry = bootstrap.model_registry(tracking_uri=tracking_uri, model_name=model_name)
    with _progress() as progress:
        champion = champion_metrics(ctx, registry, people, progress=stage_reporter(progress, "champion:"))
    with err_console.status("logging to MLflow"):
        metrics: dict[str, Any] = {
            **evaluation.table(),
            "feedback": {f"{r}.drop": v["drop"] for r, v in evaluation.feedback.items()},
            **_tuning_metrics(evaluation),
        }
        run_id, version = registry.log_run(
            evaluation.training.ranker,
            params=_protocol_params(evaluation.protocol),
            metrics=metrics,
            data_fingerprint=evaluation.training.data_fingerprint,
            tags=_data_tags(ctx),
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
        _shown_metrics(ctx),
    )
    console.print(_hyper_parameters(evaluation))
    _print_logged_note(ctx, evaluation)
    source = f" from {ctx.source}" if database_url is not None else ""
    console.print(
        f"MLflow run {run_id}: registered {model_name} v{version}{source} "
        f"({len(flatten_metrics(metrics))} metrics logged)"
    )
    registry.record_gate(version, decision)
    if decision.promote and promote:
        registry.promote(version)
        console.print(f"[green]promoted[/] v{version} to @champion: " + "; ".join(decision.reasons))
    else:
        why = "; ".join(decision.reasons) if not decision.promote else "--no-promote given"
        console.print(f"[yellow]not promoted[/]: {why}")


def _protocol_params(protocol: dict[str, Any]) -> dict[str, Any]:
    """MLflow parameters of the protocol: ``protocol.<key>``, nested dicts flattened
    (``protocol.hyper_parameters.num_leaves``); the tuning grid goes to the metrics instead."""
    from models.registry import metric_key

    params: dict[str, Any] = {}
    for key, value in protocol.items():
        if isinstance(value, dict):
            params.update(
                {
                    f"protocol.{key}.{metric_key(name)}": item
                    for name, item in value.items()
                    if not isinstance(item, list | dict)
                }
            )
        else:
            params[f"protocol.{key}"] = value
    return params


def _tuning_metrics(evaluation: RankingEvaluation) -> dict[str, dict[str, float]]:
    """``{"tuning": {"num_leaves_7.min_child_samples_50": validation NDCG, …}}`` (empty if not tuned)."""
    tuning = evaluation.training.tuning
    if tuning is None or not tuning.scores:
        return {}
    return {
        "tuning": {
            f"num_leaves_{leaves}.min_child_samples_{samples}": score
            for leaves, samples, score in tuning.scores
        }
    }


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
    verdict = registry.gate_verdict(version)
    if verdict and verdict != "passed":  # promoted all the same, as asked: said, not refused
        err_console.print(
            f"[yellow]warning[/]: v{version} did not pass the promotion gate ({verdict.removeprefix('failed: ')})"
        )


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
    for column in ("version", "champion", "NDCG@10", "data", "created", "run"):
        table.add_column(column)
    for row in versions:
        mark = "★" if str(row["version"]) == champion else ""
        table.add_row(
            str(row["version"]), mark, str(row["ndcg_at_10"])[:6], row["data"], row["created"], row["run_id"]
        )
    console.print(table)
