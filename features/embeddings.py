"""Embeddings of profiles and offers, looked up by id, for the pair similarity feature."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.tables import MarketTables
from matching.encoders import Encoder
from matching.encoders.base import FloatMatrix, Progress, encode_chunked
from matching.frames import offers_from_frame, profiles_from_frame
from matching.referential import Referential
from matching.views import offer_view, profile_view


@dataclass(frozen=True)
class EmbeddingTable:
    """Unit vectors by id: ``ids`` shape ``(n,)``, ``vectors`` shape ``(n, dim)``."""

    ids: pd.Index
    vectors: FloatMatrix

    def lookup(self, ids: npt.ArrayLike) -> FloatMatrix:
        """Rows for ``ids`` (shape ``(m, dim)``); unknown ids get a zero vector (similarity 0)."""
        position = self.ids.get_indexer(pd.Index(np.asarray(ids)))
        out = np.zeros((len(position), self.vectors.shape[1]), dtype=np.float32)
        known = position >= 0
        out[known] = self.vectors[position[known]]
        return out


@dataclass(frozen=True)
class PairEmbeddings:
    """Profile embeddings (query side) and offer embeddings (document side)."""

    profiles: EmbeddingTable
    offers: EmbeddingTable

    def similarity(self, profile_ids: npt.ArrayLike, offer_ids: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Cosine similarity of each pair, shape ``(m,)``."""
        return np.einsum("ij,ij->i", self.profiles.lookup(profile_ids), self.offers.lookup(offer_ids))


def embed_tables(
    tables: MarketTables, referential: Referential, encoder: Encoder, *, progress: Progress | None = None
) -> PairEmbeddings:
    """Encode every profile (as a query) and offer (as a document) with their ROME-aware views.

    Parameters
    ----------
    tables
        The market's profiles and offers (``p`` and ``m`` rows).
    referential
        For the views (appellation, fiche label, core skills).
    encoder
        Any :class:`~matching.encoders.Encoder`.
    progress
        ``progress(stage, done, total)`` as texts are embedded (stages ``profiles``, ``offers``).

    Returns
    -------
    PairEmbeddings
        Profile vectors ``(p, dim)`` and offer vectors ``(m, dim)``, indexed like the tables.
    """
    profile_texts = [profile_view(p, referential) for p in profiles_from_frame(tables.profiles)]
    offer_texts = [offer_view(o, referential) for o in offers_from_frame(tables.offers)]
    return PairEmbeddings(
        profiles=EmbeddingTable(
            pd.Index(tables.profiles.index),
            encode_chunked(
                encoder.encode_query, profile_texts, dim=encoder.dim, stage="profiles", progress=progress
            ),
        ),
        offers=EmbeddingTable(
            pd.Index(tables.offers.index),
            encode_chunked(
                encoder.encode_document, offer_texts, dim=encoder.dim, stage="offers", progress=progress
            ),
        ),
    )
