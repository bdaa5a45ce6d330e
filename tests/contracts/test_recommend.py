"""The recommender contract, one battery run over every ``recommend_*`` path of the candidate generator.

Each path is checked against a brute-force oracle: every item of the world is scored with NumPy from
its own domain object and kept when it passes the path's filters (ROME neighbourhood, commute radius,
consent, contract and hours preferences, training dates), and the generator must return an exact
top-``k`` of those, ties in any order. The indexes are the session's saved ones (hashing encoder,
built-in referential, small simulated world), loaded, then grown with edge cases (unlocated offers and
people, unknown hours and contracts, remote trainings, courses without dates or occupation), thinned
by expired offers and by people who withdrew their consent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from eval.simulator import World
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import CandidateGenerator, Expansion, RomeNeighbourhood, load_generator
from matching.domain import (
    DEFAULT_COMMUTE_KM,
    POE_MAX_HOURS,
    Location,
    Offer,
    Profile,
    Training,
    TrainingModality,
    missing_skills,
)
from matching.encoders import HashingEncoder
from matching.geo import haversine_km
from matching.referential import Referential
from matching.views import offer_view, profile_view, training_view

TODAY = date(2025, 1, 6)  # the small world's first day
SHORTLIST = 50  # trainings are shortlisted by similarity first: the oracle is exact below this many
Ranking = tuple[npt.NDArray[Any], npt.NDArray[Any]]


def _edge_cases(
    profiles: list[Profile], offers: list[Offer], trainings: list[Training]
) -> tuple[list[Profile], list[Offer], list[Training]]:
    """Variants of a few world items with what the simulator never produces."""
    nowhere = Location()
    new_offers = [
        o.model_copy(
            update={
                "id": f"X{o.id}",
                "location": nowhere if k % 2 == 0 else o.location,
                "weekly_hours": None if k % 3 == 0 else o.weekly_hours,
                "contract_type": None if k % 4 == 0 else o.contract_type,
            }
        )
        for k, o in enumerate(offers[:80])
    ]
    new_profiles = [
        p.model_copy(
            update={
                "id": f"X{p.id}",
                "home": nowhere if k % 2 == 0 else p.home,
                "max_commute_km": None if k % 3 == 0 else p.max_commute_km,
                "contract_types": () if k % 4 == 0 else p.contract_types,
                "min_weekly_hours": None if k % 5 == 0 else p.min_weekly_hours,
                "visible": True,
            }
        )
        for k, p in enumerate(profiles[:80])
    ]
    new_trainings = [
        t.model_copy(
            update={
                "id": f"X{t.id}",
                "modality": TrainingModality.REMOTE,
                "rome_codes": () if k % 3 == 0 else t.rome_codes,
                # every third one on site at an unknown place
                **({"modality": TrainingModality.ON_SITE, "location": Location()} if k % 3 == 1 else {}),
                # a catalogue course: dates to confirm
                **({"start_date": None, "end_date": None} if k % 2 == 0 else {}),
            }
        )
        for k, t in enumerate(trainings[:6])
    ]
    return new_profiles, new_offers, new_trainings


@dataclass
class BruteForce:
    """Every item of the world as domain objects and vectors; the exact answer of each path."""

    referential: Referential
    expansion: Expansion
    profiles: list[Profile]
    offers: list[Offer]
    trainings: list[Training]
    profile_vectors: npt.NDArray[np.float32]
    offer_vectors: npt.NDArray[np.float32]
    training_vectors: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        self.encoder = HashingEncoder()
        self.neighbourhood = RomeNeighbourhood(self.referential)

    @staticmethod
    def _within(center: Location, places: Sequence[Location], radius: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Places within ``radius`` km of ``center``; unlocated places (or center) pass."""
        located = np.array([p.has_coordinates for p in places])
        if not center.has_coordinates:
            return np.ones(len(places), dtype=bool)
        lat = np.array([p.lat if p.has_coordinates else np.nan for p in places], dtype=float)
        lon = np.array([p.lon if p.has_coordinates else np.nan for p in places], dtype=float)
        distance = haversine_km(center.lat, center.lon, lat, lon)
        return ~located | (distance <= np.asarray(radius, dtype=float))

    def offers_for(self, profile: Profile, *, respect_preferences: bool, radius_factor: float) -> Ranking:
        allowed = set(self.neighbourhood.outgoing(profile.rome_codes, self.expansion))
        keep = np.array([o.rome_code in allowed for o in self.offers])
        radius = (profile.max_commute_km or DEFAULT_COMMUTE_KM) * radius_factor
        keep &= self._within(profile.home, [o.location for o in self.offers], radius)
        if respect_preferences:
            low, high = profile.min_weekly_hours or 0.0, profile.max_weekly_hours or np.inf
            keep &= np.array(
                [
                    (
                        not profile.contract_types
                        or o.contract_type is None
                        or o.contract_type in profile.contract_types
                    )
                    and (o.weekly_hours is None or low <= o.weekly_hours <= high)
                    for o in self.offers
                ]
            )
        query = self.encoder.encode_query([profile_view(profile, self.referential)])[0]
        return self._ranked(self.offers, keep, self.offer_vectors @ query)

    def profiles_for(self, offer: Offer) -> Ranking:
        allowed = set(self.neighbourhood.incoming(offer.rome_code, self.expansion))
        keep = np.array([p.visible and bool(set(p.rome_codes) & allowed) for p in self.profiles])
        radius = [p.max_commute_km or DEFAULT_COMMUTE_KM for p in self.profiles]
        keep &= self._within(offer.location, [p.home for p in self.profiles], radius)
        query = self.encoder.encode_query([offer_view(offer, self.referential)])[0]
        return self._ranked(self.profiles, keep, self.profile_vectors @ query)

    def trainings_for(self, profile: Profile, offer: Offer, *, poe_only: bool) -> Ranking:
        allowed = set(self.neighbourhood.outgoing([offer.rome_code], Expansion(family=True, mobility_rank=0)))
        missing = missing_skills(profile, offer, self.referential.skills_of(offer.rome_code).core)
        coverage = np.array(
            [len(set(t.skills) & set(missing)) / len(missing) if missing else 0.0 for t in self.trainings]
        )
        keep = np.array(
            [
                # filed under the offer's family, or under no occupation and teaching a missing skill
                (bool(set(t.rome_codes) & allowed) or (not t.rome_codes and cover > 0))
                # in time, or dates to confirm
                and (
                    t.start_date is None
                    or (
                        t.start_date >= TODAY and (offer.need_date is None or t.start_date <= offer.need_date)
                    )
                )
                and (not poe_only or (t.poe_eligible and t.hours < POE_MAX_HOURS))
                for t, cover in zip(self.trainings, coverage, strict=True)
            ]
        )
        places = [t.location if t.modality != TrainingModality.REMOTE else Location() for t in self.trainings]
        keep &= self._within(profile.home, places, profile.max_commute_km or DEFAULT_COMMUTE_KM)
        # on site at an unknown place: nowhere a commute reaches
        keep &= np.array(
            [t.modality == TrainingModality.REMOTE or t.location.has_coordinates for t in self.trainings]
        )
        labels = [self.referential.skills[s].label for s in missing if s in self.referential.skills]
        text = (
            "Compétences à acquérir : " + ", ".join(labels) if labels else offer_view(offer, self.referential)
        )
        scores = self.training_vectors @ self.encoder.encode_query([text])[0]
        if missing:
            scores = coverage + 0.1 * scores
        return self._ranked(self.trainings, keep, scores)

    @staticmethod
    def _ranked(
        items: Sequence[Offer | Profile | Training], keep: npt.NDArray[np.bool_], scores: Any
    ) -> Ranking:
        """Ids and scores of the kept items (in no particular order)."""
        rows = np.flatnonzero(keep)
        return np.array([items[r].id for r in rows], dtype=str), np.asarray(scores, dtype=np.float64)[rows]


