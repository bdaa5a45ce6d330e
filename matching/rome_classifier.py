"""Free text (a job title) -> ranked ROME codes with confidences.

Signals, each a score per fiche (the best over the fiche's labels: its appellations and its own label):

* exact match of the cleaned title with an appellation label (case and accents ignored);
* cosine between the title (``encode_query``) and the labels (``encode_document``) with the encoder;
* cosine between character n-gram TF-IDF vectors of the title and the labels;
* optionally, cosine to job titles already labelled with a ROME code (a kNN memory, e.g. past offers).

The fused score is turned into confidences with a softmax over fiches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.encoders import Encoder
from matching.referential import Referential, gendered_forms, normalize_label
from matching.views import clean_title

FloatArray = npt.NDArray[np.float32]


def char_tfidf() -> TfidfVectorizer:
    """Character 2-4-gram TF-IDF on accent-free lower-case text (the lexical signal and the baseline)."""
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), preprocessor=normalize_label, sublinear_tf=True
    )


def run_starts(sorted_keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index where each run of equal keys starts, for an array sorted by key."""
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]).astype(np.int64)


def _max_per_group(scores: FloatArray, group_starts: npt.NDArray[np.int64]) -> FloatArray:
    """Max over column groups: ``scores`` (n, L) with columns sorted by group -> (n, G)."""
    return np.maximum.reduceat(scores, group_starts, axis=1)


@dataclass(frozen=True)
class LabelTable:
    """All labels of the referential, sorted by fiche: ``texts[i]`` belongs to ``fiches[owner[i]]``."""

    fiches: npt.NDArray[np.str_]
    texts: list[str]
    owner: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]

    @classmethod
    def build(cls, referential: Referential) -> LabelTable:
        codes = sorted(referential.fiches)
        texts: list[str] = []
        owner: list[int] = []
        for i, code in enumerate(codes):
            labels = [referential.fiches[code].label] + [a.label for a in referential.appellations_of(code)]
            labels = list(dict.fromkeys(labels))
            texts.extend(labels)
            owner.extend([i] * len(labels))
        owner_array = np.asarray(owner, dtype=np.int64)
        starts = run_starts(owner_array)
        return cls(np.asarray(codes), texts, owner_array, starts)


