"""Rankers compared on the same candidates: the learned model and five baselines.

Each scorer maps candidate rows (``query``: the ranked list, ``item``: what is ranked, and the pair's
``profile_id`` and ``offer_id``) and their features to scores, higher first. The same scorers rank
offers for a person (alerts) and people for an offer (sourcing). ``rule`` is today's practice: the person's ROME code first, then offers within
their declared radius, then the closest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
from rank_bm25 import BM25Okapi

from models.ranker import LambdaRankRanker
from models.scoring import STATED_PENALTY, learned_scores, rule_scores

Scorer = Callable[[pd.DataFrame, pd.DataFrame], npt.NDArray[np.float64]]
# Tag of the random baseline's stream: seeds are spawned as ``[random_state, tag, ...]``, each tag its own
# independent stream (the oracle's grading draws use others, :mod:`eval.market`).
RANDOM_STREAM = 1
_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "de",
        "la",
        "le",
        "les",
        "des",
        "du",
        "un",
        "une",
        "et",
        "en",
        "à",
        "au",
        "aux",
        "pour",
        "par",
        "sur",
        "avec",
        "dans",
        "d",
        "l",
        "h",
        "f",
        "compétences",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without the commonest French function words."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1]


def random_scorer(random_state: int = 0) -> Scorer:
    """Uniform random scores, from a stream of ``random_state`` of its own (:data:`RANDOM_STREAM`).

    The oracle grades candidates from other streams of the same seed: sharing one correlated the random
    order with the grades (on the sample world, NDCG@10 0.226 with seed 0 against 0.291 with others).
    """

    def score(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.random.default_rng([random_state, RANDOM_STREAM]).random(len(rows))

    return score


def popularity_scorer(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Offers with the most applications so far first, fresher first among equals."""
    return X["offer_applications"].to_numpy(float) - 1e-3 * X["offer_days_online"].fillna(0).to_numpy(float)


def rule_scorer(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Same ROME code, then within the declared radius, then distance (lexicographic)."""
    return rule_scores(X)


def embedding_scorer(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
    return X["embedding_similarity"].to_numpy(float)


def _across_people(rows: pd.DataFrame) -> bool:
    """A sourcing list ranks people for one offer: its query is the offer, not a person."""
    return bool(len(rows)) and not (rows["query"] == rows["profile_id"]).all()


def ltr_scorer(ranker: LambdaRankRanker, *, respect_stated: bool = False) -> Scorer:
    """The learned ranker (see :func:`models.scoring.learned_scores`); with ``respect_stated``, offers
    repeating a stated refusal reason go last whatever the model says."""

    def score(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return learned_scores(ranker, X, respect_stated=respect_stated, across_people=_across_people(rows))

    return score


def served_scorer(ranker: LambdaRankRanker) -> Scorer:
    """The learned ranker with the policies the service applies to its order: the alert batch does not
    send an offer on which a stated reason binds (:meth:`~models.ranker.LambdaRankRanker.binding`;
    ranked last here, as good as absent for NDCG@10), and a counsellor's list puts every person whose
    stated refusal the offer repeats last (:func:`models.scoring.learned_scores` with
    ``respect_stated``). ``ltr`` measures the model's order, comparable with the baselines' (which
    apply no such policy); this one, what people and counsellors are shown."""

    def score(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        if _across_people(rows):
            return learned_scores(ranker, X, respect_stated=True, across_people=True)
        return learned_scores(ranker, X) - STATED_PENALTY * ranker.binding(X)

    return score


class BM25Scorer:
    """Okapi BM25 of each offer's text against the person's project text (``rank_bm25``).

    Parameters
    ----------
    offer_texts, profile_texts
        Texts by id (the same ROME-aware views the encoders read).
    """

    def __init__(self, offer_texts: pd.Series, profile_texts: pd.Series) -> None:
        self.offer_position = pd.Index(offer_texts.index)
        self.model = BM25Okapi([tokenize(t) for t in offer_texts.tolist()])
        self.queries = {k: tokenize(v) for k, v in profile_texts.items()}

    def __call__(self, rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        out = np.zeros(len(rows))
        positions = self.offer_position.get_indexer(rows["offer_id"].to_numpy())
        for query, index in rows.groupby("profile_id", sort=False).indices.items():
            docs = positions[index]
            known = docs >= 0
            if known.any():
                scores = self.model.get_batch_scores(self.queries.get(query, []), docs[known].tolist())
                out[index[known]] = scores
        return out


def baseline_scorers(bm25: BM25Scorer, random_state: int = 0) -> dict[str, Scorer]:
    """The five baselines, by name."""
    return {
        "rule": rule_scorer,
        "embedding": embedding_scorer,
        "bm25": bm25,
        "popularity": popularity_scorer,
        "random": random_scorer(random_state),
    }
