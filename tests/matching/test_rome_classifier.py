"""ROME classifier on the built-in referential (USE encoder: fast), its variants and its persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matching.encoders import CachedEncoder, USEEncoder
from matching.referential import Referential, normalize_label
from matching.rome_classifier import SIGNALS, OfferText, RomeClassifier, RomeClassifierError, TfidfBaseline
from matching.rome_variants import title_variant
from matching.views import clean_title


@pytest.fixture(scope="module")
def classifier(builtin: Referential) -> RomeClassifier:
    return RomeClassifier(builtin, encoder=CachedEncoder(USEEncoder())).fit()


@pytest.fixture(scope="module")
def lexical(builtin: Referential) -> RomeClassifier:
    return RomeClassifier(builtin, encoder=None, variants=600).fit()


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


def test_predict_shapes_and_probabilities(classifier: RomeClassifier, builtin: Referential) -> None:
    codes, probabilities = classifier.predict(["cariste", "serveuse"], k=4)
    assert codes.shape == probabilities.shape == (2, 4)
    assert np.all(np.diff(probabilities, axis=1) <= 1e-6)  # best first
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert set(codes.ravel().tolist()) <= set(builtin.fiches)
    full = classifier.predict_proba(["cariste", "serveuse"])
    assert full.shape == (2, len(builtin.fiches))
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-4)


def test_weights_are_learned_non_negative(classifier: RomeClassifier) -> None:
    weights = classifier.weights()
    assert list(weights) == list(SIGNALS)
    assert all(w >= 0 for w in weights.values())
    assert weights["title_lexical"] + weights["title_embedding"] > 0  # the title carries the occupation
    assert weights["memory"] == weights["parent_memory"] == 0  # nothing labelled: the memory is unused


def test_description_and_competences_are_read(lexical: RomeClassifier, builtin: Referential) -> None:
    # a title that names no job: the listed competences of a fiche and its words in the description decide
    skills = builtin.skills_of("N1101").core[:3]
    vague = OfferText("Poste à pourvoir", competences=skills)
    assert lexical.classify(vague, 1)[0][0] in {"N1101", builtin.fiches["N1101"].parent_code}
    bare = lexical.classify("Poste à pourvoir", 1)[0][1]
    assert lexical.classify(vague, 1)[0][1] > bare


def test_a_labelled_title_never_overrides_an_exact_appellation(builtin: Referential) -> None:
    # many offers labelled N1103 that say "Cariste" (an appellation of N1101), and others for N1105
    examples = ["Cariste H/F"] * 40 + [f"Opérateur quai frigo {i}" for i in range(40)]
    codes = ["N1103"] * 40 + ["N1105"] * 40
    taught = RomeClassifier(builtin, encoder=None, variants=600).fit(examples, codes)
    assert taught.n_examples_ == 80
    assert taught.classify("Cariste", 1)[0][0] == "N1101"
    with pytest.raises(ValueError, match="80 examples but 1 codes"):
        RomeClassifier(builtin).fit(examples, ["N1101"])


def test_variants_read_as_their_appellation(builtin: Referential) -> None:
    rng = np.random.default_rng(3)
    variants = [title_variant("Serveur / Serveuse de café", rng) for _ in range(200)]
    assert len(set(variants)) > 50  # the habits of job boards combine
    assert any("H/F" in v or "F/H" in v for v in variants)
    assert any(v.isupper() for v in variants)
    assert any(
        v.startswith(("Senior", "Junior", "Confirmé", "Apprenti", "Lead", "Stagiaire", "Exp", "Déb"))
        for v in variants
    )
    # every variant keeps one gendered form's words, give or take one typing error or abbreviation
    plain = [
        v for v in variants if normalize_label(clean_title(v)) in {"serveur de cafe", "serveuse de cafe"}
    ]
    assert plain
    assert title_variant("Chef de rang", np.random.default_rng(0)) == title_variant(
        "Chef de rang", np.random.default_rng(0)
    )  # seeded


def test_save_and_load_fail_closed(lexical: RomeClassifier, builtin: Referential, tmp_path: Path) -> None:
    folder = lexical.save(tmp_path / "rome")
    loaded = RomeClassifier.load(folder, builtin, encoder=None)
    texts = ["Cariste H/F", OfferText("Poste", "conduite de chariots élévateurs en entrepôt")]
    np.testing.assert_allclose(loaded.predict_proba(texts), lexical.predict_proba(texts), atol=1e-6)
    without = RomeClassifier.load(folder, None, encoder=None)  # `rome classify`: no referential to load
    assert without.classify("Cariste", 1) == lexical.classify("Cariste", 1)
    assert without.fiche_label("N1101") == builtin.fiches["N1101"].label
    with pytest.raises(RomeClassifierError, match="encoder"):
        RomeClassifier.load(folder, builtin, encoder=USEEncoder())
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "referential": "ROME 4.0 v1"}))
    with pytest.raises(RomeClassifierError, match="referential"):
        RomeClassifier.load(folder, builtin, encoder=None)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with (folder / "classifier.pkl").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RomeClassifierError, match="checksum"):
        RomeClassifier.load(folder, builtin, encoder=None)
    with pytest.raises(RomeClassifierError, match=r"manifest\.json is missing"):
        RomeClassifier.load(tmp_path / "nothing", builtin, encoder=None)


def test_tfidf_baseline_reads_labels_and_examples(builtin: Referential) -> None:
    zero_shot = TfidfBaseline(builtin).fit()
    taught = TfidfBaseline(builtin).fit(["Opérateur de quai frigo H/F"], ["N1105"])
    title = "opérateur de quai frigo"
    assert taught.predict([title], 1)[0][0, 0] == "N1105"
    assert zero_shot.scores([title]).shape == taught.scores([title]).shape == (1, len(builtin.fiches))
