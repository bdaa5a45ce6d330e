"""ROME-aware text views: what the encoders read for offers, profiles and trainings.

Raw texts are enriched with the referential (fiche label, appellation, core skills), so that an offer
titled "Cariste H/F" and a profile whose project is N1101 meet in the same region of the embedding
space even when their own words differ. Pure functions of the domain objects and the referential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from matching.domain import Offer, Profile, Training, wanted_skills
from matching.referential import Referential

MAX_DESCRIPTION_CHARS = 400
MAX_SKILLS = 12
# "(H/F)", "F/H", and the inclusive variants offers use: "(H/F/X)", "F/H/NB", "(h/f/d)", "H-F",
# "(Homme/Femme)"; a mark is two of h/f/homme/femme joined by "/" or "-", then optionally a third of
# x/nb/d/n: in parentheses, at the end of the title, or made of letters anywhere. "Homme / Femme de
# plancher" is a ROME appellation, not a mark.
_SEX = r"(?:hommes?|femmes?|h|f)"
_THIRD = r"(?:\s*[/-]\s*(?:x|nb|d|n))?"
_MARK = rf"{_SEX}\s*[/-]\s*{_SEX}{_THIRD}"
_GENDER_MARKS = re.compile(rf"\(\s*{_MARK}\s*\)|\b[hf]\s*[/-]\s*[hf]{_THIRD}\b|\b{_MARK}\s*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def clean_title(title: str) -> str:
    """Strip gender marks ("H/F", "(F/H)", "(H/F/X)", "F/H/NB", "H-F", "(Homme/Femme)"…) and redundant
    spaces from a job title."""
    return _SPACES.sub(" ", _GENDER_MARKS.sub(" ", title)).strip(" -–|,")


def _skill_labels(referential: Referential, codes: Iterable[str]) -> list[str]:
    return [referential.skills[c].label for c in codes if c in referential.skills][:MAX_SKILLS]


def _fiche_part(referential: Referential, rome_code: str, appellation_code: str | None = None) -> list[str]:
    parts = []
    if appellation_code and appellation_code in referential.appellations:
        parts.append(referential.appellations[appellation_code].label)
    fiche = referential.fiches.get(rome_code)
    if fiche is not None:
        parts.append(fiche.label)
    return parts


def offer_view(offer: Offer, referential: Referential) -> str:
    """Title, appellation and fiche labels, the skills it asks for (:func:`matching.domain.wanted_skills`),
    start of the description."""
    core = referential.core_skills(offer.rome_code)
    skills = wanted_skills(offer.required_skills, offer.skills, offer.inferred_skills, core)
    parts = [clean_title(offer.title), *_fiche_part(referential, offer.rome_code, offer.appellation_code)]
    labels = _skill_labels(referential, skills)
    if labels:
        parts.append("Compétences : " + ", ".join(labels))
    if offer.description:
        parts.append(offer.description[:MAX_DESCRIPTION_CHARS])
    return ". ".join(dict.fromkeys(p for p in parts if p))


def profile_view(profile: Profile, referential: Referential) -> str:
    """Job project (appellations and fiche labels) and the person's skills."""
    parts: list[str] = []
    for app in profile.appellation_codes:
        if app in referential.appellations:
            parts.append(referential.appellations[app].label)
    for code in profile.rome_codes:
        parts.extend(_fiche_part(referential, code))
    labels = _skill_labels(referential, profile.skills)
    if labels:
        parts.append("Compétences : " + ", ".join(labels))
    return ". ".join(dict.fromkeys(parts))


def training_view(training: Training, referential: Referential) -> str:
    """Title, target fiches and the skills the training teaches."""
    parts = [training.title]
    for code in training.rome_codes:
        parts.extend(_fiche_part(referential, code))
    labels = _skill_labels(referential, training.skills)
    if labels:
        parts.append("Compétences visées : " + ", ".join(labels))
    return ". ".join(dict.fromkeys(parts))
