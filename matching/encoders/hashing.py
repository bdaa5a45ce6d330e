"""Lexical encoder: hashed word and word-pair counts (scikit-learn ``HashingVectorizer``), L2-normalised.

No model to load and deterministic: a lexical baseline for the embedding similarity, and a fast
encoder for tests and quick experiments on large simulated worlds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.encoders.base import FloatMatrix, normalize_rows


class HashingEncoder:
    """Bag of words and bigrams hashed into ``dim`` buckets; queries and documents share one space."""

    def __init__(self, *, dim: int = 512) -> None:
        self.dim = dim
        self.name = f"hashing-words-1-2-d{dim}"
        # imported here: importing scikit-learn takes a second, which every command paid for
        from sklearn.feature_extraction.text import HashingVectorizer

        self._vectorizer = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm=None, strip_accents="unicode"
        )

    def _encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        counts = self._vectorizer.transform(list(texts)).toarray().astype(np.float32)
        return normalize_rows(np.sqrt(counts))  # dampen repeated words

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 256, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts)

    def encode_document(
        self, texts: Sequence[str], *, batch_size: int = 256, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts)
