"""The offline ranking evaluation end to end: train before the cut-off, compare every ranker, feedback loop.

Used by ``matching eval`` and ``matching train`` (which adds MLflow logging and the promotion gate), on
a simulated world (:class:`~eval.market.MarketContext`) or on the events a database logged
(:class:`~eval.logged.LoggedContext`: no simulator, so no feedback loop and logged-list metrics only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eval.baselines import Scorer, baseline_scorers, ltr_scorer, served_scorer
from eval.feedback import FeedbackConfig, feedback_experiment
from eval.logged import LoggedContext
from eval.market import MarketContext, MarketEvalConfig, MarketEvaluation, evaluate_logged, evaluate_market
from models.artifact import ModelIntegrityError
from models.ranker import LambdaRankRanker, RankerConfig
from models.registry import ModelRegistry, RegistryError
from models.training import HyperGrid, TrainingResult, train_ranker

Progress = Callable[[str, int, int], None]  # (stage, done, in all)


@dataclass
class RankingEvaluation:
    """Training summary, metrics by ranker (fairness included), logged-list NDCG, feedback loop."""

    training: TrainingResult
    market: MarketEvaluation
    feedback: dict[str, dict[str, float]] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)

    def table(self) -> dict[str, dict[str, float]]:
        """Per ranker: market metrics, fairness ratios and ``logged_ndcg@10``."""
        out = {}
        for name, metrics in self.market.metrics.items():
            logged = self.market.logged.get(name, {})
            out[name] = {
                **metrics,
                **self.market.fairness[name],
                **{f"logged_{k}": v for k, v in logged.items()},
            }
        return out

    def ratios(self) -> dict[str, float]:
        """LTR NDCG@10 over each baseline's (means over the grading draws)."""
        return _ndcg_ratios(self.market.metrics)

    def sourcing_ratios(self) -> dict[str, float]:
        """The same ratios in the sourcing view (people ranked for open offers); empty without it."""
        return _ndcg_ratios(self.market.sourcing)

    def as_json(self) -> dict[str, Any]:
        """``{"ltr": {...}, "rule": {...}, ..., "ratios": {...}, "sourcing": {...}, "sourcing_ratios": {...},
        "feedback": {...}, "protocol": {...}}``."""

        def clean(values: dict[str, float]) -> dict[str, float | None]:
            return {k: (round(float(v), 6) if np.isfinite(v) else None) for k, v in values.items()}

        return {
            **{name: clean(values) for name, values in self.table().items()},
            "ratios": clean(self.ratios()),
            "sourcing": {name: clean(values) for name, values in self.market.sourcing.items()},
            "sourcing_ratios": clean(self.sourcing_ratios()),
            "feedback": {reason: clean(row) for reason, row in self.feedback.items()},
            "protocol": self.protocol,
        }


