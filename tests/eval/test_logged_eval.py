"""The evaluation on logged events alone (:mod:`eval.logged`): cut-off, outcome counts, no simulator."""

from __future__ import annotations

import pandas as pd
import pytest

from eval.logged import (
    MIN_EVALUATION_OUTCOMES,
    MIN_TRAINING_OUTCOMES,
    SKIPPED,
    LoggedContext,
    NotEnoughOutcomesError,
    OutcomeCounts,
    check_enough_outcomes,
    count_outcomes,
    default_cutoff,
)
from eval.ranking import evaluate_rankers
from eval.simulator import World
from eval.simulator.records import world_tables
from features.tables import MarketTables
from matching.encoders import HashingEncoder
from matching.referential import Referential
from models.ranker import RankerConfig


def _log(rows: list[tuple[str, str, str, str, int | None, str | None]]) -> MarketTables:
    """Tables holding only an event log of ``(day, event, profile, offer, rank, list)`` rows."""
    events = pd.DataFrame(
        [
            {
                "occurred_at": day,
                "event": event,
                "profile_id": profile,
                "offer_id": offer,
                "training_id": None,
                "reason": "distance" if event == "refused" else None,
                "rank": rank,
                "list_id": list_id,
                "actor": "system",
            }
            for day, event, profile, offer, rank, list_id in rows
        ]
    )
    empty = pd.DataFrame({"id": pd.Series(dtype=str), "created_at": pd.Series(dtype="datetime64[ns, UTC]")})
    return MarketTables.from_frames(empty, empty, empty, events)


def test_default_cutoff_is_the_day_by_which_70_percent_of_lists_were_sent() -> None:
    # ten one-alert lists, one a day from 2025-03-01: the 7th list is sent on 2025-03-07
    tables = _log([(f"2025-03-{d:02d} 09:30", "alert_sent", "P1", f"O{d}", 1, f"L{d}") for d in range(1, 11)])
    assert default_cutoff(tables) == pd.Timestamp("2025-03-07", tz="UTC")
    assert default_cutoff(tables, share=0.2) == pd.Timestamp("2025-03-02", tz="UTC")
    with pytest.raises(NotEnoughOutcomesError, match="no alert list"):
        default_cutoff(_log([("2025-03-01", "applied", "P1", "O1", None, None)]))


def test_outcomes_are_counted_on_each_side_of_the_cut() -> None:
    tables = _log(
        [
            ("2025-03-01", "alert_sent", "P1", "O1", 1, "L1"),
            ("2025-03-01", "alert_sent", "P1", "O2", 2, "L1"),
            ("2025-03-02", "alert_opened", "P1", "O1", None, None),
            ("2025-03-02", "refused", "P1", "O2", None, None),
            ("2025-03-09", "alert_sent", "P2", "O3", 1, "L2"),
            ("2025-03-10", "applied", "P2", "O3", None, None),
            ("2025-03-10", "alert_sent", "P2", "O4", 1, "L3"),  # never answered: not an outcome
        ]
    )
    cutoff = pd.Timestamp("2025-03-05", tz="UTC")
    assert count_outcomes(tables, cutoff) == OutcomeCounts(
        training=2, training_lists=1, evaluation=1, evaluation_lists=2
    )
    # an answer logged after the cut does not teach the ranker, it only grades the later list
    late = count_outcomes(tables, pd.Timestamp("2025-03-02", tz="UTC"))
    assert late.training == 0 and late.evaluation == 1
    with pytest.raises(NotEnoughOutcomesError) as refused:
        check_enough_outcomes(count_outcomes(tables, cutoff), cutoff)
    message = str(refused.value)
    assert "2 before the cut-off 2025-03-05" in message and "1 from it on" in message
    assert f"at least {MIN_TRAINING_OUTCOMES} needed" in message
    assert f"at least {MIN_EVALUATION_OUTCOMES} needed" in message and "\n" not in message
    check_enough_outcomes(count_outcomes(tables, cutoff), cutoff, min_training=2, min_evaluation=1)


def test_rankers_are_compared_on_logged_lists_without_the_simulator(
    small_world: World, builtin: Referential
) -> None:
    tables = world_tables(small_world)  # what a database holds: no hidden preferences, no oracle
    cutoff = default_cutoff(tables)
    ctx = LoggedContext.from_tables(tables, builtin, HashingEncoder(), cutoff=cutoff, source="test")
    shown = tables.events.loc[tables.events["event"] == "alert_sent", "offer_id"].nunique()
    assert len(ctx.embeddings.offers.ids) == shown < len(tables.offers)  # only what was shown is embedded
    evaluation = evaluate_rankers(ctx, ranker_config=RankerConfig(n_estimators=40))
    table = evaluation.table()
    assert set(table) == {"ltr", "ltr_served", "rule", "embedding", "bm25", "popularity", "random"}
    assert table["ltr"]["mrr"] > table["random"]["mrr"]
    assert table["ltr"]["ndcg@3"] > table["random"]["ndcg@3"]
    # no audit attributes were given: parity left out, not made up; no feedback loop without answers
    assert evaluation.market.fairness["ltr"] == {} and evaluation.feedback == {}
    assert evaluation.protocol["not_computed"] == "; ".join(SKIPPED)
    assert evaluation.protocol["cutoff"] == f"{cutoff:%Y-%m-%d}"
    assert evaluation.protocol["people"] <= len(tables.profiles)
