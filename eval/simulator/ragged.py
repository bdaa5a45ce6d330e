"""Ragged integer lists in CSR form (offsets + values): per-entity skill lists at national scale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Ragged:
    """``n`` lists of ints: list ``i`` is ``values[offsets[i]:offsets[i + 1]]``.

    Attributes
    ----------
    offsets : ndarray of int64, shape (n + 1,)
    values : ndarray of int64, shape (offsets[-1],)
    """

    offsets: IntArray
    values: IntArray

    @classmethod
    def from_lists(cls, lists: Sequence[Sequence[int]]) -> Ragged:
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        values = np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(offsets[-1]))
        return cls(offsets, values)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    def row(self, i: int) -> IntArray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def owners(self) -> IntArray:
        """Index of the list each value belongs to, shape ``(len(values),)``."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def take(self, rows: IntArray) -> Ragged:
        """The lists at ``rows`` (with repetition), as a new :class:`Ragged`."""
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        starts = np.repeat(self.offsets[:-1][rows] - offsets[:-1], lengths)
        return Ragged(offsets, self.values[np.arange(offsets[-1], dtype=np.int64) + starts])

    def mask(self, keep: npt.NDArray[np.bool_]) -> Ragged:
        """Keep the values where ``keep`` (shape ``(len(values),)``) is true."""
        counts = np.bincount(self.owners()[keep], minlength=len(self)).astype(np.int64)
        return Ragged(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), self.values[keep])

    def concat_rows(self, other: Ragged) -> Ragged:
        """Row-wise union (duplicates kept): list ``i`` is ``self[i] + other[i]``."""
        owners = np.concatenate([self.owners(), other.owners()])
        values = np.concatenate([self.values, other.values])
        order = np.argsort(owners, kind="stable")
        counts = np.bincount(owners, minlength=len(self)).astype(np.int64)
        return Ragged(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), values[order])

    def unique_rows(self) -> Ragged:
        """Drop repeated values inside each list, keeping first occurrences in order."""
        owners = self.owners()
        key = owners * (int(self.values.max(initial=0)) + 1) + self.values
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(self.values), dtype=bool)
        keep[first] = True
        return self.mask(keep)

    def membership(self, rows: IntArray, items: IntArray) -> npt.NDArray[np.bool_]:
        """Whether ``items[j]`` is in list ``rows[j]``, for pairs of equal-length arrays."""
        if len(rows) == 0:
            return np.zeros(0, dtype=bool)
        width = int(max(self.values.max(initial=0), items.max(initial=0))) + 1
        present = np.sort(self.owners() * width + self.values)
        probe = rows.astype(np.int64) * width + items
        pos = np.searchsorted(present, probe)
        return (pos < len(present)) & (present[np.minimum(pos, len(present) - 1)] == probe)


def sample_sublists(
    source: Ragged, rows: IntArray, keep_prob: npt.NDArray[np.float64], rng: np.random.Generator
) -> Ragged:
    """For each ``rows[i]``, keep each value of ``source[rows[i]]`` with probability ``keep_prob[i]``."""
    picked = source.take(rows)
    return picked.mask(rng.random(len(picked.values)) < np.repeat(keep_prob, picked.lengths))
