"""The vectorised as-of index against pandas.merge_asof (exact matches excluded), on random logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.asof import AsOfIndex


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("by", [["who"], ["who", "kind"]])
def test_matches_merge_asof(seed: int, by: list[str]) -> None:
    rng = np.random.default_rng(seed)
    n, m = 400, 300
    start = pd.Timestamp("2025-01-01", tz="UTC")
    # whole seconds, with repeated moments, as in the event log
    events = pd.DataFrame(
        {
            "occurred_at": start + pd.to_timedelta(rng.integers(0, 5000, n), unit="s"),
            "who": rng.choice(["a", "b", "c", "d"], n),
            "kind": rng.choice(["x", "y"], n),
        }
    ).sort_values("occurred_at", kind="stable")
    events["value"] = events.groupby(by).cumcount().astype(float) + 1
    queries = pd.DataFrame(
        {
            "as_of": start + pd.to_timedelta(rng.integers(-100, 5200, m), unit="s"),
            "who": rng.choice(["a", "b", "c", "d", "zz"], m),
            "kind": rng.choice(["x", "y"], m),
        }
    )
    # exact-time queries too: an event at the very moment must not count
    queries.loc[:20, "as_of"] = events["occurred_at"].iloc[:21].to_numpy()
    expected = (
        pd.merge_asof(
            queries.assign(_row=np.arange(m)).sort_values("as_of", kind="stable"),
            events,
            left_on="as_of",
            right_on="occurred_at",
            by=by,
            allow_exact_matches=False,
        )
        .sort_values("_row")["value"]
        .to_numpy()
    )
    got = AsOfIndex(events, by, ["value"]).lookup(queries, queries["as_of"])["value"]
    np.testing.assert_array_equal(got, expected)


def test_empty_log() -> None:
    events = pd.DataFrame(
        {
            "occurred_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "who": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
        }
    )
    queries = pd.DataFrame({"who": ["a"], "as_of": [pd.Timestamp("2025-01-01", tz="UTC")]})
    assert np.isnan(AsOfIndex(events, ["who"], ["value"]).lookup(queries, queries["as_of"])["value"][0])
