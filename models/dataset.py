"""Learning-to-rank data from the event log: logged lists, graded labels, exposure propensities.

Each alert list the engine sent is a query group. Its rows are the offers shown with their logged rank;
their label is the best outcome observed before ``labels_until``:

==========  =====================================================================
grade       outcome
==========  =====================================================================
5           hired
4           employer accepted the application
3           applied
2           opened (read and left)
1           shown, never opened (not examined: no evidence either way)
0           refused, with its reason (an explicit negative)
==========  =====================================================================

Features are computed as of the moment each list was sent (see :mod:`features.pairs`), so a row never
sees its own outcome; :func:`temporal_split` cuts lists by send time, and labels of the training side
are only read from events before the cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.pairs import PairFeatureBuilder
from features.tables import MarketTables

GRADE_OF_EVENT = {"alert_opened": 2, "applied": 3, "employer_accepted": 4, "hired": 5}
GRADE_SHOWN, GRADE_REFUSED = 1, 0
MAX_PROPENSITY_WEIGHT = 10.0


def logged_lists(
    tables: MarketTables,
    *,
    sent_from: pd.Timestamp | None = None,
    sent_before: pd.Timestamp | None = None,
    labels_until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Shown alerts with graded labels: one row per (list, offer), lists ordered by send time.

    Returns columns ``list_id, profile_id, offer_id, as_of, rank, grade, reason``.
    """
    events = tables.events
    sent = events[events["event"] == "alert_sent"]
    if sent_from is not None:
        sent = sent[sent["occurred_at"] >= sent_from]
    if sent_before is not None:
        sent = sent[sent["occurred_at"] < sent_before]
    rows = pd.DataFrame(
        {
            "list_id": sent["list_id"].to_numpy(),
            "profile_id": sent["profile_id"].to_numpy(),
            "offer_id": sent["offer_id"].to_numpy(),
            "as_of": sent["occurred_at"].to_numpy(),
            "rank": sent["rank"].astype("float").to_numpy(),
        }
    )
    outcomes = events[events["event"].isin([*GRADE_OF_EVENT, "refused"]) & events["offer_id"].notna()]
    if labels_until is not None:
        outcomes = outcomes[outcomes["occurred_at"] < labels_until]
    outcomes = outcomes.assign(grade=outcomes["event"].map(GRADE_OF_EVENT).fillna(-1).astype(int))
    best = outcomes.groupby(["profile_id", "offer_id"])["grade"].max().rename("best")
    refusals = outcomes[outcomes["event"] == "refused"].drop_duplicates(
        ["profile_id", "offer_id"], keep="last"
    )
    refusal = refusals.set_index(["profile_id", "offer_id"])["reason"].rename("reason")
    rows = rows.join(best, on=["profile_id", "offer_id"]).join(refusal, on=["profile_id", "offer_id"])
    refused = rows["reason"].notna()
    rows["grade"] = np.where(refused, GRADE_REFUSED, rows["best"].fillna(GRADE_SHOWN).clip(lower=GRADE_SHOWN))
    rows["grade"] = rows["grade"].astype(int)
    rows["reason"] = rows["reason"].fillna("")
    rows = rows.drop(columns="best").sort_values(["as_of", "list_id", "rank"], kind="stable")
    return rows.reset_index(drop=True)


def examination_propensity(rows: pd.DataFrame) -> dict[int, float]:
    """Probability that an alert at each rank is read, relative to rank 1, estimated from open rates.

    Opening is the examination signal: an unread alert can be neither refused nor applied to. Ranks
    with fewer than 30 alerts reuse the last well-estimated rank.
    """
    opened = rows["grade"] != GRADE_SHOWN
    by_rank = opened.groupby(rows["rank"].astype(int)).agg(["mean", "size"]).sort_index()
    if by_rank.empty or by_rank["mean"].iloc[0] <= 0:
        return {}
    top = by_rank["mean"].iloc[0]
    out: dict[int, float] = {}
    last = 1.0
    for rank, mean, size in zip(by_rank.index.astype(int), by_rank["mean"], by_rank["size"], strict=True):
        if size >= 30 and mean > 0:
            last = min(1.0, float(mean) / top)
        out[int(rank)] = last
    return out


def propensity_weights(rows: pd.DataFrame, propensity: dict[int, float]) -> npt.NDArray[np.float64]:
    """Inverse-propensity weights, shape ``(m,)``: examined rows get ``1 / P(examined | rank)`` (clipped).

    Unexamined rows keep weight 1: they carry the "shown, not read" evidence only.
    """
    p = rows["rank"].astype(int).map(propensity).fillna(1.0).to_numpy(float)
    examined = rows["grade"].to_numpy() != GRADE_SHOWN
    return np.where(examined, np.minimum(1.0 / np.maximum(p, 1e-6), MAX_PROPENSITY_WEIGHT), 1.0)


@dataclass(frozen=True)
class RankingSet:
    """Rows (with ``list_id``), their features ``X`` (shape ``(m, n_features)``) and group sizes."""

    rows: pd.DataFrame
    X: pd.DataFrame

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return self.rows["grade"].to_numpy(np.int64)

    @property
    def groups(self) -> npt.NDArray[np.int64]:
        """Sizes of consecutive query groups, shape ``(n_lists,)``."""
        lists = self.rows["list_id"].to_numpy()
        boundaries = np.flatnonzero(np.concatenate([[True], lists[1:] != lists[:-1], [True]]))
        return np.diff(boundaries).astype(np.int64)

    def __len__(self) -> int:
        return len(self.rows)


def ranking_set(rows: pd.DataFrame, builder: PairFeatureBuilder) -> RankingSet:
    """Features of logged rows as of their list's send time (rows must be grouped by ``list_id``)."""
    return RankingSet(
        rows.reset_index(drop=True), builder.transform(rows[["profile_id", "offer_id", "as_of"]])
    )


def temporal_split(tables: MarketTables, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training lists sent before ``cutoff`` (labels observed before it too) and test lists after it."""
    train = logged_lists(tables, sent_before=cutoff, labels_until=cutoff)
    test = logged_lists(tables, sent_from=cutoff)
    return train, test
