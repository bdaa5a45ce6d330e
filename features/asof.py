"""Vectorised as-of lookups: the last value of a key strictly before a moment, for many queries at once.

Equivalent to ``pandas.merge_asof(..., by=keys, allow_exact_matches=False)`` (a test checks it) but
prepared once: events are sorted by (key, time) into one composite integer, and each batch of
queries is a single ``numpy.searchsorted``. Times are compared at millisecond resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
_MS = np.int64(1_000_000)  # nanoseconds per millisecond


def _keys(frame: pd.DataFrame, by: Sequence[str]) -> pd.Index:
    if len(by) == 1:
        return pd.Index(frame[by[0]].astype(object).to_numpy())
    return pd.MultiIndex.from_arrays([frame[c].astype(object).to_numpy() for c in by])


def _milliseconds(times: pd.Series) -> npt.NDArray[np.int64]:
    values = pd.to_datetime(times, utc=True).to_numpy("datetime64[ns]").astype(np.int64)
    return np.floor_divide(values, _MS)


class AsOfIndex:
    """Values of ``columns`` in ``events`` (with ``occurred_at`` and the ``by`` key columns), ready for lookups."""

    def __init__(self, events: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> None:
        self.by, self.columns = list(by), list(columns)
        keys = _keys(events, self.by)
        self.key_index = keys.unique()
        codes = self.key_index.get_indexer(keys).astype(np.int64)
        times = _milliseconds(events["occurred_at"]) if len(events) else np.zeros(0, dtype=np.int64)
        order = np.lexsort((times, codes))  # stable: equal times keep their log order
        self.t0 = int(times.min()) if len(times) else 0
        self.span = (int(times.max()) - self.t0 + 2) if len(times) else 2
        self.codes = codes[order]
        self.composite = self.codes * self.span + (times[order] - self.t0)
        self.values = {c: events[c].to_numpy(dtype=float)[order] for c in self.columns}

    def lookup(self, queries: pd.DataFrame, moments: pd.Series) -> dict[str, FloatArray]:
        """For each query row (key columns ``by``), the last values strictly before its moment (NaN if none)."""
        codes = self.key_index.get_indexer(_keys(queries, self.by)).astype(np.int64)
        offsets = np.clip(_milliseconds(moments) - self.t0, 0, self.span - 1)
        position = (
            np.searchsorted(self.composite, np.maximum(codes, 0) * self.span + offsets, side="left") - 1
        )
        safe = np.maximum(position, 0)
        found = (
            (codes >= 0) & (position >= 0) & (self.codes[safe] == codes)
            if len(self.codes)
            else np.zeros(len(codes), bool)
        )
        return {c: np.where(found, v[safe] if len(v) else np.nan, np.nan) for c, v in self.values.items()}
