"""TfidfVectors against scikit-learn's TfidfVectorizer (the oracle) on the same texts."""

from __future__ import annotations

import numpy as np
import pytest

from matching.referential import Referential
from matching.rome_classifier import char_tfidf, word_tfidf
from matching.rome_variants import title_variant
from matching.tfidf import TfidfVectors, char_wb_ngrams, word_ngrams


@pytest.fixture(scope="module")
def texts(builtin: Referential) -> list[str]:
    labels = [f.label for f in builtin.fiches.values()] + [a.label for a in builtin.appellations.values()]
    rng = np.random.default_rng(0)
    queries = [title_variant(labels[int(rng.integers(len(labels)))], rng) for _ in range(200)]
    return labels + queries + ["", "a", "  x  y ", "Développeur·se C++ / .NET (H/F) — 35h", "é"]


@pytest.mark.parametrize("make", [char_tfidf, word_tfidf])
def test_transform_equals_scikit_learn(texts: list[str], make) -> None:  # type: ignore[no-untyped-def]
    fitted = make().fit(texts[:150])
    ours = TfidfVectors.from_sklearn(fitted).transform(texts)
    theirs = fitted.transform(texts)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), atol=1e-12)


def test_analysers_match_scikit_learn() -> None:
    text = "chef de  rang a"
    assert char_wb_ngrams(text, (2, 3))[:5] == [" c", "ch", "he", "ef", "f "]
    assert " a " in char_wb_ngrams(text, (2, 4))  # a short word counts once per n it fits
    assert word_ngrams(text, (1, 2)) == ["chef", "de", "rang", "chef de", "de rang"]
    assert word_ngrams("un", (2, 2)) == []


def test_unsupported_settings_are_refused(texts: list[str]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    with pytest.raises(ValueError, match="reproduces"):
        TfidfVectors.from_sklearn(TfidfVectorizer(analyzer="char").fit(texts))
