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
from eval.simulator.entities import CONTRACTS, MOBILITY_MODES, SCHEDULES, Columns
from eval.simulator.ragged import IntArray, Ragged
from matching.geo import haversine_km
from matching.travel import travel_minutes

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


def stacked_columns(columns: Columns) -> Columns:
    """The matrices the behaviour reads, from per-column hidden values (as a world's ``hidden`` frame
    stores them): ``true_dislikes`` ``(n, len(SCHEDULES))`` and ``true_relax_months``
    ``(n, len(CONTRACTS))``; absent from worlds generated before these market models."""
    out: Columns = {}
    if all(f"true_dislikes_{s}" in columns for s in SCHEDULES.tolist()):
        out["true_dislikes"] = np.column_stack(
            [np.asarray(columns[f"true_dislikes_{s}"], dtype=bool) for s in SCHEDULES.tolist()]
        )
    if all(f"true_relax_months_{c}" in columns for c in CONTRACTS.tolist()):
        out["true_relax_months"] = np.column_stack(
            [np.asarray(columns[f"true_relax_months_{c}"], dtype=float) for c in CONTRACTS.tolist()]
        )
    return out


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


@dataclass(frozen=True)
class Mechanisms:
    """What a market model changes from decisions by hard thresholds (all off: ``thresholds``)."""

    utility: bool = False  # ordered logit over an additive utility instead of thresholds
    travel_time: bool = False  # commute judged in minutes by the person's means of transport
    own_pay: bool = False  # salary judged against the person's own pay, not the occupation's rate
    schedule: bool = False  # nights, weekends, shifts and split days refused by who dislikes them
    relaxing: bool = False  # tolerances widen with months since registration
    cascade: bool = False  # alerts read top-down, reading stops after an attractive one
    noisy_reasons: bool = False  # stated reasons often wrong or "autre"; some people never say


MECHANISMS: dict[str, Mechanisms] = {
    "thresholds": Mechanisms(),
    "utility": Mechanisms(utility=True),
    "travel_time": Mechanisms(travel_time=True),
    "own_pay": Mechanisms(own_pay=True),
    "schedule": Mechanisms(schedule=True),
    "relaxing": Mechanisms(relaxing=True),
    "cascade": Mechanisms(cascade=True),
    "noisy_reasons": Mechanisms(noisy_reasons=True),
}
MONTH_DAYS = 30.44
# Door-to-door speed (km/h of straight-line distance) of each means of transport in the sparsest and
# the densest areas, and the fixed minutes of each trip (parking, walking to a stop, waiting).
# Cars are slower in dense areas, public transport faster (frequency, direct lines): the average
# one-way commute of about 25 minutes (DARES Analyses 2015-081) at a median 12–15 km.
SPEED_SPARSE_KMH = np.array([42.0, 9.0, 13.0, 4.5])
SPEED_DENSE_KMH = np.array([22.0, 20.0, 14.0, 4.5])
TRIP_OVERHEAD_MIN = np.array([4.0, 10.0, 2.0, 0.0])
# Utility model: intercept and the cut between "left unread" and "applied" (ordered logit cuts; a
# refusal below 0). Chosen so that about as many read offers are refused as by thresholds.
UTILITY_INTERCEPT = 1.3
UTILITY_APPLY_CUT = 2.0
UTILITY_NOISE = 0.6  # scale of the logistic taste shock of each (person, offer)


def true_travel_minutes(km: FloatArray, mode: IntArray, density: FloatArray) -> FloatArray:
    """Door-to-door minutes of a commute of ``km`` (straight line) by ``mode`` (index of
    :data:`~eval.simulator.entities.MOBILITY_MODES`) to a place of ``density``: the simulated truth,
    with speeds of its own (the engine estimates with :mod:`matching.travel`'s)."""
    return travel_minutes(
        km,
        MOBILITY_MODES[mode],
        density,
        sparse_kmh=SPEED_SPARSE_KMH,
        dense_kmh=SPEED_DENSE_KMH,
        overhead_min=TRIP_OVERHEAD_MIN,
    )


def months_registered(pop: Population, p: IntArray, week: int) -> FloatArray:
    """Months since each person registered, at the start of ``week``."""
    return np.maximum(week * 7 - pop.col("p", "registered_day")[p], 0) / MONTH_DAYS


@dataclass(frozen=True)
class PairTerms:
    """What a person weighs in an offer, each shape ``(m,)``: commute over tolerance (1 = the limit),
    log of salary over the person's floor, whether the contract is acceptable, full/part-time
    mismatch, how many disliked working-time attributes, in the project, skill coverage."""

    commute: FloatArray
    log_pay: FloatArray
    contract_ok: BoolArray
    hours_mismatch: BoolArray
    disliked: FloatArray
    in_project: BoolArray
    coverage: FloatArray


