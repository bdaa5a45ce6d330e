"""The offline ranking evaluation end to end: train before the cut-off, compare every ranker, feedback loop.

Used by ``matching eval`` and ``matching train`` (which adds MLflow logging and the promotion gate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eval.baselines import Scorer, baseline_scorers, ltr_scorer
from eval.feedback import FeedbackConfig, feedback_experiment
from eval.market import MarketContext, MarketEvalConfig, MarketEvaluation, evaluate_market
from models.artifact import ModelIntegrityError
from models.ranker import LambdaRankRanker, RankerConfig
from models.registry import ModelRegistry, RegistryError
from models.training import TrainingResult, train_ranker

Progress = Callable[[str], None]


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
        """LTR NDCG@10 over each baseline's."""
        ndcg = {name: m["ndcg@10"] for name, m in self.market.metrics.items()}
        return {f"ltr/{name}": ndcg["ltr"] / v for name, v in ndcg.items() if name != "ltr" and v > 0}

    def as_json(self) -> dict[str, Any]:
        """``{"ltr": {...}, "rule": {...}, ..., "ratios": {...}, "sourcing": {...}, "feedback": {...}, "protocol": {...}}``."""

        def clean(values: dict[str, float]) -> dict[str, float | None]:
            return {k: (round(float(v), 6) if np.isfinite(v) else None) for k, v in values.items()}

        return {
            **{name: clean(values) for name, values in self.table().items()},
            "ratios": clean(self.ratios()),
            "sourcing": {name: clean(values) for name, values in self.market.sourcing.items()},
            "feedback": {reason: clean(row) for reason, row in self.feedback.items()},
            "protocol": self.protocol,
        }


def ranking_scorers(ctx: MarketContext, ranker: LambdaRankRanker, random_state: int = 0) -> dict[str, Scorer]:
    """The learned ranker first, then the baselines (all scored on the same candidates)."""
    return {"ltr": ltr_scorer(ranker), **baseline_scorers(ctx.bm25, random_state)}


def evaluate_rankers(
    ctx: MarketContext,
    *,
    ranker_config: RankerConfig | None = None,
    eval_config: MarketEvalConfig | None = None,
    feedback_config: FeedbackConfig | None = None,
    with_feedback: bool = True,
    progress: Progress | None = None,
) -> RankingEvaluation:
    """Train on lists before ``ctx.cutoff``, evaluate every ranker, then run the feedback loop."""
    say = progress or (lambda _message: None)
    eval_config = eval_config or MarketEvalConfig()
    say("training the ranker on lists sent before the cut-off")
    training = train_ranker(ctx.tables, ctx.builder, cutoff=ctx.cutoff, config=ranker_config)
    say("ranking the candidates with every ranker")
    market = evaluate_market(
        ctx, ranking_scorers(ctx, training.ranker, eval_config.random_state), eval_config
    )
    feedback = {}
    if with_feedback:
        say("feedback loop: two rounds of alerts")
        feedback = feedback_experiment(ctx, training.ranker, feedback_config, ranker_config)
    protocol = {
        "world_seed": ctx.world.config.seed,
        "profiles": ctx.world.config.n_profiles,
        "offers": ctx.world.config.n_offers,
        "weeks": ctx.world.config.weeks,
        "cutoff": ctx.cutoff.strftime("%Y-%m-%d"),
        "cutoff_week": ctx.cutoff_week,
        "encoder": ctx.encoder.name,
        **{k: float(v) for k, v in market.summary.items()},
        **training.summary(),
        "pool_size": eval_config.pool_size,
        "radius_factor": eval_config.radius_factor,
        "k": eval_config.k,
    }
    return RankingEvaluation(training, market, feedback, protocol)


def gate_metrics(metrics: dict[str, float], fairness: dict[str, float]) -> dict[str, float]:
    """What the promotion gate compares: NDCG@10 and the fairness parity ratios."""
    return {"ndcg@10": metrics["ndcg@10"], **{k: v for k, v in fairness.items() if "ratio" in k}}


def champion_metrics(
    ctx: MarketContext, registry: ModelRegistry, people: int, random_state: int = 0
) -> tuple[str, dict[str, float]] | None:
    """The current champion re-evaluated on the same candidates, or ``None`` if there is none.

    A champion that cannot be loaded (corrupted, features no longer computed) is reported and
    compared by its logged NDCG@10 alone.
    """
    version = registry.champion_version()
    if version is None:
        return None
    try:
        champion, _ = registry.load(version)
        result = evaluate_market(
            ctx, {"ltr": ltr_scorer(champion)}, MarketEvalConfig(max_people=people, random_state=random_state)
        )
    except (RegistryError, ModelIntegrityError, ValueError) as error:
        logged = registry.client.get_model_version(registry.model_name, version).tags.get("ndcg_at_10")
        if logged in (None, "", "None"):
            raise RegistryError(
                f"champion v{version} cannot be evaluated ({error}) and logged no NDCG@10"
            ) from None
        return version, {"ndcg@10": float(logged)}
    return version, gate_metrics(result.metrics["ltr"], result.fairness["ltr"])
