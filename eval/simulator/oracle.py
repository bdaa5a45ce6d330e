"""The simulated people and employers as an oracle over a saved world, for evaluation and experiments.

A :class:`MarketOracle` rebuilds the simulator's hidden behaviour from a :class:`~eval.simulator.World`
(its ``hidden`` frame included) and answers "what would this person do with this offer?" for any
(profile, offer) pairs, not only the ones the logging policy showed. Offline evaluation uses it as
ground truth; the feedback-loop experiment uses it to play rounds of alerts. The engine itself never
sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.simulator.behaviour import (
    REASONS,
    AlertResponse,
    Population,
    employer_decides,
    respond_to_alerts,
    stacked_columns,
)
from eval.simulator.config import MarketConfig
from eval.simulator.entities import CONTRACTS, SCHEDULES
from eval.simulator.market import World
from eval.simulator.ragged import IntArray, Ragged
from matching.travel import density_rank

# Ground-truth relevance grades of an offer for a person who reads it.
GRADE_REFUSED, GRADE_IGNORED, GRADE_APPLIED, GRADE_ACCEPTED, GRADE_HIRED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Relevance:
    """Ground truth for ``m`` pairs: ``grade`` (0 refused … 4 hired) and the refusal ``reason`` ("" if none)."""

    grade: IntArray
    reason: npt.NDArray[np.str_]
    violated: npt.NDArray[np.bool_]  # (m, len(REASONS)): which hidden preferences each offer breaks


def _index_lists(lists: pd.Series, index: dict[str, int]) -> Ragged:
    return Ragged.from_lists([[index.setdefault(c, len(index)) for c in codes] for codes in lists])


class MarketOracle:
    """Hidden behaviour of a world's people and employers, addressed by profile and offer ids.

    Parameters
    ----------
    world
        A generated world, with its ``hidden`` frame (true preferences).
    """

    def __init__(self, world: World) -> None:
        if world.hidden.empty:
            raise ValueError("this world has no hidden preferences: an oracle needs a simulated world")
        self.config: MarketConfig = world.config
        profiles = world.profiles.set_index("id", drop=False)
        hidden = world.hidden.set_index("profile_id").loc[profiles.index]
        offers = world.offers.set_index("id", drop=False)
        self.profile_index = pd.Index(profiles.index)
        self.offer_index = pd.Index(offers.index)
        fiche: dict[str, int] = {}
        skill: dict[str, int] = {}
        project = profiles["rome_codes"].tolist()
        first = np.array([fiche.setdefault(c[0], len(fiche)) for c in project], dtype=np.int64)
        second = np.array(
            [fiche.setdefault(c[1], len(fiche)) if len(c) > 1 else -1 for c in project], dtype=np.int64
        )
        accepts = np.column_stack([hidden[f"true_accepts_{c}"].to_numpy(bool) for c in CONTRACTS.tolist()])
        hidden_columns = {
            c: hidden[c].to_numpy() for c in hidden.columns if not c.startswith("true_accepts_")
        }
        registered = pd.to_datetime(profiles["registered_at"], utc=True).dt.tz_localize(None)
        start = pd.Timestamp(world.config.start)
        profile_columns = {
            "fiche": first,
            "second_fiche": second,
            "lat": profiles["home_lat"].to_numpy(float),
            "lon": profiles["home_lon"].to_numpy(float),
            "experience_months": profiles["experience_months"].to_numpy(np.int64),
            "true_accepts_contract": accepts,
            "registered_day": ((registered - start).dt.days).to_numpy(np.int64),
            **hidden_columns,
            **stacked_columns(hidden_columns),
        }
        offer_columns = {
            "fiche": np.array([fiche.setdefault(c, len(fiche)) for c in offers["rome_code"]], dtype=np.int64),
            "lat": offers["lat"].to_numpy(float),
            "lon": offers["lon"].to_numpy(float),
            "contract_type": offers["contract_type"].to_numpy(str),
            "full_time": offers["full_time"].to_numpy(bool),
            "salary_max_monthly": offers["salary_max_monthly"].to_numpy(float),
            "required_skills": _index_lists(offers["required_skills"], skill),
            "experience": offers["experience"].to_numpy(str),
            "experience_months": offers["experience_months"].to_numpy(np.int64),
            "true_density": density_rank(offers["lat"].to_numpy(float), offers["lon"].to_numpy(float)),
        }
        if "schedule" in offers:  # worlds generated before the working-time attributes have none
            offer_columns["schedule"] = np.array(
                [[s in set(codes) for s in SCHEDULES.tolist()] for codes in offers["schedule"]], dtype=bool
            ).reshape(len(offers), len(SCHEDULES))
            offer_columns["employer_size_band"] = offers["employer_size_band"].to_numpy(np.int64)
        skills = _index_lists(profiles["skills"], skill)
        self.population = Population(profile_columns, offer_columns, skills)

    def _positions(self, profile_ids: npt.ArrayLike, offer_ids: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        p = self.profile_index.get_indexer(np.asarray(profile_ids))
        o = self.offer_index.get_indexer(np.asarray(offer_ids))
        if (p < 0).any() or (o < 0).any():
            raise KeyError("unknown profile or offer id given to the market oracle")
        return p.astype(np.int64), o.astype(np.int64)

    def respond(
        self,
        profile_ids: npt.ArrayLike,
        offer_ids: npt.ArrayLike,
        ranks: IntArray,
        *,
        week: int,
        rng: np.random.Generator,
    ) -> AlertResponse:
        """What people do with alerts shown at ``ranks``: open (position-biased), refuse with a reason, apply."""
        p, o = self._positions(profile_ids, offer_ids)
        return respond_to_alerts(self.population, p, o, np.asarray(ranks), week, self.config, rng)

    def relevance(
        self, profile_ids: npt.ArrayLike, offer_ids: npt.ArrayLike, *, week: int, rng: np.random.Generator
    ) -> Relevance:
        """Ground-truth grade of each pair for a person who reads the offer (no position bias).

        0: refused (with its reason), 1: read and left, 2: applied, 3: employer accepted, 4: hired.
        """
        p, o = self._positions(profile_ids, offer_ids)
        m = len(p)
        response = respond_to_alerts(
            self.population,
            p,
            o,
            np.ones(m, dtype=np.int64),
            week,
            self.config,
            rng,
            examined=np.ones(m, bool),
        )
        decision = employer_decides(self.population, p, o, rng)
        grade = np.full(m, GRADE_IGNORED, dtype=np.int64)
        grade[response.declined] = GRADE_REFUSED  # stated or not: what the person did
        applied = response.applied
        grade[applied] = GRADE_APPLIED
        grade[applied & decision.accepted] = GRADE_ACCEPTED
        grade[applied & decision.hired] = GRADE_HIRED
        return Relevance(grade, response.reason, response.violated)


__all__ = ["REASONS", "MarketOracle", "Relevance"]