@pytest.fixture(scope="module")
def world(small_world: World, builtin: Referential, index_dir: Path) -> tuple[CandidateGenerator, BruteForce]:
    """The generator over the saved indexes plus edge cases, and the brute force over the same items."""
    profiles, offers, trainings = (
        list(world_profiles(small_world)),
        list(world_offers(small_world)),
        list(world_trainings(small_world)),
    )
    extra_profiles, extra_offers, extra_trainings = _edge_cases(profiles, offers, trainings)
    expired = {o.id for o in offers[::25]}
    withdrawn = [p.model_copy(update={"visible": False}) for p in profiles[1::20] if p.visible]
    generator = load_generator(index_dir, builtin, HashingEncoder())
    generator.index_offers(extra_offers).index_profiles([*extra_profiles, *withdrawn])
    generator.index_trainings(extra_trainings)
    assert generator.remove_offers(expired) == len(expired)
    withdrawn_ids = {p.id for p in withdrawn}
    profiles = [p for p in profiles if p.id not in withdrawn_ids] + withdrawn + extra_profiles
    offers = [o for o in offers if o.id not in expired] + extra_offers
    trainings = trainings + extra_trainings
    assert len(trainings) <= SHORTLIST
    encoder = HashingEncoder()
    brute = BruteForce(
        referential=builtin,
        expansion=generator.expansion,
        profiles=profiles,
        offers=offers,
        trainings=trainings,
        profile_vectors=encoder.encode_document([profile_view(p, builtin) for p in profiles]),
        offer_vectors=encoder.encode_document([offer_view(o, builtin) for o in offers]),
        training_vectors=encoder.encode_document([training_view(t, builtin) for t in trainings]),
    )
    return generator, brute


