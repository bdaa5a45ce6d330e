"""The ``encoder`` part: texts per second of each encoder setting on the world's own texts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from eval.bench.measure import peak_rss_mib, texts_per_second
from eval.bench.national import BULK_DIM, INGEST_TOKENS, BenchPaths, row_groups
from matching.encoders import Encoder, HashingEncoder, load_encoder
from matching.frames import offers_from_frame, profiles_from_frame
from matching.referential import Referential
from matching.views import offer_view, profile_view


def _world_texts(paths: BenchPaths, referential: Referential, n: int) -> tuple[list[str], list[str]]:
    """Views of the first ``n`` offers and profiles of the world."""
    offers = next(row_groups(paths.world / "offers.parquet")).head(n)
    profiles = next(row_groups(paths.world / "profiles.parquet")).head(n)
    return (
        [offer_view(o, referential) for o in offers_from_frame(offers)],
        [profile_view(p, referential) for p in profiles_from_frame(profiles)],
    )


def encoder_part(paths: BenchPaths, *, texts: int = 600) -> dict[str, Any]:
    """Throughput of each encoder setting, on real views of the world's offers and profiles.

    Parameters
    ----------
    paths
        The national world (its first ``texts`` offers and profiles are encoded) and the e5 model folder.
    texts
        Offers, and as many profiles, encoded per setting.

    Returns
    -------
    dict[str, Any]
        ``texts``; ``<setting>_offers_per_s`` and ``<setting>_profiles_per_s`` (texts per second) for
        e5 float32, e5 int8, e5 int8 truncated to 96 tokens, e5 on ONNX Runtime (int8, truncated to
        :data:`INGEST_TOKENS`) and the hashing encoder; ``<setting>_cosine_to_e5``: mean cosine between
        a faster setting's offer vectors and float32 e5's; ``peak_rss_mib`` (MiB).
    """
    from matching.encoders import SentenceTransformerEncoder
    from matching.encoders.e5_builder import build_e5_model

    referential = paths.referential()
    offers, profiles = _world_texts(paths, referential, texts)
    out: dict[str, Any] = {"texts": len(offers)}

    def rates(name: str, encoder: Encoder) -> np.ndarray:
        out[f"{name}_offers_per_s"], vectors = texts_per_second(encoder.encode_document, offers)
        out[f"{name}_profiles_per_s"], _ = texts_per_second(encoder.encode_query, profiles)
        return vectors

    folder = build_e5_model(paths.model_dir)
    reference = rates("e5", SentenceTransformerEncoder(folder, int8=False))
    # Built one at a time, when timed, so that the part's peak RSS holds one model, not four.
    faster: list[tuple[str, Callable[[], Encoder]]] = [
        ("e5-int8", lambda: SentenceTransformerEncoder(folder, int8=True)),
        ("e5-int8-len96", lambda: SentenceTransformerEncoder(folder, int8=True, max_seq_length=96)),
        (
            f"e5-onnx-int8-len{INGEST_TOKENS}",
            lambda: load_encoder("e5-onnx", model_dir=paths.model_dir, max_tokens=INGEST_TOKENS),
        ),
    ]
    for name, build in faster:
        vectors = rates(name, build())
        # how far the faster setting moves an offer's vector from float32 at full length
        out[f"{name}_cosine_to_e5"] = round(float(np.mean(np.sum(vectors * reference, axis=1))), 4)
    rates("hashing", HashingEncoder(dim=BULK_DIM))
    out["peak_rss_mib"] = peak_rss_mib()
    return out
