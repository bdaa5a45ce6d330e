"""The trust audit end to end on a simulated market: parity, biased ranker, biased labels, twins.

The simulated world draws its audit attributes independently of everything else, so there is no true
group effect: any gap in what a ranker shows comes from the ranker (or from biased history it learned).
Every ranker reranks the same graded candidate pools (:func:`eval.market.graded_pool`), for alerts
(offers per person) and sourcing (consenting people per offer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from eval.audit.experiments import (
    POSITIVE_GRADE,
    TwinResult,
    biased_scorer,
    group_members,
    inject_label_bias,
    twin_declarations,
    twin_ranks,
)
from eval.audit.fairness import FairnessMonitor, ParityRatio, parity_ratio, side_parity
from eval.baselines import Scorer, ltr_scorer
from eval.market import MarketContext, MarketEvalConfig, graded_pool, graded_sourcing_pool
from eval.metrics import rank_by_score
from features.tables import MarketTables
from matching.frames import profiles_from_frame
from matching.geo import Communes
from models.dataset import logged_lists
from models.ranker import LambdaRankRanker
from models.training import train_ranker

Progress = Callable[[str], None]
TWIN_TOLERANCE = 0.99  # share of twin pairs whose rank may move by at most one place


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    """Sizes and strengths of the audit (see :mod:`eval.audit.experiments`)."""

    max_people: int = 600
    max_offers: int = 300
    pool_size: int = 100
    twins: int = 300
    bias_attribute: str = "sex"
    bias_group: str = "F"
    biased_strength: float = 1.0  # how hard the deliberately biased ranker pushes the group down
    label_drop: float = 0.5  # share of the group's positive outcomes removed from history
    floor: float = 0.9
    random_state: int = 0


@dataclass
class AuditResult:
    """Parity ratios by ranker, alarms, the label-bias experiment and the twins."""

    parity: dict[str, list[ParityRatio]]
    alarms: dict[str, list[str]]
    label_bias: dict[str, float]
    twins: TwinResult
    config: AuditConfig
    protocol: dict[str, Any] = field(default_factory=dict)

    def checks(self) -> dict[str, bool]:
        """The audit's verdicts: each must hold."""
        within = self.twins.within(1)
        return {
            "model parity ≥ floor (alerts and sourcing)": not self.alarms["model"],
            "biased ranker trips the monitor": bool(self.alarms["biased"]),
            "label bias not amplified": self.label_bias["amplification"] <= 1.0,
            "twins move ≤ 1 place in ≥ 99 % (alerts)": within["alerts"] >= TWIN_TOLERANCE,
            "twins move ≤ 1 place in ≥ 99 % (sourcing)": within["sourcing"] >= TWIN_TOLERANCE,
        }

    @property
    def passed(self) -> bool:
        return all(self.checks().values())

    def as_json(self) -> dict[str, Any]:
        def clean(value: float) -> float | None:
            return round(float(value), 4) if np.isfinite(value) else None

        return {
            "checks": self.checks(),
            "parity": {
                name: {
                    r.key: {
                        "ratio": clean(r.ratio),
                        "ci95": [clean(r.low), clean(r.high)],
                        "groups": {g: clean(v) for g, v in r.group_means.items()},
                        "people": r.people,
                    }
                    for r in ratios
                }
                for name, ratios in self.parity.items()
            },
            "alarms": self.alarms,
            "label_bias": {k: clean(v) for k, v in self.label_bias.items()},
            "twins": {
                "within_1_place": self.twins.within(1),
                "unchanged": self.twins.within(0),
                "pairs_alerts": len(self.twins.alerts_shift),
                "pairs_sourcing": len(self.twins.sourcing_shift),
                "identical_profiles": clean(self.twins.identical_profiles),
            },
            "config": {k: v for k, v in vars(self.config).items()},
            "protocol": self.protocol,
        }


def positive_label_parity(
    tables: MarketTables, cutoff: pd.Timestamp, audit: pd.DataFrame, attribute: str
) -> float:
    """Parity across ``attribute`` of each person's share of positive training labels before ``cutoff``."""
    rows = logged_lists(tables, sent_before=cutoff, labels_until=cutoff)
    per_person = (rows["grade"] >= POSITIVE_GRADE).groupby(rows["profile_id"]).mean().astype(float)
    groups = audit.set_index("profile_id")[attribute]
    return parity_ratio(per_person, groups, metric="labels", attribute=attribute, n_boot=0).ratio


