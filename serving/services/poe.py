"""POE suggestions: short trainings (préparation opérationnelle à l'emploi) that close the skills a
candidate lacks for an offer before the hire, each with a French explanation."""

from __future__ import annotations

from datetime import date

import pandas as pd

from features.poe import training_features
from matching.candidates import CandidateGenerator
from matching.domain import DEFAULT_COMMUTE_KM, Location, Offer, Profile
from matching.referential import Referential
from serving.container import ServingContainer
from serving.explain import km_between
from serving.schemas import PoeOut, TrainingSuggestion
from serving.security import Principal, Role
from serving.services.checks import forbid_unless_own, readable_profile
from serving.services.errors import Forbidden, NotFound


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
    """The skills a person lacks for an offer and the POE trainings that close them.

    Parameters
    ----------
    generator
        The candidate generator (finds the missing skills and the nearby POE trainings).
    trainings
        The trainings feature table, indexed by training id.
    referential
        The ROME referential (skill labels, the offer's core skills).
    profile, offer
        The person and the offer.
    today
        The day trainings must start after.
    k
        At most this many suggestions.

    Returns
    -------
    tuple of (list of str, list of TrainingSuggestion)
        The missing skills' labels, and the suggestions: trainings teaching at least one of them (more
        of them first), each explained as "manque X, Y → formation Z, organisme (210 h, début le …, à
        N km)" ("dates à confirmer auprès de l'organisme" for a catalogue course without sessions).
    """
    missing = generator.missing_skills(profile, offer)
    label = {code: referential.skills[code].label for code in missing if code in referential.skills}
    missing_labels = [label.get(code, code) for code in missing]
    ids, _ = generator.recommend_trainings(profile, offer, k=4 * k, today=today, poe_only=True)
    known = [i for i in ids.tolist() if i in trainings.index]
    if not known:
        return missing_labels, []
    core = referential.core_skills(offer.rome_code)
    X = training_features(profile, offer, trainings.loc[known], today=today, core_skills=core)
    # a POE closes a gap: a training teaching none of the missing skills is no suggestion
    X = X[X["missing_covered_count"] > 0]
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
        start = None if pd.isna(row["start_date"]) else pd.Timestamp(row["start_date"]).date()
        when = (
            f"début le {start:%d/%m/%Y}" if start is not None else "dates à confirmer auprès de l'organisme"
        )
        # a course placed by its area only (a catalogue's département, no commune): its distance is the
        # area centre's
        about = "" if isinstance(row.get("insee"), str) and row.get("insee") else "environ "
        where = (
            "à distance" if remote else (f"à {about}{km:.0f} km" if km is not None else "lieu non précisé")
        )
        body = str(row.get("organisation") or "") or "organisme non précisé"
        name = f"{row['title']}, {body}"
        closes = ", ".join(label.get(s, s) for s in taught)
        out.append(
            TrainingSuggestion(
                training_id=training_id,
                title=str(row["title"]),
                hours=float(row["hours"]),
                start_date=start,
                distance_km=km,
                skills_taught=[label.get(s, s) for s in taught],
                outcome_rate=None if pd.isna(row["outcome_rate"]) else float(row["outcome_rate"]),
                explanation=f"manque {closes} → {name} ({row['hours']:.0f} h, {when}, {where})",
            )
        )
    return missing_labels, out


def offer_area_profile(offer: Offer) -> Profile:
    """Someone with the offer's occupation as project, no skill yet, living where the job is."""
    return Profile(
        id=f"area-of-{offer.id}"[:64],
        rome_codes=(offer.rome_code,),
        home=offer.location,
        max_commute_km=DEFAULT_COMMUTE_KM,
    )


def poe_suggestions(
    container: ServingContainer, principal: Principal, offer_id: str, profile_id: str | None, k: int
) -> PoeOut:
    """POE trainings for a person and an offer, or for the offer alone; the list served is logged.

    Parameters
    ----------
    container
        The API's dependencies.
    principal
        The caller: a jobseeker for their own profile, a counsellor for consenting people or the offer.
    offer_id
        The offer to prepare for.
    profile_id
        The person; ``None`` (staff only): trainings teaching the offer's skills near the offer, for
        candidates still to be found.
    k
        At most this many trainings.

    Returns
    -------
    PoeOut
        The missing skills and the suggested trainings.

    Raises
    ------
    Forbidden
        A jobseeker without ``profile_id`` or with someone else's.
    NotFound
        No such offer, or no such profile (for a counsellor: no consenting one).
    ServiceUnavailable
        The indexes cannot be loaded.
    """
    offer = container.repository.get_offer(offer_id)
    if profile_id is None:
        if principal.role == Role.JOBSEEKER:
            raise Forbidden("a jobseeker asks for their own profile_id")
        profile = None if offer is None else offer_area_profile(offer)
    else:
        forbid_unless_own(principal, profile_id)
        profile = readable_profile(container, principal, profile_id)
    if offer is None or profile is None:
        raise NotFound("no such offer or profile")
    service = container.service()
    missing, trainings = suggest_trainings(
        service.generator,
        container.tables().trainings,
        container.referential,
        profile,
        offer,
        today=container.clock.today(),
        k=k,
    )
    container.store.log_recommendation(
        kind="poe",
        actor_role=principal.role.value,
        actor_id=principal.subject_id,
        subject_id=profile_id or offer_id,
        ranking="rule",
        model_version="poe-coverage",
        index_version=service.index_version,
        item_ids=[t.training_id for t in trainings],
        scores=[1.0 / (i + 1) for i in range(len(trainings))],
        request={"offer_id": offer_id, "k": k},
    )
    return PoeOut(offer_id=offer_id, profile_id=profile_id, missing_skills=missing, trainings=trainings)
