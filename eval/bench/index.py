"""The ``index`` part: the 1M-profile sourcing index and the offer index (build time, memory) and the
recall of their approximate searches. Saves both indexes for the later parts."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from eval.bench.measure import peak_rss_mib, recall_with_ties
from eval.bench.national import BULK_DIM, BenchPaths, row_groups
from matching.candidates import CandidateGenerator
from matching.encoders import HashingEncoder
from matching.frames import offers_from_frame, profiles_from_frame
from matching.index import VectorIndex, save_index
from matching.referential import Referential
from matching.views import profile_view

CHUNK = 100_000  # rows of the memory-mapped float32 vectors scored at a time by brute force


def _profile_index(paths: BenchPaths, referential: Referential, exact: np.ndarray | None) -> VectorIndex:
    """Every profile of the world (as if all consented: the heaviest case), float16 vectors."""
    encoder = HashingEncoder(dim=BULK_DIM)
    generator = CandidateGenerator(referential=referential, encoder=encoder, storage="float16")
    done = 0
    total = pq.ParquetFile(paths.world / "profiles.parquet").metadata.num_rows
    with tqdm(total=total, desc="profiles", unit="row") as bar:
        for frame in row_groups(paths.world / "profiles.parquet"):
            people = [p.model_copy(update={"visible": True}) for p in profiles_from_frame(frame)]
            vectors = encoder.encode_document([profile_view(p, referential) for p in people])
            generator.index_profiles(people, vectors=vectors)
            if exact is not None:
                exact[done : done + len(people)] = vectors
            done += len(people)
            bar.update(len(people))
    assert generator.profiles_ is not None
    return generator.profiles_


def _offer_index(paths: BenchPaths, referential: Referential) -> VectorIndex:
    encoder = HashingEncoder(dim=BULK_DIM)
    generator = CandidateGenerator(referential=referential, encoder=encoder, storage="float16")
    total = pq.ParquetFile(paths.world / "offers.parquet").metadata.num_rows
    with tqdm(total=total, desc="offers", unit="row") as bar:
        for frame in row_groups(paths.world / "offers.parquet"):
            offers = list(offers_from_frame(frame))
            generator.index_offers(offers)
            bar.update(len(offers))
    assert generator.offers_ is not None
    return generator.offers_


def index_memory_mib(index: VectorIndex) -> float:
    """Memory an index holds once loaded, in MiB (rounded to 0.1).

    Counts the bytes of the index's arrays and FAISS codes, plus about 100 bytes per row for the ids
    and the block table (Python objects, whose size was measured once rather than summed each time).

    Parameters
    ----------
    index
        A built or loaded vector index.

    Returns
    -------
    float
        MiB.
    """
    arrays = index.vectors_.nbytes + index.scales_.nbytes + index.alive_.nbytes
    arrays += sum(values.nbytes for values in index.attrs_.values())
    faiss_codes = index.faiss_.sa_code_size() * index.faiss_.ntotal if index._is_ivf() else 0
    python_objects = 100 * len(index.ids_)  # id string + dict entry + blocks tuple, measured ~100 B
    return round((arrays + faiss_codes + python_objects) / 2**20, 1)


def index_part(paths: BenchPaths, *, recall_queries: int = 200, seed: int = 0) -> dict[str, Any]:
    """Build the sourcing index over every profile and the offer index; recall of the approximate searches.

    Saves both indexes (and the profiles' exact float32 vectors) in ``paths.work`` for the later parts.

    Parameters
    ----------
    paths
        The national world and the work folder.
    recall_queries
        Random queries (profiles' own vectors) the recall is averaged over.
    seed
        Seed of the query draw.

    Returns
    -------
    dict[str, Any]
        Counts (``profiles``, ``profile_blocks``, ``offers``), build and save times (``*_s``, seconds),
        index memory (``*_mib``, MiB, see :func:`index_memory_mib`), the IVF list count,
        ``recall_at_50_blocks`` and ``recall_at_50_ivf_open`` (tie-aware, against float32 brute
        force), ``recall_queries`` and ``peak_rss_mib``.
    """
    referential = paths.referential()
    paths.work.mkdir(parents=True, exist_ok=True)
    n = pq.ParquetFile(paths.world / "profiles.parquet").metadata.num_rows
    exact = np.lib.format.open_memmap(
        paths.exact_profile_vectors, mode="w+", dtype=np.float32, shape=(n, BULK_DIM)
    )
    start = time.perf_counter()
    profiles = _profile_index(paths, referential, exact)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    table = profiles.block_rows
    blocks_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "profiles": len(profiles),
        "profile_blocks": len(table),
        "profile_index_build_s": round(build_s + blocks_s, 1),
        "profile_index_ivf_lists": int(profiles.faiss_.nlist) if profiles._is_ivf() else 0,
        "profile_index_mib": index_memory_mib(profiles),
    }
    exact.flush()
    out |= _recall(profiles, np.load(paths.exact_profile_vectors, mmap_mode="r"), recall_queries, seed)
    start = time.perf_counter()
    save_index(profiles, paths.profile_index)
    out["profile_index_save_s"] = round(time.perf_counter() - start, 1)
    del profiles, table
    start = time.perf_counter()
    offers = _offer_index(paths, referential)
    out["offers"] = len(offers)
    out["offer_index_build_s"] = round(time.perf_counter() - start, 1)
    out["offer_index_mib"] = index_memory_mib(offers)
    save_index(offers, paths.offer_index)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _recall(index: VectorIndex, exact: np.ndarray, queries: int, seed: int, k: int = 50) -> dict[str, float]:
    """Recall@k of (a) block search on the stored (float16) vectors and (b) IVF-SQ8 open search,
    against float32 brute force."""
    rng = np.random.default_rng(seed)
    table = index.block_rows
    codes = np.array(sorted(table), dtype=object)
    sizes = np.array([len(table[c]) for c in codes])
    block_recall, open_recall = [], []
    for _ in tqdm(range(queries), desc="recall", unit="query"):
        code = codes[rng.choice(len(codes), p=sizes / sizes.sum())]  # blocks as often as people are in them
        query = exact[rng.integers(len(exact))]
        rows = table[code]
        block_scores = np.asarray(exact[rows]) @ query
        approx, _ = index.search_blocks(query, [code], k)
        found = np.asarray(exact[index.rows_of(approx)]) @ query
        block_recall.append(recall_with_ties(found, block_scores, k))
        approx, _ = index.search_open(query, k)
        scores = np.concatenate(
            [np.asarray(exact[a : a + CHUNK]) @ query for a in range(0, len(exact), CHUNK)]
        )
        open_recall.append(recall_with_ties(scores[index.rows_of(approx)], scores, k))
    return {
        "recall_at_50_blocks": round(float(np.mean(block_recall)), 4),
        "recall_at_50_ivf_open": round(float(np.mean(open_recall)), 4),
        "recall_queries": float(queries),
    }
