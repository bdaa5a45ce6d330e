"""Evaluation of ROME classification: title -> ROME code, at the exact and the parent-fiche level."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from matching.referential import Referential

Predict = Callable[[Sequence[str], int], tuple[npt.NDArray[np.str_], npt.NDArray[np.float32]]]


def parent_ranking(referential: Referential, codes: npt.NDArray[np.str_], k: int) -> list[list[str]]:
    """Parents of ranked fiches, deduplicated in rank order, first ``k`` per row."""
    out = []
    for row in codes.tolist():
        parents = list(dict.fromkeys(referential.fiches[c].parent_code for c in row))
        out.append(parents[:k])
    return out


def rome_accuracy(
    predict: Predict, titles: Sequence[str], truth: Sequence[str], referential: Referential
) -> dict[str, float]:
    """Top-1 / top-3 accuracy on the exact code and on the parent fiche.

    Returns
    -------
    dict
        ``exact top-1``, ``exact top-3``, ``parent top-1``, ``parent top-3`` in [0, 1].
    """
    codes, _ = predict(titles, 30)
    parents = parent_ranking(referential, codes, 3)
    true_parents = [referential.fiches[c].parent_code for c in truth]
    exact1 = np.mean([row[0] == t for row, t in zip(codes.tolist(), truth, strict=True)])
    exact3 = np.mean([t in row[:3] for row, t in zip(codes.tolist(), truth, strict=True)])
    parent1 = np.mean([bool(row) and row[0] == t for row, t in zip(parents, true_parents, strict=True)])
    parent3 = np.mean([t in row for row, t in zip(parents, true_parents, strict=True)])
    return {
        "exact top-1": float(exact1),
        "exact top-3": float(exact3),
        "parent top-1": float(parent1),
        "parent top-3": float(parent3),
    }


def cross_validated_accuracy(
    fit: Callable[[Sequence[str], Sequence[str]], Predict],
    titles: Sequence[str],
    truth: Sequence[str],
    referential: Referential,
    *,
    folds: int = 5,
    random_state: int = 0,
) -> dict[str, float]:
    """Out-of-fold accuracy when labelled titles are used: each fold is predicted by a classifier fitted
    on the other folds' titles only (``fit(titles, codes) -> predict``)."""
    order = np.random.default_rng(random_state).permutation(len(titles))
    fold_of = np.empty(len(titles), dtype=np.int64)
    fold_of[order] = np.arange(len(titles)) % folds
    totals: dict[str, float] = {}
    for fold in range(folds):
        train = np.flatnonzero(fold_of != fold).tolist()
        test = np.flatnonzero(fold_of == fold).tolist()
        predict = fit([titles[i] for i in train], [truth[i] for i in train])
        scores = rome_accuracy(predict, [titles[i] for i in test], [truth[i] for i in test], referential)
        for name, value in scores.items():
            totals[name] = totals.get(name, 0.0) + value * len(test)
    return {name: value / len(titles) for name, value in totals.items()}
