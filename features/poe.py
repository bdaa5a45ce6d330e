"""Features of (profile, offer, training) triples: can this training close the gap in time, within reach?

Pure function of a profile, an offer and a frame of trainings (the world's training columns); names
and meanings in :data:`features.schema.TRAINING_FEATURES`. Distance is relative to the person's
declared commute; remote trainings count as distance 0.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.schema import TRAINING_FEATURES
from matching.domain import DEFAULT_COMMUTE_KM, POE_MAX_HOURS, Offer, Profile, missing_skills
from matching.geo import haversine_km


def training_features(
    profile: Profile, offer: Offer, trainings: pd.DataFrame, *, today: date, core_skills: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Features of each training for closing ``profile``'s gap for ``offer``, shape ``(n_trainings, 8)``.

    Parameters
    ----------
    trainings
        Columns ``skills`` (codes taught), ``hours``, ``start_date``, ``end_date``, ``lat``, ``lon``,
        ``modality``, ``outcome_rate``, ``poe_eligible``; one row per training.
    today
        The moment of the suggestion (days to start count from it; NaN for a course whose dates are to
        confirm, as is ``ends_before_need``).
    """
    gap = set(missing_skills(profile, offer, core_skills))
    taught = [set(s) for s in trainings["skills"]]
    covered = np.array([len(t & gap) for t in taught], dtype=float)
    # a catalogue course without sessions has no dates (to confirm): its timing features are unknown
    start = pd.to_datetime(trainings["start_date"])
    end = pd.to_datetime(trainings["end_date"])
    need = offer.need_date
    km = haversine_km(
        np.full(len(trainings), profile.home.lat if profile.home.lat is not None else np.nan),
        np.full(len(trainings), profile.home.lon if profile.home.lon is not None else np.nan),
        trainings["lat"].to_numpy(float),
        trainings["lon"].to_numpy(float),
    )
    remote = (trainings["modality"] == "distanciel").to_numpy()
    commute = profile.max_commute_km or DEFAULT_COMMUTE_KM
    hours = trainings["hours"].to_numpy(float)
    frame = pd.DataFrame(
        {
            "missing_covered_share": covered / len(gap) if gap else np.zeros(len(trainings)),
            "missing_covered_count": covered,
            "training_hours": hours,
            "poe_eligible": (
                trainings["poe_eligible"].astype(bool).to_numpy() & (hours < POE_MAX_HOURS)
            ).astype(float),
            "days_to_start": ((start - pd.Timestamp(today)).dt.days).to_numpy(float),
            "ends_before_need": np.array(
                [float(e.date() <= need) if need and not pd.isna(e) else np.nan for e in end]
            ),
            "training_distance_ratio": np.where(remote, 0.0, km / commute),
            "outcome_rate": pd.to_numeric(trainings["outcome_rate"], errors="coerce").to_numpy(float),
        },
        index=trainings.index,
    )
    return frame[list(TRAINING_FEATURES)]
