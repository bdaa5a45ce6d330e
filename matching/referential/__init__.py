"""ROME 4.0 referential: load the official export or the built-in one, then query it."""

from __future__ import annotations

from pathlib import Path

from matching.referential.builtin import load_builtin
from matching.referential.model import (
    Appellation,
    Fiche,
    FicheSkills,
    Referential,
    RomeDistance,
    RomeRelation,
    Skill,
    SkillKind,
    gendered_forms,
    normalize_label,
)
from matching.referential.rome_csv import load_rome_csv

__all__ = [
    "Appellation",
    "Fiche",
    "FicheSkills",
    "Referential",
    "RomeDistance",
    "RomeRelation",
    "Skill",
    "SkillKind",
    "gendered_forms",
    "load_builtin",
    "load_referential",
    "load_rome_csv",
    "normalize_label",
]


def load_referential(rome_dir: Path | str | None = None) -> Referential:
    """Load the official ROME export from ``rome_dir``, or the built-in referential when it is ``None``."""
    return load_builtin() if rome_dir is None else load_rome_csv(Path(rome_dir))
