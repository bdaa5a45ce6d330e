"""The parts of the national benchmark. Each function runs in its own process (see
:mod:`eval.bench.runner`) and returns a flat ``dict`` of figures.

Vectors at national scale
-------------------------
Encoding a million profiles and half a million offers with e5 on two CPU cores takes hours (the
``encoder`` part measures the rate), so the index, sourcing and alert parts use the lexical hashing
encoder at e5's dimension (384) for the bulk vectors: search cost, memory and recall depend on the
number of rows and the dimension, not on which model produced them. The ``incremental`` part encodes
its new offers with e5 (int8) for real.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm import tqdm

from eval.simulator import read_manifest, read_world
from eval.simulator.records import world_tables
from features.embeddings import EmbeddingTable, PairEmbeddings, embed_tables
from features.pairs import PairFeatureBuilder
from features.tables import MarketTables
from matching.candidates import CandidateGenerator
from matching.encoders import HashingEncoder, load_encoder
from matching.frames import offers_from_frame, profiles_from_frame, records
from matching.index import VectorIndex, load_index, read_index_manifest, save_index
from matching.referential import Referential, load_referential
from matching.views import offer_view, profile_view
from models.ranker import LambdaRankRanker
from models.scoring import learned_scores
from models.training import train_ranker

BULK_DIM = 384  # e5-small's dimension
INGEST_TOKENS = 80  # new offers: e5 int8 on ONNX Runtime, truncated (cosine to float32 ~0.97)
CHUNK = 100_000


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mib() -> float:
    """Current resident memory of this process, in MiB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)}


@dataclass(frozen=True)
class BenchPaths:
    """Where a benchmark reads its world and keeps what one part builds for the next ones."""

    world: Path
    work: Path
    rome_dir: Path | None
    model_dir: Path

    @property
    def profile_index(self) -> Path:
        return self.work / "profile-index"

    @property
    def offer_index(self) -> Path:
        return self.work / "offer-index"

    @property
    def exact_profile_vectors(self) -> Path:
        return self.work / "profile-vectors-f32.npy"

    def referential(self) -> Referential:
        referential = load_referential(self.rome_dir)
        wanted = read_manifest(self.world)["referential_version"]
        if referential.version != wanted:
            raise ValueError(
                f"the world in {self.world} was generated on referential {wanted}, "
                f"not {referential.version}: pass the matching --rome-dir"
            )
        return referential


