"""A fitted scikit-learn TF-IDF as plain arrays, applied with numpy and scipy.sparse alone.

scikit-learn fits the vocabulary and the inverse document frequencies; :class:`TfidfVectors` keeps
them and reproduces ``TfidfVectorizer.transform`` for the two analysers the ROME classifier uses
(``char_wb`` and ``word`` n-grams, sublinear tf, L2 norm), so that classifying a title in a fresh
process does not import scikit-learn (about a second on 2 cores, for a 10 ms classification). A test
checks the transform against scikit-learn's on the same texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, each word padded with a space (scikit-learn's
    ``char_wb`` analyser, in its order)."""
    low, high = ngram_range
    out: list[str] = []
    for word in _SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            out.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                out.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return out


def word_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams of the default token pattern (words of two characters or more), as scikit-learn's
    ``word`` analyser without stop words."""
    tokens = _WORD.findall(text)
    low, high = ngram_range
    out = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


@dataclass(frozen=True)
class TfidfVectors:
    """Vocabulary and idf of a fitted ``TfidfVectorizer`` (``sublinear_tf``, ``norm="l2"``).

    Attributes
    ----------
    analyzer
        ``"char_wb"`` or ``"word"``.
    ngram_range
        Smallest and largest n.
    vocabulary
        Term -> column.
    idf
        Inverse document frequency of each column, shape ``(len(vocabulary),)``.
    preprocessor
        Applied to each text first (the vectoriser's own, a module-level function so it pickles).
    """

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]
    preprocessor: Callable[[str], str]

    @classmethod
    def from_sklearn(cls, vectorizer: Any) -> TfidfVectors:
        """The arrays of a fitted ``TfidfVectorizer``.

        Raises
        ------
        ValueError
            For settings this class does not reproduce (another analyser or norm, linear tf, a
            custom tokenizer, stop words, or no preprocessor).
        """
        unsupported = (
            vectorizer.analyzer not in ("char_wb", "word")
            or vectorizer.norm != "l2"
            or not vectorizer.sublinear_tf
            or not vectorizer.use_idf
            or vectorizer.tokenizer is not None
            or vectorizer.stop_words is not None
            or vectorizer.preprocessor is None
            or (vectorizer.analyzer == "word" and vectorizer.token_pattern != _WORD.pattern)
        )
        if unsupported:
            raise ValueError(
                "TfidfVectors reproduces sublinear l2 char_wb/word TF-IDF with a preprocessor only"
            )
        return cls(
            vectorizer.analyzer,
            tuple(vectorizer.ngram_range),
            {str(term): int(column) for term, column in vectorizer.vocabulary_.items()},
            np.asarray(vectorizer.idf_, dtype=np.float64),
            vectorizer.preprocessor,
        )

    def terms(self, text: str) -> list[str]:
        cleaned = self.preprocessor(text)
        if self.analyzer == "char_wb":
            return char_wb_ngrams(cleaned, self.ngram_range)
        return word_ngrams(cleaned, self.ngram_range)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts``, shape ``(len(texts), len(vocabulary))``, each of unit L2 norm (or
        all zeros for a text with no known term)."""
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            counts: dict[int, int] = {}
            for term in self.terms(text):
                column = self.vocabulary.get(term)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (
                1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            ) * self.idf[columns]
            norm = float(np.sqrt((values**2).sum()))
            indices.extend(columns.tolist())
            data.extend((values / norm if norm > 0 else values).tolist())
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
            shape=(len(texts), len(self.vocabulary)),
        )
