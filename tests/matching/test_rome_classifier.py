"""ROME classifier on the built-in referential (USE encoder: fast), and the evaluation functions."""

from __future__ import annotations

import numpy as np
import pytest

from eval.rome import cross_validated_accuracy, parent_ranking, rome_accuracy
from matching.encoders import CachedEncoder, USEEncoder
from matching.referential import Referential
from matching.rome_classifier import RomeClassifier, TfidfBaseline
from matching.views import clean_title


@pytest.fixture(scope="module")
def classifier(builtin: Referential) -> RomeClassifier:
    return RomeClassifier(builtin, encoder=CachedEncoder(USEEncoder())).fit()


def test_clean_title() -> None:
    assert clean_title("Cariste H/F") == "Cariste"
    assert clean_title("INGÉNIEUR DATA (F/H) - ") == "INGÉNIEUR DATA"


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("Cariste H/F", "N1101"),
        ("CARISTE (H/F)", "N1101"),
        ("Préparateur de commandes en entrepôt", "N1103"),
        ("Aide-soignante en EHPAD de nuit", "J1501"),
        ("Développeur Python confirmé", "M1805"),
        ("Chauffeur poids lourd longue distance", "N4101"),
    ],
)
def test_known_titles(classifier: RomeClassifier, title: str, code: str) -> None:
    assert classifier.classify(title, 3)[0][0] == code


def test_predict_shapes_and_confidences(classifier: RomeClassifier, builtin: Referential) -> None:
    codes, confidences = classifier.predict(["cariste", "serveuse"], k=4)
    assert codes.shape == confidences.shape == (2, 4)
    assert np.all(np.diff(confidences, axis=1) <= 1e-6)  # best first
    assert np.all((confidences >= 0) & (confidences <= 1))
    assert set(codes.ravel().tolist()) <= set(builtin.fiches)


def test_examples_teach_unseen_titles(builtin: Referential) -> None:
    title = "opérateur de quai frigorifique"
    zero_shot = RomeClassifier(builtin, encoder=None).fit()
    taught = RomeClassifier(builtin, encoder=None).fit(["Opérateur de quai frigo H/F"], ["N1105"])
    assert taught.classify(title, 1)[0][0] == "N1105"
    assert zero_shot.scores([title]).shape == taught.scores([title]).shape


def test_accuracy_metrics_on_known_answers(builtin: Referential) -> None:
    def predict(texts, k):  # type: ignore[no-untyped-def]
        # always the same ranking: N1104 (sub-fiche of N1103), then N1101
        return np.array([["N1104", "N1101", "M1805"]] * len(texts)), np.ones((len(texts), 3), np.float32)

    scores = rome_accuracy(predict, ["a", "b", "c", "d"], ["N1104", "N1101", "N1103", "A1203"], builtin)
    assert scores == {"exact top-1": 0.25, "exact top-3": 0.5, "parent top-1": 0.5, "parent top-3": 0.75}
    assert parent_ranking(builtin, np.array([["N1104", "N1103", "N1101"]]), 3) == [["N1103", "N1101"]]


def test_cross_validation_never_sees_the_test_fold(builtin: Referential) -> None:
    titles = [f"titre inventé numéro {i}" for i in range(10)]
    codes = ["K2204"] * 10
    seen: list[set[str]] = []

    def fit(train_titles, train_codes):  # type: ignore[no-untyped-def]
        seen.append(set(train_titles))
        return TfidfBaseline(builtin).fit(train_titles, train_codes).predict

    cross_validated_accuracy(fit, titles, codes, builtin, folds=5)
    assert len(seen) == 5
    assert all(len(s) == 8 for s in seen)
    assert set.union(*[set(titles) - s for s in seen]) == set(titles)
