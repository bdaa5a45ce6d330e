"""ROME coding evaluation: metrics on known answers, and transfer splits that never learn from the test."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eval.rome import (
    SPLITS,
    LabelledOffers,
    accuracy_of,
    confusions,
    evaluate_split,
    expected_calibration_error,
    group_folds,
    parent_ranking,
)
from matching.ingest import read_offer_records
from matching.referential import Referential
from matching.rome_classifier import OfferText, TfidfBaseline


def test_accuracy_metrics_on_known_answers(builtin: Referential) -> None:
    def predict(texts: Sequence[Any], k: int) -> tuple[np.ndarray, np.ndarray]:
        # always the same ranking: N1104 (sub-fiche of N1103), then N1101
        return np.array([["N1104", "N1101", "M1805"]] * len(texts)), np.full((len(texts), 3), 0.5, np.float32)

    codes, confidences = predict(["a", "b", "c", "d"], 30)
    scores = accuracy_of(codes, confidences, ["N1104", "N1101", "N1103", "A1203"], builtin)
    assert scores == {
        "exact top-1": 0.25,
        "exact top-3": 0.5,
        "parent top-1": 0.5,
        "parent top-3": 0.75,
        "ece": 0.25,  # said 0.5 each, right once in four
    }
    assert parent_ranking(builtin, np.array([["N1104", "N1103", "N1101"]]), 3) == [["N1103", "N1101"]]


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([0.9] * 10, [1] * 9 + [0]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [0] * 10) == pytest.approx(0.9)
    # two bins, each off by 0.1, half the rows each
    assert expected_calibration_error([0.2, 0.2, 0.8, 0.8], [0, 0, 1, 1]) == pytest.approx(0.2)
    assert expected_calibration_error([1.0], [1]) == pytest.approx(0.0)  # 1.0 falls in the last bin


def test_group_folds_keep_groups_whole_and_balanced() -> None:
    groups = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + ["d"] * 20 + ["e"] * 10 + ["f"] * 5
    fold = group_folds(groups, 3, random_state=0)
    for g in set(groups):
        assert len({f for f, h in zip(fold, groups, strict=True) if h == g}) == 1
    sizes = np.bincount(fold, minlength=3)
    assert sizes.max() - sizes.min() <= 25
    assert np.array_equal(fold, group_folds(groups, 3, random_state=0))


@pytest.mark.parametrize("split", ["leave codes out", "leave regions out"])
def test_transfer_splits_never_learn_from_the_tested_group(builtin: Referential, split: str) -> None:
    codes = ["N1101", "N1103", "N1105", "J1501", "M1805"] * 6
    regions = ["11", "84", "76", "93", "52", "44"] * 5
    data = LabelledOffers([OfferText(f"titre {i} {c}") for i, c in enumerate(codes)], codes, regions)
    seen: list[tuple[set[str], set[str]]] = []

    def fit(texts: Sequence[OfferText], train_codes: Sequence[str]) -> Any:
        trained = {t.title for t in texts}
        seen.append(
            (
                set(train_codes),
                {r for t, r in zip(data.texts, data.regions, strict=True) if t.title in trained},
            )
        )
        predict = TfidfBaseline(builtin).fit(texts, train_codes).predict

        def checked(queries: Sequence[Any], k: int) -> Any:
            group = data.codes if split == "leave codes out" else data.regions
            tested = {group[data.texts.index(q)] for q in queries}
            learned = seen[-1][0] if split == "leave codes out" else seen[-1][1]
            assert not tested & learned, (tested, learned)
            return predict(queries, k)

        return checked

    result = evaluate_split(fit, data, split, builtin, folds=3, k=5)
    assert len(seen) == 3
    assert result.codes.shape == (len(data), 5)
    assert set(result.metrics) == {"exact top-1", "exact top-3", "parent top-1", "parent top-3", "ece"}
    assert sum(n for *_, n in confusions(result, data)) == round(
        (1 - result.metrics["exact top-1"]) * len(data)
    )


def test_labels_only_learns_from_nothing(builtin: Referential) -> None:
    calls: list[int] = []

    def fit(texts: Sequence[OfferText], codes: Sequence[str]) -> Any:
        calls.append(len(texts))
        return TfidfBaseline(builtin).fit(texts, codes).predict

    data = LabelledOffers([OfferText("Cariste H/F"), OfferText("Serveuse")], ["N1101", "G1803"], ["11", "84"])
    result = evaluate_split(fit, data, "labels only", builtin)
    assert calls == [0]
    assert result.codes[0, 0] == "N1101"
    with pytest.raises(ValueError, match="unknown split"):
        evaluate_split(fit, data, "leave nothing out", builtin)
    assert SPLITS[0] == "labels only"


def test_labelled_offers_read_as_the_engine_files_them(ft_cases: Path, real_referential: Referential) -> None:
    """Case 13: an offer coded with a parent fiche whose appellation moved to a sub-fiche is labelled
    with the sub-fiche (the referential's own version); its appellation never reaches the text."""
    data = LabelledOffers.from_records(
        read_offer_records(ft_cases / "13-appellation-moved-to-subfiche.json"), real_referential
    )
    assert data.codes[0] == "M1419"  # M1403 + "Data analyst" of M1419
    assert data.regions == ["76"] * len(data)  # Toulouse, Occitanie
    assert all(isinstance(t, OfferText) for t in data.texts)
