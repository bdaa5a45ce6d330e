"""Vector index: approximate search against a brute-force oracle, compact storage, filters,
incremental updates, and fail-closed persistence. Tiny synthetic data with known answers. (The exact
filtered block search is checked against brute force through the recommenders, in
``tests/contracts/test_recommend.py``.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matching.encoders import normalize_rows
from matching.geo import haversine_km
from matching.index import IndexIntegrityError, ItemFilter, Storage, VectorIndex, load_index, save_index

CODES = np.array(["N1101", "N1103", "M1805", "K2204", "J1501"])


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(50, dim))
    return normalize_rows(centers[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, dim)))


def make_index(
    n: int = 3000, dim: int = 32, *, ivf_threshold: int = 20_000, seed: int = 0, storage: Storage = "float32"
) -> VectorIndex:
    rng = np.random.default_rng(seed)
    index = VectorIndex(dim=dim, encoder="test", ivf_threshold=ivf_threshold, storage=storage)
    index.add(
        [f"o{i}" for i in range(n)],
        clustered(n, dim, seed),
        [[CODES[i % 5]] for i in range(n)],
        {
            "lat": np.where(rng.random(n) < 0.05, np.nan, 45 + rng.random(n)),
            "lon": 4 + rng.random(n),
            "radius_km": rng.choice([10.0, 30.0], n),
            "hours": np.where(rng.random(n) < 0.1, np.nan, rng.choice([20.0, 35.0], n)),
            "contract": rng.choice(["CDI", "CDD", "MIS"], n),
        },
    )
    return index


def test_ivf_recall_at_50_against_brute_force() -> None:
    index = make_index(n=30_000, dim=32, ivf_threshold=5_000)
    assert index._is_ivf()
    queries = clustered(50, 32, seed=99)
    recalls = []
    for q in queries:
        approx, _ = index.search_open(q, 50)
        exact, _ = index.brute_force(q, 50)
        recalls.append(len(set(approx) & set(exact)) / 50)
    assert np.mean(recalls) >= 0.95, np.mean(recalls)


@pytest.mark.parametrize(("storage", "shrink"), [("float16", 2), ("int8", 4)])
def test_compact_vectors_keep_the_exact_top_k(storage: Storage, shrink: int) -> None:
    """Compact rows (half or a quarter of the memory) against the float32 oracle on the same items."""
    exact, quantised = make_index(n=5000), make_index(n=5000, storage=storage)
    assert quantised.vectors_.nbytes * shrink == exact.vectors_.nbytes
    recalls = []
    for q in clustered(30, 32, seed=11):
        a, scores = quantised.search_blocks(q, CODES[:2], 50)
        b, exact_scores = exact.search_blocks(q, CODES[:2], 50)
        recalls.append(len(set(a) & set(b)) / 50)
        assert np.abs(scores - exact_scores).max() < 0.02
    assert np.mean(recalls) >= 0.97, np.mean(recalls)


def test_open_search_honours_filters_exactly() -> None:
    index = make_index(n=30_000, ivf_threshold=5_000)
    item_filter = ItemFilter(
        center=(45.5, 4.5), radius_km=20, keep_unlocated=False, contract_types=frozenset({"MIS"})
    )
    ids, _ = index.search_open(clustered(1, 32, seed=3)[0], 30, item_filter)
    assert len(ids) == 30
    rows = [index._row_of[i] for i in ids]
    assert all(index.attrs_["contract"][r] == "MIS" for r in rows)
    assert all(haversine_km(45.5, 4.5, index.attrs_["lat"][r], index.attrs_["lon"][r]) <= 20 for r in rows)


def test_item_radius_uses_each_items_own_limit() -> None:
    index = VectorIndex(dim=2, encoder="test")
    index.add(
        ["near-strict", "far-tolerant", "far-strict"],
        [[1, 0], [1, 0], [1, 0]],
        [["A1203"]] * 3,
        {"lat": [45.0, 45.2, 45.2], "lon": [4.0, 4.0, 4.0], "radius_km": [5.0, 30.0, 10.0]},
    )
    ids, _ = index.search_blocks([1, 0], ["A1203"], 10, ItemFilter(center=(45.0, 4.0), item_radius=True))
    assert set(ids) == {"near-strict", "far-tolerant"}  # far-strict is 22 km away, beyond its own 10 km


def test_incremental_add_and_remove() -> None:
    index = make_index(n=6000, ivf_threshold=5_000)
    q = clustered(1, 32, seed=5)[0]
    top, _ = index.search_blocks(q, CODES, 10)
    assert index.remove(top[:5]) == 5
    assert not set(top[:5]) & set(index.search_blocks(q, CODES, 50)[0])
    assert not set(top[:5]) & set(index.search_open(q, 50)[0])
    index.add(["new"], [q], [["N1101"]])
    assert index.search_blocks(q, ["N1101"], 1)[0][0] == "new"
    assert index.search_open(q, 1)[0][0] == "new"
    index.add(["new"], [-q], [["N1101"]])  # same id: replaced, not duplicated
    assert list(index.ids_[index.alive_]).count("new") == 1
    assert len(index) == 6000 - 5 + 1


@pytest.mark.parametrize("storage", ["float32", "float16", "int8"])
def test_save_load_round_trip(tmp_path: Path, storage: Storage) -> None:
    index = make_index(n=6000, ivf_threshold=5_000, storage=storage)
    index.remove(["o1", "o2"])
    q = clustered(1, 32, seed=8)[0]
    before = (
        index.search_open(q, 20),
        index.search_blocks(q, ["M1805"], 20, ItemFilter(contract_types=frozenset({"CDI"}))),
    )
    folder = save_index(index, tmp_path / "idx")
    loaded = load_index(folder, encoder="test")
    after = (
        loaded.search_open(q, 20),
        loaded.search_blocks(q, ["M1805"], 20, ItemFilter(contract_types=frozenset({"CDI"}))),
    )
    for (ids_a, scores_a), (ids_b, scores_b) in zip(before, after, strict=True):
        assert list(ids_a) == list(ids_b)
        assert np.allclose(scores_a, scores_b)
    assert len(loaded) == 5998


def test_corrupted_or_mismatched_index_refused(tmp_path: Path) -> None:
    folder = save_index(make_index(n=500), tmp_path / "idx")
    with pytest.raises(IndexIntegrityError, match="encoder"):
        load_index(folder, encoder="another")
    vectors = folder / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-64])  # truncated
    with pytest.raises(IndexIntegrityError, match="checksum"):
        load_index(folder)
    (folder / "open.faiss").unlink()
    with pytest.raises(IndexIntegrityError, match="missing"):
        load_index(folder)
    (folder / "manifest.json").write_text("{")
    with pytest.raises(IndexIntegrityError, match="JSON"):
        load_index(folder)


def test_approximate_places_are_reached_by_their_edge_against_brute_force() -> None:
    """A département-placed item is kept when the commute reaches its edge (distance to its centroid
    minus its extent), however far its centroid; an unlocated item only when it is anywhere (national)
    or not stated, never when it is nowhere (abroad, unknown). The latitude band that prunes rows must
    widen by the largest extent: checked against a brute-force scan of every row."""
    rng = np.random.default_rng(4)
    n = 3000
    lat, lon = rng.uniform(42.0, 50.0, n), rng.uniform(-2.0, 7.0, n)
    unlocated = rng.random(n) < 0.2
    lat[unlocated], lon[unlocated] = np.nan, np.nan
    extent = np.where(~unlocated & (rng.random(n) < 0.3), rng.uniform(20.0, 250.0, n), 0.0)
    anywhere = np.where(unlocated, rng.choice([0.0, 1.0, np.nan], n), np.nan)
    ids = [f"o{i}" for i in range(n)]
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(dim=8, encoder="test")
    index.add(
        ids, vectors, [["A1203"]] * n, {"lat": lat, "lon": lon, "extent_km": extent, "anywhere": anywhere}
    )
    for center, radius, own_extent in (((46.0, 2.5), 40.0, 0.0), ((43.3, 5.4), 10.0, 45.0)):
        item_filter = ItemFilter(center=center, radius_km=radius, extent_km=own_extent)
        found, _ = index.search_blocks(vectors[0], ["A1203"], n, item_filter)
        km = haversine_km(center[0], center[1], lat, lon)
        expected = np.where(unlocated, anywhere != 0, km <= radius + own_extent + extent)
        assert set(found) == {ids[i] for i in np.flatnonzero(expected)}
        assert any(km[i] > radius + 100 for i in np.flatnonzero(expected & ~unlocated))  # far centroids
