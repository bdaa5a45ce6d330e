"""Learning-to-rank data: graded labels from the event log, propensities, temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eval.market import MarketContext
from features.tables import MarketTables, normalise_events
from models.dataset import examination_propensity, logged_lists, propensity_weights, temporal_split

T0 = pd.Timestamp("2025-01-06 06:00", tz="UTC")


def _event(hours: float, event: str, offer: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "occurred_at": T0 + pd.Timedelta(hours=hours),
        "event": event,
        "profile_id": "P1",
        "offer_id": offer,
        "training_id": None,
        "reason": None,
        "rank": None,
        "list_id": None,
        "actor": "system",
    }
    row.update(extra)
    return row


def _tables(events: list[dict[str, object]]) -> MarketTables:
    empty = pd.DataFrame()
    return MarketTables(empty, empty, empty, normalise_events(pd.DataFrame(events)))


def test_graded_labels_with_known_answers() -> None:
    shown = [_event(0, "alert_sent", f"O{k}", rank=k, list_id="L1") for k in range(1, 6)]
    outcomes = [
        _event(5, "alert_opened", "O1"),
        _event(5.1, "refused", "O1", reason="distance"),
        _event(5, "alert_opened", "O2"),
        _event(5, "alert_opened", "O3"),
        _event(5.1, "applied", "O3"),
        _event(5, "alert_opened", "O4"),
        _event(5.1, "applied", "O4"),
        _event(80, "employer_accepted", "O4"),
        _event(200, "hired", "O4"),
    ]
    rows = logged_lists(_tables(shown + outcomes)).set_index("offer_id")
    assert rows["grade"].to_dict() == {"O1": 0, "O2": 2, "O3": 3, "O4": 5, "O5": 1}
    assert rows.loc["O1", "reason"] == "distance"
    # labels observed before a cut: the hire after it is unknown yet
    cut = logged_lists(_tables(shown + outcomes), labels_until=T0 + pd.Timedelta(hours=100)).set_index(
        "offer_id"
    )
    assert cut.loc["O4", "grade"] == 4


def test_propensity_recovers_position_bias() -> None:
    rng = np.random.default_rng(0)
    rank = np.tile(np.arange(1, 6), 4000)
    truth = 1.0 / np.log2(rank + 1.0)
    opened = rng.random(len(rank)) < 0.6 * truth
    rows = pd.DataFrame({"rank": rank, "grade": np.where(opened, 2, 1)})
    propensity = examination_propensity(rows)
    for r in range(1, 6):
        assert abs(propensity[r] - 1.0 / np.log2(r + 1.0)) < 0.05
    weights = propensity_weights(rows, propensity)
    assert np.allclose(weights[~opened], 1.0)
    assert weights[opened & (rank == 5)].min() > 2.0


def test_temporal_split_has_no_future_labels(small_market: MarketContext) -> None:
    train, test = temporal_split(small_market.tables, small_market.cutoff)
    assert (train["as_of"] < small_market.cutoff).all()
    assert (test["as_of"] >= small_market.cutoff).all()
    # adding any number of events after the cut changes nothing on the training side
    late = small_market.tables.events[small_market.tables.events["occurred_at"] >= small_market.cutoff]
    doubled = small_market.tables.with_events(late.assign(event="hired"))
    again, _ = temporal_split(doubled, small_market.cutoff)
    pd.testing.assert_frame_equal(train, again)
