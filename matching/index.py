"""Vector index over offers, profiles or trainings, with exact search inside ROME blocks.

Two search paths over the same items:

* **blocked** (:meth:`VectorIndex.search_blocks`): the query names the ROME codes it accepts (the
  person's project, expanded to mobility neighbours and parent/sub-fiches). Only the rows of those
  blocks are scored, exactly, with one matrix-vector product; filters are applied before ranking, so
  the result is the exact filtered top-k. This is the cheapest correct way under ROME filters: a
  block holds a small share of the items.
* **open** (:meth:`VectorIndex.search_open`): no ROME filter; a FAISS index (exact inner product for
  small sets, IVF with 8-bit scalar quantisation above ``ivf_threshold`` items) returns candidates,
  over-fetched and then filtered.

``storage`` keeps the vectors themselves compact: ``"float16"`` (half the float32 memory: a million
384-d profiles take 768 MB; recall@50 of block search against float32 0.997 at national scale) or
``"int8"`` codes with one scale per row (a quarter; recall@50 0.945 on near-duplicate profiles, see
``matching bench``). Blocked scores are computed on the decoded rows.

Items can be added and removed (expired offers) without a rebuild: removed rows are tombstoned and
dropped from FAISS by id. :func:`save_index` writes a folder atomically with a manifest (encoder,
dimension, counts, checksums, seed, data fingerprint); :func:`load_index` refuses a truncated, edited
or mismatched folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

from matching import __version__
from matching.artifacts import MANIFEST, atomic_folder, checksum_problem, read_manifest_file, sha256_file
from matching.errors import MatchingError
from matching.geo import EARTH_RADIUS_KM, haversine_km, region_edge_km

FloatMatrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FORMAT_VERSION = 2  # 2: the extent_km and anywhere attributes (a place's precision)
Storage = Literal["float32", "float16", "int8"]
STORAGE_DTYPES: dict[str, Any] = {"float32": np.float32, "float16": np.float16, "int8": np.int8}


class IndexIntegrityError(MatchingError):
    """An index folder is missing, truncated, corrupted, or built with another encoder."""


@dataclass(frozen=True)
class ItemFilter:
    """Constraints every returned item must meet (``None`` = no constraint).

    Attributes
    ----------
    center, radius_km
        Keep items within ``radius_km`` of ``(lat, lon)``. An approximate place (a département, a
        region) is within reach when its edge is: the distance to its centroid minus its extent
        (the item's ``extent_km`` attribute, and ``extent_km`` below for the query's own place).
        Items without coordinates are kept only when ``keep_unlocated``, and never an item whose
        ``anywhere`` attribute is 0 (abroad, or an unknown place: nowhere a commute reaches); 1
        (national, remote) and NaN (not stated) are kept. Items that are nowhere are dropped by any
        commute filter, with or without a center.
    extent_km
        Radius (km) of the query's own place around ``center`` (0 for a point).
    region
        The query's own place is this region (INSEE code): the commute reaches it when it reaches
        one of its départements (:func:`matching.geo.region_edge_km`), not the disc around it that
        ``extent_km`` draws; items placed at a region (their ``region`` attribute) are read the same.
    item_radius
        When true, the radius is each *item's* own ``radius_km`` attribute (offer -> profiles: each
        candidate's declared commute), instead of ``radius_km``.
    contract_types
        Allowed contract codes (items whose contract is not stated pass).
    min_hours, max_hours
        Bounds on weekly hours (items with unknown hours pass).
    where
        Extra predicate: receives the attribute arrays of the candidate rows, returns a keep mask.
    """

    center: tuple[float, float] | None = None
    radius_km: float | None = None
    extent_km: float = 0.0
    region: str | None = None
    item_radius: bool = False
    keep_unlocated: bool = True
    contract_types: frozenset[str] | None = None
    min_hours: float | None = None
    max_hours: float | None = None
    where: Callable[[dict[str, np.ndarray]], BoolArray] | None = None

    def mask(self, attrs: dict[str, np.ndarray]) -> BoolArray:
        """Keep mask over rows whose attributes are given (each array of shape ``(m,)``)."""
        keep = np.ones(len(attrs["lat"]), dtype=bool)
        if self.radius_km is not None or self.item_radius:
            keep &= attrs["anywhere"] != 0  # NaN (not stated) compares unequal: kept
        if self.center is not None and (self.radius_km is not None or self.item_radius):
            lat, lon = attrs["lat"], attrs["lon"]
            located = ~np.isnan(lat)
            radius = np.broadcast_to(
                np.asarray(attrs["radius_km"] if self.item_radius else self.radius_km, dtype=np.float64),
                keep.shape,
            )
            reach = radius + np.nan_to_num(attrs["extent_km"], nan=0.0)
            if self.region is not None:  # the query is a region: to its nearest département's edge
                distance = region_edge_km(self.region, lat, lon)
            else:
                distance = haversine_km(self.center[0], self.center[1], lat, lon)
                reach = reach + self.extent_km
            keep &= np.where(located, distance <= reach, self.keep_unlocated)
            # items placed at a region (a few): to their nearest département's edge, not the disc
            regions = attrs["region"]
            at_region = np.flatnonzero(keep & (regions != np.array(None)))
            for region in set(regions[at_region].tolist()):
                rows = at_region[regions[at_region] == region]
                edge = region_edge_km(region, self.center[0], self.center[1])
                keep[rows] = edge <= radius[rows] + self.extent_km
        if self.contract_types is not None:  # an unstated contract is not outside them: kept, as hours
            contract = attrs["contract"]
            keep &= np.isin(contract, list(self.contract_types)) | (contract == np.array(None))
        if self.min_hours is not None:
            keep &= ~(attrs["hours"] < self.min_hours)  # NaN (unknown) passes
        if self.max_hours is not None:
            keep &= ~(attrs["hours"] > self.max_hours)
        if self.where is not None:
            keep &= self.where(attrs)
        return keep


# Filter attributes: coordinates, the item's own radius (profiles), the extent of an approximate place
# and whether it is anywhere (1: national), nowhere (0: abroad, unknown) or where its point is (NaN),
# the region code of an offer placed at a region (offers), weekly hours (offers) or total hours (trainings), contract code, start day (days since
# 1970-01-01: trainings).
ATTRIBUTES: dict[str, Any] = {
    "lat": np.float64,
    "lon": np.float64,
    "radius_km": np.float64,
    "extent_km": np.float64,
    "anywhere": np.float64,
    "region": object,
    "hours": np.float64,
    "contract": object,
    "start_day": np.float64,
}


def check_index_settings(*, dim: int, ivf_threshold: int, nprobe: int | None, storage: str) -> None:
    """Refuse settings a :class:`VectorIndex` cannot work with.

    Raises
    ------
    ValueError
        If ``dim`` is not a positive integer, ``ivf_threshold`` is negative, ``nprobe`` is below 1 or
        ``storage`` is not one of :data:`STORAGE_DTYPES`.
    """
    if not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"dim must be a positive integer, not {dim!r}")
    if storage not in STORAGE_DTYPES:
        raise ValueError(f"storage must be one of {', '.join(STORAGE_DTYPES)}, not {storage!r}")
    if ivf_threshold < 0:
        raise ValueError(f"ivf_threshold must be >= 0, not {ivf_threshold!r}")
    if nprobe is not None and nprobe < 1:
        raise ValueError(f"nprobe must be None or >= 1, not {nprobe!r}")


class VectorIndex(BaseEstimator):
    """Vectors of ``n`` items with their ids, ROME blocks and filter attributes.

    A scikit-learn estimator (``get_params``, ``clone``): the settings are keyword-only and stored as given; :meth:`add` is the fit
    (it checks the settings on the first call), :func:`load_index` restores a saved index. An index to
    which nothing was added holds no items: it has length 0 and every search returns nothing.

    Parameters
    ----------
    dim
        Embedding dimension ``d``.
    encoder
        Name of the encoder that produced the vectors (checked at load and query time).
    ivf_threshold
        Above this many items the open-search index is IVF-SQ8 (approximate); below, exact.
    nprobe
        IVF lists probed per query (recall/latency trade-off); ``None`` probes 1/8 of the lists
        (at least 16).
    random_state
        Seed of the IVF training sample.
    storage
        ``"float32"`` (default), ``"float16"``, or ``"int8"`` (codes plus a float32 scale per row):
        the dtype of ``vectors_``.

    Attributes
    ----------
    ids_ : ndarray of object, shape (n_rows,)
        Item id of each row, removed rows included.
    vectors_ : ndarray of shape (n_rows, dim)
        The rows as stored (dtype given by ``storage``).
    scales_ : ndarray of float32, shape (n_rows,)
        Scale of each int8 row (ones for the other storages).
    blocks_ : list of tuple of str, length n_rows
        ROME codes each row is filed under.
    attrs_ : dict of str to ndarray of shape (n_rows,)
        Filter attributes (:data:`ATTRIBUTES`).
    alive_ : ndarray of bool, shape (n_rows,)
        False for removed rows.
    faiss_ : faiss.Index
        Open-search index over the live rows, by row number.
    """

    ids_: npt.NDArray[np.object_]
    vectors_: npt.NDArray[Any]
    scales_: FloatMatrix
    blocks_: list[tuple[str, ...]]
    attrs_: dict[str, np.ndarray]
    alive_: BoolArray
    faiss_: Any
    _row_of: dict[str, int]
    _block_rows: dict[str, IntArray] | None
    _block_lats: dict[str, FloatMatrix]
    _max_radius: float
    _max_extent: float

    def __init__(
        self,
        *,
        dim: int,
        encoder: str,
        ivf_threshold: int = 20_000,
        nprobe: int | None = None,
        random_state: int = 0,
        storage: Storage = "float32",
    ) -> None:
        self.dim = dim
        self.encoder = encoder
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self.random_state = random_state
        self.storage = storage

    def _check_params(self) -> None:
        check_index_settings(
            dim=self.dim, ivf_threshold=self.ivf_threshold, nprobe=self.nprobe, storage=self.storage
        )

    def _set_state(
        self,
        *,
        ids: npt.NDArray[np.object_],
        vectors: npt.NDArray[Any],
        scales: FloatMatrix,
        blocks: list[tuple[str, ...]],
        attrs: dict[str, np.ndarray],
        alive: BoolArray,
        faiss_index: Any,
    ) -> None:
        """Install the learned state (from :meth:`add` or :func:`load_index`) and reset the caches."""
        self.ids_ = ids
        self.vectors_ = vectors
        self.scales_ = scales
        self.blocks_ = blocks
        self.attrs_ = attrs
        self.alive_ = alive
        self.faiss_ = faiss_index
        self._row_of = {item: k for k, item in enumerate(ids.tolist()) if alive[k]}
        self._block_rows = None
        self._block_lats = {}
        self._max_radius = 0.0
        self._max_extent = 0.0

    def _fitted(self) -> bool:
        return hasattr(self, "alive_")

    # -- building -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of live items (0 before the first :meth:`add`)."""
        return int(self.alive_.sum()) if self._fitted() else 0

    def add(
        self,
        ids: Sequence[str],
        vectors: npt.ArrayLike,
        blocks: Sequence[Iterable[str]],
        attrs: dict[str, Sequence[Any]] | None = None,
    ) -> VectorIndex:
        """Add items (an id already present is replaced); the first call checks the settings.

        Parameters
        ----------
        ids : sequence of str, length m
            Item ids, unique within the call.
        vectors : array-like of shape (m, dim)
            L2-normalised item vectors.
        blocks : sequence of iterables of str, length m
            For each item, the ROME codes it is filed under.
        attrs : dict of str to sequence of length m, optional
            Filter attributes among :data:`ATTRIBUTES` (``lat``, ``lon`` in degrees, ``radius_km`` in
            km, ``hours``, ``contract``, ``start_day`` in days since 1970-01-01); missing ones are
            unknown (NaN or None).

        Returns
        -------
        VectorIndex
            ``self``.

        Raises
        ------
        ValueError
            If the settings are invalid, the lengths differ, or ``ids`` repeats an id.
        """
        if not self._fitted():
            self._check_params()
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if not len(ids) == len(matrix) == len(blocks):
            raise ValueError("ids, vectors and blocks must have the same length")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        if not self._fitted():
            self._set_state(
                ids=np.zeros(0, dtype=object),
                vectors=np.zeros((0, self.dim), dtype=STORAGE_DTYPES[self.storage]),
                scales=np.ones(0, dtype=np.float32),
                blocks=[],
                attrs={name: np.zeros(0, dtype=dtype) for name, dtype in ATTRIBUTES.items()},
                alive=np.zeros(0, dtype=bool),
                faiss_index=None,
            )
        self.remove([i for i in ids if i in self._row_of])
        start = len(self.ids_)
        self.ids_ = np.concatenate([self.ids_, np.asarray(list(ids), dtype=object)])
        codes, scales = encode_rows(matrix, self.storage)
        self.vectors_ = np.concatenate([self.vectors_, codes])
        self.scales_ = np.concatenate([self.scales_, scales])
        self.blocks_.extend(tuple(dict.fromkeys(b)) for b in blocks)
        self.alive_ = np.concatenate([self.alive_, np.ones(len(ids), dtype=bool)])
        attrs = attrs or {}
        for name, dtype in ATTRIBUTES.items():
            default = np.full(len(ids), None if dtype is object else np.nan, dtype=dtype)
            values = np.asarray(attrs[name], dtype=dtype) if name in attrs else default
            self.attrs_[name] = np.concatenate([self.attrs_[name], values])
        self._row_of.update({item: start + k for k, item in enumerate(ids)})
        self._block_rows = None
        rows = np.arange(start, start + len(ids), dtype=np.int64)
        if self.faiss_ is None or (not self._is_ivf() and len(self) > self.ivf_threshold):
            self._rebuild_faiss()
        else:
            self.faiss_.add_with_ids(matrix, rows)
        return self

    def remove(self, ids: Iterable[str]) -> int:
        """Drop items (e.g. expired offers); unknown ids are ignored.

        Returns
        -------
        int
            How many live items were removed.
        """
        if not self._fitted():
            return 0
        rows = np.asarray([self._row_of.pop(i) for i in ids if i in self._row_of], dtype=np.int64)
        if len(rows) == 0:
            return 0
        self.alive_[rows] = False
        self._block_rows = None
        if self.faiss_ is not None:
            self.faiss_.remove_ids(rows)
        return len(rows)

    def copy(self) -> VectorIndex:
        """A copy sharing no mutable state: :meth:`add` and :meth:`remove` on it leave this index as it is.

        Arrays that :meth:`add` replaces rather than writes into (ids, vectors, scales, attributes) are
        shared; the liveness mask, the id map, the block lists and the FAISS index are copied.
        """
        twin = VectorIndex(
            dim=self.dim,
            encoder=self.encoder,
            ivf_threshold=self.ivf_threshold,
            nprobe=self.nprobe,
            random_state=self.random_state,
            storage=self.storage,
        )
        if self._fitted():
            twin._set_state(
                ids=self.ids_,
                vectors=self.vectors_,
                scales=self.scales_,
                blocks=list(self.blocks_),
                attrs=dict(self.attrs_),
                alive=self.alive_.copy(),
                faiss_index=faiss.clone_index(self.faiss_) if self.faiss_ is not None else None,
            )
        return twin

    def probes(self, n_lists: int) -> int:
        return int(self.nprobe if self.nprobe is not None else min(n_lists, max(16, n_lists // 8)))

    def _is_ivf(self) -> bool:
        return isinstance(self.faiss_, faiss.IndexIVF)

    def _rebuild_faiss(self) -> None:
        """IVF-SQ8 above ``ivf_threshold`` live items (ids stored natively), else an exact flat index
        behind an id map (IDMap only suits indexes that compact like a flat one on removal)."""
        alive = np.flatnonzero(self.alive_)
        index: Any
        if len(alive) > self.ivf_threshold:
            # about sqrt(n) lists trained on 64 points each: k-means stays seconds at a million items
            n_lists = int(min(2 * np.sqrt(len(alive)), len(alive) // 39))
            index = faiss.IndexIVFScalarQuantizer(
                faiss.IndexFlatIP(self.dim),
                self.dim,
                n_lists,
                faiss.ScalarQuantizer.QT_8bit,
                faiss.METRIC_INNER_PRODUCT,
            )
            sample = np.random.default_rng(self.random_state).choice(
                alive, size=min(len(alive), 64 * n_lists), replace=False
            )
            index.train(self.vectors_of(np.sort(sample)))
            index.nprobe = self.probes(n_lists)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        for start in range(0, len(alive), 100_000):  # decode int8 rows a slice at a time
            rows = alive[start : start + 100_000]
            index.add_with_ids(self.vectors_of(rows), rows.astype(np.int64))
        self.faiss_ = index

    # -- search ---------------------------------------------------------------------------------------
    @property
    def block_rows(self) -> dict[str, IntArray]:
        """Live rows filed under each ROME code, by increasing latitude (unlocated rows last)."""
        if not self._fitted():
            return {}
        if self._block_rows is None:
            alive = np.flatnonzero(self.alive_)
            lengths = np.fromiter((len(self.blocks_[r]) for r in alive.tolist()), np.int64, len(alive))
            owners = np.repeat(alive, lengths)
            codes, code_of = np.unique(
                np.fromiter(
                    chain.from_iterable(self.blocks_[r] for r in alive.tolist()), object, lengths.sum()
                ),
                return_inverse=True,
            )
            # by block, then latitude (NaN sorts last): a radius around a point is a slice of each block
            order = np.lexsort((self.attrs_["lat"][owners], code_of))
            bounds = np.searchsorted(code_of[order], np.arange(len(codes) + 1))
            block_rows = {
                str(code): owners[order[a:b]]
                for code, a, b in zip(codes.tolist(), bounds[:-1], bounds[1:], strict=True)
            }
            self._block_lats = {code: self.attrs_["lat"][rows] for code, rows in block_rows.items()}
            radii = self.attrs_["radius_km"][alive]
            self._max_radius = float(np.nanmax(radii)) if np.isfinite(radii).any() else 0.0
            extents = self.attrs_["extent_km"][alive]
            self._max_extent = float(np.nanmax(extents)) if np.isfinite(extents).any() else 0.0
            # set last: a concurrent search of a shared index sees either nothing cached or all of it
            self._block_rows = block_rows
        return self._block_rows

    def _rows_near(self, block: str, item_filter: ItemFilter | None) -> IntArray:
        """Rows of ``block`` whose latitude can be within the filter's reach (a superset of the answer).

        The great-circle distance is at least the latitude difference times the Earth's radius, so
        rows outside that band cannot pass the distance filter; unlocated rows follow ``keep_unlocated``.
        """
        rows = self.block_rows[block]
        if item_filter is None or item_filter.center is None:
            return rows
        radius = self._max_radius if item_filter.item_radius else item_filter.radius_km
        if radius is None:
            return rows
        reach = radius + item_filter.extent_km + self._max_extent
        lats = self._block_lats[block]
        located = int(np.searchsorted(lats, np.inf, side="right"))  # NaN rows sit after the +inf bound
        band = float(reach) / (EARTH_RADIUS_KM * np.pi / 180.0) + 1e-6
        lo, hi = np.searchsorted(lats[:located], [item_filter.center[0] - band, item_filter.center[0] + band])
        near = rows[lo:hi]
        return np.concatenate([near, rows[located:]]) if item_filter.keep_unlocated else near

    def has(self, item: str) -> bool:
        """Whether ``item`` is a live item of the index."""
        return self._fitted() and item in self._row_of

    def row_of(self, item: str) -> int:
        """Row of a live item (``KeyError`` when it is not in the index)."""
        if not self._fitted():
            raise KeyError(item)
        return self._row_of[item]

    def rows_of(self, items: Sequence[str] | npt.NDArray[Any]) -> IntArray:
        """Rows of live items, shape ``(len(items),)``."""
        return np.fromiter((self._row_of[i] for i in items), np.int64, len(items))

    def vectors_of(self, rows: IntArray) -> FloatMatrix:
        """The (decoded) unit vectors of ``rows``, shape ``(len(rows), d)``."""
        if self.storage == "int8":
            return self.vectors_[rows].astype(np.float32) * self.scales_[rows, None]
        return self.vectors_[rows].astype(np.float32, copy=False)

    def scores_of(self, rows: IntArray, query: FloatMatrix) -> FloatMatrix:
        """Inner products of ``rows`` with one query vector of shape ``(d,)``, shape ``(len(rows),)``."""
        if self.storage == "int8":
            # scale after the product: one multiply per row instead of one per coordinate
            return (self.vectors_[rows] @ query) * self.scales_[rows]
        return self.vectors_[rows].astype(np.float32, copy=False) @ query

    def _attrs_of(self, rows: IntArray) -> dict[str, np.ndarray]:
        return {name: values[rows] for name, values in self.attrs_.items()}

    def _top(self, rows: IntArray, scores: FloatMatrix, k: int) -> tuple[npt.NDArray[np.str_], FloatMatrix]:
        if len(rows) > k:
            part = np.argpartition(-scores, k)[:k]
            rows, scores = rows[part], scores[part]
        order = np.lexsort((rows, -scores))  # ties broken by row for determinism
        return self.ids_[rows[order]].astype(str), scores[order].astype(np.float32)

    def search_blocks(
        self, query: npt.ArrayLike, blocks: Iterable[str], k: int, item_filter: ItemFilter | None = None
    ) -> tuple[npt.NDArray[np.str_], FloatMatrix]:
        """Exact top-``k`` by inner product among live items filed under ``blocks`` that pass the filter.

        Parameters
        ----------
        query : array-like of shape (dim,)
            Unit query vector.
        blocks : iterable of str
            ROME codes whose items are candidates (unknown codes are ignored).
        k : int
            Most items returned.
        item_filter : ItemFilter, optional
            Constraints applied before ranking.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
        scores : ndarray of float32, same shape
            Inner products, non-increasing; ties broken by row (insertion order).
        """
        table = self.block_rows
        parts = [self._rows_near(b, item_filter) for b in dict.fromkeys(blocks) if b in table]
        if not parts:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        rows = np.unique(np.concatenate(parts))  # an item filed under two blocks is scored once
        if item_filter is not None:
            rows = rows[item_filter.mask(self._attrs_of(rows))]
        scores = self.scores_of(rows, np.asarray(query, dtype=np.float32).reshape(self.dim))
        return self._top(rows, scores, k)

    def search_open(
        self, query: npt.ArrayLike, k: int, item_filter: ItemFilter | None = None, *, overfetch: int = 4
    ) -> tuple[npt.NDArray[np.str_], FloatMatrix]:
        """Top-``k`` over all items through FAISS (approximate when IVF), then filtered.

        Over-fetches ``overfetch * k`` candidates (doubling until ``k`` pass the filter or all items
        were seen), so a selective filter still fills the list when enough items match.

        Parameters
        ----------
        query : array-like of shape (dim,)
            Unit query vector.
        k : int
            Most items returned.
        item_filter : ItemFilter, optional
            Constraints the returned items meet.
        overfetch : int
            Candidates fetched per wanted item at first.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
        scores : ndarray of float32, same shape
            Exact inner products of the shortlisted items, non-increasing.
        """
        if len(self) == 0:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        q = np.asarray(query, dtype=np.float32).reshape(1, self.dim)
        fetch = min(len(self), max(k * overfetch, k))
        while True:
            _, rows = self.faiss_.search(q, fetch)
            rows_ = rows[0][rows[0] >= 0]
            if item_filter is not None:
                rows_ = rows_[item_filter.mask(self._attrs_of(rows_))]
            if len(rows_) >= k or fetch >= len(self):
                # re-rank with the exact vectors: SQ8 scores only serve to shortlist
                return self._top(rows_, self.scores_of(rows_, q[0]), k)
            fetch = min(len(self), fetch * 2)

    def brute_force(self, query: npt.ArrayLike, k: int) -> tuple[npt.NDArray[np.str_], FloatMatrix]:
        """Exact top-``k`` over all live items (the oracle for :meth:`search_open`).

        Parameters
        ----------
        query : array-like of shape (dim,)
            Unit query vector.
        k : int
            Most items returned.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
        scores : ndarray of float32, same shape
            Inner products, non-increasing.
        """
        if len(self) == 0:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        rows = np.flatnonzero(self.alive_)
        return self._top(rows, self.scores_of(rows, np.asarray(query, dtype=np.float32).reshape(self.dim)), k)


def encode_rows(matrix: FloatMatrix, storage: Storage) -> tuple[npt.NDArray[Any], FloatMatrix]:
    """Rows as stored (``vectors_`` dtype) and their scales (ones unless int8), shapes (m, d) and (m,)."""
    if storage == "int8":
        return quantize_rows(matrix)
    return matrix.astype(STORAGE_DTYPES[storage]), np.ones(len(matrix), dtype=np.float32)


def quantize_rows(matrix: FloatMatrix) -> tuple[npt.NDArray[np.int8], FloatMatrix]:
    """Symmetric int8 codes per row: ``matrix ≈ codes * scales[:, None]``.

    Parameters
    ----------
    matrix : array of shape (m, d)

    Returns
    -------
    codes : int8 array of shape (m, d)
    scales : float32 array of shape (m,)
    """
    peak = np.abs(matrix).max(axis=1) if len(matrix) else np.zeros(0, dtype=np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales


# -- persistence --------------------------------------------------------------------------------------
def data_fingerprint(index: VectorIndex) -> str:
    """Hash of the live ids and vectors: two indexes over the same data share it."""
    digest = hashlib.sha256()
    alive = np.flatnonzero(index.alive_)
    digest.update("\n".join(index.ids_[alive].astype(str).tolist()).encode())
    digest.update(np.ascontiguousarray(index.vectors_[alive]).tobytes())
    if index.storage == "int8":
        digest.update(np.ascontiguousarray(index.scales_[alive]).tobytes())
    return digest.hexdigest()


def save_index(index: VectorIndex, folder: Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Write the index to ``folder`` atomically, with a checksummed manifest (the index is unchanged).

    Raises
    ------
    ValueError
        If nothing was ever added to the index.
    """
    if not index._fitted():
        raise ValueError("cannot save an index to which nothing was added")
    folder = Path(folder)
    with atomic_folder(folder) as staging:
        np.save(staging / "vectors.npy", index.vectors_)
        np.save(staging / "scales.npy", index.scales_)
        np.save(staging / "alive.npy", index.alive_)
        (staging / "items.json").write_text(
            json.dumps(
                {"ids": index.ids_.astype(str).tolist(), "blocks": [list(b) for b in index.blocks_]},
                ensure_ascii=False,
            )
        )
        attributes: dict[str, Any] = {
            # text attributes as strings, a missing value as "" (str(None) would read back as "None")
            k: (
                np.array(["" if x is None else str(x) for x in v.tolist()], dtype=str)
                if v.dtype == object
                else v
            )
            for k, v in index.attrs_.items()
        }
        np.savez(staging / "attributes.npz", **attributes)
        faiss.write_index(index.faiss_, str(staging / "open.faiss"))
        files = {p.name: sha256_file(p) for p in sorted(staging.iterdir())}
        manifest = {
            "format_version": FORMAT_VERSION,
            "generator": f"matching-engine {__version__}",
            "encoder": index.encoder,
            "dim": index.dim,
            "count": len(index),
            "rows": len(index.ids_),
            "ivf": index._is_ivf(),
            "ivf_threshold": index.ivf_threshold,
            "nprobe": index.nprobe,
            "random_state": index.random_state,
            "storage": index.storage,
            "data_fingerprint": data_fingerprint(index),
            "files": files,
            **(extra or {}),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def _text_attribute(values: np.ndarray) -> np.ndarray:
    """A saved text attribute as objects, "" (missing) as None."""
    return np.array([x or None for x in values.tolist()], dtype=object)


def read_index_manifest(folder: Path) -> dict[str, Any]:
    manifest = read_manifest_file(folder, "index", IndexIntegrityError)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexIntegrityError(
            f"{folder}: unsupported index format {manifest.get('format_version')!r} (this version reads "
            f"{FORMAT_VERSION}): rebuild it with `matching index update`"
        )
    return manifest


def read_index_ids(folder: Path) -> list[str]:
    """The live item ids of the index saved in ``folder``, without loading its vectors.

    Raises
    ------
    IndexIntegrityError
        If the folder holds no index (see :func:`read_index_manifest`) or its id files are unreadable.
    """
    folder = Path(folder)
    read_index_manifest(folder)
    try:
        ids = json.loads((folder / "items.json").read_text())["ids"]
        alive = np.load(folder / "alive.npy")
    except (OSError, ValueError, KeyError) as error:
        raise IndexIntegrityError(f"index in {folder}: unreadable ids ({error})") from None
    return [item for item, live in zip(ids, alive.tolist(), strict=True) if live]


def load_index(folder: Path, *, encoder: str | None = None) -> VectorIndex:
    """Load an index written by :func:`save_index`, failing closed.

    Raises
    ------
    IndexIntegrityError
        If a file is missing or does not match its checksum, the contents disagree with the manifest,
        or ``encoder`` is given and differs from the one the index was built with.
    """
    folder = Path(folder)
    manifest = read_index_manifest(folder)
    if encoder is not None and manifest["encoder"] != encoder:
        raise IndexIntegrityError(
            f"index in {folder} was built with encoder {manifest['encoder']!r}, not {encoder!r}: rebuild it"
        )
    problem = checksum_problem(folder, manifest["files"])
    if problem is not None:
        raise IndexIntegrityError(f"index in {folder} is not usable: {problem}; rebuild the index")
    items = json.loads((folder / "items.json").read_text())
    vectors = np.load(folder / "vectors.npy")
    alive = np.load(folder / "alive.npy")
    if vectors.shape != (manifest["rows"], manifest["dim"]) or int(alive.sum()) != manifest["count"]:
        raise IndexIntegrityError(
            f"index in {folder} holds {vectors.shape} vectors, manifest says {manifest['rows']}x{manifest['dim']}"
        )
    scales = np.load(folder / "scales.npy") if "scales.npy" in manifest["files"] else None
    with np.load(folder / "attributes.npz") as data:
        attrs = {k: (_text_attribute(data[k]) if ATTRIBUTES[k] is object else data[k]) for k in ATTRIBUTES}
    index = VectorIndex(
        dim=int(manifest["dim"]),
        encoder=str(manifest["encoder"]),
        ivf_threshold=int(manifest["ivf_threshold"]),
        nprobe=manifest["nprobe"],
        random_state=int(manifest["random_state"]),
        storage=manifest.get("storage", "float32"),
    )
    try:
        index._check_params()
    except ValueError as error:
        raise IndexIntegrityError(f"index in {folder} is not usable: {error}") from None
    open_index = faiss.read_index(str(folder / "open.faiss"))  # already the concrete class
    if isinstance(open_index, faiss.IndexIVF):
        open_index.nprobe = index.probes(open_index.nlist)
    index._set_state(
        ids=np.asarray(items["ids"], dtype=object),
        vectors=vectors,
        scales=scales
        if scales is not None and len(scales) == len(vectors)
        else np.ones(len(vectors), np.float32),
        blocks=[tuple(b) for b in items["blocks"]],
        attrs=attrs,
        alive=alive,
        faiss_index=open_index,
    )
    if data_fingerprint(index) != manifest["data_fingerprint"]:
        raise IndexIntegrityError(f"index in {folder}: data fingerprint mismatch")
    return index
