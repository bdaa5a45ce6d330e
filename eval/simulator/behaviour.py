"""Hidden behaviour of simulated people and employers, as pure vectorised functions.

Each function takes ``m`` (profile, offer) pairs as index arrays of shape ``(m,)`` and returns arrays of
the same length. The engine never reads the ``true_*`` columns: it must learn them from the refusal
reasons, applications and hires these functions emit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from eval.simulator.config import MarketConfig
from eval.simulator.entities import CONTRACTS, Columns
from eval.simulator.ragged import IntArray, Ragged
from matching.geo import haversine_km

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Column order of the violation matrix; "deja_en_poste" always wins when it holds.
REASONS = ("deja_en_poste", "metier", "distance", "type_contrat", "horaires", "salaire", "competences")
_CONTRACT_INDEX = {c: i for i, c in enumerate(CONTRACTS.tolist())}


@dataclass
class Population:
    """Arrays the behaviour reads: the entities' columns plus the current skills of each profile."""

    profiles: Columns
    offers: Columns
    skills: Ragged  # current skills of each profile (initial + learned in trainings)

    def col(self, table: str, name: str) -> npt.NDArray[Any]:
        arr = (self.profiles if table == "p" else self.offers)[name]
        assert isinstance(arr, np.ndarray)
        return arr


def required_coverage(pop: Population, p: IntArray, o: IntArray) -> FloatArray:
    """Share of each offer's required skills the person has; 1.0 when the offer requires none."""
    required = pop.offers["required_skills"]
    assert isinstance(required, Ragged)
    picked = required.take(o)
    owners = picked.owners()
    has = pop.skills.membership(p[owners], picked.values)
    hits = np.bincount(owners, weights=has, minlength=len(o))
    return np.where(picked.lengths > 0, hits / np.maximum(picked.lengths, 1), 1.0)


def pair_distance_km(pop: Population, p: IntArray, o: IntArray) -> FloatArray:
    return haversine_km(
        pop.col("p", "lat")[p], pop.col("p", "lon")[p], pop.col("o", "lat")[o], pop.col("o", "lon")[o]
    )


def in_project(pop: Population, p: IntArray, o: IntArray) -> BoolArray:
    fiche = pop.col("o", "fiche")[o]
    return (fiche == pop.col("p", "fiche")[p]) | (fiche == pop.col("p", "second_fiche")[p])


def violations(pop: Population, p: IntArray, o: IntArray, week: int, rng: np.random.Generator) -> BoolArray:
    """Which hidden preferences each offer violates for its person, shape ``(m, len(REASONS))``."""
    m = len(p)
    out = np.zeros((m, len(REASONS)), dtype=bool)
    out[:, 0] = week >= pop.col("p", "true_exit_week")[p]
    out[:, 1] = ~in_project(pop, p, o) & (rng.random(m) > pop.col("p", "true_openness")[p])
    out[:, 2] = pair_distance_km(pop, p, o) > pop.col("p", "true_commute_km")[p]
    contract = np.array(
        [_CONTRACT_INDEX[c] for c in pop.col("o", "contract_type")[o].tolist()], dtype=np.int64
    )
    accepts = pop.profiles["true_accepts_contract"]
    assert isinstance(accepts, np.ndarray)
    out[:, 3] = ~accepts[p, contract]
    wants_full = pop.col("p", "true_wants_full_time")[p].astype(bool)
    offer_full = pop.col("o", "full_time")[o].astype(bool)
    out[:, 4] = (wants_full != offer_full) & (rng.random(m) < pop.col("p", "true_hours_strictness")[p])
    out[:, 5] = pop.col("o", "salary_max_monthly")[o] < pop.col("p", "true_salary_floor")[p]
    out[:, 6] = (required_coverage(pop, p, o) < 0.5) & (rng.random(m) < 0.6)
    return out


@dataclass(frozen=True)
class AlertResponse:
    """Outcome of alerts, each shape ``(m,)``; ``reason`` is "" where the alert was not refused."""

    opened: BoolArray
    refused: BoolArray
    reason: npt.NDArray[np.str_]
    applied: BoolArray
    violated: BoolArray  # shape (m, len(REASONS)): ground truth, for tests and evaluation only


def position_bias(rank: IntArray) -> FloatArray:
    """Probability of examining an item shown at ``rank`` (1 = top), relative to the top."""
    return 1.0 / np.log2(rank.astype(np.float64) + 1.0)


def respond_to_alerts(
    pop: Population,
    p: IntArray,
    o: IntArray,
    rank: IntArray,
    week: int,
    config: MarketConfig,
    rng: np.random.Generator,
    *,
    examined: BoolArray | None = None,
) -> AlertResponse:
    """Simulate people opening, refusing (with a reason) or applying to the alerts they were sent.

    The stated reason is one of the violated preferences (uniformly), ``deja_en_poste`` first; a share
    ``reason_noise`` of refusals says "autre", and a share ``spurious_refusal`` of fitting offers is
    refused anyway ("autre"). ``examined`` forces which alerts are opened (ground-truth relevance
    looks at every item as if it were read); by default opening follows engagement and position bias.
    """
    m = len(p)
    if examined is None:
        opened = rng.random(m) < pop.col("p", "true_engagement")[p] * position_bias(rank)
    else:
        opened = np.asarray(examined, dtype=bool)
    violated = violations(pop, p, o, week, rng)
    any_violation = violated.any(axis=1)
    keys = rng.random(violated.shape) * violated
    keys[:, 0] += violated[:, 0] * 2.0  # already employed trumps every other reason
    chosen = np.array(REASONS)[np.argmax(keys, axis=1)]
    spurious = ~any_violation & (rng.random(m) < config.spurious_refusal)
    refused = opened & (any_violation | spurious)
    reason = np.where(spurious | (rng.random(m) < config.reason_noise), "autre", chosen)
    reason = np.where(refused, reason, "")
    coverage = required_coverage(pop, p, o)
    applied = opened & ~refused & (rng.random(m) < 0.25 + 0.6 * coverage)
    return AlertResponse(opened, refused, reason, applied, violated)


@dataclass(frozen=True)
class EmployerResponse:
    accepted: BoolArray
    reason: npt.NDArray[np.str_]  # "" where accepted
    hired: BoolArray  # before the offer's open positions are checked


def employer_decides(pop: Population, p: IntArray, o: IntArray, rng: np.random.Generator) -> EmployerResponse:
    """Employers refuse on missing core skills or experience; hires follow fit."""
    m = len(p)
    coverage = required_coverage(pop, p, o)
    lacks_skills = (coverage < 0.6) & (rng.random(m) < 0.9)
    needs_experience = pop.col("o", "experience")[o] == "E"
    short_experience = pop.col("p", "experience_months")[p] < 0.75 * pop.col("o", "experience_months")[o]
    lacks_experience = needs_experience & short_experience & (rng.random(m) < 0.85)
    other = rng.random(m) > 0.75
    reason = np.where(
        lacks_skills, "competences", np.where(lacks_experience, "experience", np.where(other, "autre", ""))
    )
    accepted = reason == ""
    hired = accepted & (rng.random(m) < 0.35 + 0.4 * coverage)
    return EmployerResponse(accepted, reason, hired)