def _row_groups(path: Path, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        yield parquet.read_row_group(group, columns=columns).to_pandas()


def _world_texts(paths: BenchPaths, referential: Referential, n: int) -> tuple[list[str], list[str]]:
    """Views of the first ``n`` offers and profiles of the world."""
    offers = next(_row_groups(paths.world / "offers.parquet")).head(n)
    profiles = next(_row_groups(paths.world / "profiles.parquet")).head(n)
    return (
        [offer_view(o, referential) for o in offers_from_frame(offers)],
        [profile_view(p, referential) for p in profiles_from_frame(profiles)],
    )


def _rate(encode: Any, texts: list[str]) -> tuple[float, np.ndarray]:
    """Texts per second (after a warm-up batch), and the vectors."""
    encode(texts[:32])
    start = time.perf_counter()
    vectors = encode(texts)
    return round(len(texts) / (time.perf_counter() - start), 1), vectors


# -- encoder ------------------------------------------------------------------------------------------
def encoder_part(paths: BenchPaths, *, texts: int = 600) -> dict[str, Any]:
    """Texts per second of each encoder setting, on real views of the world's offers and profiles."""
    referential = paths.referential()
    offers, profiles = _world_texts(paths, referential, texts)
    out: dict[str, Any] = {"texts": len(offers)}
    settings: list[tuple[str, dict[str, Any]]] = [
        ("e5", {"int8": False}),
        ("e5-int8", {"int8": True}),
        ("e5-int8-len96", {"int8": True, "max_seq_length": 96}),
    ]
    from matching.encoders import SentenceTransformerEncoder
    from matching.encoders.e5_builder import build_e5_model

    folder = build_e5_model(paths.model_dir)
    reference: np.ndarray | None = None
    for name, kwargs in settings:
        encoder = SentenceTransformerEncoder(folder, **kwargs)
        out[f"{name}_offers_per_s"], vectors = _rate(encoder.encode_document, offers)
        out[f"{name}_profiles_per_s"], _ = _rate(encoder.encode_query, profiles)
        if reference is None:
            reference = vectors
        else:  # how far the faster setting moves an offer's vector from float32 at full length
            out[f"{name}_cosine_to_e5"] = round(float(np.mean(np.sum(vectors * reference, axis=1))), 4)
    onnx = load_encoder("e5-onnx", model_dir=paths.model_dir, max_tokens=INGEST_TOKENS)
    out[f"e5-onnx-int8-len{INGEST_TOKENS}_offers_per_s"], vectors = _rate(onnx.encode_document, offers)
    out[f"e5-onnx-int8-len{INGEST_TOKENS}_profiles_per_s"], _ = _rate(onnx.encode_query, profiles)
    assert reference is not None
    out[f"e5-onnx-int8-len{INGEST_TOKENS}_cosine_to_e5"] = round(
        float(np.mean(np.sum(vectors * reference, axis=1))), 4
    )
    hashing = HashingEncoder(dim=BULK_DIM)
    out["hashing_offers_per_s"], _ = _rate(hashing.encode_document, offers)
    out["hashing_profiles_per_s"], _ = _rate(hashing.encode_query, profiles)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


# -- index --------------------------------------------------------------------------------------------
def _profile_index(paths: BenchPaths, referential: Referential, exact: np.ndarray | None) -> VectorIndex:
    """Every profile of the world (as if all consented: the heaviest case), float16 vectors."""
    encoder = HashingEncoder(dim=BULK_DIM)
    generator = CandidateGenerator(referential, encoder, storage="float16")
    done = 0
    total = pq.ParquetFile(paths.world / "profiles.parquet").metadata.num_rows
    with tqdm(total=total, desc="profiles", unit="row") as bar:
        for frame in _row_groups(paths.world / "profiles.parquet"):
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
    generator = CandidateGenerator(referential, encoder, storage="float16")
    total = pq.ParquetFile(paths.world / "offers.parquet").metadata.num_rows
    with tqdm(total=total, desc="offers", unit="row") as bar:
        for frame in _row_groups(paths.world / "offers.parquet"):
            offers = list(offers_from_frame(frame))
            generator.index_offers(offers)
            bar.update(len(offers))
    assert generator.offers_ is not None
    return generator.offers_


def index_memory_mib(index: VectorIndex) -> float:
    """Bytes held by the index's arrays and FAISS codes (ids and blocks counted as Python objects)."""
    arrays = index.vectors_.nbytes + index.scales_.nbytes + index.alive_.nbytes
    arrays += sum(values.nbytes for values in index.attrs_.values())
    faiss_codes = index.faiss_.sa_code_size() * index.faiss_.ntotal if index._is_ivf() else 0
    python_objects = 100 * len(index.ids_)  # id string + dict entry + blocks tuple, measured ~100 B
    return round((arrays + faiss_codes + python_objects) / 2**20, 1)


def index_part(paths: BenchPaths, *, recall_queries: int = 200, seed: int = 0) -> dict[str, Any]:
    """Build the 1M-profile sourcing index and the offer index; recall of the approximate searches."""
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


def _recall_with_ties(found_scores: np.ndarray, all_scores: np.ndarray, k: int) -> float:
    """Share of the top-``k`` slots filled by items whose exact score reaches the exact k-th score.

    Near-duplicate texts share a vector, so the exact top-k is often one of several equally good
    sets; an approximate result that picks another member of a tie is not a miss.
    """
    wanted = min(k, len(all_scores))
    if wanted == 0:
        return 1.0
    threshold = np.partition(all_scores, len(all_scores) - wanted)[len(all_scores) - wanted]
    return float(np.sum(found_scores >= threshold - 1e-6)) / wanted


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
        block_recall.append(_recall_with_ties(found, block_scores, k))
        approx, _ = index.search_open(query, k)
        scores = np.concatenate(
            [np.asarray(exact[a : a + CHUNK]) @ query for a in range(0, len(exact), CHUNK)]
        )
        open_recall.append(_recall_with_ties(scores[index.rows_of(approx)], scores, k))
    return {
        "recall_at_50_blocks": round(float(np.mean(block_recall)), 4),
        "recall_at_50_ivf_open": round(float(np.mean(open_recall)), 4),
        "recall_queries": float(queries),
    }


# -- sourcing -----------------------------------------------------------------------------------------
def bench_ranker(referential_dir: Path | None, sample_world: Path) -> LambdaRankRanker:
    """The default ranker trained on the sample world's logged alert lists (hashing embeddings)."""
    world = read_world(sample_world)
    referential = load_referential(referential_dir if world.referential_version != "builtin-1" else None)
    tables = world_tables(world)
    embeddings = embed_tables(tables, referential, HashingEncoder(dim=BULK_DIM))
    cutoff = pd.Timestamp(world.config.start, tz="UTC") + pd.Timedelta(weeks=round(0.7 * world.config.weeks))
    return train_ranker(tables, PairFeatureBuilder(tables, embeddings, referential), cutoff=cutoff).ranker


def national_tables(world: Path) -> MarketTables:
    """Profiles, offers and trainings of a national world (no events: it holds entities only)."""
    from eval.simulator.market import no_interactions
    from features.tables import TIME_DTYPE, normalise_events

    def read(table: str) -> pd.DataFrame:
        return pd.read_parquet(world / f"{table}.parquet").set_index("id", drop=False)

    offers = read("offers")
    offers["created_at"] = pd.to_datetime(offers["created_at"], utc=True).astype(TIME_DTYPE)
    return MarketTables(read("profiles"), offers, read("trainings"), normalise_events(no_interactions()))


def sourcing_part(
    paths: BenchPaths,
    *,
    sample_world: Path,
    queries: int = 300,
    k: int = 50,
    rerank: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Top-``k`` candidates for an offer out of every profile: block search for ``rerank``, then the ranker."""
    referential = paths.referential()
    ranker = bench_ranker(paths.rome_dir, sample_world)
    rss_before = rss_mib()
    start = time.perf_counter()
    profiles = load_index(paths.profile_index)
    profiles.block_rows  # noqa: B018 (built once at load, as serving does)
    load_s = time.perf_counter() - start
    index_rss = rss_mib() - rss_before
    offers_index = load_index(paths.offer_index)
    tables = national_tables(paths.world)
    empty = EmbeddingTable(pd.Index([]), np.zeros((0, BULK_DIM), dtype=np.float32))
    builder = PairFeatureBuilder(tables, PairEmbeddings(empty, empty), referential)
    generator = CandidateGenerator(referential, HashingEncoder(dim=BULK_DIM), profiles_=profiles)
    rng = np.random.default_rng(seed)
    offer_ids = rng.choice(tables.offers.index.to_numpy(), size=queries, replace=False)
    offers = {o.id: o for o in offers_from_frame(tables.offers.loc[offer_ids])}
    now = pd.Timestamp(read_manifest(paths.world)["config"]["start"], tz="UTC")  # type: ignore[index]
    timings: dict[str, list[float]] = {"total": [], "retrieval": [], "features": [], "model": []}
    found: list[int] = []
    returned: list[int] = []
    for offer_id in tqdm(offer_ids.tolist(), desc="sourcing", unit="query"):
        t0 = time.perf_counter()
        query = offers_index.vectors_of(np.array([offers_index.row_of(offer_id)]))[0]
        ids, _ = generator.recommend_profiles(offers[offer_id], k=rerank, query=query)
        t1 = time.perf_counter()
        rows = profiles.rows_of(ids)
        pair_embeddings = PairEmbeddings(
            EmbeddingTable(pd.Index(ids), profiles.vectors_of(rows)),
            EmbeddingTable(pd.Index([offer_id]), query[None, :]),
        )
        X = builder.using(pair_embeddings).transform(
            pd.DataFrame({"profile_id": ids, "offer_id": offer_id, "as_of": now})
        )
        t2 = time.perf_counter()
        scores = learned_scores(ranker, X)
        top = ids[np.argsort(-scores, kind="stable")[:k]]
        t3 = time.perf_counter()
        found.append(len(ids))
        returned.append(len(top))
        for name, value in (
            ("total", t3 - t0),
            ("retrieval", t1 - t0),
            ("features", t2 - t1),
            ("model", t3 - t2),
        ):
            timings[name].append(1000 * value)
    out: dict[str, Any] = {
        "queries": queries,
        "profiles_indexed": len(profiles),
        "rerank": rerank,
        "k": k,
        "mean_candidates": round(float(np.mean(found)), 1),
        "mean_returned": round(float(np.mean(returned)), 1),
        "index_load_s": round(load_s, 1),
        "profile_index_rss_mib": round(index_rss, 1),
    }
    for name, values in timings.items():
        out |= {f"{name}_{key}": value for key, value in percentiles(values).items()}
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def write_json(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")


# -- incremental indexing -----------------------------------------------------------------------------
def new_offers(paths: BenchPaths, referential: Referential, n: int, seed: int = 1) -> list[Any]:
    """``n`` offers published after the world was generated (ids ``NEW…``, same market)."""
    from eval.simulator import MarketConfig, MarketSimulator
    from eval.simulator.entities import generate_offers
    from eval.simulator.market import canonical, make_ids
    from matching.geo import load_communes

    config = MarketConfig(**read_manifest(paths.world)["config"])  # type: ignore[arg-type]
    communes_file = (
        paths.rome_dir.parent / "communes" / "laposte_hexasmal_latlon.csv" if paths.rome_dir else None
    )
    sim = MarketSimulator(
        referential, load_communes(communes_file), config.model_copy(update={"n_offers": n})
    )
    cols = generate_offers(
        sim.config, sim.rome, sim.geo, sim.offer_popularity, sim.fiche_pay, np.random.default_rng(seed)
    )
    return list(offers_from_frame(canonical(sim.offers_frame(cols, make_ids("NEW", n, 7)))))


def incremental_part(paths: BenchPaths, *, offers: int = 50_000) -> dict[str, Any]:
    """New offers embedded with e5 (ONNX Runtime, int8, 80 tokens) and indexed; as many expired removed."""
    referential = paths.referential()
    index = load_index(paths.offer_index)
    index.block_rows  # noqa: B018
    fresh = new_offers(paths, referential, offers)
    e5 = load_encoder("e5-onnx", model_dir=paths.model_dir, max_tokens=INGEST_TOKENS)
    start = time.perf_counter()
    texts = [offer_view(o, referential) for o in fresh]
    batch = 1024
    vectors = np.concatenate(
        [
            e5.encode_document(texts[a : a + batch])
            for a in tqdm(range(0, len(texts), batch), desc="e5 onnx int8", unit="batch")
        ]
    )
    embed_s = time.perf_counter() - start
    # The bulk index holds hashing vectors (see the module docstring): index the same offers with them.
    bulk = HashingEncoder(dim=BULK_DIM).encode_document(texts)
    generator = CandidateGenerator(referential, HashingEncoder(dim=BULK_DIM), offers_=index)
    expired = index.ids_[np.flatnonzero(index.alive_)[:offers]].astype(str).tolist()
    start = time.perf_counter()
    generator.remove_offers(expired)
    generator.index_offers(fresh, vectors=bulk)
    index.block_rows  # noqa: B018 (the block table is rebuilt before the next query)
    index_s = time.perf_counter() - start
    return {
        "new_offers": offers,
        "e5_dim": int(vectors.shape[1]),
        "embed_s": round(embed_s, 1),
        "embed_offers_per_s": round(offers / embed_s, 1),
        "index_s": round(index_s, 1),
        "total_s": round(embed_s + index_s, 1),
        "offers_in_index": len(index),
        "peak_rss_mib": peak_rss_mib(),
    }


# -- alert batch --------------------------------------------------------------------------------------
def national_context(world: Path, offer_index: Path, ranker_dir: Path, rome_dir: Path | None) -> Any:
    """What a Dask worker loads for the national alert batch (see :mod:`serving.batch.distributed`)."""
    from models.artifact import load_ranker
    from models.pipeline import RankingService

    referential = load_referential(rome_dir)
    offers = load_index(offer_index)
    offers.block_rows  # noqa: B018 (the block table is built once, not by the first task)
    generator = CandidateGenerator(referential, HashingEncoder(dim=BULK_DIM), offers_=offers)
    return RankingService(generator, load_ranker(ranker_dir), "bench"), national_tables(world)


def alerts_part(
    paths: BenchPaths,
    *,
    sample_world: Path,
    subscriptions: int = 40_000,
    workers: tuple[int, ...] = (1, 2),
    partitions_per_worker: int = 8,
    seed: int = 0,
) -> dict[str, Any]:
    """Offers ranked for a random sample of the world's subscriptions on a Dask LocalCluster of 1, then
    2 worker processes (no database: the ranking throughput; the driver only gathers the rows)."""
    import functools

    from matching.domain import Subscription
    from models.artifact import save_ranker
    from serving.batch.distributed import (
        IN_FLIGHT_PER_WORKER,
        dask_client,
        partition_by_block,
        partition_count,
        rank_partition,
        windowed_results,
    )

    ranker = bench_ranker(paths.rome_dir, sample_world)
    ranker_dir = save_ranker(ranker, paths.work / "ranker", data_fingerprint="sample-world")
    loader = functools.partial(national_context, paths.world, paths.offer_index, ranker_dir, paths.rome_dir)
    frame = pd.read_parquet(paths.world / "subscriptions.parquet")
    rng = np.random.default_rng(seed)
    chosen = frame.iloc[np.sort(rng.choice(len(frame), size=min(subscriptions, len(frame)), replace=False))]
    subs = [Subscription.model_validate(r) for r in records(chosen)]
    wanted = set(chosen["profile_id"])
    people: dict[str, Any] = {}
    for group in _row_groups(paths.world / "profiles.parquet"):
        mine = group[group["id"].isin(wanted)]
        people.update((p.id, p) for p in profiles_from_frame(mine))
    now = pd.Timestamp(read_manifest(paths.world)["config"]["start"], tz="UTC") + pd.Timedelta(days=7)  # type: ignore[index]
    out: dict[str, Any] = {
        "subscriptions": len(subs),
        "offers_indexed": int(read_index_manifest(paths.offer_index)["count"]),
    }
    for n in workers:
        with dask_client(workers=n) as client:
            start = time.perf_counter()
            client.run(functools.partial(_warm, f"bench-{n}", loader))  # load each worker's context first
            load_s = time.perf_counter() - start
            parts = partition_by_block(subs, partition_count(len(subs), n, partitions_per_worker))
            start = time.perf_counter()

            def submit(part: list[Subscription], key: str = f"bench-{n}") -> Any:
                people_of_part = {s.profile_id: people[s.profile_id] for s in part}
                return client.submit(
                    rank_partition, key, loader, part, people_of_part, {}, now, None, False, pure=False
                )

            finished = windowed_results(parts, submit, window=IN_FLIGHT_PER_WORKER * n)
            alerts = sum(len(ranked) for _part, (_model, ranked) in finished)
            elapsed = time.perf_counter() - start
            memory = client.run(peak_rss_mib)
        out |= {
            f"workers_{n}_context_load_s": round(load_s, 1),
            f"workers_{n}_elapsed_s": round(elapsed, 1),
            f"workers_{n}_profiles_per_s": round(len(subs) / elapsed, 1),
            f"workers_{n}_alerts": alerts,
            f"workers_{n}_worker_peak_rss_mib": max(memory.values()),
        }
    first, last = workers[0], workers[-1]
    if last != first:
        out["scaling"] = round(
            out[f"workers_{last}_profiles_per_s"] / out[f"workers_{first}_profiles_per_s"], 2
        )
    out["hours_for_1m_at_best"] = round(
        1_000_000 / max(out[f"workers_{n}_profiles_per_s"] for n in workers) / 3600, 2
    )
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _warm(key: str, loader: Any) -> None:
    from serving.batch.distributed import worker_context

    worker_context(key, loader)
