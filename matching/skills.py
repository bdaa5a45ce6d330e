"""Skills from an offer's text: which ROME 4.0 competences and savoirs an offer asks for.

Only a fifth of France Travail's offers list ROME competences (680 of the 3,589 real offers of the
reference data); for the rest the engine used to assume the fiche's core skills. :class:`SkillExtractor`
ranks the referential's compétences, macro-compétences and savoirs (``code_ogr``) for an offer's title,
description and ROME code, the way JobTech's JobAd Enrichments rank a taxonomy's skills:

* **candidates**: the fiche's linked skills (``unix_liens_rome_referentiels``) with their
  macro-compétences, the parent fiche's, the skills offers of the same code and domain listed in the
  training data, the labels whose word stems the text contains, and (with an encoder) the labels
  nearest the title;
* **signals** per candidate: the fiche's links (core or not, position in the fiche's list), how often
  offers of the code, of the domain and overall listed it, how much of its label's stems (French Snowball
  stems, IDF-weighted) the title and the description contain, the title's embedding similarity;
* **re-ranking**: a LightGBM LambdaRank model on those signals, trained on offers that list their
  competences, with out-of-fold counts (an offer's own list never counts for it), and its scores mapped
  to the probability that the offer would list the skill (Platt scaling on out-of-fold scores);
* for an offer of a professional domain no training offer came from, the fiche's own order (core
  first), each position with the share of training offers that listed the skill there: out of the
  domains it learned from, the re-ranker was measured below that order.

What each signal is worth was measured (``matching eval skills``, README "Skills from the offer's
text"), not assumed: the title embedding adds nothing over the lexical signals on the real offers,
so the default extractor reads no encoder.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import snowballstemmer
from scipy import sparse

from matching.artifacts import MANIFEST, atomic_folder, checksum_problem, read_manifest_file, sha256_file
from matching.domain import Offer
from matching.encoders.base import Encoder
from matching.errors import MatchingError
from matching.referential import Referential
from matching.referential.model import SkillKind
from matching.views import clean_title

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

ARTIFACT_FORMAT = 2
RANKER_FILE = "ranker.txt"
STATE_FILE = "state.json"
#: Candidates taken from each text signal (label stems, title embedding) beside the fiche's links and
#: the learned counts; 30 keeps 98 % of the listed skills among the candidates on held-out offer lists.
TEXT_CANDIDATES = 30
#: Calibrated probability from which an extracted skill is kept on an offer (see :meth:`SkillExtractor.infer`).
INFERRED_PROBABILITY = 0.5
#: Positions of a fiche's list with their own listing rate (the rest pooled), for offers of a domain
#: no training offer came from.
FICHE_POSITIONS = 30
#: At most this many inferred skills per offer (offers that list competences list 4.4 on average).
MAX_INFERRED = 8

FEATURE_NAMES = (
    "fiche_core",
    "fiche_linked",
    "fiche_macro",
    "parent_fiche_linked",
    "macro_competence",
    "savoir",
    "fiche_position",
    "fiche_relative_position",
    "fiche_size",
    "code_share",
    "code_offers",
    "domain_share",
    "global_share",
    "title_stems",
    "text_stems",
    "label_stems",
    "title_similarity",
    "title_similarity_gap",
)

# Words too common in offers and labels to tell skills apart (stemmed like the rest); words of fewer
# than three letters are dropped before.
_STOP_WORDS = frozenset(
    [
        "les",
        "des",
        "une",
        "pour",
        "par",
        "avec",
        "dans",
        "sur",
        "aux",
        "son",
        "ses",
        "leur",
        "leurs",
        "qui",
        "que",
        "est",
        "sont",
        "vous",
        "nous",
        "votre",
        "nos",
        "vos",
        "etre",
        "avoir",
        "ainsi",
        "tout",
        "tous",
        "toute",
        "toutes",
        "plus",
        "mais",
        "ces",
        "cette",
        "cet",
        "entre",
        "sous",
        "selon",
        "afin",
        "etc",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


class SkillExtractorError(MatchingError):
    """A persisted skill extractor that cannot be used (missing, altered, or built for another
    referential or encoder), or training data it cannot learn from."""


@dataclass(frozen=True)
class SkillQuery:
    """What the extractor reads of an offer: its title, description and ROME code (the stated one, or
    the classifier's)."""

    title: str
    description: str = ""
    rome_code: str = ""


class FrenchStemmer:
    """Accent-free, lower-case Snowball French stems of a text's words of three letters or more, stop
    words left out ("Administrer les systèmes" → ``["administr", "system"]``)."""

    def __init__(self, *, cache_size: int = 200_000) -> None:
        self.cache_size = cache_size
        self._stemmer = snowballstemmer.stemmer("french")
        # the pure-Python Snowball costs ~0.16 ms a word, and offers repeat their words: each word is
        # stemmed once (6 times faster on the real offers)
        self._stems: dict[str, str] = {}
        self._lock = threading.Lock()

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            # the Snowball stemmer keeps state between calls: one word at a time (API requests share it)
            with self._lock:
                stem = self._stemmer.stemWord(word)
            if len(self._stems) < self.cache_size:
                self._stems[word] = stem
        return stem

    def __call__(self, text: str) -> list[str]:
        folded = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
        return [self._stem(w) for w in _WORD.findall(plain) if len(w) > 2 and w not in _STOP_WORDS]


class SkillLexicon:
    """The referential's competence and savoir labels as IDF-weighted bags of French stems.

    ``coverage(texts)`` is, for each text and each skill, the IDF mass of the label's stems the text
    contains over the label's whole mass: 1 when every stem of "Gérer la sécurité informatique" is in
    the text, shape ``(n_texts, n_skills)`` (sparse).
    """

    def __init__(self, referential: Referential) -> None:
        self.stem = FrenchStemmer()
        self.skills = [
            s
            for s in sorted(referential.skills.values(), key=lambda s: s.code)
            if s.kind != SkillKind.SAVOIR_ETRE
        ]
        self.codes = [s.code for s in self.skills]
        self.index = {code: i for i, code in enumerate(self.codes)}
        self.vocabulary: dict[str, int] = {}
        labels = self._bags([s.label for s in self.skills], grow=True)
        document_frequency = np.asarray((labels > 0).sum(axis=0)).ravel() + 1
        self.idf = np.log(len(self.skills) / document_frequency).astype(np.float32)
        weighted = labels.multiply(self.idf).tocsr()
        self.label_mass = np.asarray(weighted.sum(axis=1)).ravel().astype(np.float32) + 1e-6
        self.label_words = np.asarray(labels.sum(axis=1)).ravel().astype(np.float32)
        self._weighted_t = weighted.T.tocsr()

    def _bags(self, texts: Sequence[str], *, grow: bool = False) -> sparse.csr_matrix:
        rows, cols = [], []
        for row, text in enumerate(texts):
            for stem in dict.fromkeys(self.stem(text)):  # in order: the same columns in every process
                col = (
                    self.vocabulary.setdefault(stem, len(self.vocabulary))
                    if grow
                    else self.vocabulary.get(stem)
                )
                if col is not None:
                    rows.append(row)
                    cols.append(col)
        return sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(self.vocabulary))
        )

    def coverage(self, texts: Sequence[str]) -> sparse.csr_matrix:
        covered = (self._bags(texts) @ self._weighted_t).tocsr()
        return covered.multiply(1.0 / self.label_mass).tocsr()