def pair_terms(pop: Population, p: IntArray, o: IntArray, week: int, mech: Mechanisms) -> PairTerms:
    """The person-relative terms of each pair under the market model's mechanisms."""
    km = pair_distance_km(pop, p, o)
    months = months_registered(pop, p, week) if mech.relaxing else np.zeros(len(p))
    relax = months * pop.col("p", "true_relax_rate")[p] if mech.relaxing else 0.0
    if mech.travel_time:
        minutes = true_travel_minutes(km, pop.col("p", "true_mode")[p], pop.col("o", "true_density")[o])
        commute = minutes / pop.col("p", "true_commute_minutes")[p]
    else:
        commute = km / pop.col("p", "true_commute_km")[p]
    commute = commute / (1.0 + relax)
    floor = pop.col("p", "true_own_pay_floor" if mech.own_pay else "true_salary_floor")[p]
    floor = floor * (1.0 - 0.2 * relax)
    salary = pop.col("o", "salary_max_monthly")[o]
    contract = np.array(
        [_CONTRACT_INDEX[c] for c in pop.col("o", "contract_type")[o].tolist()], dtype=np.int64
    )
    accepts = pop.profiles["true_accepts_contract"]
    assert isinstance(accepts, np.ndarray)
    contract_ok = accepts[p, contract]
    if mech.relaxing:
        relax_months = pop.profiles["true_relax_months"]
        assert isinstance(relax_months, np.ndarray)
        contract_ok = contract_ok | (months >= relax_months[p, contract])
    wants_full = pop.col("p", "true_wants_full_time")[p].astype(bool)
    offer_full = pop.col("o", "full_time")[o].astype(bool)
    if mech.schedule:
        dislikes = pop.profiles["true_dislikes"]
        schedule = pop.offers["schedule"]
        assert isinstance(dislikes, np.ndarray) and isinstance(schedule, np.ndarray)
        disliked = (dislikes[p] & schedule[o]).sum(axis=1).astype(float)
    else:
        disliked = np.zeros(len(p))
    return PairTerms(
        commute=np.asarray(commute, dtype=float),
        log_pay=np.log(np.maximum(salary, 1.0) / np.maximum(floor, 1.0)),
        contract_ok=contract_ok,
        hours_mismatch=wants_full != offer_full,
        disliked=disliked,
        in_project=in_project(pop, p, o),
        coverage=required_coverage(pop, p, o),
    )


def violations(
    pop: Population,
    p: IntArray,
    o: IntArray,
    week: int,
    rng: np.random.Generator,
    mech: Mechanisms | None = None,
    terms: PairTerms | None = None,
) -> BoolArray:
    """Which hidden preferences each offer violates for its person (thresholds), shape ``(m, len(REASONS))``."""
    mech = mech or Mechanisms()
    terms = terms or pair_terms(pop, p, o, week, mech)
    m = len(p)
    out = np.zeros((m, len(REASONS)), dtype=bool)
    out[:, 0] = week >= pop.col("p", "true_exit_week")[p]
    out[:, 1] = ~terms.in_project & (rng.random(m) > pop.col("p", "true_openness")[p])
    out[:, 2] = terms.commute > 1.0
    out[:, 3] = ~terms.contract_ok
    out[:, 4] = (terms.hours_mismatch & (rng.random(m) < pop.col("p", "true_hours_strictness")[p])) | (
        terms.disliked > 0
    )
    out[:, 5] = terms.log_pay < 0.0
    out[:, 6] = (terms.coverage < 0.5) & (rng.random(m) < 0.6)
    return out


def utility_contributions(pop: Population, p: IntArray, terms: PairTerms, o: IntArray) -> FloatArray:
    """Each attribute's part of the person's utility, shape ``(m, len(REASONS))`` (column 0 unused):
    negative where the offer falls short, the salary's positive where it pays above the floor.

    A random-utility model (McFadden 1974): a good salary can compensate a long commute. Weights are
    personal (log-normal around the population's); a commute at the person's limit costs about what
    a salary 20 % under their floor does, the order of the trade-off French jobseekers declare between
    reservation wage and maximum commute (Le Barbanchon, Rathelot and Roulet 2021).
    """
    w = {name: pop.col("p", f"true_w_{name}")[p] for name in ("salary", "commute", "contract", "hours")}
    out = np.zeros((len(p), len(REASONS)))
    openness = pop.col("p", "true_openness")[p]
    out[:, 1] = -pop.col("p", "true_w_project")[p] * (1.0 - openness) * ~terms.in_project
    out[:, 2] = -w["commute"] * np.maximum(terms.commute - 0.6, 0.0)
    out[:, 3] = -w["contract"] * ~terms.contract_ok
    out[:, 4] = -w["hours"] * (terms.hours_mismatch + terms.disliked)
    out[:, 5] = w["salary"] * np.clip(terms.log_pay, -1.5, 0.3)
    out[:, 6] = -pop.col("p", "true_w_skills")[p] * np.maximum(0.6 - terms.coverage, 0.0)
    return out


