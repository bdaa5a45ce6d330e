"""Sourcing for counsellors: finding offers, ranking consenting candidates for one (with a second list
of people a short training would make suitable), and recording what the counsellor did."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from features.tables import MarketTables
from matching.candidates import CandidateGenerator
from matching.domain import APPROXIMATE_PRECISIONS, DEFAULT_COMMUTE_KM, Location, Offer, Profile
from matching.geo import haversine_km
from matching.referential import Referential
from models.pipeline import rank_profiles_for_offer
from serving.container import ServingContainer
from serving.explain import (
    ACTIVITY_LABELS,
    CONTACT,
    commune_name,
    explain,
    km_between,
    occupation_label,
    place_label,
    qualification_label,
    stated_refusals,
)
from serving.schemas import (
    CandidateFacts,
    CandidateOut,
    CounsellorActionIn,
    DismissedCandidateOut,
    NobodyFitsOut,
    SourcingOut,
    TrainableCandidateOut,
)
from serving.security import Principal
from serving.services.errors import Invalid, NotFound
from serving.services.poe import suggest_trainings
from serving.storage.store import OfferListing

POOL = 200  # people the generator retrieves before filtering and reranking
MAX_GAP_FOR_TRAINING = 3  # missing required skills a POE can reasonably close
TRAINABLE = 10  # length of the "reachable with a training" list
AVAILABILITY_SLACK = timedelta(days=30)  # an offer without a need date wants people within a month
OFFERS_LISTED = 30
EVENT_OF_ACTION = {"proposed": "counsellor_proposed", "dismissed": "counsellor_dismissed", "hired": "hired"}


def search_offers(container: ServingContainer, query: str | None) -> list[OfferListing]:
    """The latest offers whose title contains ``query`` or whose id is ``query`` (all when empty)."""
    return container.store.search_offers(query, limit=OFFERS_LISTED)


def offer_title(container: ServingContainer, offer_id: str) -> str:
    """The offer's title as in the (cached) feature tables, else as stored; its id when unknown."""
    offers = container.tables().offers
    if offer_id in offers.index:
        return str(offers.loc[offer_id]["title"])
    offer = container.repository.get_offer(offer_id)  # published since the tables were read
    return offer_id if offer is None else offer.title


def offer_place(container: ServingContainer, offer_id: str) -> str | None:
    """Where the offer's job is, by name (its label, else its commune's); ``None`` when unknown."""
    offer = container.repository.get_offer(offer_id)
    return None if offer is None else place_label(offer.location, container.communes)


def available_candidates(
    profiles: dict[str, Profile], tables: MarketTables, need: date
) -> dict[str, Profile]:
    """Consenting people (checked again), available by the offer's need date, not hired already."""
    hired = tables.profiles_with("hired")
    return {
        pid: p
        for pid, p in profiles.items()
        if p.visible and pid not in hired and (p.available_from is None or p.available_from <= need)
    }


def occupation_labels(referential: Referential, codes: Iterable[str]) -> list[str]:
    """ROME codes in words ("Cariste (N1101)"), each once, an unknown code as is."""
    return [occupation_label(referential, c) for c in dict.fromkeys(codes)]


def candidate_facts(
    container: ServingContainer, profiles: Sequence[Profile], place: Location | None
) -> dict[str, CandidateFacts]:
    """What a counsellor decides on about each person (see :class:`CandidateFacts`), by profile id.

    Parameters
    ----------
    container
        The API's dependencies: communes (the home commune's name), the referential (the project in
        words) and the event log (the person's last own action, read now, not from cached tables).
    profiles
        The people.
    place
        Where distances are measured to (the offer's place, a vivier's centre); ``None``: none.

    Returns
    -------
    dict
        Profile id → facts. No protected attribute is read: the home is named by its commune only.
    """
    activity = container.store.last_activity(p.id for p in profiles)
    # a place known to its département or region only has no point to measure from (the explanation's
    # commute line says how precisely it is known)
    measurable = place is not None and not place.anywhere and place.precision not in APPROXIMATE_PRECISIONS
    out: dict[str, CandidateFacts] = {}
    for profile in profiles:
        km = km_between(profile.home, place) if measurable and place is not None else None
        last = activity.get(profile.id)
        out[profile.id] = CandidateFacts(
            commune=commune_name(container.communes, profile.home.insee),
            distance_km=None if km is None else round(km, 1),
            max_commute_km=profile.max_commute_km,
            occupations=occupation_labels(container.referential, profile.rome_codes),
            experience_months=profile.experience_months,
            qualification_code=profile.qualification_code,
            qualification=qualification_label(profile.qualification_code),
            available_from=profile.available_from,
            contract_types=[str(c) for c in profile.contract_types],
            min_weekly_hours=profile.min_weekly_hours,
            max_weekly_hours=profile.max_weekly_hours,
            last_activity_on=None if last is None else last[0].date(),
            last_activity=None if last is None else ACTIVITY_LABELS.get(last[1], last[1]),
            contact=CONTACT,
        )
    return out


