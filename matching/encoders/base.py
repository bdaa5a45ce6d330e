"""The :class:`Encoder` protocol and an embedding cache keyed by text hash.

Encoders turn texts into L2-normalised float32 vectors, with separate entry points for queries and
documents (e5 models need different prompts for each), as in sentence-transformers.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
Kind = Literal["query", "document"]


@runtime_checkable
class Encoder(Protocol):
    """Text encoder producing L2-normalised embeddings.

    Attributes
    ----------
    name : str
        Stable identifier, recorded in index manifests (an index built with one encoder is refused
        with another).
    dim : int
        Embedding dimension ``d``.
    """

    name: str
    dim: int

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> FloatMatrix:
        """Embed search queries; returns shape ``(len(texts), dim)``, float32, unit rows."""
        ...

    def encode_document(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> FloatMatrix:
        """Embed documents (offers, profiles, trainings); returns shape ``(len(texts), dim)``."""
        ...


Progress = Callable[[str, int, int], None]  # (stage, texts done, texts in all)
EMBED_CHUNK = 256  # texts per encoder call when progress is reported: a step of the bar


def encode_chunked(
    encode: Callable[[Sequence[str]], FloatMatrix],
    texts: Sequence[str],
    *,
    dim: int,
    stage: str,
    progress: Progress | None = None,
    chunk: int = EMBED_CHUNK,
) -> FloatMatrix:
    """``encode(texts)`` in chunks of ``chunk`` texts, reporting ``progress(stage, done, total)``.

    Parameters
    ----------
    encode
        An encoder's ``encode_query`` or ``encode_document`` (it batches inside a chunk itself).
    texts
        The ``n`` texts.
    dim
        The encoder's dimension (the shape of an empty result).
    stage
        The name reported with the counts (``"offers"``, ``"profiles"``…).
    progress
        Called once before the first chunk and after each (a bar with counts and an ETA); ``None``:
        one call to ``encode``.

    Returns
    -------
    FloatMatrix
        Shape ``(n, dim)``, the rows in the order of ``texts``.
    """
    if progress is None:
        return np.asarray(encode(texts), dtype=np.float32).reshape(len(texts), dim)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    progress(stage, 0, len(texts))
    for start in range(0, len(texts), chunk):
        stop = min(start + chunk, len(texts))
        out[start:stop] = encode(texts[start:stop])
        progress(stage, stop, len(texts))
    return out


def normalize_rows(matrix: npt.ArrayLike) -> FloatMatrix:
    """L2-normalise the rows of a matrix (zero rows stay zero)."""
    array = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)


def text_key(kind: Kind, text: str) -> bytes:
    """Cache key of a text: SHA-1 of its kind and content (16 bytes)."""
    return hashlib.sha1(f"{kind}\0{text}".encode()).digest()[:16]


class CachedEncoder:
    """Wrap an encoder with an in-memory LRU cache of embeddings keyed by text hash.

    Repeated texts (the same offer re-indexed, a profile re-queried) are encoded once. The cache can be
    saved to and loaded from an ``.npz`` file; a file written for another encoder is ignored.

    Parameters
    ----------
    encoder
        The encoder to wrap.
    max_items
        Most embeddings kept in memory (least recently used dropped first).
    """

    def __init__(self, encoder: Encoder, *, max_items: int = 1_000_000) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.max_items = max_items
        self._cache: OrderedDict[bytes, FloatMatrix] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)

    def _encode(self, kind: Kind, texts: Sequence[str], batch_size: int, show_progress: bool) -> FloatMatrix:
        keys = [text_key(kind, t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            todo = [text_of[k] for k in missing]
            encode = self.encoder.encode_query if kind == "query" else self.encoder.encode_document
            vectors = encode(todo, batch_size=batch_size, show_progress=show_progress)
            for key, vector in zip(missing, vectors, strict=True):
                self._cache[key] = vector
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        out = np.empty((len(keys), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._cache[key]
            self._cache.move_to_end(key)
        while len(self._cache) > self.max_items:
            self._cache.popitem(last=False)
        return out

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode("query", texts, batch_size, show_progress)

    def encode_document(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode("document", texts, batch_size, show_progress)

    def save(self, path: Path) -> None:
        # raw bytes as uint8 rows: NumPy "S16" strings would drop trailing NUL bytes of the digests
        keys = np.frombuffer(b"".join(self._cache), dtype=np.uint8).reshape(-1, 16)
        vectors = np.stack(list(self._cache.values())) if self._cache else np.zeros((0, self.dim), np.float32)
        np.savez(Path(path), encoder=np.array(self.name), keys=keys, vectors=vectors)

    def load(self, path: Path) -> int:
        """Load embeddings saved by :meth:`save` for the same encoder; returns how many were loaded."""
        if not Path(path).is_file():
            return 0
        with np.load(Path(path)) as data:
            if str(data["encoder"]) != self.name:
                return 0
            for key, vector in zip(data["keys"], data["vectors"], strict=True):
                self._cache[key.tobytes()] = vector
        return len(self._cache)
