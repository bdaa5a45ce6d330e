"""The scikit-learn estimator contract of the learned objects.

Settings are keyword-only arguments of ``__init__``, stored unchanged under their own names; nothing
is derived or checked there. Learned state ends in ``_`` and appears only with ``fit`` (``add``,
``index_*``, ``load_*``), which is also where invalid settings are refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.embeddings import EmbeddingTable, PairEmbeddings
from features.pairs import PairFeatureBuilder
from matching.candidates import CandidateGenerator, Expansion
from matching.encoders import HashingEncoder
from matching.index import VectorIndex
from matching.referential import load_builtin
from models.ranker import LambdaRankRanker, RankerConfig


def _settings() -> dict[type, dict[str, Any]]:
    empty = EmbeddingTable(pd.Index([]), np.zeros((0, 8), dtype=np.float32))
    referential = load_builtin()
    return {
        VectorIndex: {
            "dim": 8,
            "encoder": "test",
            "ivf_threshold": 5,
            "nprobe": 2,
            "random_state": 3,
            "storage": "int8",
        },
        CandidateGenerator: {
            "referential": referential,
            "encoder": HashingEncoder(dim=8),
            "expansion": Expansion(family=False, mobility_rank=1),
            "ivf_threshold": 7,
            "storage": "float16",
        },
        LambdaRankRanker: {"config": RankerConfig(n_estimators=3)},
        PairFeatureBuilder: {"referential": referential, "embeddings": PairEmbeddings(empty, empty)},
    }


ESTIMATORS = [VectorIndex, CandidateGenerator, LambdaRankRanker, PairFeatureBuilder]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_settings_are_keyword_only_and_stored_unchanged(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    assert parameters and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    settings = _settings()[cls]
    assert {p.name for p in parameters} == set(settings)
    estimator = cls(**settings)
    for name, value in settings.items():
        assert getattr(estimator, name) is value
    assert not [name for name in vars(estimator) if name.endswith("_") or name.startswith("_")]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_scikit_learn_can_read_and_clone_the_settings(cls: type) -> None:
    settings = _settings()[cls]
    estimator = cls(**settings)
    assert estimator.get_params(deep=False).keys() == settings.keys()
    twin = clone(estimator)  # refuses an estimator that alters its settings in __init__
    assert type(twin) is cls and twin.get_params(deep=False).keys() == settings.keys()
    assert cls.__name__ in repr(estimator)


def _refit(cls: type, **bad: Any) -> Callable[[], Any]:
    estimator = cls(**{**_settings()[cls], **bad})  # accepted as is: checked by the fit
    if cls is VectorIndex:
        return lambda: estimator.add(["a"], np.eye(1, 8, dtype=np.float32), [["A1101"]])
    if cls is CandidateGenerator:
        return lambda: estimator.index_offers([])
    return lambda: estimator.fit(pd.DataFrame({"embedding_similarity": [0.1, 0.2]}), [0, 1], [2])


@pytest.mark.parametrize(
    ("cls", "bad", "named"),
    [
        (VectorIndex, {"storage": "float8"}, "storage"),
        (VectorIndex, {"dim": 0}, "dim"),
        (VectorIndex, {"nprobe": 0}, "nprobe"),
        (CandidateGenerator, {"storage": "float8"}, "storage"),
        (CandidateGenerator, {"expansion": Expansion(mobility_rank=-1)}, "mobility_rank"),
        (LambdaRankRanker, {"config": RankerConfig(position_debias="other")}, "position_debias"),  # type: ignore[arg-type]
        (LambdaRankRanker, {"config": RankerConfig(n_estimators=0)}, "n_estimators"),
    ],
)
def test_invalid_settings_are_refused_by_the_fit(cls: type, bad: dict[str, Any], named: str) -> None:
    fit = _refit(cls, **bad)
    with pytest.raises(ValueError, match=named):
        fit()


def test_an_unfitted_estimator_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        LambdaRankRanker().predict(pd.DataFrame({"embedding_similarity": [0.1]}))
    builder = PairFeatureBuilder(**_settings()[PairFeatureBuilder])
    with pytest.raises(RuntimeError, match="not fitted"):
        builder.transform(pd.DataFrame({"profile_id": ["p"], "offer_id": ["o"], "as_of": [pd.Timestamp(0)]}))
    index = VectorIndex(dim=2, encoder="test")
    assert len(index) == 0 and not index.has("a") and index.remove(["a"]) == 0
    assert (
        len(index.search_blocks([1.0, 0.0], ["A1101"], 3)[0]) == len(index.search_open([1.0, 0.0], 3)[0]) == 0
    )
