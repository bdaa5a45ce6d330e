"""Offer texts (title, description, listed competences) -> ranked ROME codes with calibrated probabilities.

Every fiche gets, for each text, a vector of signals (:data:`SIGNALS`):

* the title against the fiche's labels (its own label and its appellations): embedding cosine
  (``encode_query`` / ``encode_document``), character n-gram TF-IDF cosine, exact appellation match
  (case, accents and gender marks ignored), which ranks its fiche first whatever the other signals;
* the title and description against the fiche's document (label, definition, appellations, core
  competences): word TF-IDF cosine (embedding whole descriptions costs ~20 times the titles' time on 2
  cores, for a signal that added nothing on the real offers once the lexical one was there);
* the share of the offer's listed ROME competences (``code_ogr``) that the fiche links to;
* the same signals at the parent fiche (the best of the fiche's family): sub-fiches of one parent share
  most titles, a parent-level match is evidence for each of them;
* optionally, a memory of titles already labelled with a ROME code (past offers): the best cosine to
  the fiche's labelled titles, and to its family's. The memory is consulted only for a title that
  names no appellation exactly: a labelled title never overrides an exact appellation match.

A conditional logit (a softmax over the fiches of a learned, non-negative weighting of the signals,
McFadden 1974) turns them into probabilities. Its weights are learned from

* title variants of the referential's own appellations (:func:`matching.rome_variants.title_variant`),
  half of them with their source appellation left out of the label index so that the weights also
  learn to code titles the referential does not name;
* labelled offers, if given, with their memory signal computed **leaving their own codes out**
  (grouped folds over codes): the memory's weight is the one that holds for codes never labelled.

The probabilities are those of the fitted model (log loss), so a confidence of 0.8 is right about 80 %
of the time on texts like the training ones; ``matching eval rome`` reports the calibration error on
held-out codes and regions.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from matching.artifacts import MANIFEST, atomic_folder, checksum_problem, read_manifest_file, sha256_file
from matching.errors import MatchingError
from matching.referential import Referential, gendered_forms, normalize_label
from matching.rome_variants import title_variant
from matching.tfidf import TfidfVectors
from matching.views import clean_title

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from matching.encoders import Encoder

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: The signals of a (text, fiche) pair, in the order of the weights (``coef_``).
SIGNALS = (
    "title_embedding",
    "title_lexical",
    "exact_appellation",
    "description_lexical",
    "competences",
    "parent_title_embedding",
    "parent_title_lexical",
    "parent_description_lexical",
    "parent_competences",
    "memory",
    "parent_memory",
)
_AT = {name: i for i, name in enumerate(SIGNALS)}
#: Characters of a description read (the start says what the job is; the rest is the company's pitch).
DESCRIPTION_CHARS = 2000
#: Rows of one block of texts scored at once: (block, fiches, signals) float32, 80 MB at 1,584 fiches.
BLOCK = 1024
ARTIFACT_FORMAT = 1
#: An acronym in parentheses in a label: "(ASH)", "(IDE)", "(SAV)" (161 appellations of ROME 4.0 v460).
ACRONYM = re.compile(r"\(([A-Z][A-Z0-9]{1,5})\)")
#: Log-odds by which an exact appellation match leads the best other fiche.
EXACT_MARGIN = 2.0


class RomeClassifierError(MatchingError):
    """A persisted ROME classifier that cannot be used (missing, altered, or built for another
    referential or encoder)."""


@dataclass(frozen=True)
class OfferText:
    """What an offer says about its occupation.

    Attributes
    ----------
    title
        The offer's title (``intitule``), gender marks and all.
    description
        Its description (only the first :data:`DESCRIPTION_CHARS` characters are read).
    competences
        ROME competence codes (``code_ogr``) the offer lists (``competences[].code``).
    """

    title: str
    description: str = ""
    competences: tuple[str, ...] = ()

    @classmethod
    def of(cls, text: str | OfferText) -> OfferText:
        return text if isinstance(text, OfferText) else cls(text)


def char_tfidf() -> TfidfVectorizer:
    """Character 2-4-gram TF-IDF on accent-free lower-case text (the title signal and the baseline)."""
    # scikit-learn fits; a fitted classifier transforms with TfidfVectors (a cold start without it)
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), preprocessor=normalize_label, sublinear_tf=True
    )


def word_tfidf() -> TfidfVectorizer:
    """Word 1-2-gram TF-IDF for descriptions against fiche documents; words in over 30 % of the fiches
    (``max_df``) carry no occupation."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(preprocessor=normalize_label, ngram_range=(1, 2), sublinear_tf=True, max_df=0.3)


