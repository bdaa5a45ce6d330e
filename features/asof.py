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


def _milliseconds(times: pd.Series) -> npt.NDArray[np.int64]:
    values = pd.to_datetime(times, utc=True).to_numpy("datetime64[ns]").astype(np.int64)
    return np.floor_divide(values, _MS)


class AsOfIndex:
    """Values of ``columns`` in ``events`` (with ``occurred_at`` and the ``by`` key columns), ready for lookups.

    A key is coded column by column (each column's distinct values, then one mixed-radix integer), so
    a lookup is a few hash lookups and binary searches on integers, never a pandas MultiIndex.
    """

    def __init__(self, events: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> None:
        self.by, self.columns = list(by), list(columns)
        self.vocabularies = [pd.Index(pd.unique(np.asarray(events[c], dtype=object))) for c in self.by]
        self.radix = [len(v) + 1 for v in self.vocabularies]
        if np.prod(np.asarray(self.radix, dtype=float)) >= 2**62:
            raise ValueError(f"too many distinct keys over {self.by} for one integer code")
        combined = self._combined(events)
        self.key_values, codes = np.unique(combined, return_inverse=True)
        codes = codes.astype(np.int64).reshape(-1)
        times = _milliseconds(events["occurred_at"]) if len(events) else np.zeros(0, dtype=np.int64)
        order = np.lexsort((times, codes))  # stable: equal times keep their log order
        self.t0 = int(times.min()) if len(times) else 0
        self.span = (int(times.max()) - self.t0 + 2) if len(times) else 2
        self.codes = codes[order]
        self.composite = self.codes * self.span + (times[order] - self.t0)
        self.values = {c: events[c].to_numpy(dtype=float)[order] for c in self.columns}

    def _combined(self, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
        """One integer per row for its key (``-1`` when a value was never seen), shape ``(m,)``."""
        combined = np.zeros(len(frame), dtype=np.int64)
        unknown = np.zeros(len(frame), dtype=bool)
        for column, vocabulary, radix in zip(self.by, self.vocabularies, self.radix, strict=True):
            codes = vocabulary.get_indexer(np.asarray(frame[column], dtype=object))
            unknown |= codes < 0
            combined = combined * radix + codes
        return np.where(unknown, -1, combined)

    def _codes(self, queries: pd.DataFrame) -> npt.NDArray[np.int64]:
        combined = self._combined(queries)
        position = np.searchsorted(self.key_values, combined)
        safe = np.minimum(position, len(self.key_values) - 1)
        known = (combined >= 0) & (self.key_values[safe] == combined)
        return np.where(known, safe, -1).astype(np.int64)

    def lookup(self, queries: pd.DataFrame, moments: pd.Series) -> dict[str, FloatArray]:
        """For each query row (key columns ``by``), the last values strictly before its moment (NaN if none)."""
        if len(self.codes) == 0:
            return {c: np.full(len(queries), np.nan) for c in self.values}
        codes = self._codes(queries)
        offsets = np.clip(_milliseconds(moments) - self.t0, 0, self.span - 1)
        position = (
            np.searchsorted(self.composite, np.maximum(codes, 0) * self.span + offsets, side="left") - 1
        )
        safe = np.maximum(position, 0)
        found = (codes >= 0) & (position >= 0) & (self.codes[safe] == codes)
        return {c: np.where(found, v[safe], np.nan) for c, v in self.values.items()}