@dataclass(frozen=True)
class AlertResponse:
    """Outcome of alerts, each shape ``(m,)``; ``reason`` is "" where no refusal was stated.

    ``refused``: refusals the person stated (logged); ``declined``: every offer the person turned
    down, stated or not (ground truth: equal to ``refused`` unless some people never answer).
    """

    opened: BoolArray
    refused: BoolArray
    reason: npt.NDArray[np.str_]
    applied: BoolArray
    violated: BoolArray  # shape (m, len(REASONS)): ground truth, for tests and evaluation only
    declined: BoolArray


def position_bias(rank: IntArray) -> FloatArray:
    """Probability of examining an item shown at ``rank`` (1 = top), relative to the top."""
    return 1.0 / np.log2(rank.astype(np.float64) + 1.0)


def _cascade_opened(
    pop: Population, p: IntArray, rank: IntArray, attractive: BoolArray, rng: np.random.Generator
) -> BoolArray:
    """Cascade examination (Craswell et al. 2008): each person reads their list top-down, starts with
    their engagement, goes on with their persistence, and stops after an offer they apply to with a
    personal probability. One list per person among the rows."""
    people, list_of = np.unique(p, return_inverse=True)
    reading = rng.random(len(people)) < pop.col("p", "true_engagement")[people]
    opened = np.zeros(len(p), dtype=bool)
    for r in np.unique(rank).tolist():
        rows = np.flatnonzero(rank == r)
        lists = list_of[rows]
        opened[rows] = reading[lists]
        goes_on = rng.random(len(rows)) < pop.col("p", "true_persistence")[p[rows]]
        stops = attractive[rows] & (rng.random(len(rows)) < pop.col("p", "true_stop_after_apply")[p[rows]])
        reading[lists] = reading[lists] & goes_on & ~stops
    return opened


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

    The market model (``config.market``, :data:`MECHANISMS`) sets how. By thresholds, an offer
    violating a hidden preference is refused, the stated reason one of the violated preferences
    (uniformly), ``deja_en_poste`` first; a share ``reason_noise`` of refusals says "autre", and a share
    ``spurious_refusal`` of fitting offers is refused anyway ("autre"). By utility, an ordered logit
    refuses, leaves or applies; the reason is the attribute costing the most. ``examined`` forces
    which alerts are opened (ground-truth relevance looks at every item as if it were read); by
    default opening follows engagement and position bias (or the cascade).
    """
    mech = MECHANISMS[config.market]
    m = len(p)
    if examined is not None:
        opened = np.asarray(examined, dtype=bool)
    elif not mech.cascade:
        opened = rng.random(m) < pop.col("p", "true_engagement")[p] * position_bias(rank)
    terms = pair_terms(pop, p, o, week, mech)
    violated = violations(pop, p, o, week, rng, mech, terms)
    if mech.utility:
        parts = utility_contributions(pop, p, terms, o)
        size = pop.col("o", "employer_size_band")[o].astype(float)
        value = UTILITY_INTERCEPT + parts.sum(axis=1) + 0.05 * (size - 4.0)
        noisy = value + rng.logistic(0.0, UTILITY_NOISE, m)
        exited = violated[:, 0]
        declined = exited | (noisy < 0.0)
        costs = np.where(parts < 0.0, parts, 0.0)
        costs[:, 0] = 0.0
        chosen = np.array(REASONS)[np.argmin(costs, axis=1)]
        chosen = np.where(exited, "deja_en_poste", np.where(costs.min(axis=1) < 0.0, chosen, "autre"))
        violated = np.column_stack([exited, parts[:, 1:] < -0.5])
        would_apply = ~declined & (noisy > UTILITY_APPLY_CUT)
        reason = np.where(rng.random(m) < config.reason_noise, "autre", chosen)
    else:
        any_violation = violated.any(axis=1)
        keys = rng.random(violated.shape) * violated
        keys[:, 0] += violated[:, 0] * 2.0  # already employed trumps every other reason
        chosen = np.array(REASONS)[np.argmax(keys, axis=1)]
        spurious = ~any_violation & (rng.random(m) < config.spurious_refusal)
        declined = any_violation | spurious
        reason = np.where(spurious | (rng.random(m) < config.reason_noise), "autre", chosen)
        coverage = terms.coverage
        would_apply = ~declined & (rng.random(m) < 0.25 + 0.6 * coverage)
    if examined is None and mech.cascade:
        opened = _cascade_opened(pop, p, rank, would_apply, rng)
    stated = np.ones(m, dtype=bool)
    if mech.noisy_reasons:
        # The true reason 55 % of the time, "autre" 30 %, another reason 15 %; a fifth of people
        # never answer (they leave the alert): no public figure exists, these are assumptions.
        u = rng.random(m)
        other = np.array(REASONS[1:])[rng.integers(0, len(REASONS) - 1, m)]
        reason = np.where(
            reason == "deja_en_poste", reason, np.where(u < 0.55, reason, np.where(u < 0.85, "autre", other))
        )
        stated = pop.col("p", "true_gives_reasons")[p].astype(bool)
    declined = opened & declined
    refused = declined & stated
    reason = np.where(refused, reason, "")
    applied = opened & would_apply
    return AlertResponse(opened, refused, reason, applied, violated, declined)


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