def _training_pairs(brute: BruteForce) -> list[tuple[Profile, Offer]]:
    """People and offers that have trainings in reach (and a few that do not)."""
    pairs = []
    for training in brute.trainings[:40]:
        family = {
            c
            for code in training.rome_codes
            for c in brute.neighbourhood.outgoing([code], Expansion(True, 0))
        }
        offers = [
            o for o in brute.offers if o.rome_code in family and (o.need_date or TODAY) >= training.start_date
        ]
        if not training.location.has_coordinates:
            continue
        near = [
            p
            for p in brute.profiles
            if p.home.has_coordinates
            and haversine_km(p.home.lat, p.home.lon, training.location.lat, training.location.lon) < 25
        ]
        pairs.extend(zip(near[:1], offers[:2], strict=False))
    return pairs[:40] + list(zip(brute.profiles[:10], brute.offers[-10:], strict=True))


# Each path: (queries of the world, the generator's answer, the oracle's answer).
RecommendPath = tuple[
    Callable[[BruteForce], list[Any]],
    Callable[[CandidateGenerator, Any, int], Ranking],
    Callable[[BruteForce, Any], Ranking],
]
PATHS: dict[str, RecommendPath] = {
    "offers": (
        lambda b: b.profiles[:30] + b.profiles[-30:],
        lambda g, p, k: g.recommend_offers(p, k),
        lambda b, p: b.offers_for(p, respect_preferences=True, radius_factor=1.0),
    ),
    "offers-relaxed": (
        lambda b: b.profiles[:30] + b.profiles[-30:],
        lambda g, p, k: g.recommend_offers(p, k, respect_preferences=False, radius_factor=1.5),
        lambda b, p: b.offers_for(p, respect_preferences=False, radius_factor=1.5),
    ),
    "profiles": (
        lambda b: b.offers[:30] + b.offers[-30:],
        lambda g, o, k: g.recommend_profiles(o, k),
        lambda b, o: b.profiles_for(o),
    ),
    "trainings-poe": (
        _training_pairs,
        lambda g, q, k: g.recommend_trainings(q[0], q[1], k, today=TODAY),
        lambda b, q: b.trainings_for(q[0], q[1], poe_only=True),
    ),
    "trainings-all": (
        _training_pairs,
        lambda g, q, k: g.recommend_trainings(q[0], q[1], k, today=TODAY, poe_only=False),
        lambda b, q: b.trainings_for(q[0], q[1], poe_only=False),
    ),
}


def assert_exact_top_k(answer: Ranking, oracle: Ranking, k: int) -> None:
    """``answer`` is a top-``k`` of the oracle's items: same score at every rank, items in any tie order."""
    ids, scores = answer
    oracle_ids, oracle_scores = oracle
    expected = np.sort(oracle_scores)[::-1][:k]
    assert len(ids) == len(expected)
    assert np.allclose(scores, expected, atol=1e-5)
    assert len(set(ids.tolist())) == len(ids)
    score_of = dict(zip(oracle_ids.tolist(), oracle_scores.tolist(), strict=True))
    assert set(ids.tolist()) <= set(score_of), "returned items the filters exclude"
    assert np.allclose([score_of[i] for i in ids.tolist()], scores, atol=1e-5)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("k", [5, 10_000])
def test_matches_the_brute_force_oracle(
    world: tuple[CandidateGenerator, BruteForce], path: str, k: int
) -> None:
    generator, brute = world
    queries, recommend, oracle = PATHS[path]
    found = 0
    for query in queries(brute):
        expected = oracle(brute, query)
        assert_exact_top_k(recommend(generator, query, k), expected, k)
        found += len(expected[0]) > 0
    assert found >= 10, f"only {found} queries with an answer: the check proves little"


@pytest.mark.parametrize("path", PATHS)
def test_returns_aligned_arrays_best_first(world: tuple[CandidateGenerator, BruteForce], path: str) -> None:
    generator, brute = world
    queries, recommend, _ = PATHS[path]
    for query in queries(brute):
        ids, scores = recommend(generator, query, 7)
        assert isinstance(ids, np.ndarray) and isinstance(scores, np.ndarray)
        assert ids.dtype.kind == "U" and scores.dtype == np.float32
        assert ids.shape == scores.shape and ids.ndim == 1 and len(ids) <= 7
        assert np.all(np.diff(scores) <= 0)
        assert len(recommend(generator, query, 0)[0]) == 0


@pytest.mark.parametrize("path", PATHS)
def test_an_empty_index_returns_nothing(
    world: tuple[CandidateGenerator, BruteForce], builtin: Referential, path: str
) -> None:
    _, brute = world
    queries, recommend, _ = PATHS[path]
    never_filled = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    emptied = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    emptied.index_offers([]).index_profiles(brute.profiles[:20]).index_trainings([])
    emptied.index_profiles([p.model_copy(update={"visible": False}) for p in brute.profiles[:20]])
    for generator in (never_filled, emptied):
        for query in queries(brute)[:5]:
            ids, scores = recommend(generator, query, 10)
            assert ids.shape == scores.shape == (0,)
            assert scores.dtype == np.float32
