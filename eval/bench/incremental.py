"""The ``incremental`` part: new offers embedded with e5 and added to the saved offer index."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.bench.measure import peak_rss_mib
from eval.bench.national import BULK_DIM, INGEST_TOKENS, BenchPaths
from eval.simulator import read_manifest
from matching.candidates import CandidateGenerator
from matching.encoders import HashingEncoder, load_encoder
from matching.frames import offers_from_frame
from matching.index import load_index
from matching.referential import Referential
from matching.views import offer_view


def new_offers(paths: BenchPaths, referential: Referential, n: int, seed: int = 1) -> list[Any]:
    """``n`` offers published after the world was generated (ids ``NEW…``, same market).

    Parameters
    ----------
    paths
        The national world (its manifest gives the market's configuration).
    referential
        The world's referential.
    n
        Offers generated.
    seed
        Seed of the generation (not the world's, so that the offers are new ones).

    Returns
    -------
    list[Any]
        The new offers (:class:`matching.domain.Offer`).
    """
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
    """Time to embed new offers with e5 (ONNX Runtime, int8, 80 tokens) and index them, as many expired
    ones removed, in the offer index saved by the ``index`` part.

    Parameters
    ----------
    paths
        The national world, the work folder holding the offer index, and the e5 model folder.
    offers
        New offers added (and expired offers removed).

    Returns
    -------
    dict[str, Any]
        ``embed_s``, ``index_s``, ``total_s`` (seconds), ``embed_offers_per_s``, the e5 dimension,
        the index's size afterwards and ``peak_rss_mib``.
    """
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
    generator = CandidateGenerator(referential=referential, encoder=HashingEncoder(dim=BULK_DIM))
    generator.load_indexes(offers=index)
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
