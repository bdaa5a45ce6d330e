"""Turning the candidate generator's training ids into suggestions with a French explanation."""

from __future__ import annotations

from datetime import date

import pandas as pd

from features.poe import training_features
from matching.candidates import CandidateGenerator
from matching.domain import Location, Offer, Profile
from matching.referential import Referential
from serving.explain import km_between
from serving.schemas import TrainingSuggestion


def suggest_trainings(
    generator: CandidateGenerator,
    trainings: pd.DataFrame,
    referential: Referential,
    profile: Profile,
    offer: Offer,
    *,
    today: date,
    k: int = 5,
) -> tuple[list[str], list[TrainingSuggestion]]:
    """Missing skill labels and POE trainings closing them, with "missing X, Y → training Z (…)"."""
    missing = generator.missing_skills(profile, offer)
    label = {code: referential.skills[code].label for code in missing if code in referential.skills}
    missing_labels = [label.get(code, code) for code in missing]
    ids, _ = generator.recommend_trainings(profile, offer, k=4 * k, today=today, poe_only=True)
    known = [i for i in ids.tolist() if i in trainings.index]
    if not known:
        return missing_labels, []
    core = referential.skills_of(offer.rome_code).core if offer.rome_code in referential.fiches else ()
    X = training_features(profile, offer, trainings.loc[known], today=today, core_skills=core)
    # skills covered first, then the better outcome, the shorter course, the earlier start
    order = X.sort_values(
        ["missing_covered_share", "outcome_rate", "training_hours", "days_to_start"],
        ascending=[False, False, True, True],
        na_position="last",
    ).index[:k]
    out = []
    for training_id in order:
        row = trainings.loc[training_id]
        taught = [s for s in row["skills"] if s in set(missing)]
        remote = row["modality"] == "distanciel"
        place = Location(
            lat=None if pd.isna(row["lat"]) else float(row["lat"]),
            lon=None if pd.isna(row["lon"]) else float(row["lon"]),
        )
        km = None if remote else km_between(profile.home, place)
        km = round(km, 1) if km is not None else None
        start = pd.Timestamp(row["start_date"]).date()
        where = "à distance" if remote else (f"{km:.0f} km" if km is not None else "lieu non précisé")
        closes = ", ".join(label.get(s, s) for s in taught) or "compétences du métier"
        out.append(
            TrainingSuggestion(
                training_id=training_id,
                title=str(row["title"]),
                hours=float(row["hours"]),
                start_date=start,
                distance_km=km,
                skills_taught=[label.get(s, s) for s in taught],
                outcome_rate=None if pd.isna(row["outcome_rate"]) else float(row["outcome_rate"]),
                explanation=f"manque {closes} → {row['title']} ({row['hours']:.0f} h, début le {start:%d/%m/%Y}, {where})",
            )
        )
    return missing_labels, out