def _ndcg_ratios(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """``ltr/<baseline>``: LTR's NDCG@10 over each baseline's, and ``ltr_served/rule`` (the learned
    order with the service's stated-reason policies over the rule's); empty without an ``ltr`` row."""
    ndcg = {name: m["ndcg@10"] for name, m in metrics.items()}
    if "ltr" not in ndcg:
        return {}
    out = {f"ltr/{name}": ndcg["ltr"] / v for name, v in ndcg.items() if not name.startswith("ltr") and v > 0}
    if ndcg.get("rule", 0) > 0 and "ltr_served" in ndcg:
        out["ltr_served/rule"] = ndcg["ltr_served"] / ndcg["rule"]
    return out


def ranking_scorers(ctx: LoggedContext, ranker: LambdaRankRanker, random_state: int = 0) -> dict[str, Scorer]:
    """The learned ranker first, then as served (with its stated-reason policies), then the baselines
    (all scored on the same candidates)."""
    return {
        "ltr": ltr_scorer(ranker),
        "ltr_served": served_scorer(ranker),
        **baseline_scorers(ctx.bm25, random_state),
    }


def evaluate_scorers(
    ctx: LoggedContext,
    scorers: dict[str, Scorer],
    config: MarketEvalConfig | None = None,
    *,
    progress: Progress | None = None,
) -> MarketEvaluation:
    """Every scorer on the context's protocol: a world's graded candidates (:func:`evaluate_market`),
    else the logged lists from the cut-off on (:func:`evaluate_logged`)."""
    if isinstance(ctx, MarketContext):
        return evaluate_market(ctx, scorers, config, progress=progress)
    return evaluate_logged(ctx, scorers, config, progress=progress)


def evaluate_rankers(
    ctx: LoggedContext,
    *,
    ranker_config: RankerConfig | None = None,
    eval_config: MarketEvalConfig | None = None,
    feedback_config: FeedbackConfig | None = None,
    with_feedback: bool = True,
    tune: bool | HyperGrid = False,
    progress: Progress | None = None,
) -> RankingEvaluation:
    """Train on lists before ``ctx.cutoff``, evaluate every ranker, then run the feedback loop.

    Parameters
    ----------
    ctx
        A simulated world's context, or logged events' (a database's): there the feedback loop, which
        needs simulated answers, is not run whatever ``with_feedback`` says.
    ranker_config, eval_config, feedback_config
        Settings of the ranker, of the evaluation and of the feedback loop.
    with_feedback
        Run the two-round feedback-loop experiment (worlds only).
    tune
        Choose the ranker's hyper-parameters on a validation split inside the training period first
        (``True``: the default :class:`~models.training.HyperGrid`; see
        :func:`~models.training.tune_ranker`), never on the evaluation side of the cut. The feedback
        loop's relearning uses the chosen point too.
    progress
        Called as ``(stage, done, in all)``: features of the training lists, tuning, boosting rounds,
        rankers evaluated, the feedback loop.

    Returns
    -------
    RankingEvaluation
        Its ``protocol`` says what the data were, how the hyper-parameters were chosen
        (``hyper_parameters``), how many grading draws the metrics average (``grade_draws``, worlds
        only) and, on logged events, what was not computed.

    Raises
    ------
    ValueError
        If no alert list was sent before the cut-off.
    MatchingError
        If the training data are refused, or (logged events) no list was sent from the cut-off on.
    """
    report: Progress = progress or (lambda _stage, _done, _total: None)
    eval_config = eval_config or MarketEvalConfig()
    training = train_ranker(
        ctx.tables,
        ctx.builder,
        cutoff=ctx.cutoff,
        config=ranker_config,
        tune=tune,
        progress=lambda stage, done, total: report(f"training: {stage}", done, total),
    )
    market = evaluate_scorers(
        ctx,
        ranking_scorers(ctx, training.ranker, eval_config.random_state),
        eval_config,
        progress=lambda stage, done, total: report(f"evaluating: {stage}", done, total),
    )
    feedback = {}
    simulated = isinstance(ctx, MarketContext)
    if with_feedback and isinstance(ctx, MarketContext):  # (spelt out again: mypy narrows ctx here)
        report("feedback loop: two rounds of alerts", 0, 1)
        # the loop relearns with the settings the first ranker was fitted with (chosen, when tuned)
        feedback = feedback_experiment(ctx, training.ranker, feedback_config, training.ranker.config)
        report("feedback loop: two rounds of alerts", 1, 1)
    protocol = {
        **ctx.protocol(),
        "cutoff": ctx.cutoff.strftime("%Y-%m-%d"),
        "encoder": ctx.encoder.name,
        **{k: float(v) for k, v in market.summary.items()},
        **training.summary(),
        # the candidate pools' settings mean something only where candidates are generated
        **(
            {
                "pool_size": eval_config.pool_size,
                "radius_factor": eval_config.radius_factor,
                # the oracle's grades: their own seed streams, metrics averaged over the draws
                "grade_draws": market.grade_draws,
                "random_state": eval_config.random_state,
            }
            if simulated
            else {}
        ),
        "k": eval_config.k,
        "hyper_parameters": training.hyper_parameters(),
    }
    return RankingEvaluation(training, market, feedback, protocol)


def gate_metrics(metrics: dict[str, float], fairness: dict[str, float]) -> dict[str, float]:
    """What the promotion gate compares: NDCG@10 and the fairness parity ratios."""
    return {"ndcg@10": metrics["ndcg@10"], **{k: v for k, v in fairness.items() if "ratio" in k}}


def champion_metrics(
    ctx: LoggedContext,
    registry: ModelRegistry,
    people: int,
    random_state: int = 0,
    *,
    progress: Progress | None = None,
) -> tuple[str, dict[str, float]] | None:
    """The current champion re-evaluated on the same candidates (or logged lists), or ``None`` if there
    is none.

    A champion that cannot be loaded (corrupted, features no longer computed) is reported and
    compared by its logged NDCG@10 alone.

    Raises
    ------
    RegistryError
        If the champion can neither be evaluated nor logged an NDCG@10.
    """
    version = registry.champion_version()
    if version is None:
        return None
    try:
        champion, _ = registry.load(version)
        result = evaluate_scorers(
            ctx,
            {"ltr": ltr_scorer(champion)},
            MarketEvalConfig(max_people=people, random_state=random_state),
            progress=progress,
        )
    except (RegistryError, ModelIntegrityError, ValueError) as error:
        logged = registry.client.get_model_version(registry.model_name, version).tags.get("ndcg_at_10")
        if logged in (None, "", "None"):
            raise RegistryError(
                f"champion v{version} cannot be evaluated ({error}) and logged no NDCG@10"
            ) from None
        return version, {"ndcg@10": float(logged)}
    return version, gate_metrics(result.metrics["ltr"], result.fairness["ltr"])