@dataclass
class SkillCounts:
    """How often offers listed each skill: per ROME code, per domain (the code's first three
    characters), overall. Learned from training offers; :meth:`SkillExtractor.fit` counts each offer's
    list only for the others (out of fold)."""

    by_code: dict[str, Counter[str]] = field(default_factory=dict)
    by_domain: dict[str, Counter[str]] = field(default_factory=dict)
    overall: Counter[str] = field(default_factory=Counter)
    code_offers: Counter[str] = field(default_factory=Counter)
    domain_offers: Counter[str] = field(default_factory=Counter)
    offers: int = 0

    @classmethod
    def count(cls, rome_codes: Iterable[str], listed: Iterable[Iterable[str]]) -> SkillCounts:
        counts = cls()
        for code, skills in zip(rome_codes, listed, strict=True):
            counts.offers += 1
            counts.code_offers[code] += 1
            counts.domain_offers[code[:3]] += 1
            for skill in set(skills):
                counts.by_code.setdefault(code, Counter())[skill] += 1
                counts.by_domain.setdefault(code[:3], Counter())[skill] += 1
                counts.overall[skill] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "by_code": self.by_code,
            "by_domain": self.by_domain,
            "overall": self.overall,
            "code_offers": self.code_offers,
            "domain_offers": self.domain_offers,
            "offers": self.offers,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SkillCounts:
        return cls(
            by_code={k: Counter(v) for k, v in data["by_code"].items()},
            by_domain={k: Counter(v) for k, v in data["by_domain"].items()},
            overall=Counter(data["overall"]),
            code_offers=Counter(data["code_offers"]),
            domain_offers=Counter(data["domain_offers"]),
            offers=int(data["offers"]),
        )


