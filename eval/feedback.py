"""Feedback-loop experiment: two rounds of alerts, learning from the first round's refusals.

Round 1 sends each person of the cohort their top alerts at the cut-off; the simulated people open
them (position-biased), refuse some with a reason, apply to others. Round 2, a week later, ranks new
candidates twice:

* **learning**: features read the round-1 refusals (observed commute tolerance, refused contract
  types, salary floor…), the model is refit with the round-1 lists, and people who answered
  ``deja_en_poste`` get no more alerts (their subscription closes);
* **frozen**: the same model and the history as it was before round 1 (the control).

For each reason *r*, the cohort is the people who refused at least one round-1 alert for *r*; the
repeat rate is the share of their alerts refused again for *r*. Regression to the mean lowers the
frozen control too; the learning column must beat it, and the round-1 rate by half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from eval.baselines import ltr_scorer
from eval.market import MarketContext, sample_people
from eval.metrics import rank_by_score
from features.schema import REASONS
from models.dataset import logged_lists
from models.ranker import LambdaRankRanker, RankerConfig
from models.training import train_ranker

ROUND_GAP = pd.Timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class FeedbackConfig:
    alerts_per_round: int = 5
    max_people: int = 5000
    pool_size: int = 100
    radius_factor: float = 1.5
    random_state: int = 0
    draws: int = 1  # independent draws of the people's answers, pooled (more draws: steadier rates)


@dataclass(frozen=True)
class RoundResult:
    """Alerts of one round (``query``, ``item``, ``position``, ``refused``, ``reason``) and their events."""

    alerts: pd.DataFrame
    events: pd.DataFrame


def play_round(
    ctx: MarketContext,
    ranker: LambdaRankRanker,
    people: np.ndarray,
    moment: pd.Timestamp,
    *,
    features_from: MarketContext | None = None,
    config: FeedbackConfig,
    week: int,
    label: str,
    draw: int = 0,
) -> RoundResult:
    """Send each person their top alerts at ``moment`` and let the simulated people answer."""
    pool = ctx.candidates(people, moment, config.pool_size, config.radius_factor)
    X = (features_from or ctx).features(pool)
    # As the alert batch does: a candidate repeating a stated reason that still binds (its learned
    # strength times its decaying evidence) is not pushed; the ranker weighs the others' evidence.
    keep = ranker.binding(X) == 0
    pool, X = pool[keep].reset_index(drop=True), X[keep].reset_index(drop=True)
    ranked = rank_by_score(pool, ltr_scorer(ranker)(pool, X))
    top = ranked[ranked["position"] <= config.alerts_per_round].reset_index(drop=True)
    rng = np.random.default_rng([config.random_state, week, draw])
    response = ctx.oracle.respond(
        top["profile_id"].to_numpy(),
        top["offer_id"].to_numpy(),
        top["position"].to_numpy(),
        week=week,
        rng=rng,
    )
    alerts = top.assign(
        opened=response.opened, refused=response.refused, reason=response.reason, applied=response.applied
    )
    list_id = label + "-" + alerts["query"].astype(str)

    def events(kind: str, rows: np.ndarray, delay: pd.Timedelta, reason: bool = False) -> pd.DataFrame:
        chosen = alerts[rows]
        return pd.DataFrame(
            {
                "occurred_at": moment + delay,
                "event": kind,
                "profile_id": chosen["query"].to_numpy(),
                "offer_id": chosen["offer_id"].to_numpy(),
                "training_id": None,
                "reason": chosen["reason"].to_numpy() if reason else None,
                "rank": chosen["position"].to_numpy(),
                "list_id": list_id[rows].to_numpy(),
                "actor": "system",
            }
        )

    everything = np.ones(len(alerts), dtype=bool)
    log = pd.concat(
        [
            events("alert_sent", everything, pd.Timedelta(hours=6)),
            events("alert_opened", response.opened, pd.Timedelta(days=1)),
            events("refused", response.refused, pd.Timedelta(days=1, minutes=10), reason=True),
            events("applied", response.applied, pd.Timedelta(days=1, minutes=10)),
        ],
        ignore_index=True,
    )
    return RoundResult(alerts, log)


def repeat_rates(round1: pd.DataFrame, round2: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per reason: cohort size, round-1 rate and round-2 rate of refusals for that same reason."""
    out = {}
    for reason in REASONS:
        cohort = set(round1.loc[round1["refused"] & (round1["reason"] == reason), "query"])
        if not cohort:
            continue

        def rate(alerts: pd.DataFrame, cohort: set[str] = cohort, reason: str = reason) -> float:
            mine = alerts[alerts["query"].isin(cohort)]
            return (
                float((mine["refused"] & (mine["reason"] == reason)).sum() / len(mine)) if len(mine) else 0.0
            )

        mine = round2[round2["query"].isin(cohort)]
        out[reason] = {
            "people": float(len(cohort)),
            "round1": rate(round1),
            "round2": rate(round2),
            "alerts2": float(len(mine)),
            "applied2": float(mine["applied"].sum()),
        }
    return out