class RomeClassifier:
    """Rank ROME fiches for free-text job titles.

    Parameters
    ----------
    referential
        The ROME referential whose fiches are the classes.
    encoder
        Text encoder; ``None`` uses the lexical and exact-match signals only.
    embedding_weight, tfidf_weight, exact_weight, example_weight
        Weights of the signals in the fused score.
    temperature
        Softmax temperature turning fused scores into confidences.

    Attributes
    ----------
    labels_ : LabelTable
    label_vectors_ : ndarray of float32, shape (n_labels, d)
    """

    def __init__(
        self,
        referential: Referential,
        *,
        encoder: Encoder | None = None,
        embedding_weight: float = 1.0,
        tfidf_weight: float = 0.25,
        exact_weight: float = 0.5,
        example_weight: float = 2.0,
        temperature: float = 0.05,
    ) -> None:
        self.referential = referential
        self.encoder = encoder
        self.embedding_weight = embedding_weight
        self.tfidf_weight = tfidf_weight
        self.exact_weight = exact_weight
        self.example_weight = example_weight
        self.temperature = temperature

    def fit(
        self, examples: Sequence[str] = (), example_codes: Sequence[str] = (), *, show_progress: bool = False
    ) -> RomeClassifier:
        """Index the referential's labels, and optionally titles already labelled with ROME codes."""
        self.labels_ = LabelTable.build(self.referential)
        self.fiche_index_ = {code: i for i, code in enumerate(self.labels_.fiches.tolist())}
        self.tfidf_ = char_tfidf().fit(self.labels_.texts)
        self.label_tfidf_ = self.tfidf_.transform(self.labels_.texts)
        # transposed once here: a product with the ``.T`` view converts it again at every call (10 ms
        # on the official ROME, most of a one-title classification, as the ingest does per offer)
        self.label_tfidf_t_ = self.label_tfidf_.T.tocsr()
        self.exact_: dict[str, set[int]] = {}
        for text, owner in zip(self.labels_.texts, self.labels_.owner.tolist(), strict=True):
            for form in gendered_forms(text):  # "Serveuse de café" is an exact hit as much as "Serveur …"
                self.exact_.setdefault(normalize_label(form), set()).add(owner)
        self.label_vectors_ = (
            self.encoder.encode_document(self.labels_.texts, show_progress=show_progress)
            if self.encoder is not None
            else None
        )
        self.example_vectors_: FloatArray | None = None
        self.example_tfidf_: Any = None
        if len(examples):
            known = sorted(
                (self.fiche_index_[c], clean_title(t))
                for t, c in zip(examples, example_codes, strict=True)
                if c in self.fiche_index_
            )
            owners = np.asarray([o for o, _ in known], dtype=np.int64)
            texts = [t for _, t in known]
            # examples sorted by fiche: a max over each run gives the best example per fiche
            self.example_starts_ = run_starts(owners)
            self.example_fiches_ = owners[self.example_starts_]
            self.example_tfidf_ = self.tfidf_.transform(texts)
            if self.encoder is not None:
                self.example_vectors_ = self.encoder.encode_query(texts)
        return self

    def _example_scores(self, queries: FloatArray | None, query_tfidf: Any) -> FloatArray:
        """Best similarity to the labelled titles of each fiche, shape (n, n_fiches): lexical, plus
        embedding when an encoder is set (weighted like the label signals)."""
        assert self.example_tfidf_ is not None
        sims = self.tfidf_weight * np.asarray(
            (query_tfidf @ self.example_tfidf_.T).todense(), dtype=np.float32
        )
        if queries is not None and self.example_vectors_ is not None:
            sims += self.embedding_weight * (queries @ self.example_vectors_.T)
        out = np.zeros((sims.shape[0], len(self.labels_.fiches)), dtype=np.float32)
        out[:, self.example_fiches_] = _max_per_group(sims, self.example_starts_)
        return out

    def scores(self, texts: Sequence[str]) -> FloatArray:
        """Fused score of every fiche for every text, shape ``(len(texts), n_fiches)``."""
        cleaned = [clean_title(t) for t in texts]
        query_tfidf = self.tfidf_.transform(cleaned)
        lexical = np.asarray((query_tfidf @ self.label_tfidf_t_).todense(), dtype=np.float32)
        fused = self.tfidf_weight * _max_per_group(lexical, self.labels_.starts)
        queries: FloatArray | None = None
        if self.encoder is not None and self.label_vectors_ is not None:
            queries = self.encoder.encode_query(cleaned)
            fused += self.embedding_weight * _max_per_group(
                queries @ self.label_vectors_.T, self.labels_.starts
            )
        for row, text in enumerate(cleaned):
            for owner in self.exact_.get(normalize_label(text), ()):
                fused[row, owner] += self.exact_weight
        if self.example_tfidf_ is not None:
            fused += self.example_weight * self._example_scores(queries, query_tfidf)
        return fused

    def predict(self, texts: Sequence[str], k: int = 3) -> tuple[npt.NDArray[np.str_], FloatArray]:
        """Top-``k`` ROME codes and their confidences.

        Returns
        -------
        codes : ndarray of str, shape (len(texts), k)
        confidences : ndarray of float32, shape (len(texts), k)
            Softmax of the fused scores over all fiches (rows of the full distribution sum to 1).
        """
        fused = self.scores(texts)
        top = np.argsort(-fused, axis=1, kind="stable")[:, :k]
        logits = (fused - fused.max(axis=1, keepdims=True)) / self.temperature
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return self.labels_.fiches[top], np.take_along_axis(probs, top, axis=1).astype(np.float32)

    def classify(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """``[(rome_code, confidence), ...]`` for one text, best first."""
        codes, confidences = self.predict([text], k)
        return list(zip(codes[0].tolist(), confidences[0].tolist(), strict=True))


class TfidfBaseline:
    """Baseline: character TF-IDF cosine to the referential's labels (and to labelled titles, if given)."""

    def __init__(self, referential: Referential) -> None:
        self.classifier = RomeClassifier(referential, encoder=None, tfidf_weight=1.0, exact_weight=0.0)

    def fit(self, examples: Sequence[str] = (), example_codes: Sequence[str] = ()) -> TfidfBaseline:
        self.classifier.fit(examples, example_codes)
        return self

    def predict(self, texts: Sequence[str], k: int = 3) -> tuple[npt.NDArray[np.str_], FloatArray]:
        return self.classifier.predict(texts, k)