@dataclass(frozen=True)
class OffersWithSkills:
    """Real offers that list ROME skills the extractor's vocabulary holds, filed as the ingest files
    them (:func:`matching.ingest.parse_offer`: an appellation of a sub-fiche files the offer there)."""

    ids: list[str]
    queries: list[SkillQuery]
    listed: list[tuple[str, ...]]
    without: int = 0

    @classmethod
    def from_records(cls, records: Iterable[Any], referential: Referential) -> OffersWithSkills:
        """The records :func:`~matching.ingest.parse_offer` keeps that :meth:`from_offers` keeps."""
        from matching.ingest import parse_offer

        parsed = (parse_offer(raw, referential=referential).offer for raw in records)
        return cls.from_offers((offer for offer in parsed if offer is not None), referential)

    @classmethod
    def from_offers(cls, offers: Iterable[Offer], referential: Referential) -> OffersWithSkills:
        """The offers filed under a fiche that list a skill of the extractor's vocabulary
        (``without`` counts the others filed under a fiche)."""
        vocabulary = {
            code for code, skill in referential.skills.items() if skill.kind != SkillKind.SAVOIR_ETRE
        }
        ids, queries, listed = [], [], []
        without = 0
        for offer in offers:
            if offer.rome_code not in referential.fiches:
                continue
            skills = tuple(s for s in offer.skills if s in vocabulary)
            if not skills:
                without += 1
                continue
            ids.append(offer.id)
            queries.append(SkillQuery(offer.title, offer.description, offer.rome_code))
            listed.append(skills)
        return cls(ids, queries, listed, without)

    def __len__(self) -> int:
        return len(self.ids)


