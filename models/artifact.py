"""Ranker artifacts: an atomic folder with the LightGBM model and a checksummed manifest, loaded fail-closed."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb

from features.schema import FeatureAllowlistError, check_allowlist
from matching import __version__
from matching.artifacts import MANIFEST, atomic_folder, checksum_problem, read_manifest_file, sha256_file
from matching.errors import MatchingError
from models.ranker import LambdaRankRanker, RankerConfig
from models.refusals import EVIDENCE_REASONS, OutcomeModel, StatedStrength

FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
REFUSAL_FILE = "refusal.txt"  # the refusal-risk booster (models.refusals), when the ranker learned one
APPLICATION_FILE = "application.txt"  # the application-propensity booster, likewise


class ModelIntegrityError(MatchingError):
    """A ranker artifact is missing, corrupted, or not what it claims to be."""


def save_ranker(
    ranker: LambdaRankRanker, folder: Path, *, data_fingerprint: str, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``ranker`` to ``folder`` atomically with its manifest (versions, checksums, seed, data)."""
    if not hasattr(ranker, "booster_"):
        raise ValueError("cannot save an unfitted ranker")
    folder = Path(folder)
    with atomic_folder(folder) as staging:
        ranker.booster_.save_model(str(staging / MODEL_FILE))
        files = [MODEL_FILE]
        for name, outcome in ((REFUSAL_FILE, ranker.refusal_), (APPLICATION_FILE, ranker.application_)):
            if outcome is not None:
                outcome.booster.save_model(str(staging / name))
                files.append(name)
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": "lambdarank-ranker",
            "generator": f"matching-engine {__version__}",
            "versions": {
                "matching": __version__,
                "lightgbm": lgb.__version__,
                "python": platform.python_version(),
            },
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": ranker.config.as_dict(),
            "random_state": ranker.config.random_state,
            "feature_names": list(ranker.feature_names_),
            "data_fingerprint": data_fingerprint,
            "files": {name: sha256_file(staging / name) for name in files},
            # learned strength of each stated refusal reason (absent: none learned)
            "stated_strength": None if ranker.stated_strength_ is None else ranker.stated_strength_.strength,
            **(extra or {}),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def read_ranker_manifest(folder: Path) -> dict[str, Any]:
    return read_manifest_file(folder, "ranker", ModelIntegrityError)


def load_ranker(folder: Path) -> LambdaRankRanker:
    """Load a ranker written by :func:`save_ranker`, failing closed.

    Raises
    ------
    ModelIntegrityError
        If the manifest or model file is missing or does not match its checksum, the format is
        unknown, or the feature list is not allowlisted (a model that could see protected attributes
        is never loaded).
    """
    folder = Path(folder)
    manifest = read_ranker_manifest(folder)
    if manifest.get("format_version") != FORMAT_VERSION or manifest.get("kind") != "lambdarank-ranker":
        raise ModelIntegrityError(f"{folder} does not hold a ranker of format {FORMAT_VERSION}")
    problem = checksum_problem(folder, manifest.get("files", {}))
    if problem is not None or MODEL_FILE not in manifest.get("files", {}):
        raise ModelIntegrityError(f"ranker in {folder} is not usable: {problem or 'model file not listed'}")
    names = tuple(manifest["feature_names"])
    try:
        check_allowlist(names)
    except FeatureAllowlistError as error:
        raise ModelIntegrityError(f"ranker in {folder} refused: {error}") from None
    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    if tuple(booster.feature_name()) != names:
        raise ModelIntegrityError(f"ranker in {folder}: the model's features differ from its manifest")
    settings = dict(manifest["config"])
    # written for a few commits with a separate alert floor: what binding_floor means today
    legacy_alert_floor = settings.pop("alert_floor", None)
    if legacy_alert_floor is not None:
        settings["binding_floor"] = legacy_alert_floor
    try:
        config = RankerConfig(**settings)
        config.check()
    except (TypeError, ValueError) as error:
        raise ModelIntegrityError(f"ranker in {folder}: its settings are not usable: {error}") from None
    ranker = LambdaRankRanker(config=config).load_booster(booster, names)
    outcomes = {}
    for name in (REFUSAL_FILE, APPLICATION_FILE):
        if name in manifest["files"]:
            outcome = lgb.Booster(model_file=str(folder / name))
            if tuple(outcome.feature_name()) != names:
                raise ModelIntegrityError(
                    f"ranker in {folder}: the features of {name} differ from its manifest"
                )
            outcomes[name] = OutcomeModel(outcome)
    ranker.refusal_, ranker.application_ = outcomes.get(REFUSAL_FILE), outcomes.get(APPLICATION_FILE)
    strength = manifest.get("stated_strength")
    if strength is not None:
        valid = isinstance(strength, dict) and all(
            k in EVIDENCE_REASONS and isinstance(v, int | float) and 0.0 <= v <= 1.0
            for k, v in strength.items()
        )
        if not valid:
            raise ModelIntegrityError(f"ranker in {folder}: its stated-reason strengths are not readable")
        ranker.stated_strength_ = StatedStrength({str(k): float(v) for k, v in strength.items()})
    return ranker
