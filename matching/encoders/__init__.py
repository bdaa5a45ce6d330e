"""Text encoders behind one :class:`Encoder` protocol, and the offline e5 model builder."""

from __future__ import annotations

from pathlib import Path

from matching.encoders.base import CachedEncoder, Encoder, normalize_rows
from matching.encoders.hashing import HashingEncoder
from matching.encoders.sentence_transformer import EncoderUnavailable, SentenceTransformerEncoder
from matching.encoders.use import USEEncoder

__all__ = [
    "CachedEncoder",
    "Encoder",
    "EncoderUnavailable",
    "HashingEncoder",
    "SentenceTransformerEncoder",
    "USEEncoder",
    "load_encoder",
    "normalize_rows",
]


def load_encoder(spec: str, *, model_dir: Path, int8: bool = False) -> Encoder:
    """Build the encoder named by a setting.

    ``"e5"`` is the offline multilingual-e5-small folder at ``model_dir`` (built on demand from the
    PyPI wheels), ``"use"`` the light USE encoder, ``"hashing"`` a lexical hashed bag of words;
    anything else is a sentence-transformers folder or hub id.
    """
    if spec == "use":
        return USEEncoder()
    if spec == "hashing":
        return HashingEncoder()
    if spec == "e5":
        from matching.encoders.e5_builder import build_e5_model

        return SentenceTransformerEncoder(build_e5_model(model_dir), int8=int8)
    return SentenceTransformerEncoder(spec, int8=int8)