def run_starts(sorted_keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index where each run of equal keys starts, for an array sorted by key."""
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]).astype(np.int64)


def _max_per_group(scores: FloatArray, group_starts: npt.NDArray[np.int64]) -> FloatArray:
    """Max over column groups: ``scores`` (n, L) with columns sorted by group -> (n, G)."""
    return np.maximum.reduceat(scores, group_starts, axis=1)


def _dense(matrix: Any) -> FloatArray:
    return np.asarray(matrix.todense(), dtype=np.float32)


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
        return cls(np.asarray(codes), texts, owner_array, run_starts(owner_array))


@dataclass
class _Index:
    """What the signals are computed against (all learned-free: built from the referential)."""

    labels: LabelTable
    family_order: IntArray  # fiches sorted by parent; with family_starts, a max per family
    family_starts: IntArray
    title_tfidf: TfidfVectors
    label_tfidf_t: Any  # (vocabulary, L) sparse, transposed once
    exact: dict[str, list[int]]  # normalised gendered form -> label rows
    document_tfidf: TfidfVectors
    documents_t: Any  # (vocabulary, K) sparse
    competence_fiches: dict[str, list[int]]
    label_vectors: FloatArray | None = None  # (L, d)

    @classmethod
    def build(cls, referential: Referential, encoder: Encoder | None, show_progress: bool) -> _Index:
        labels = LabelTable.build(referential)
        codes = labels.fiches.tolist()
        position = {code: i for i, code in enumerate(codes)}
        parent_of = np.asarray([position[referential.fiches[c].parent_code] for c in codes], dtype=np.int64)
        order = np.argsort(parent_of, kind="stable").astype(np.int64)
        title_tfidf = TfidfVectors.from_sklearn(char_tfidf().fit(labels.texts))
        exact: dict[str, list[int]] = {}
        for row, text in enumerate(labels.texts):
            for form in gendered_forms(text):  # "Serveuse de café" is an exact hit as much as "Serveur …"
                exact.setdefault(normalize_label(form), []).append(row)
            # the acronym a label gives is the title offers write: "ASH" for "Agent de service
            # hospitalier (ASH)" (its characters alone match "Cash manager" better)
            for acronym in ACRONYM.findall(text):
                exact.setdefault(normalize_label(acronym), []).append(row)
        documents = [_fiche_document(referential, code) for code in codes]
        document_tfidf = TfidfVectors.from_sklearn(word_tfidf().fit(documents))
        competence_fiches: dict[str, list[int]] = {}
        for i, code in enumerate(codes):
            for skill in referential.skills_of(code).all:
                competence_fiches.setdefault(skill, []).append(i)
        index = cls(
            labels=labels,
            family_order=order,
            family_starts=run_starts(parent_of[order]),
            title_tfidf=title_tfidf,
            # transposed once here: a product with the ``.T`` view converts it again at every call
            label_tfidf_t=title_tfidf.transform(labels.texts).T.tocsr(),
            exact=exact,
            document_tfidf=document_tfidf,
            documents_t=document_tfidf.transform(documents).T.tocsr(),
            competence_fiches=competence_fiches,
        )
        if encoder is not None:
            index.label_vectors = encoder.encode_document(labels.texts, show_progress=show_progress)
        return index

    @property
    def n_fiches(self) -> int:
        return len(self.labels.fiches)

    def family_max(self, scores: FloatArray) -> FloatArray:
        """Each fiche's best score over its family (its parent and the parent's sub-fiches), (n, K)."""
        by_family = _max_per_group(scores[:, self.family_order], self.family_starts)
        family_of = np.repeat(
            np.arange(len(self.family_starts)), np.diff(np.r_[self.family_starts, scores.shape[1]])
        )
        out = np.empty_like(scores)
        out[:, self.family_order] = by_family[:, family_of]
        return out


def _fiche_document(referential: Referential, code: str) -> str:
    """What a description is compared with: the fiche's label, definition, appellations and core
    competences."""
    fiche = referential.fiches[code]
    skills = [
        referential.skills[s].label for s in referential.skills_of(code).core if s in referential.skills
    ]
    apps = [a.label for a in referential.appellations_of(code)]
    return " ".join([fiche.label, fiche.definition or "", *apps, *skills])


@dataclass
class _Memory:
    """Labelled titles, sorted by fiche (``starts`` of each run, ``fiches`` the run's fiche)."""

    fiches: IntArray
    starts: IntArray
    owner: IntArray
    tfidf: Any  # (m, vocabulary) sparse
    vectors: FloatArray | None

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Memory | None:
        if not keep.any():
            return None
        owner = self.owner[keep]
        starts = run_starts(owner)
        return _Memory(
            owner[starts],
            starts,
            owner,
            self.tfidf[np.flatnonzero(keep)],
            None if self.vectors is None else self.vectors[keep],
        )


@dataclass(frozen=True)
class _Queries:
    """A block of texts prepared once: cleaned titles, their vectors and TF-IDF rows."""

    titles: list[str]
    texts: list[OfferText]
    title_tfidf: Any
    description_tfidf: Any
    title_vectors: FloatArray | None


class RomeClassifier:
    """Rank ROME fiches for offer texts (or bare job titles), with calibrated probabilities.

    Parameters
    ----------
    referential
        The ROME referential whose fiches are the classes (``None`` only for a loaded classifier).
    encoder
        Text encoder; ``None`` uses the lexical, exact-match and competence signals only.
    variants
        Title variants of appellations the weights are learned from (besides labelled offers).
    l2
        L2 penalty on the weights of the conditional logit.
    memory_folds
        Folds over ROME codes for the labelled offers' memory signal (each offer's memory holds
        other codes only).
    random_state
        Seed of the variants and of the folds.

    Attributes
    ----------
    labels_ : LabelTable
    version_ : str
        The referential version it was fitted on.
    coef_ : ndarray of float64, shape (len(SIGNALS),)
        Learned non-negative weight of each signal.
    n_examples_ : int
        Labelled titles in the memory.
    """

    def __init__(
        self,
        referential: Referential | None,
        *,
        encoder: Encoder | None = None,
        variants: int = 3000,
        l2: float = 1e-3,
        memory_folds: int = 5,
        random_state: int = 0,
    ) -> None:
        self.referential = referential
        self.encoder = encoder
        self.variants = variants
        self.l2 = l2
        self.memory_folds = memory_folds
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        examples: Sequence[str | OfferText] = (),
        example_codes: Sequence[str] = (),
        *,
        show_progress: bool = False,
    ) -> RomeClassifier:
        """Index the referential and learn the signals' weights.

        Parameters
        ----------
        examples, example_codes
            Labelled offers (texts or bare titles) and their ROME codes, same length; codes not in the
            referential are ignored.
        show_progress
            Show the encoder's progress bars.

        Returns
        -------
        RomeClassifier
            ``self``.

        Raises
        ------
        ValueError
            If ``examples`` and ``example_codes`` differ in length.
        """
        if len(examples) != len(example_codes):
            raise ValueError(f"{len(examples)} examples but {len(example_codes)} codes")
        if self.referential is None:
            raise ValueError("a referential is needed to fit a ROME classifier")
        self.index_ = _Index.build(self.referential, self.encoder, show_progress)
        self.version_ = self.referential.version
        self.labels_ = self.index_.labels
        position = {code: i for i, code in enumerate(self.labels_.fiches.tolist())}
        kept = [
            (OfferText.of(t), position[c])
            for t, c in zip(examples, example_codes, strict=True)
            if c in position
        ]
        texts = [t for t, _ in kept]
        truth = np.asarray([c for _, c in kept], dtype=np.int64)
        self.memory_ = self._memory(texts, truth)
        self.n_examples_ = len(texts)
        rng = np.random.default_rng(self.random_state)
        blocks = [self._variant_signals(rng)]
        if len(texts):
            blocks.append(self._example_signals(texts, truth, rng))
        X = np.concatenate([b[0] for b in blocks])
        y = np.concatenate([b[1] for b in blocks])
        weights = _fit_conditional_logit(X, y, self.l2)
        # temperature scaling (Guo et al. 2017) on the rows most like texts never seen: the labelled
        # offers (their memory holds other codes), else the variants whose appellation was left out
        calibration = np.arange(self.variants, len(y)) if len(texts) else np.flatnonzero(blocks[0][2] >= 0)
        self.coef_ = weights * _temperature(X[calibration], y[calibration], weights)
        return self

    def _memory(self, texts: Sequence[OfferText], truth: IntArray) -> _Memory | None:
        if not len(texts):
            return None
        order = np.argsort(truth, kind="stable")
        titles = [clean_title(texts[i].title) for i in order]
        owner = truth[order]
        starts = run_starts(owner)
        vectors = self.encoder.encode_query(titles) if self.encoder is not None else None
        return _Memory(owner[starts], starts, owner, self.index_.title_tfidf.transform(titles), vectors)

    def _variant_signals(self, rng: np.random.Generator) -> tuple[FloatArray, IntArray, IntArray]:
        """Signals of title variants of random labels; half leave their source label out, some list a
        few of their fiche's competences, as offers do."""
        labels = self.labels_
        rows = rng.integers(len(labels.texts), size=self.variants)
        texts = []
        for row in rows.tolist():
            competences: tuple[str, ...] = ()
            if rng.random() < 0.2:
                assert self.referential is not None  # fit checked it
                own = self.referential.skills_of(str(labels.fiches[labels.owner[row]])).all
                if own:
                    picked = rng.choice(len(own), size=min(len(own), int(rng.integers(1, 4))), replace=False)
                    competences = tuple(own[i] for i in picked.tolist())
            texts.append(OfferText(title_variant(labels.texts[row], rng), competences=competences))
        left_out = np.where(rng.random(self.variants) < 0.5, rows, -1)
        X = self._signals(texts, memory=None, left_out=left_out)
        return X, labels.owner[rows], left_out

    def _example_signals(
        self, texts: Sequence[OfferText], truth: IntArray, rng: np.random.Generator
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Signals of the labelled offers, each one's memory holding other codes only."""
        assert self.memory_ is not None
        codes = np.unique(truth)
        fold_of_code = dict(
            zip(rng.permutation(codes).tolist(), np.arange(len(codes)) % self.memory_folds, strict=True)
        )
        fold = np.asarray([fold_of_code[c] for c in truth.tolist()])
        X = np.empty((len(texts), self.index_.n_fiches, len(SIGNALS)), dtype=np.float32)
        sorted_fold = fold[np.argsort(truth, kind="stable")]  # the memory is sorted by code
        for k in range(self.memory_folds):
            rows = np.flatnonzero(fold == k)
            if len(rows):
                memory = self.memory_.subset(sorted_fold != k)
                X[rows] = self._signals([texts[i] for i in rows.tolist()], memory=memory)
        return X, truth, np.full(len(truth), -1)

    # -- signals ---------------------------------------------------------------------------------
    def _prepare(self, texts: Sequence[OfferText]) -> _Queries:
        titles = [clean_title(t.title) for t in texts]
        descriptions = [t.description[:DESCRIPTION_CHARS] for t in texts]
        index = self.index_
        title_vectors = self.encoder.encode_query(titles) if self.encoder is not None else None
        return _Queries(
            titles,
            list(texts),
            index.title_tfidf.transform(titles),
            # the title too: "Technicien de maintenance" says as much as the description's first line
            index.document_tfidf.transform([f"{t} {d}" for t, d in zip(titles, descriptions, strict=True)]),
            title_vectors,
        )

    def _signals(
        self,
        texts: Sequence[OfferText],
        *,
        memory: _Memory | None,
        left_out: npt.NDArray[np.int64] | None = None,
    ) -> FloatArray:
        """Signals of every fiche for every text, shape ``(len(texts), n_fiches, len(SIGNALS))``.

        ``left_out[i]`` (a label row, or -1) is hidden from text ``i``'s title signals.
        """
        index, labels = self.index_, self.labels_
        q = self._prepare(texts)
        n, K = len(texts), index.n_fiches
        X = np.zeros((n, K, len(SIGNALS)), dtype=np.float32)
        rows = np.arange(n)
        hidden = left_out if left_out is not None else np.full(n, -1)
        mask = hidden >= 0

        def title_max(sims: FloatArray) -> FloatArray:
            if mask.any():
                sims[rows[mask], hidden[mask]] = -1.0
            return _max_per_group(sims, labels.starts)

        lexical = title_max(_dense(q.title_tfidf @ index.label_tfidf_t))
        X[:, :, _AT["title_lexical"]] = lexical
        if q.title_vectors is not None and index.label_vectors is not None:
            X[:, :, _AT["title_embedding"]] = title_max(q.title_vectors @ index.label_vectors.T)
        exact = np.zeros(n, dtype=bool)
        for i, title in enumerate(q.titles):
            for row in index.exact.get(normalize_label(title), ()):
                if row != hidden[i]:
                    X[i, labels.owner[row], _AT["exact_appellation"]] = 1.0
                    exact[i] = True
        X[:, :, _AT["description_lexical"]] = _dense(q.description_tfidf @ index.documents_t)
        for i, text in enumerate(q.texts):
            listed = [c for c in text.competences if c in index.competence_fiches]
            for code in listed:
                X[i, index.competence_fiches[code], _AT["competences"]] += 1.0 / len(listed)
        for name in ("title_embedding", "title_lexical", "description_lexical", "competences"):
            X[:, :, _AT[f"parent_{name}"]] = index.family_max(X[:, :, _AT[name]])
        if memory is not None:
            sims = _dense(q.title_tfidf @ memory.tfidf.T)
            if q.title_vectors is not None and memory.vectors is not None:
                sims = q.title_vectors @ memory.vectors.T
            best = np.zeros((n, K), dtype=np.float32)
            best[:, memory.fiches] = np.maximum(_max_per_group(sims, memory.starts), 0.0)
            best[exact] = 0.0  # a labelled title never overrides an exact appellation match
            X[:, :, _AT["memory"]] = best
            X[:, :, _AT["parent_memory"]] = index.family_max(best)
        return X

    # -- prediction ------------------------------------------------------------------------------
    def scores(self, texts: Sequence[str | OfferText]) -> FloatArray:
        """Log-odds (up to a constant per row) of every fiche for every text, shape
        ``(len(texts), n_fiches)``."""
        items = [OfferText.of(t) for t in texts]
        out = np.empty((len(items), self.index_.n_fiches), dtype=np.float32)
        for start in range(0, len(items), BLOCK):
            block = items[start : start + BLOCK]
            out[start : start + len(block)] = _scored(self._signals(block, memory=self.memory_), self.coef_)
        return out

    def predict_proba(self, texts: Sequence[str | OfferText]) -> FloatArray:
        """Probability of every fiche for every text, shape ``(len(texts), n_fiches)``, rows summing to 1."""
        return _softmax(self.scores(texts))

    def predict(
        self, texts: Sequence[str | OfferText], k: int = 3
    ) -> tuple[npt.NDArray[np.str_], FloatArray]:
        """Top-``k`` ROME codes and their probabilities.

        Returns
        -------
        codes : ndarray of str, shape (len(texts), k)
        probabilities : ndarray of float32, shape (len(texts), k)
            Best first; each row of the full distribution over the fiches sums to 1.
        """
        proba = self.predict_proba(texts)
        top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return self.labels_.fiches[top], np.take_along_axis(proba, top, axis=1)

    def classify(self, text: str | OfferText, k: int = 3) -> list[tuple[str, float]]:
        """``[(rome_code, probability), ...]`` for one text, best first."""
        codes, probabilities = self.predict([text], k)
        return list(zip(codes[0].tolist(), probabilities[0].tolist(), strict=True))

    def weights(self) -> dict[str, float]:
        """The learned weight of each signal."""
        return dict(zip(SIGNALS, self.coef_.tolist(), strict=True))

    # -- persistence -----------------------------------------------------------------------------
    def fiche_label(self, code: str) -> str:
        """The label of a fiche of the classifier (its referential's), without the referential."""
        return self.labels_.texts[int(self.labels_.starts[self.fiche_index(code)])]

    def fiche_index(self, code: str) -> int:
        """Column of ``code`` in :meth:`scores` and :meth:`predict_proba`.

        Raises
        ------
        KeyError
            If ``code`` is no fiche of the classifier's referential.
        """
        found = np.flatnonzero(self.labels_.fiches == code)
        if not len(found):
            raise KeyError(code)
        return int(found[0])

    def knows_competence(self, code: str) -> bool:
        """Whether a ROME competence code (``code_ogr``) links to a fiche of the classifier."""
        return code in self.index_.competence_fiches

    def save(
        self, folder: Path, *, encoder_spec: str | None = None, build: dict[str, Any] | None = None
    ) -> Path:
        """Write the fitted classifier atomically into ``folder`` with a manifest (checksums, the
        referential's version, the encoder's name and, when given, the setting that loads it again:
        ``e5-onnx``…, and what it was built from); :meth:`load` refuses anything else."""
        state = {
            "index": self.index_,
            "memory": self.memory_,
            "coef": self.coef_,
            "n_examples": self.n_examples_,
        }
        with atomic_folder(folder) as staging:
            with (staging / "classifier.pkl").open("wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            manifest = {
                "format": ARTIFACT_FORMAT,
                "referential": self.version_,
                "encoder": self.encoder.name if self.encoder is not None else None,
                "encoder_spec": encoder_spec if self.encoder is not None else None,
                # what it was built from, as the builder names it (`matching rome build` skips a build
                # whose inputs did not change)
                "build": build or {},
                "params": {
                    "variants": self.variants,
                    "l2": self.l2,
                    "memory_folds": self.memory_folds,
                    "random_state": self.random_state,
                },
                "weights": self.weights(),
                "files": {"classifier.pkl": sha256_file(staging / "classifier.pkl")},
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path, referential: Referential | None, encoder: Encoder | None) -> RomeClassifier:
        """A classifier :meth:`save` wrote, for this referential (``None``: the one it was built for, to
        classify without loading a referential) and encoder.

        Raises
        ------
        RomeClassifierError
            If the folder has no manifest, a file is missing or altered, or it was built for another
            referential version or encoder (fail-closed: nothing half-checked is used).
        """
        manifest = read_manifest_file(folder, "ROME classifier", RomeClassifierError)
        if manifest.get("format") != ARTIFACT_FORMAT:
            raise RomeClassifierError(
                f"{folder}: format {manifest.get('format')!r}, expected {ARTIFACT_FORMAT}"
            )
        problem = checksum_problem(folder, manifest.get("files") or {"classifier.pkl": ""})
        if problem:
            raise RomeClassifierError(f"{folder}: {problem}")
        wanted = {
            "referential": referential.version if referential is not None else manifest.get("referential"),
            "encoder": encoder.name if encoder is not None else None,
        }
        for key, value in wanted.items():
            if manifest.get(key) != value:
                raise RomeClassifierError(
                    f"{folder} was built for {key} {manifest.get(key)!r}, not {value!r}"
                )
        # the pickle is read only once its checksum matched the manifest written with it
        with (Path(folder) / "classifier.pkl").open("rb") as handle:
            state = pickle.load(handle)
        classifier = cls(referential, encoder=encoder, **manifest["params"])
        classifier.index_, classifier.memory_ = state["index"], state["memory"]
        classifier.labels_ = classifier.index_.labels
        classifier.coef_, classifier.n_examples_ = state["coef"], state["n_examples"]
        classifier.version_ = manifest["referential"]
        return classifier


def _fit_conditional_logit(X: FloatArray, y: IntArray, l2: float) -> npt.NDArray[np.float64]:
    """Non-negative weights ``w`` maximising the mean log-likelihood of ``softmax(X @ w)`` at the true
    fiche, minus ``l2 · |w|²`` (L-BFGS-B).

    Parameters
    ----------
    X
        Signals, shape ``(n, n_fiches, n_signals)``.
    y
        True fiche of each row, shape ``(n,)``.
    """
    n = len(y)
    rows = np.arange(n)
    truth = X[rows, y].astype(np.float64)  # (n, F)

    def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        s = X @ w.astype(np.float32)
        lse = _logsumexp(s.astype(np.float64))[:, 0]
        p = np.exp(s - lse[:, None]).astype(np.float32)
        expected = np.einsum("nk,nkf->f", p, X, dtype=np.float64)
        value = float(-(s[rows, y] - lse).mean() + l2 * (w @ w))
        return value, -(truth.sum(axis=0) - expected) / n + 2 * l2 * w

    start = np.ones(X.shape[2])
    from scipy.optimize import minimize  # fitting only

    fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * X.shape[2])
    return np.asarray(fitted.x, dtype=np.float64)