def run_audit(
    ctx: MarketContext,
    ranker: LambdaRankRanker,
    communes: Communes,
    config: AuditConfig | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Audit ``ranker`` on ``ctx`` (see the module docstring); ``communes`` places the twins' homes."""
    config = config or AuditConfig()
    say = progress or (lambda _message: None)
    audit = ctx.world.audit
    eval_config = MarketEvalConfig(
        max_people=config.max_people,
        max_offers=config.max_offers,
        pool_size=config.pool_size,
        random_state=config.random_state,
    )
    say("candidate pools for alerts and sourcing")
    pool, X = graded_pool(ctx, eval_config)
    sourcing_pool, sourcing_X = graded_sourcing_pool(ctx, eval_config)

    def parity_of(scorer: Scorer, alerts_X: pd.DataFrame, people_X: pd.DataFrame) -> list[ParityRatio]:
        alerts = rank_by_score(pool, scorer(pool, alerts_X))
        sourcing = rank_by_score(sourcing_pool, scorer(sourcing_pool, people_X))
        return side_parity(alerts, audit, side="alerts", random_state=config.random_state) + side_parity(
            sourcing, audit, side="sourcing", random_state=config.random_state
        )

    monitor = FairnessMonitor(floor=config.floor)
    model = ltr_scorer(ranker)
    members = group_members(audit, config.bias_attribute, config.bias_group)
    say("parity of the model")
    parity = {"model": parity_of(model, X, sourcing_X)}
    say("parity of a deliberately biased ranker")
    parity["biased"] = parity_of(
        biased_scorer(model, members, strength=config.biased_strength, random_state=config.random_state),
        X,
        sourcing_X,
    )
    say("retraining on labels with an injected bias")
    biased_tables = inject_label_bias(
        ctx.tables, members, drop=config.label_drop, before=ctx.cutoff, random_state=config.random_state
    )
    biased_ctx = ctx.with_tables(biased_tables)
    retrained = train_ranker(biased_tables, biased_ctx.builder, cutoff=ctx.cutoff).ranker
    parity["label-biased"] = parity_of(
        ltr_scorer(retrained), biased_ctx.features(pool), biased_ctx.features(sourcing_pool)
    )
    label_bias = _label_bias(ctx, biased_tables, parity, config)
    say(f"counterfactual twins ({config.twins} people)")
    people = (
        pool["profile_id"]
        .drop_duplicates()
        .sample(n=min(config.twins, pool["profile_id"].nunique()), random_state=config.random_state)
    )
    profiles = list(profiles_from_frame(ctx.tables.profiles.loc[people.to_numpy()]))
    twins = twin_ranks(
        twin_declarations(profiles, ctx.referential),
        alerts_pool=pool,
        sourcing_pool=sourcing_pool,
        tables=ctx.tables,
        embeddings=ctx.embeddings,
        encoder=ctx.encoder,
        referential=ctx.referential,
        communes=communes,
        scorer=model,
        today=date(ctx.cutoff.year, ctx.cutoff.month, ctx.cutoff.day),
    )
    return AuditResult(
        parity=parity,
        alarms={name: monitor.alarms(ratios) for name, ratios in parity.items()},
        label_bias=label_bias,
        twins=twins,
        config=config,
        protocol={
            "cutoff": ctx.cutoff.strftime("%Y-%m-%d"),
            "people": int(pool["query"].nunique()),
            "alert_pairs": len(pool),
            "offers_sourced": int(sourcing_pool["query"].nunique()),
            "sourcing_pairs": len(sourcing_pool),
            "encoder": ctx.encoder.name,
            "world_seed": ctx.world.config.seed,
        },
    )


def _label_bias(
    ctx: MarketContext, biased: MarketTables, parity: dict[str, list[ParityRatio]], config: AuditConfig
) -> dict[str, float]:
    """Label parity before/after injection, the retrained model's worst parity on the attribute, and
    how much of the label gap reached the ranking (``amplification`` > 1 means it grew)."""
    attribute = config.bias_attribute
    labels_true = positive_label_parity(ctx.tables, ctx.cutoff, ctx.world.audit, attribute)
    labels_biased = positive_label_parity(biased, ctx.cutoff, ctx.world.audit, attribute)

    def worst(name: str) -> float:
        return min(r.ratio for r in parity[name] if r.attribute == attribute and np.isfinite(r.ratio))

    model_biased = worst("label-biased")
    gap = 1.0 - labels_biased
    return {
        "labels_parity_true": labels_true,
        "labels_parity_biased": labels_biased,
        "model_parity": worst("model"),
        "retrained_parity": model_biased,
        "amplification": (1.0 - model_biased) / gap if gap > 0 else float("nan"),
    }
