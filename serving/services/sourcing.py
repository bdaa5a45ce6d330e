"""Sourcing for counsellors: finding offers, ranking consenting candidates for one (with a second list
of people a short training would make suitable), and recording what the counsellor did."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from features.tables import MarketTables
from matching.domain import Profile
from models.pipeline import rank_profiles_for_offer
from serving.container import ServingContainer
from serving.explain import explain, place_label
from serving.schemas import CandidateOut, CounsellorActionIn, SourcingOut, TrainableCandidateOut
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
    """The offer's title as in the (cached) feature tables, its id when not there yet."""
    offers = container.tables().offers
    return str(offers.loc[offer_id]["title"]) if offer_id in offers.index else offer_id


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


def rank_candidates(
    container: ServingContainer, principal: Principal, offer_id: str, k: int, *, log: bool = True
) -> SourcingOut:
    """Consenting candidates for an offer, best first, each with why they fit and what they lack.

    After the ``k`` best, up to ten more who miss at most ``MAX_GAP_FOR_TRAINING`` required skills
    are listed with the POE training that would close them. The served lists are logged.

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
    candidates = container.store.profiles(ids.tolist())
    tables = container.tables()
    today = container.clock.today()
    profiles = available_candidates(candidates, tables, offer.need_date or today + AVAILABILITY_SLACK)
    ranked = rank_profiles_for_offer(
        service,
        tables,
        offer_id,
        profiles,
        now=pd.Timestamp(container.clock.now()),
        kill_switch=kill_switch,
        exposure=container.store.sourcing_exposure(),
    )
    top: list[CandidateOut] = []
    trainable: list[TrainableCandidateOut] = []
    for position, (profile_id, score) in enumerate(
        zip(ranked["profile_id"], ranked["score"], strict=True), 1
    ):
        profile = profiles[profile_id]
        why = explain(container.referential, profile, offer, today)
        if len(top) < k:
            top.append(CandidateOut(profile_id=profile_id, rank=position, score=float(score), why=why))
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
                    )
                )
    model_version = service.served_model(kill_switch)
    ranking = service.ranking_mode(kill_switch)
    shown = [*top, *trainable]
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
    return SourcingOut(
        offer_id=offer_id,
        ranking=ranking,
        model_version=model_version,
        index_version=service.index_version,
        candidates=top,
        reachable_with_training=trainable,
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