def _two_rounds(
    ctx: MarketContext,
    ranker: LambdaRankRanker,
    people: np.ndarray,
    config: FeedbackConfig,
    ranker_config: RankerConfig | None,
    draw: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One draw of the experiment: the round-1 alerts, and round 2 with learning and frozen."""
    first = play_round(
        ctx, ranker, people, ctx.cutoff, config=config, week=ctx.cutoff_week, label="fb1", draw=draw
    )
    learned_ctx = ctx.with_tables(ctx.tables.with_events(first.events))
    # What the engine learns: refit with the round-1 lists, features reading the round-1 refusals.
    round1_rows = logged_lists(learned_ctx.tables, sent_from=ctx.cutoff)
    relearned = train_ranker(
        learned_ctx.tables,
        learned_ctx.builder,
        cutoff=ctx.cutoff,
        config=ranker_config or ranker.config,
        extra_rows=round1_rows,
    ).ranker
    employed = set(first.alerts.loc[first.alerts["reason"] == "deja_en_poste", "query"])
    still_looking = np.array([p for p in people if p not in employed], dtype=object)
    moment, week = ctx.cutoff + ROUND_GAP, ctx.cutoff_week + 1
    learning = play_round(
        learned_ctx, relearned, still_looking, moment, config=config, week=week, label="fb2", draw=draw
    )
    frozen = play_round(
        learned_ctx,
        ranker,
        people,
        moment,
        features_from=ctx,
        config=config,
        week=week,
        label="fb2",
        draw=draw,
    )
    return first.alerts, learning.alerts, frozen.alerts


def feedback_experiment(
    ctx: MarketContext,
    ranker: LambdaRankRanker,
    config: FeedbackConfig | None = None,
    ranker_config: RankerConfig | None = None,
) -> dict[str, dict[str, float]]:
    """Run both round-2 variants; returns per reason ``people, round1, round2_frozen, round2, drop``
    (and how many alerts each round-2 variant sent to that cohort).

    ``drop`` is ``1 - round2 / round1`` for the learning variant; an ``all`` row pools every reason.
    """
    config = config or FeedbackConfig()
    people = sample_people(ctx, ctx.cutoff, config.max_people, config.random_state)
    rounds = [_two_rounds(ctx, ranker, people, config, ranker_config, draw) for draw in range(config.draws)]
    # a person's cohorts and alerts of each draw are apart: queries are keyed by draw
    first, learning, frozen = (
        pd.concat([r[i].assign(query=r[i]["query"].astype(str) + f"#{d}") for d, r in enumerate(rounds)])
        for i in range(3)
    )
    with_learning = repeat_rates(first, learning)
    without = repeat_rates(first, frozen)
    out: dict[str, dict[str, float]] = {}
    for reason, row in with_learning.items():
        out[reason] = {
            "people": row["people"] / config.draws,  # a draw's cohort, on average
            "round1": row["round1"],
            "round2_frozen": without[reason]["round2"],
            "round2": row["round2"],
            "alerts_round2_frozen": without[reason]["alerts2"],
            "alerts_round2": row["alerts2"],
            "applications_round2_frozen": without[reason]["applied2"],
            "applications_round2": row["applied2"],
            "drop": 1.0 - row["round2"] / row["round1"] if row["round1"] > 0 else float("nan"),
        }
    if out:
        weights = np.array([v["people"] for v in out.values()])
        pooled = {
            key: float(np.average([v[key] for v in out.values()], weights=weights))
            for key in ("round1", "round2_frozen", "round2")
        }
        out["all"] = {
            "people": float(weights.sum()),
            **{
                key: float(sum(v[key] for v in out.values()))
                for key in (
                    "alerts_round2_frozen",
                    "alerts_round2",
                    "applications_round2_frozen",
                    "applications_round2",
                )
            },
            **pooled,
            "drop": 1.0 - pooled["round2"] / pooled["round1"] if pooled["round1"] > 0 else float("nan"),
        }
    return out