def _scored(X: FloatArray, coef: npt.NDArray[np.float64]) -> FloatArray:
    """Scores ``X @ coef`` (``(n, K)``), the fiches a title names exactly lifted above every other by
    :data:`EXACT_MARGIN` (their own order kept): no weighting learned from labelled offers, which may
    code a title otherwise, overrides an exact appellation match."""
    scores = X @ coef.astype(np.float32)
    exact = X[:, :, _AT["exact_appellation"]] > 0
    named = exact.any(axis=1)
    if named.any():
        rows = scores[named]
        lift = rows.max(axis=1) - np.where(exact[named], rows, -np.inf).max(axis=1) + EXACT_MARGIN
        scores[named] = rows + np.where(exact[named], lift[:, None], 0.0).astype(np.float32)
    return scores


def _logsumexp(s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``log(sum(exp(s)))`` of each row, shape ``(n, 1)``, without overflow."""
    top = s.max(axis=1, keepdims=True)
    return np.asarray(top + np.log(np.exp(s - top).sum(axis=1, keepdims=True)), dtype=np.float64)


def _softmax(scores: FloatArray) -> FloatArray:
    """Row-wise softmax of ``(n, K)`` scores, in float64 then back to float32."""
    s = scores.astype(np.float64)
    return np.exp(s - _logsumexp(s)).astype(np.float32)


def _temperature(X: FloatArray, y: IntArray, weights: npt.NDArray[np.float64]) -> float:
    """The factor on ``weights`` that minimises the log loss of ``softmax(X @ (t · weights))`` at ``y``
    (bounded to [0.05, 20]); 1 without rows."""
    if not len(y):
        return 1.0
    s = (X @ weights.astype(np.float32)).astype(np.float64)
    at_truth = s[np.arange(len(y)), y]

    def nll(log_t: float) -> float:
        t = np.exp(log_t)
        return float(-(t * at_truth - _logsumexp(t * s)[:, 0]).mean())

    from scipy.optimize import minimize_scalar  # fitting only

    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))


class TfidfBaseline:
    """Baseline: character TF-IDF cosine of the title to the referential's labels and, when given, to
    labelled titles (the best per fiche); softmax with a fixed temperature."""

    def __init__(self, referential: Referential, *, temperature: float = 0.05) -> None:
        self.referential = referential
        self.temperature = temperature

    def fit(
        self, examples: Sequence[str | OfferText] = (), example_codes: Sequence[str] = ()
    ) -> TfidfBaseline:
        self.labels_ = LabelTable.build(self.referential)
        position = {code: i for i, code in enumerate(self.labels_.fiches.tolist())}
        self.tfidf_ = char_tfidf().fit(self.labels_.texts)
        self.label_tfidf_t_ = self.tfidf_.transform(self.labels_.texts).T.tocsr()
        known = sorted(
            (position[c], clean_title(OfferText.of(t).title))
            for t, c in zip(examples, example_codes, strict=True)
            if c in position
        )
        self.example_owner_ = np.asarray([o for o, _ in known], dtype=np.int64)
        self.example_tfidf_t_ = self.tfidf_.transform([t for _, t in known]).T.tocsr() if known else None
        return self

    def scores(self, texts: Sequence[str | OfferText]) -> FloatArray:
        titles = [clean_title(OfferText.of(t).title) for t in texts]
        q = self.tfidf_.transform(titles)
        fused = _max_per_group(_dense(q @ self.label_tfidf_t_), self.labels_.starts)
        if self.example_tfidf_t_ is not None:
            starts = run_starts(self.example_owner_)
            best = _max_per_group(_dense(q @ self.example_tfidf_t_), starts)
            fiches = self.example_owner_[starts]
            fused[:, fiches] = np.maximum(fused[:, fiches], best)
        return fused

    def predict(
        self, texts: Sequence[str | OfferText], k: int = 3
    ) -> tuple[npt.NDArray[np.str_], FloatArray]:
        fused = self.scores(texts).astype(np.float64) / self.temperature
        proba = _softmax(fused.astype(np.float32))
        top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return self.labels_.fiches[top], np.take_along_axis(proba, top, axis=1)