class SkillExtractor:
    """Ranks ROME competences and savoirs for offers' texts (see the module's docstring).

    Parameters
    ----------
    referential
        The ROME referential: the skill vocabulary (compétences, macro-compétences, savoirs; not
        savoir-être) and the fiches' links.
    encoder
        Optional sentence encoder for the title-similarity signal; ``None`` reads the text lexically
        (the default: the embedding was measured to add nothing, see the README).
    n_estimators, num_leaves, min_child_samples, learning_rate
        LightGBM LambdaRank settings of the re-ranker.
    n_folds
        Folds of the out-of-fold counts and of the calibration; offers listing the same set of
        competences share a fold.
    random_state
        Seed of the fold assignment and of LightGBM's sampling.

    Attributes
    ----------
    counts_ : SkillCounts
        What the training offers listed, per code, domain and overall.
    booster_ : lightgbm.Booster
        The re-ranker.
    calibration_ : tuple[float, float]
        Platt scaling ``(a, b)``: probability ``1 / (1 + exp(-(a * score + b)))``.
    position_rates_ : list[float]
        Share of training offers listing the skill at each position of their fiche's list: the
        probabilities given for an offer of a domain no training offer came from (:meth:`cold`).
    version_, encoder_name_ : str
        The referential's version and the encoder's name (``"none"`` without one).
    n_offers_ : int
        Training offers read.
    """

    def __init__(
        self,
        referential: Referential,
        encoder: Encoder | None = None,
        *,
        n_estimators: int = 200,
        num_leaves: int = 7,
        min_child_samples: int = 50,
        learning_rate: float = 0.05,
        n_folds: int = 4,
        random_state: int = 0,
    ) -> None:
        self.referential = referential
        self.encoder = encoder
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.learning_rate = learning_rate
        self.n_folds = n_folds
        self.random_state = random_state

    def __repr__(self) -> str:
        encoder = getattr(self.encoder, "name", None)
        return f"SkillExtractor(encoder={encoder!r}, n_estimators={self.n_estimators}, random_state={self.random_state})"

    # -- what does not depend on training --------------------------------------------------------

    @cached_property
    def lexicon(self) -> SkillLexicon:
        return SkillLexicon(self.referential)

    @cached_property
    def _label_vectors(self) -> FloatArray | None:
        if self.encoder is None:
            return None
        labels = [s.label for s in self.lexicon.skills]
        return np.asarray(self.encoder.encode_query(labels, batch_size=64), dtype=np.float32)

    @cached_property
    def _fiche_lists(self) -> dict[str, tuple[list[int], set[int]]]:
        """Per fiche: its linked skills in the export's order (core first) and the core ones, as indices."""
        index = self.lexicon.index
        out = {}
        for code in self.referential.fiche_skills:
            linked = self.referential.skills_of(code)
            order = [index[s] for s in linked.all if s in index]
            out[code] = (order, {index[s] for s in linked.core if s in index})
        return out

    @cached_property
    def _macro_of(self) -> npt.NDArray[np.int64]:
        index = self.lexicon.index
        return np.array([index.get(s.macro_code, -1) for s in self.lexicon.skills], dtype=np.int64)

    @cached_property
    def _kinds(self) -> tuple[FloatArray, FloatArray]:
        skills = self.lexicon.skills
        macro = np.array([s.macro for s in skills], dtype=np.float32)
        savoir = np.array([s.kind == SkillKind.SAVOIR for s in skills], dtype=np.float32)
        return macro, savoir

    # -- signals ----------------------------------------------------------------------------------

    def _text_signals(
        self, queries: Sequence[SkillQuery]
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix, FloatArray | None]:
        titles = [clean_title(q.title) for q in queries]
        title_cover = self.lexicon.coverage(titles)
        text_cover = self.lexicon.coverage(
            [f"{t} {q.description}" for t, q in zip(titles, queries, strict=True)]
        )
        similarity = None
        if self.encoder is not None and self._label_vectors is not None:
            vectors = np.asarray(self.encoder.encode_query(titles, batch_size=64), dtype=np.float32)
            similarity = vectors @ self._label_vectors.T
        return title_cover, text_cover, similarity

    def _rows(
        self,
        query: SkillQuery,
        counts: SkillCounts,
        title_cover: sparse.csr_matrix,
        text_cover: sparse.csr_matrix,
        similarity: FloatArray | None,
    ) -> tuple[IntArray, FloatArray]:
        """Candidate skill indices of one offer and their features, shape ``(c,)`` and ``(c, F)``;
        ``title_cover`` and ``text_cover`` are the offer's rows of :meth:`SkillLexicon.coverage`."""
        codes = self.lexicon.codes
        index = self.lexicon.index
        rome = query.rome_code
        fiche = self.referential.fiches.get(rome)
        order, core = self._fiche_lists.get(rome, ([], set()))
        parent_order: list[int] = []
        if fiche is not None and fiche.parent_code != rome:
            parent_order = self._fiche_lists.get(fiche.parent_code, ([], set()))[0]
        macro_of = self._macro_of[order] if order else np.empty(0, np.int64)
        fiche_macro = set(macro_of[macro_of >= 0].tolist())
        by_code = counts.by_code.get(rome, Counter())
        by_domain = counts.by_domain.get(rome[:3], Counter())

        candidates = set(order) | fiche_macro | set(parent_order)
        candidates |= {index[c] for c in by_code if c in index}
        candidates |= {index[c] for c in by_domain if c in index}
        dense_text = np.asarray(text_cover.todense()).ravel()
        if dense_text.any():
            top = _top(dense_text, TEXT_CANDIDATES)
            candidates |= set(top[dense_text[top] > 0].tolist())
        if similarity is not None:
            candidates |= set(_top(similarity, TEXT_CANDIDATES).tolist())
        cand = np.array(sorted(candidates), dtype=np.int64)
        if not len(cand):
            return cand, np.empty((0, len(FEATURE_NAMES)), np.float32)

        position = {s: n for n, s in enumerate(order)}
        parent = set(parent_order)
        macro, savoir = self._kinds
        code_offers = counts.code_offers.get(rome, 0)
        domain_offers = counts.domain_offers.get(rome[:3], 0)
        names = [codes[j] for j in cand]
        fiche_pos = np.array([position.get(j, len(order) + 50) for j in cand], dtype=np.float32)
        if similarity is not None:
            sims = similarity[cand].astype(np.float32)
            gap = sims - np.sort(sims)[::-1][:10].mean()
        else:
            sims = gap = np.zeros(len(cand), np.float32)
        features = np.column_stack(
            [
                [j in core for j in cand],
                [j in position for j in cand],
                [j in fiche_macro for j in cand],
                [j in parent for j in cand],
                macro[cand],
                savoir[cand],
                fiche_pos,
                fiche_pos / (len(order) + 1),
                np.full(len(cand), len(order)),
                [by_code.get(c, 0) / (code_offers + 1) for c in names],
                np.full(len(cand), code_offers),
                [by_domain.get(c, 0) / (domain_offers + 1) for c in names],
                [counts.overall.get(c, 0) / (counts.offers + 1) for c in names],
                np.asarray(title_cover[:, cand].todense()).ravel(),
                dense_text[cand],
                self.lexicon.label_words[cand],
                sims,
                gap,
            ]
        ).astype(np.float32)
        return cand, features

    def _offer_rows(
        self, queries: Sequence[SkillQuery], counts_of: Sequence[SkillCounts]
    ) -> list[tuple[IntArray, FloatArray]]:
        if not queries:
            return []
        title_cover, text_cover, similarity = self._text_signals(queries)
        return [
            self._rows(
                q,
                counts,
                title_cover[i],
                text_cover[i],
                None if similarity is None else similarity[i],
            )
            for i, (q, counts) in enumerate(zip(queries, counts_of, strict=True))
        ]

    # -- learning ---------------------------------------------------------------------------------

    def _ranker(self) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRanker(
            n_estimators=self.n_estimators,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            learning_rate=self.learning_rate,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.random_state,
            # the same offers give the same model whatever the threads (reproducible figures)
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def folds(self, listed: Sequence[Iterable[str]]) -> IntArray:
        """Fold of each training offer; offers listing the same set of skills share one."""
        groups: dict[frozenset[str], int] = {}
        group = np.array([groups.setdefault(frozenset(s), len(groups)) for s in listed], dtype=np.int64)
        rng = np.random.default_rng(self.random_state)
        fold_of_group = np.empty(len(groups), dtype=np.int64)
        fold_of_group[rng.permutation(len(groups))] = np.arange(len(groups)) % self.n_folds
        return fold_of_group[group]

    def fit(self, queries: Sequence[SkillQuery], listed: Sequence[Sequence[str]]) -> SkillExtractor:
        """Learn from offers and the skills they list.

        Parameters
        ----------
        queries
            The training offers' texts and ROME codes, shape ``(n,)``.
        listed
            The ROME skill codes (``code_ogr``) each offer lists, shape ``(n,)``; codes outside the
            vocabulary (savoir-être, unknown) are left out.

        Returns
        -------
        SkillExtractor
            ``self``.

        Raises
        ------
        SkillExtractorError
            Fewer than ``2 * n_folds`` offers with a known listed skill, or fewer distinct lists than
            folds.
        """
        index = self.lexicon.index
        kept = [i for i, skills in enumerate(listed) if any(s in index for s in skills)]
        listed_sets = [frozenset(s for s in listed[i] if s in index) for i in kept]
        queries = [queries[i] for i in kept]
        if len(queries) < 2 * self.n_folds or len(set(listed_sets)) < self.n_folds:
            raise SkillExtractorError(
                f"{len(queries)} offers list a known ROME skill ({len(set(listed_sets))} distinct lists): "
                f"at least {2 * self.n_folds} offers and {self.n_folds} distinct lists are needed"
            )
        fold = self.folds(listed_sets)
        rome_codes = [q.rome_code for q in queries]
        counts_of: list[SkillCounts] = [SkillCounts()] * len(queries)
        for k in range(self.n_folds):
            others = np.flatnonzero(fold != k)
            counts = SkillCounts.count([rome_codes[i] for i in others], [listed_sets[i] for i in others])
            for row in np.flatnonzero(fold == k).tolist():
                counts_of[row] = counts
        rows = self._offer_rows(queries, counts_of)
        labels = [
            np.array([self.lexicon.codes[j] in truth for j in cand], dtype=np.int32)
            for (cand, _), truth in zip(rows, listed_sets, strict=True)
        ]
        usable = [i for i, (cand, _) in enumerate(rows) if len(cand)]
        if len({fold[i] for i in usable}) < 2 or not any(labels[i].any() for i in usable):
            raise SkillExtractorError(
                "the training offers' listed skills are never among their candidates (codes of another "
                "referential?): nothing to learn from"
            )

        def train(members: Sequence[int]) -> Any:
            return self._ranker().fit(
                np.vstack([rows[i][1] for i in members]),
                np.concatenate([labels[i] for i in members]),
                group=[len(labels[i]) for i in members],
            )

        # calibration: each fold's rows scored by a ranker that did not see them
        scores, truth = [], []
        for k in range(self.n_folds):
            inside = [i for i in usable if fold[i] != k]
            held = [i for i in usable if fold[i] == k]
            if not held:
                continue
            ranker = train(inside)
            for i in held:
                scores.append(ranker.predict(rows[i][1]))
                truth.append(labels[i])
        a, b = _platt(np.concatenate(scores), np.concatenate(truth))
        if not a > 0:  # the ranking and the probabilities must agree: best first is most likely first
            raise SkillExtractorError(
                f"held-out scores do not rank listed skills higher (Platt slope {a:.3g}): too few offers?"
            )
        self.calibration_ = (a, b)
        self.position_rates_ = self._position_rates(queries, listed_sets)
        self.booster_ = train(usable).booster_
        self.counts_ = SkillCounts.count(rome_codes, listed_sets)
        self.version_ = self.referential.version
        self.encoder_name_ = "none" if self.encoder is None else self.encoder.name
        self.n_offers_ = len(queries)
        return self

    def _position_rates(self, queries: Sequence[SkillQuery], listed: Sequence[frozenset[str]]) -> list[float]:
        """Share of training offers listing the skill at each position of their fiche's list (core
        first, the export's order), positions beyond :data:`FICHE_POSITIONS` pooled.

        Each share is shrunk towards the overall one (two pseudo-offers), then made non-increasing
        with the position (a running minimum): a later position is never more likely, so the fiche's
        order stays best first, and a position hardly seen gets the overall share, not a coin toss.
        """
        hits = np.zeros(FICHE_POSITIONS + 1)
        seen = np.zeros(FICHE_POSITIONS + 1)
        for query, truth in zip(queries, listed, strict=True):
            order = self._fiche_lists.get(query.rome_code, ([], set()))[0]
            for position, skill in enumerate(order):
                slot = min(position, FICHE_POSITIONS)
                seen[slot] += 1
                hits[slot] += self.lexicon.codes[skill] in truth
        overall = hits.sum() / max(seen.sum(), 1)
        rates = (hits + 2 * overall) / (seen + 2)
        return np.minimum.accumulate(rates).round(4).tolist()

    def cold(self, rome_code: str) -> bool:
        """Whether no training offer came from the code's domain: the re-ranker never saw such an offer
        (every training offer had offers of its domain counted), so the fiche's own order is used."""
        self._check_fitted()
        return not self.counts_.domain_offers.get(rome_code[:3], 0)

    # -- extraction -------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise SkillExtractorError("this SkillExtractor is not fitted: call fit() or load() first")

    def extract_batch(self, queries: Sequence[SkillQuery], k: int = 10) -> list[tuple[list[str], FloatArray]]:
        """The ``k`` most likely skills of each offer with the probability that the offer would list
        each, best first.

        Parameters
        ----------
        queries
            The offers, shape ``(n,)``.
        k
            Skills per offer at most.

        Returns
        -------
        list of (list of str, ndarray)
            ``(codes, probabilities)`` per offer, shape ``(n,)`` of ``(≤ k,)`` pairs: probabilities
            calibrated on held-out offers (Platt), or the fiche's position rates for a domain never
            learned from (:meth:`cold`). No candidate (a code without a fiche, no word of a label):
            empty.

        Raises
        ------
        SkillExtractorError
            The extractor is not fitted.
        """
        self._check_fitted()
        orders = [self._fiche_lists.get(q.rome_code, ([], set()))[0] for q in queries]
        # measured: out of the domains it learned from, the re-ranker does worse than the fiche (README
        # "Skills from the offer's text"): such offers get the fiche's order, and no features are built
        cold = [bool(order) and self.cold(q.rome_code) for q, order in zip(queries, orders, strict=True)]
        warm = [q for q, is_cold in zip(queries, cold, strict=True) if not is_cold]
        rows = iter(self._offer_rows(warm, [self.counts_] * len(warm)))
        a, b = self.calibration_
        rates = np.asarray(self.position_rates_, dtype=np.float32)
        out: list[tuple[list[str], FloatArray]] = []
        for order, is_cold in zip(orders, cold, strict=True):
            if is_cold:  # each position with its rate
                top = order[:k]
                probability = rates[np.minimum(np.arange(len(top)), FICHE_POSITIONS)]
                out.append(([self.lexicon.codes[j] for j in top], probability))
                continue
            cand, features = next(rows)
            if not len(cand):
                out.append(([], np.empty(0, np.float32)))
                continue
            raw = self.booster_.predict(features)
            best = np.argsort(-raw, kind="stable")[:k]
            probability = (1.0 / (1.0 + np.exp(-(a * raw[best] + b)))).astype(np.float32)
            out.append(([self.lexicon.codes[j] for j in cand[best]], probability))
        return out

    def extract(self, query: SkillQuery, k: int = 10) -> tuple[list[str], FloatArray]:
        """:meth:`extract_batch` for one offer: ``(codes, probabilities)``, best first."""
        return self.extract_batch([query], k)[0]

    def infer(
        self,
        queries: Sequence[SkillQuery],
        *,
        min_probability: float = INFERRED_PROBABILITY,
        max_skills: int = MAX_INFERRED,
    ) -> list[tuple[tuple[str, ...], tuple[float, ...]]]:
        """The skills to store on each offer as inferred: those at least ``min_probability`` likely,
        at most ``max_skills`` (none when none is: the offer then stands for its fiche's core skills,
        :func:`matching.domain.wanted_skills`); ``[(codes, probabilities), ...]`` with probabilities
        rounded to 3 decimals."""
        out = []
        for codes, probability in self.extract_batch(queries, max_skills):
            kept = [
                (code, round(float(p), 3))
                for code, p in zip(codes, probability, strict=True)
                if p >= min_probability
            ]
            out.append((tuple(code for code, _ in kept), tuple(p for _, p in kept)))
        return out

    # -- persistence ------------------------------------------------------------------------------

    def save(self, folder: Path, *, build: Mapping[str, object] | None = None) -> Path:
        """Write the extractor atomically into ``folder`` with a manifest (format, referential,
        encoder, checksums, what it was trained on); :meth:`load` refuses anything else."""
        self._check_fitted()
        state = {
            "counts": self.counts_.to_json(),
            "calibration": list(self.calibration_),
            "position_rates": self.position_rates_,
            "n_offers": self.n_offers_,
        }
        with atomic_folder(folder) as staging:
            (staging / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False, sort_keys=True))
            self.booster_.save_model(str(staging / RANKER_FILE))
            manifest = {
                "format": ARTIFACT_FORMAT,
                "referential": self.version_,
                "encoder": self.encoder_name_,
                "features": list(FEATURE_NAMES),
                "offers": self.n_offers_,
                "build": dict(build or {}),
                "files": {name: sha256_file(staging / name) for name in (STATE_FILE, RANKER_FILE)},
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return Path(folder)

    @staticmethod
    def manifest(folder: Path) -> dict[str, Any]:
        """The manifest :meth:`save` wrote in ``folder``; raises :class:`SkillExtractorError` without one."""
        return read_manifest_file(folder, "skill extractor", SkillExtractorError)

    @classmethod
    def load(cls, folder: Path, referential: Referential, encoder: Encoder | None = None) -> SkillExtractor:
        """The extractor :meth:`save` wrote for this referential and encoder (``None``: one built
        without an encoder).

        Raises
        ------
        SkillExtractorError
            No manifest, a file missing or altered, another format, feature list, referential or encoder.
        """
        import lightgbm as lgb

        manifest = cls.manifest(folder)
        if manifest.get("format") != ARTIFACT_FORMAT or manifest.get("features") != list(FEATURE_NAMES):
            raise SkillExtractorError(
                f"{folder}: format {manifest.get('format')!r} is not this version's ({ARTIFACT_FORMAT}): "
                "run `matching skills build`"
            )
        problem = checksum_problem(folder, manifest.get("files") or {STATE_FILE: "", RANKER_FILE: ""})
        if problem:
            raise SkillExtractorError(f"{folder}: {problem}")
        if manifest.get("referential") != referential.version:
            raise SkillExtractorError(
                f"{folder} was built for referential {manifest.get('referential')!r}, not {referential.version!r}"
            )
        wanted = "none" if encoder is None else encoder.name
        if manifest.get("encoder") != wanted:
            raise SkillExtractorError(
                f"{folder} was built with encoder {manifest.get('encoder')!r}, not {wanted!r}"
            )
        extractor = cls(referential, encoder)
        try:
            state = json.loads((Path(folder) / STATE_FILE).read_text())
            extractor.counts_ = SkillCounts.from_json(state["counts"])
            a, b = state["calibration"]
            extractor.calibration_ = (float(a), float(b))
            extractor.position_rates_ = [float(rate) for rate in state["position_rates"]]
            extractor.n_offers_ = int(state["n_offers"])
        except (KeyError, TypeError, ValueError) as error:  # written by another version of this code
            raise SkillExtractorError(
                f"{folder}: unreadable state ({type(error).__name__}: {error})"
            ) from None
        extractor.booster_ = lgb.Booster(model_file=str(Path(folder) / RANKER_FILE))
        extractor.version_ = manifest["referential"]
        extractor.encoder_name_ = manifest["encoder"]
        return extractor


def _top(values: npt.NDArray[np.floating[Any]], k: int) -> IntArray:
    """Indices of the ``k`` largest values (any order; ties at the edge broken by index): a partial
    sort, 20 times cheaper than sorting 33,655 labels per offer."""
    if len(values) <= k:
        return np.arange(len(values), dtype=np.int64)
    # the k-th largest, then every index above it and the first ones equal to it
    kth = np.partition(values, len(values) - k)[len(values) - k]
    above = np.flatnonzero(values > kth)
    equal = np.flatnonzero(values == kth)[: k - len(above)]
    return np.concatenate([above, equal]).astype(np.int64)


def _platt(scores: npt.NDArray[np.float64], truth: npt.NDArray[np.int32]) -> tuple[float, float]:
    """Platt scaling of ranker scores: the logistic regression of the labels on the scores."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(scores.reshape(-1, 1), truth)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def with_inferred_skills(
    offers: Sequence[Offer], extractor: SkillExtractor | None, *, batch: int = 512
) -> list[Offer]:
    """The offers with the skills read from their text (:meth:`SkillExtractor.infer`) as
    :attr:`~matching.domain.Offer.inferred_skills`, the listed ones left as given and never repeated
    among the inferred; unchanged without an extractor. Shape ``(n,)``, in order."""
    if extractor is None:
        return list(offers)
    out: list[Offer] = []
    for begin in range(0, len(offers), batch):
        chunk = offers[begin : begin + batch]
        found = extractor.infer([SkillQuery(o.title, o.description, o.rome_code) for o in chunk])
        for offer, (codes, scores) in zip(chunk, found, strict=True):
            stated = {*offer.skills, *offer.required_skills}
            kept = [(code, score) for code, score in zip(codes, scores, strict=True) if code not in stated]
            out.append(
                offer.model_copy(
                    update={
                        "inferred_skills": tuple(code for code, _ in kept),
                        "inferred_skill_scores": tuple(score for _, score in kept),
                    }
                )
            )
    return out