def _placed_lower(ranked: pd.DataFrame, offer: Offer, ranking: str) -> dict[str, list[str]]:
    """Why each ranked candidate comes after others, in words: the stated refusals the ranking found
    the offer repeats (both rankings put them last), and with the rule the declared commute exceeded."""
    reasons = stated_refusals(ranked["stated"].tolist(), offer.contract_type, offer.full_time)
    if ranking == "rule":  # the rule ranks people beyond their own commute after those within it
        beyond = ranked["beyond_radius"].to_numpy(bool)
        reasons = [
            [*r, "hors de son rayon de déplacement"] if b else r for r, b in zip(reasons, beyond, strict=True)
        ]
    return dict(zip(ranked["profile_id"].tolist(), reasons, strict=True))


_PROJECT_CODES: dict[int, tuple[pd.DataFrame, np.ndarray, np.ndarray]] = {}


def _project_codes(profiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One ``(row position, ROME code)`` per code of each person's project, as two arrays, for the
    profiles of one feature table (kept while the tables are: they are re-read once a minute)."""
    cached = _PROJECT_CODES.get(id(profiles))
    if cached is None or cached[0] is not profiles:
        projects = profiles["rome_codes"].tolist()
        rows = np.repeat(np.arange(len(projects)), [len(p) for p in projects])
        codes = np.array([str(c) for project in projects for c in project], dtype=object)
        _PROJECT_CODES.clear()  # the current tables only
        cached = _PROJECT_CODES[id(profiles)] = (profiles, rows, codes)
    return cached[1], cached[2]


def nobody_fits(
    container: ServingContainer,
    generator: CandidateGenerator,
    offer: Offer,
    tables: MarketTables,
    need: date,
    dismissed: int,
) -> NobodyFitsOut:
    """Why no candidate is listed: the consenting people of the offer's trade and of the neighbouring
    trades sourcing searches (sibling sub-fiches, occupations the ROME mobility leads from to it), how
    many are within their own commute of the offer, and how far the nearest ones are.

    Parameters
    ----------
    container
        The API's dependencies (the referential).
    generator
        The candidate generator: which ROME codes sourcing searches for the offer.
    offer
        The offer.
    tables
        Profiles and the event log (hires).
    need
        The day candidates must be available by.
    dismissed
        How many candidates a counsellor dismissed for this offer.
    """
    referential = container.referential
    code = offer.rome_code
    same = {code}
    if code in referential.fiches:  # the fiche and its parent or sub-fiches
        same |= {referential.parent(code).code, *(f.code for f in referential.children(code))}
    # the other codes sourcing searches: sibling sub-fiches, occupations whose ROME mobility leads here
    searched = generator.neighbourhood_.incoming(code, generator.expansion)
    neighbours = [c for c in searched if c not in same and c in referential.fiches]
    profiles = tables.profiles
    hired = tables.profiles_with("hired")
    keep = profiles["visible"].astype(bool).to_numpy() & ~profiles["id"].isin(hired).to_numpy()
    rows, codes = _project_codes(profiles)
    in_same = np.zeros(len(profiles), dtype=bool)
    in_same[rows[np.isin(codes, sorted(same))]] = True
    in_neighbours = np.zeros(len(profiles), dtype=bool)
    in_neighbours[rows[np.isin(codes, neighbours)]] = True
    consenting = profiles[keep]
    in_same, in_neighbours = in_same[keep], in_neighbours[keep] & ~in_same[keep]
    place = offer.location
    n = len(consenting)
    if place.anywhere:
        km = np.zeros(n)
    elif place.lat is not None and place.lon is not None:
        km = haversine_km(
            consenting["home_lat"].to_numpy(float),
            consenting["home_lon"].to_numpy(float),
            place.lat,
            place.lon,
        )
        km = np.maximum(0.0, km - place.extent_km)
    else:
        km = np.full(n, np.nan)
    commute = (
        pd.to_numeric(consenting["max_commute_km"], errors="coerce").fillna(DEFAULT_COMMUTE_KM).to_numpy()
    )
    in_reach = np.nan_to_num(km, nan=np.inf) <= commute
    available = pd.to_datetime(consenting["available_from"]).fillna(pd.Timestamp(need)).to_numpy()
    later = available > np.datetime64(pd.Timestamp(need))

    def nearest(mask: np.ndarray) -> float | None:
        known = km[mask & np.isfinite(km)]
        return round(float(known.min()), 1) if len(known) and not place.anywhere else None

    return NobodyFitsOut(
        rome_code=code,
        rome_label=referential.fiches[code].label if code in referential.fiches else None,
        place_known=bool(place.anywhere) or place.has_coordinates,
        same_trade=int(in_same.sum()),
        same_trade_in_reach=int((in_same & in_reach).sum()),
        same_trade_in_reach_later=int((in_same & in_reach & later).sum()),
        nearest_same_trade_km=nearest(in_same),
        neighbour_trades=[referential.fiches[c].label for c in neighbours[:5]],
        neighbours=int(in_neighbours.sum()),
        neighbours_in_reach=int((in_neighbours & in_reach).sum()),
        nearest_neighbour_km=nearest(in_neighbours),
        need_date=need,
        dismissed=dismissed,
    )


def rank_candidates(
    container: ServingContainer, principal: Principal, offer_id: str, k: int, *, log: bool = True
) -> SourcingOut:
    """Consenting candidates for an offer, best first, each with why they fit and what they lack.

    After the ``k`` best, up to ten more who miss at most ``MAX_GAP_FOR_TRAINING`` required skills
    are listed with the POE training that would close them. The counsellors' decisions on this offer
    (the event log) apply: a dismissed candidate is no longer listed (the ``dismissed`` list names
    them), a proposed one stays, marked with the day. Each candidate comes with the facts a counsellor
    decides on and, in words, why they are placed lower when they are; an empty list says why. The
    served lists are logged.

    Parameters
    ----------
    container
        The API's dependencies.
    principal
        The counsellor (or admin) asking; logged as the list's actor.
    offer_id
        The offer to source for.
    k
        Length of the main list.
    log
        Log the lists as served (a person sees them; they count in the exposure that rotates the
        next lists). ``False`` for a measurement, which must change nothing a counsellor sees.

    Returns
    -------
    SourcingOut
        Both lists, with how they were ranked (rules or model, and which versions).

    Raises
    ------
    NotFound
        No such offer.
    ServiceUnavailable
        The indexes or the model cannot be loaded.
    """
    offer = container.repository.get_offer(offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id!r}")
    service = container.service()
    kill_switch = container.store.kill_switch()
    ids, _ = service.generator.recommend_profiles(offer, k=POOL)
    actions = container.store.candidate_actions(offer_id)
    dismissed = {pid: a for pid, a in actions.items() if a.action == "dismissed"}
    candidates = container.store.profiles([*ids.tolist(), *dismissed])
    tables = container.tables()
    today = container.clock.today()
    now = pd.Timestamp(container.clock.now())
    need = offer.need_date or today + AVAILABILITY_SLACK
    available = available_candidates(candidates, tables, need)
    retrieved = set(ids.tolist())
    profiles = {pid: p for pid, p in available.items() if pid in retrieved and pid not in dismissed}
    ranked = rank_profiles_for_offer(
        service,
        tables,
        offer_id,
        profiles,
        now=now,
        kill_switch=kill_switch,
        exposure=container.store.sourcing_exposure(),
    )
    ranking = service.ranking_mode(kill_switch)
    top: list[CandidateOut] = []
    trainable: list[TrainableCandidateOut] = []
    for position, (profile_id, score) in enumerate(
        zip(ranked["profile_id"], ranked["score"], strict=True), 1
    ):
        profile = profiles[profile_id]
        why = explain(container.referential, profile, offer, today)
        decided = actions.get(profile_id)
        proposed_at = decided.at if decided is not None and decided.action == "proposed" else None
        if len(top) < k:
            top.append(
                CandidateOut(
                    profile_id=profile_id, rank=position, score=float(score), why=why, proposed_at=proposed_at
                )
            )
            continue
        if len(trainable) < TRAINABLE and 0 < len(why.skills_missing) <= MAX_GAP_FOR_TRAINING:
            _, suggestions = suggest_trainings(
                service.generator, tables.trainings, container.referential, profile, offer, today=today, k=1
            )
            if suggestions and suggestions[0].skills_taught:
                trainable.append(
                    TrainableCandidateOut(
                        profile_id=profile_id,
                        rank=position,
                        score=float(score),
                        why=why,
                        training=suggestions[0],
                        proposed_at=proposed_at,
                    )
                )
    shown = [*top, *trainable]
    people = [profiles[c.profile_id] for c in shown]
    facts = candidate_facts(container, people, offer.location)
    lower = _placed_lower(ranked, offer, ranking)
    for candidate in shown:
        candidate.facts = facts[candidate.profile_id]
        candidate.placed_lower = lower.get(candidate.profile_id, [])
    model_version = service.served_model(kill_switch)
    if log:
        container.store.log_recommendation(
            kind="sourcing",
            actor_role=principal.role.value,
            actor_id=principal.subject_id,
            subject_id=offer_id,
            ranking=ranking,
            model_version=model_version,
            index_version=service.index_version,
            item_ids=[c.profile_id for c in shown],
            scores=[c.score for c in shown],
            request={"k": k},
        )
    still_consenting = [pid for pid in dismissed if pid in candidates and candidates[pid].visible]
    return SourcingOut(
        offer_id=offer_id,
        ranking=ranking,
        model_version=model_version,
        index_version=service.index_version,
        candidates=top,
        reachable_with_training=trainable,
        dismissed=[
            DismissedCandidateOut(
                profile_id=pid, dismissed_at=dismissed[pid].at, reason=dismissed[pid].reason
            )
            for pid in sorted(still_consenting, key=lambda p: dismissed[p].at, reverse=True)
        ],
        nobody=None
        if top
        else nobody_fits(container, service.generator, offer, tables, need, len(still_consenting)),
    )


def record_candidate_action(
    container: ServingContainer, offer_id: str, profile_id: str, action: CounsellorActionIn
) -> str:
    """Record that a counsellor proposed a candidate to the employer, dismissed them, or saw them hired.

    Parameters
    ----------
    container
        The API's dependencies.
    offer_id, profile_id
        The offer and the candidate.
    action
        What was done, with the reason of a dismissal.

    Returns
    -------
    str
        The event written to the log (the ranker learns from it).

    Raises
    ------
    NotFound
        No such offer, or no such consenting profile.
    Invalid
        A dismissal without a reason.
    """
    profile = container.repository.get_profile(profile_id)
    if container.repository.get_offer(offer_id) is None or profile is None or not profile.visible:
        raise NotFound("no such offer or consenting profile")
    if action.action == "dismissed" and not action.reason:
        raise Invalid("dismissing a candidate needs a reason")
    event = EVENT_OF_ACTION[action.action]
    container.store.add_event(event, profile_id, offer_id=offer_id, reason=action.reason, actor="counsellor")
    return event


def restore_candidate(container: ServingContainer, offer_id: str, profile_id: str) -> None:
    """Take back a counsellor's dismissal of a candidate for an offer: they are listed again.

    Raises
    ------
    NotFound
        No such offer, or no dismissal of this candidate for it.
    """
    if container.repository.get_offer(offer_id) is None or not container.store.undo_dismissal(
        offer_id, profile_id
    ):
        raise NotFound("no such offer or dismissed candidate")
