"""Evaluation of ROME coding (offer texts -> ROME code) on splits that test transfer.

A classifier that learns from labelled offers is judged on offers it could not have memorised:

* ``labels only``: nothing labelled is learned from (the referential's labels and their variants);
* ``leave codes out``: folds of whole ROME codes; the offers of a fold's codes are coded by a classifier
  that learned from the other codes' offers only (a code never seen in any labelled data);
* ``leave regions out``: folds of whole regions (of the offer's workplace), the same way.

The headline is the worst split (the lowest parent top-1), never the best. Every figure is at the exact
code and at the parent fiche (ROME 4.0's ``code_rome_parent``), top-1 and top-3, with the expected
calibration error of the top-1 probability (ECE, 10 equal-width bins; Guo et al. 2017).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.geo import department_of, department_regions
from matching.ingest import parse_offer
from matching.referential import Referential
from matching.rome_classifier import OfferText

Predict = Callable[[Sequence[Any], int], tuple[npt.NDArray[np.str_], npt.NDArray[np.float32]]]
Fit = Callable[[Sequence[OfferText], Sequence[str]], Predict]
SPLITS = ("labels only", "leave codes out", "leave regions out")
NO_REGION = "no region"
ECE_BINS = 10


@dataclass(frozen=True)
class LabelledOffers:
    """Offers with their ROME code as the engine files it, and their workplace's region.

    The code is the one :func:`matching.ingest.parse_offer` files the offer under against the
    referential (an appellation moved to a sub-fiche of the stated code files it there: 584 of the
    3,589 real offers), so that the truth is a code of the referential's own version. The texts hold
    the title, description and listed competences, never the appellation (the answer in other words).
    """

    texts: list[OfferText]
    codes: list[str]
    regions: list[str]

    @classmethod
    def from_records(cls, records: Iterable[Any], referential: Referential) -> LabelledOffers:
        """The parseable records with a ROME code of ``referential`` (others are skipped)."""
        regions = department_regions()
        texts, codes, places = [], [], []
        for raw in records:
            offer = parse_offer(raw, referential=referential).offer
            if offer is None or offer.rome_code not in referential.fiches:
                continue
            texts.append(OfferText(offer.title, offer.description, offer.skills))
            codes.append(offer.rome_code)
            place = offer.location
            area = department_of(place.insee) if place.insee else (place.area or "")
            places.append(regions.get(area, area if area in regions.values() else NO_REGION))
        return cls(texts, codes, places)

    def __len__(self) -> int:
        return len(self.codes)


def parent_ranking(referential: Referential, codes: npt.NDArray[np.str_], k: int) -> list[list[str]]:
    """Parents of ranked fiches, deduplicated in rank order, first ``k`` per row."""
    out = []
    for row in codes.tolist():
        parents = list(dict.fromkeys(referential.fiches[c].parent_code for c in row))
        out.append(parents[:k])
    return out


def expected_calibration_error(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, bins: int = ECE_BINS
) -> float:
    """ECE: the mean |accuracy − confidence| over equal-width confidence bins, weighted by their rows.

    Parameters
    ----------
    confidence
        Probability of each row's top prediction, shape ``(n,)``, in [0, 1].
    correct
        Whether that prediction was right, shape ``(n,)``.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = which == b
        if rows.any():
            total += rows.mean() * abs(correct[rows].mean() - confidence[rows].mean())
    return float(total)


def accuracy_of(
    codes: npt.NDArray[np.str_],
    confidences: npt.NDArray[np.float32],
    truth: Sequence[str],
    referential: Referential,
) -> dict[str, float]:
    """Top-1 / top-3 accuracy on the exact code and on the parent fiche, and the calibration error.

    Parameters
    ----------
    codes, confidences
        Ranked codes and their probabilities, shape ``(n, k)``, best first.
    truth
        The true code of each row.

    Returns
    -------
    dict
        ``exact top-1``, ``exact top-3``, ``parent top-1``, ``parent top-3`` in [0, 1], and ``ece``
        (of the exact top-1 probability).
    """
    parents = parent_ranking(referential, codes, 3)
    true_parents = [referential.fiches[c].parent_code for c in truth]
    top1 = [row[0] == t for row, t in zip(codes.tolist(), truth, strict=True)]
    return {
        "exact top-1": float(np.mean(top1)),
        "exact top-3": float(np.mean([t in row[:3] for row, t in zip(codes.tolist(), truth, strict=True)])),
        "parent top-1": float(
            np.mean([bool(r) and r[0] == t for r, t in zip(parents, true_parents, strict=True)])
        ),
        "parent top-3": float(np.mean([t in r for r, t in zip(parents, true_parents, strict=True)])),
        "ece": expected_calibration_error(confidences[:, 0], top1),
    }


def group_folds(groups: Sequence[str], folds: int, random_state: int) -> npt.NDArray[np.int64]:
    """Fold of each row, whole groups per fold (groups dealt in a seeded random order, largest first
    so that folds are of similar sizes)."""
    sizes = Counter(groups)
    order = np.random.default_rng(random_state).permutation(sorted(sizes))
    ordered = sorted(order.tolist(), key=lambda g: -sizes[g])
    load = np.zeros(folds)
    fold_of = {}
    for group in ordered:
        k = int(np.argmin(load))
        fold_of[group] = k
        load[k] += sizes[group]
    return np.asarray([fold_of[g] for g in groups], dtype=np.int64)


@dataclass(frozen=True)
class SplitResult:
    """One method on one split: its metrics and each offer's ranked codes (``(n, k)``)."""

    metrics: dict[str, float]
    codes: npt.NDArray[np.str_]
    confidences: npt.NDArray[np.float32]


def evaluate_split(
    fit: Fit,
    data: LabelledOffers,
    split: str,
    referential: Referential,
    *,
    folds: int = 5,
    random_state: int = 0,
    k: int = 30,
) -> SplitResult:
    """Code every offer of ``data`` with classifiers that never learned from its group.

    Parameters
    ----------
    fit
        ``fit(texts, codes) -> predict``: a classifier learned from these labelled offers.
    split
        One of :data:`SPLITS`.

    Raises
    ------
    ValueError
        For an unknown split.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose among {', '.join(SPLITS)}")
    n = len(data)
    codes = np.empty((n, k), dtype=object)
    confidences = np.zeros((n, k), dtype=np.float32)
    if split == "labels only":
        predicted, probabilities = fit([], [])(data.texts, k)
        codes[:], confidences[:] = predicted, probabilities
    else:
        groups = data.codes if split == "leave codes out" else data.regions
        fold = group_folds(groups, folds, random_state)
        for f in range(folds):
            test = np.flatnonzero(fold == f)
            if not len(test):
                continue
            train = np.flatnonzero(fold != f)
            predict = fit([data.texts[i] for i in train], [data.codes[i] for i in train])
            predicted, probabilities = predict([data.texts[i] for i in test], k)
            codes[test], confidences[test] = predicted, probabilities
    ranked = codes.astype(str)
    return SplitResult(accuracy_of(ranked, confidences, data.codes, referential), ranked, confidences)


def confusions(result: SplitResult, data: LabelledOffers, n: int = 20) -> list[tuple[str, str, int]]:
    """The ``n`` most frequent (true code, predicted code, offers) errors at top-1."""
    pairs = Counter(
        (truth, str(row[0])) for truth, row in zip(data.codes, result.codes, strict=True) if row[0] != truth
    )
    return [(truth, predicted, count) for (truth, predicted), count in pairs.most_common(n)]
