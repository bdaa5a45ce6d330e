"""The ranking evaluation on every market model of the simulator family, worst case first.

A figure measured on the simulator the ranker was designed beside is no proof of quality: people of
another market decide differently in form (trade-offs instead of thresholds, minutes instead of km,
their own pay instead of the going rate…). :data:`eval.simulator.config.MARKET_MODELS` names a family
of such markets (see :mod:`eval.simulator.behaviour` and ``data/sample/README.md``); this module
generates one world per model from the same settings and seed (the same people and offers, only
their behaviour differs), runs the whole protocol of :func:`eval.ranking.evaluate_rankers` on each,
and summarises what the issue's "done when" reads: LTR over the rule and over embeddings (NDCG@10,
mean of the grading draws), sourcing LTR over the rule, and the feedback loop's repeat refusals
against the frozen control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from eval.feedback import FeedbackConfig
from eval.market import MarketContext, MarketEvalConfig
from eval.ranking import RankingEvaluation, evaluate_rankers
from eval.simulator.config import MARKET_MODELS, MarketConfig
from eval.simulator.market import simulate_market
from matching.encoders import Encoder
from matching.geo import Communes
from matching.referential import Referential
from models.training import HyperGrid

Progress = Callable[[str, int, int], None]
#: Reasons a feedback-loop cohort is judged on: "autre" states no constraint the engine could learn.
LEARNABLE_REASONS = ("distance", "salaire", "type_contrat", "horaires", "metier", "competences")
MIN_COHORT = 30  # people a reason's cohort needs before its repeat rate is judged


def market_models(choice: str) -> tuple[str, ...]:
    """The models named by ``choice``: ``all``, one name, or names separated by commas.

    Raises
    ------
    ValueError
        If a name is not a model of the family.
    """
    names = (
        MARKET_MODELS if choice.strip() == "all" else tuple(n.strip() for n in choice.split(",") if n.strip())
    )
    unknown = [n for n in names if n not in MARKET_MODELS]
    if unknown or not names:
        raise ValueError(
            f"unknown market model {', '.join(unknown) or repr(choice)}: choose all or among "
            + ", ".join(MARKET_MODELS)
        )
    return names


@dataclass(frozen=True)
class FamilySummary:
    """What the done-when reads for one model, from its :class:`RankingEvaluation`."""

    model: str
    ltr_over_rule: float
    ltr_over_embedding: float
    sourcing_ltr_over_rule: float
    feedback_worst: float  # largest learning / frozen ratio of repeat refusals over judged reasons
    feedback_judged: tuple[str, ...]  # the reasons with a cohort of at least MIN_COHORT people

    @classmethod
    def of(cls, model: str, evaluation: RankingEvaluation) -> FamilySummary:
        ratios = evaluation.ratios()
        sourcing = evaluation.sourcing_ratios()
        judged = tuple(
            r
            for r in LEARNABLE_REASONS
            if r in evaluation.feedback and evaluation.feedback[r]["people"] >= MIN_COHORT
        )
        worst = max(
            (
                evaluation.feedback[r]["round2"] / evaluation.feedback[r]["round2_frozen"]
                if evaluation.feedback[r]["round2_frozen"] > 0
                else (0.0 if evaluation.feedback[r]["round2"] == 0 else float("inf"))
                for r in judged
            ),
            default=float("nan"),
        )
        return cls(
            model=model,
            ltr_over_rule=ratios.get("ltr/rule", float("nan")),
            ltr_over_embedding=ratios.get("ltr/embedding", float("nan")),
            sourcing_ltr_over_rule=sourcing.get("ltr/rule", float("nan")),
            feedback_worst=float(worst),
            feedback_judged=judged,
        )

    def as_dict(self) -> dict[str, float | str | list[str] | None]:
        def clean(v: float) -> float | str | None:
            # JSON has no infinity: learning refused again where the frozen control never did
            return round(v, 4) if np.isfinite(v) else ("inf" if v == np.inf else None)

        return {
            "model": self.model,
            "ltr/rule": clean(self.ltr_over_rule),
            "ltr/embedding": clean(self.ltr_over_embedding),
            "sourcing ltr/rule": clean(self.sourcing_ltr_over_rule),
            "feedback worst learning/frozen": clean(self.feedback_worst),
            "feedback judged reasons": list(self.feedback_judged),
        }


def evaluate_family(
    referential: Referential,
    communes: Communes,
    encoder: Encoder,
    models: Sequence[str],
    *,
    base: MarketConfig | None = None,
    eval_config: MarketEvalConfig | None = None,
    feedback_config: FeedbackConfig | None = None,
    with_feedback: bool = True,
    tune: bool | HyperGrid = True,
    progress: Progress | None = None,
) -> dict[str, RankingEvaluation]:
    """Generate one world per market model from ``base`` (default: the sample world's settings) and
    run the ranking evaluation on each.

    Parameters
    ----------
    referential, communes
        What the worlds are generated on (the sample world: the built-in ones).
    encoder
        Embeds every world's texts; the worlds share their people and offers, so a cached encoder
        embeds them once.
    models
        Names from :data:`~eval.simulator.config.MARKET_MODELS` (see :func:`market_models`).
    base, eval_config, feedback_config, with_feedback, tune
        The worlds' settings (``market`` replaced by each model) and the protocol's.
    progress
        Called as ``("<model>: <stage>", done, in all)``.

    Returns
    -------
    dict of str to RankingEvaluation
        By model, in the order given.
    """
    base = base or MarketConfig()
    report: Progress = progress or (lambda _stage, _done, _total: None)
    out = {}
    for model in models:

        def staged(stage: str, done: int, total: int, model: str = model) -> None:
            report(f"{model}: {stage}" if stage else model, done, total)

        world = simulate_market(referential, communes, base.model_copy(update={"market": model}))
        ctx = MarketContext.build(world, referential, encoder, progress=staged)
        out[model] = evaluate_rankers(
            ctx,
            eval_config=eval_config,
            feedback_config=feedback_config,
            with_feedback=with_feedback,
            tune=tune,
            progress=staged,
        )
    return out


def family_summaries(results: dict[str, RankingEvaluation]) -> list[FamilySummary]:
    """One summary per model, worst case first (lowest LTR / rule; a model without one first of all)."""
    rows = [FamilySummary.of(model, evaluation) for model, evaluation in results.items()]
    return sorted(rows, key=lambda r: (np.nan_to_num(r.ltr_over_rule, nan=-np.inf), r.model))
