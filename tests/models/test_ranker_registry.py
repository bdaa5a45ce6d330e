"""LambdaRank ranker: determinism, planted signal, fail-closed artifacts, MLflow registry and gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval.market import MarketContext
from eval.metrics import ndcg_at_k, rank_by_score
from features.schema import FEATURE_NAMES, check_allowlist
from models.artifact import ModelIntegrityError, load_ranker, save_ranker
from models.ranker import LambdaRankRanker, RankerConfig
from models.registry import ModelRegistry, RegistryError, promotion_gate
from models.training import TrainingResult


def _planted(
    n_groups: int = 300, size: int = 8, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Groups where the grade is driven by skill coverage only; the other features are noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n_groups * size, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    grade = np.clip((X["core_skill_coverage"] * 5).astype(int), 0, 5).to_numpy()
    return X, grade, np.full(n_groups, size)


def test_ranker_learns_a_planted_signal_and_is_deterministic() -> None:
    X, y, groups = _planted()
    config = RankerConfig(n_estimators=60, random_state=3)
    first = LambdaRankRanker(config=config).fit(X, y, groups)
    assert isinstance(first, LambdaRankRanker)
    second = LambdaRankRanker(config=config).fit(X, y, groups)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    X_test, y_test, _ = _planted(seed=1)
    frame = pd.DataFrame(
        {
            "query": np.repeat(np.arange(300), 8),
            "item": np.arange(2400).astype(str),
            "grade": y_test,
            "reason": "",
        }
    )
    learned = ndcg_at_k(rank_by_score(frame, first.predict(X_test)))["ndcg@10"]
    chance = ndcg_at_k(rank_by_score(frame, np.random.default_rng(0).random(2400)))["ndcg@10"]
    assert learned > 0.97 > chance
    assert next(iter(first.feature_importance())) == "core_skill_coverage"


def test_ranker_refuses_features_outside_the_allowlist() -> None:
    X, y, groups = _planted(n_groups=20)
    with pytest.raises(ValueError, match="protected"):
        LambdaRankRanker().fit(X.assign(sex=0.0), y, groups)


def test_artifact_round_trip_and_fail_closed(tmp_path: Path) -> None:
    X, y, groups = _planted(n_groups=50)
    ranker = LambdaRankRanker(config=RankerConfig(n_estimators=20)).fit(X, y, groups)
    folder = save_ranker(ranker, tmp_path / "ranker", data_fingerprint="abc")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["data_fingerprint"] == "abc" and manifest["random_state"] == 0
    assert set(manifest["versions"]) >= {"lightgbm", "matching"}
    np.testing.assert_allclose(load_ranker(folder).predict(X), ranker.predict(X))
    model = folder / "model.txt"
    model.write_text(model.read_text()[:-200])  # truncated
    with pytest.raises(ModelIntegrityError, match="checksum"):
        load_ranker(folder)
    save_ranker(ranker, folder, data_fingerprint="abc")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["feature_names"][0] = "home_commune"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="protected"):
        load_ranker(folder)
    with pytest.raises(ModelIntegrityError, match="missing"):
        load_ranker(tmp_path / "nothing")


def test_promotion_gate() -> None:
    champion = {"ndcg@10": 0.60, "ndcg_ratio/sex": 0.95}
    assert promotion_gate({"ndcg@10": 0.5}, None).promote
    assert promotion_gate({"ndcg@10": 0.61, "ndcg_ratio/sex": 0.94}, champion).promote
    worse = promotion_gate({"ndcg@10": 0.59, "ndcg_ratio/sex": 0.95}, champion)
    assert not worse.promote and "NDCG@10" in worse.reasons[0]
    unfair = promotion_gate({"ndcg@10": 0.70, "ndcg_ratio/sex": 0.80}, champion)
    assert not unfair.promote and "ndcg_ratio/sex" in unfair.reasons[0]


def test_registry_logs_registers_promotes_and_rolls_back(
    tmp_path: Path, small_market: MarketContext, small_ranker: TrainingResult
) -> None:
    trained = small_ranker
    check_allowlist(trained.ranker.feature_names_)
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="test-ranker")
    with pytest.raises(RegistryError, match="no champion"):
        registry.load()
    _, v1 = registry.log_run(
        trained.ranker,
        params={"cutoff": "x"},
        metrics={"ltr": {"ndcg@10": 0.5}},
        data_fingerprint=trained.data_fingerprint,
    )
    registry.promote(v1)
    with pytest.raises(RegistryError, match="no earlier version"):
        registry.rollback()
    run_id, v2 = registry.log_run(
        trained.ranker,
        params={},
        metrics={"ltr": {"ndcg@10": 0.6}},
        data_fingerprint=trained.data_fingerprint,
    )
    registry.promote(v2)
    loaded, version = registry.load()
    assert version == v2
    assert (
        loaded.feature_names_ == trained.ranker.feature_names_
    )  # the registered model's features are allowlisted
    X = small_market.builder.transform(trained.train.rows.head(50)[["profile_id", "offer_id", "as_of"]])
    np.testing.assert_allclose(loaded.predict(X), trained.ranker.predict(X))
    run = registry.client.get_run(run_id)
    assert run.data.tags["data_fingerprint"] == trained.data_fingerprint
    assert run.data.metrics["ltr.ndcg_at_10"] == 0.6
    assert registry.rollback() == (v2, v1)
    assert registry.champion_version() == v1
    assert (tmp_path / "artifacts").is_dir()  # local store keeps artifacts beside the database
    # a fresh process (as serving is) loads the champion from this store, and leaves no ./mlflow.db behind
    import subprocess
    import sys

    code = f"from models.registry import ModelRegistry; print(ModelRegistry({registry.tracking_uri!r}, model_name='test-ranker').load()[1])"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    fresh = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path / "artifacts", env=env, capture_output=True, text=True
    )
    assert fresh.returncode == 0, fresh.stderr[-500:]
    assert fresh.stdout.strip().splitlines()[-1] == v1
    assert not (tmp_path / "artifacts" / "mlflow.db").exists()


def test_the_registered_champion_sees_allowlisted_features_only(
    tmp_path: Path, small_ranker: TrainingResult
) -> None:
    """The champion as serving gets it (alias → registered artifacts) has allowlisted, unprotected
    features, the same as logged in its run; a registered version whose manifest names a protected
    attribute is refused when loaded."""
    trained = small_ranker
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = ModelRegistry(uri, model_name="allowlist-check")
    run_id, version = registry.log_run(
        trained.ranker, params={}, metrics={"ltr": {"ndcg@10": 0.5}}, data_fingerprint="x"
    )
    registry.promote(version)
    champion, served = ModelRegistry(uri, model_name="allowlist-check").load()
    assert served == version
    check_allowlist(champion.feature_names_)  # every name allowlisted, none protected
    assert set(champion.feature_names_) <= set(FEATURE_NAMES)
    logged = registry.client.download_artifacts(run_id, "features.json", str(tmp_path))
    assert json.loads(Path(logged).read_text())["features"] == list(champion.feature_names_)
    # tamper with the registered artifact: a protected attribute among the features is refused
    manifests = [m for m in (tmp_path / "artifacts").rglob("ranker/manifest.json") if m.is_file()]
    assert manifests
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        manifest["feature_names"][0] = "age_band"
        manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="protected: age_band"):
        registry.load()


def test_outcome_models_and_stated_strengths_travel_with_the_artifact(tmp_path: Path) -> None:
    """With refusal reasons, the ranker also learns P(refused), P(applied) and each reason's strength;
    all three are saved, checksummed and loaded, and an alert repeating a strong fresh reason binds."""
    X, y, groups = _planted(n_groups=80)
    rng = np.random.default_rng(0)
    y = np.where(rng.random(len(y)) < 0.2, 1, y)  # some alerts shown, never read
    X["evidence_distance"] = (rng.random(len(y)) < 0.3).astype(float)
    # people refuse for distance again what repeats a distance refusal
    refused_again = (X["evidence_distance"] > 0) & (rng.random(len(y)) < 0.6) & (y != 1)
    y = np.where(refused_again, 0, y)
    reasons = np.where(refused_again, "distance", np.where(y == 0, "autre", ""))
    ranker = LambdaRankRanker(config=RankerConfig(n_estimators=20)).fit(X, y, groups, reasons=reasons)
    assert ranker.refusal_ is not None and ranker.application_ is not None
    assert ranker.stated_strength_ is not None and ranker.stated_strength_.strength["evidence_distance"] > 0.3
    binds = ranker.binding(X) > 0
    assert (binds == (X["evidence_distance"] > 0)).all()  # an alert repeating it is not sent
    # faded evidence (strength × evidence under the floor) no longer binds
    strength = ranker.stated_strength_.strength["evidence_distance"]
    assert not ranker.binding(X.assign(evidence_distance=X["evidence_distance"] * 0.04 / strength)).any()
    faded = X.assign(evidence_distance=X["evidence_distance"] * 0.06 / strength)
    assert (ranker.binding(faded) > 0).sum() == binds.sum()  # 0.06 is above the floor (0.05)
    # rankings do not bind: the evidence is a feature of the learned score, no penalty on top
    scores = ranker.predict(X)
    assert np.ptp(scores) < 100
    folder = save_ranker(ranker, tmp_path / "ranker", data_fingerprint="abc")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.txt", "refusal.txt", "application.txt"}
    np.testing.assert_allclose(load_ranker(folder).predict(X), scores)
    # settings a ranker cannot work with are refused at load
    manifest_path = folder / "manifest.json"
    saved = json.loads(manifest_path.read_text())
    saved["config"]["binding_floor"] = 0.0
    manifest_path.write_text(json.dumps(saved))
    with pytest.raises(ModelIntegrityError, match="binding_floor"):
        load_ranker(folder)
    # a few commits wrote the alerts' floor apart: it is what binding_floor means today
    saved["config"] |= {"binding_floor": 0.1, "alert_floor": 0.05}
    manifest_path.write_text(json.dumps(saved))
    assert load_ranker(folder).config.binding_floor == 0.05
    manifest_path.write_text(json.dumps(manifest))
    (folder / "application.txt").write_text("tampered")
    with pytest.raises(ModelIntegrityError, match="checksum"):
        load_ranker(folder)
