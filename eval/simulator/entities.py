"""Generation of the simulated market's entities: places, profiles (with hidden preferences), offers,
trainings and audit-only attributes. Vectorised: one call draws every entity of a kind at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from eval.simulator.config import MarketConfig
from eval.simulator.ragged import IntArray, Ragged, sample_sublists
from matching.geo import Communes, department_of
from matching.referential import Referential

if TYPE_CHECKING:
    from eval.simulator.anchor import Anchoring

FloatArray = npt.NDArray[np.float64]
Columns = dict[str, Any]  # entity columns: NumPy arrays of shape (n,) or Ragged lists
BoolArray = npt.NDArray[np.bool_]

CONTRACTS = np.array(["CDI", "CDD", "MIS", "SAI", "DDI"])
CONTRACT_SHARES = np.array([0.45, 0.30, 0.18, 0.04, 0.03])
QUALIFICATIONS = np.array(["1", "2", "3", "4", "5", "6", "7", "8", "9"])
QUALIFICATION_SHARES = np.array([0.06, 0.12, 0.10, 0.05, 0.12, 0.25, 0.15, 0.07, 0.08])
COMMUTE_CHOICES_KM = np.array([5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0])
COMMUTE_SHARES = np.array([0.06, 0.16, 0.2, 0.22, 0.2, 0.09, 0.07])
DECLARED_CONTRACT_SETS = [["CDI"], ["CDI", "CDD"], ["CDI", "CDD", "MIS"], []]
DECLARED_CONTRACT_SHARES = np.array([0.45, 0.28, 0.17, 0.10])
FULL_TIME_HOURS = np.array([35.0, 37.0, 39.0])
KM_PER_DEGREE = 111.2
BASE_MONTHLY_PAY = 1900.0  # gross monthly pay of an average occupation, full time
# Spread (sd of log) of offered pay within an occupation: the real offers file gives a median 0.25
# over the 16 ROME codes with at least 10 full-time offers stating a salary (1,244 offers), of which
# the offers' own min–max range accounts for a part.
OFFER_PAY_DISPERSION = 0.22
# Means of transport declared by jobseekers. Insee Première n° 1835 (2021) counts 74 % of commuters
# driving, 16 % on public transport, 6 % walking and 3 % cycling; jobseekers have fewer cars.
MOBILITY_MODES = np.array(["voiture", "transports_en_commun", "velo", "marche"])
MOBILITY_SHARES = np.array([0.66, 0.26, 0.04, 0.04])
# Typical door-to-door speed of each mode (km/h of straight-line distance), for the minutes a person
# declares: about 25 minutes for a median 12–15 km commute by car (DARES Analyses 2015-081).
TYPICAL_SPEED_KMH = np.array([33.0, 15.0, 13.0, 4.5])
MINUTE_CHOICES = np.array([15, 20, 30, 45, 60, 90])
# Working-time attributes of offers (France Travail's "conditions d'exercice"): shares of offers, and
# of people who refuse an offer with that attribute. About 15 % of employees work at night at least
# occasionally (DARES Analyses 2014-062) and Saturday work is far more common; shares are lower among
# offers, which mention fewer attributes than jobs have (see data/sample/README.md).
SCHEDULES = np.array(["nuit", "week_end", "horaires_decales", "coupure"])
SCHEDULE_SHARES = np.array([0.07, 0.16, 0.09, 0.05])
SCHEDULE_DISLIKED = np.array([0.6, 0.45, 0.4, 0.5])
# Establishment size bands (INSEE "tranches d'effectif salarié" as ordinals 0..14): most hiring
# establishments are small.
EMPLOYER_SIZE_SHARES = np.array(
    [0.10, 0.12, 0.13, 0.12, 0.14, 0.14, 0.08, 0.06, 0.02, 0.04, 0.02, 0.01, 0.01, 0.005, 0.005]
)


@dataclass(frozen=True)
class RomeArrays:
    """The referential flattened into arrays for vectorised sampling (``F`` usable fiches)."""

    fiche_codes: npt.NDArray[np.str_]
    parent: IntArray
    core: Ragged
    other: Ragged
    neighbours: Ragged
    appellations: Ragged
    appellation_codes: npt.NDArray[np.str_]
    appellation_labels: npt.NDArray[np.str_]
    skill_codes: npt.NDArray[np.str_]
    skill_labels: npt.NDArray[np.str_]

    @property
    def n_fiches(self) -> int:
        return len(self.fiche_codes)


def flatten_referential(referential: Referential) -> RomeArrays:
    """Keep the fiches that have core skills and appellations, and index everything by integers."""
    usable = sorted(
        code
        for code in referential.fiches
        if referential.skills_of(code).core and referential.appellations_of(code)
    )
    index = {code: i for i, code in enumerate(usable)}
    skill_codes = sorted({s for code in usable for s in referential.skills_of(code).all})
    skill_index = {code: i for i, code in enumerate(skill_codes)}
    app_codes: list[str] = []
    app_lists = []
    for code in usable:
        apps = referential.appellations_of(code)
        app_lists.append(list(range(len(app_codes), len(app_codes) + len(apps))))
        app_codes.extend(a.code for a in apps)
    return RomeArrays(
        fiche_codes=np.array(usable),
        parent=np.array([index.get(referential.fiches[c].parent_code, i) for i, c in enumerate(usable)]),
        core=Ragged.from_lists([[skill_index[s] for s in referential.skills_of(c).core] for c in usable]),
        other=Ragged.from_lists([[skill_index[s] for s in referential.skills_of(c).other] for c in usable]),
        neighbours=Ragged.from_lists(
            [[index[t] for t, _ in referential.mobility_neighbours(c) if t in index] for c in usable]
        ),
        appellations=Ragged.from_lists(app_lists),
        appellation_codes=np.array(app_codes),
        appellation_labels=np.array([referential.appellations[a].label for a in app_codes]),
        skill_codes=np.array(skill_codes),
        skill_labels=np.array([referential.skills[s].label for s in skill_codes]),
    )


@dataclass(frozen=True)
class Geography:
    """Places entities are drawn from, with employment hubs (weighted) to cluster people and jobs."""

    communes: Communes
    hubs: IntArray
    hub_weights: FloatArray
    tree: cKDTree = field(repr=False)

    @classmethod
    def build(cls, communes: Communes, n_hubs: int, rng: np.random.Generator) -> Geography:
        # Overseas collectivities outside France Travail's network (98x) and Monaco (99) are left out.
        eligible = np.array([not department_of(c).startswith(("98", "99")) for c in communes.insee.tolist()])
        candidates = np.flatnonzero(eligible)
        n_hubs = min(n_hubs, len(candidates))
        hubs = np.sort(rng.choice(candidates, size=n_hubs, replace=False))
        weights = 1.0 / np.arange(1, n_hubs + 1) ** 0.8  # a few big employment areas, many small ones
        weights = rng.permutation(weights)
        xyz = _unit_vectors(communes.lat, communes.lon)
        return cls(communes, hubs.astype(np.int64), weights / weights.sum(), cKDTree(xyz))

    @classmethod
    def around(cls, communes: Communes, hubs: IntArray, weights: FloatArray) -> Geography:
        """Hubs at given communes (rows of ``communes``) with given weights, e.g. real offers' places."""
        xyz = _unit_vectors(communes.lat, communes.lon)
        return cls(communes, hubs, weights / weights.sum(), cKDTree(xyz))

    def sample(
        self, n: int, radius_km: float, rng: np.random.Generator, hub: IntArray | None = None
    ) -> tuple[IntArray, FloatArray, FloatArray]:
        """Draw ``n`` places around hubs: ``(commune index, lat, lon)``, each shape ``(n,)``.

        Coordinates stand for the exact address (hub + Gaussian spread); the commune is the nearest one.
        ``hub`` (positions in :attr:`hubs`, shape ``(n,)``) places each one around a chosen hub;
        otherwise hubs are drawn by weight.
        """
        if hub is None:
            hub = rng.choice(len(self.hubs), size=n, p=self.hub_weights)
        hub = self.hubs[hub]
        lat = self.communes.lat[hub] + rng.normal(0, radius_km / KM_PER_DEGREE, n)
        coslat = np.maximum(np.cos(np.radians(self.communes.lat[hub])), 0.2)
        lon = self.communes.lon[hub] + rng.normal(0, radius_km / KM_PER_DEGREE, n) / coslat
        _, nearest = self.tree.query(_unit_vectors(lat, lon))
        return np.asarray(nearest, dtype=np.int64), lat, lon


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])


def fiche_weights(n_fiches: int, rng: np.random.Generator, exponent: float = 0.9) -> FloatArray:
    """Zipf-like popularity of fiches in a random order, shape ``(n_fiches,)``."""
    weights = rng.permutation(1.0 / np.arange(1, n_fiches + 1) ** exponent)
    return weights / weights.sum()


def pick_from_lists(lists: Ragged, rows: IntArray, rng: np.random.Generator) -> IntArray:
    """One uniformly drawn value of each list ``lists[rows[i]]`` (the lists must be non-empty)."""
    lengths = lists.lengths[rows]
    return lists.values[lists.offsets[rows] + (rng.random(len(rows)) * lengths).astype(np.int64)]


def _fiches_and_hubs(
    n: int,
    rome: RomeArrays,
    geo: Geography,
    popularity: FloatArray,
    rng: np.random.Generator,
    anchoring: Anchoring | None,
    *,
    neighbours: bool = False,
) -> tuple[IntArray, IntArray | None]:
    """Each entity's fiche, and its hub when the world is anchored (``None``: drawn with the place)."""
    if anchoring is None:  # exactly the draws of an unanchored world, which keeps its bytes
        return rng.choice(rome.n_fiches, size=n, p=popularity), None
    return anchoring.draw(n, popularity, geo.hub_weights, rng, neighbours=neighbours)


def _dates(start: date, day_offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    return np.datetime64(start, "D") + day_offsets.astype("timedelta64[D]")


def generate_profiles(
    config: MarketConfig,
    rome: RomeArrays,
    geo: Geography,
    popularity: FloatArray,
    fiche_pay: FloatArray,
    rng: np.random.Generator,
    anchoring: Anchoring | None = None,
) -> Columns:
    """Draw jobseekers: declared job project and preferences, plus hidden true preferences.

    Returns a dict of columns (arrays of shape ``(n_profiles,)`` or :class:`Ragged`); hidden
    preferences have keys prefixed ``true_`` and never leave the simulator except as ground truth.
    With ``anchoring``, most people live at its seeds in their occupation (or one leading to it).
    """
    n = config.n_profiles
    fiche, hub = _fiches_and_hubs(n, rome, geo, popularity, rng, anchoring, neighbours=True)
    has_neighbour = rome.neighbours.lengths[fiche] > 0
    second = np.where(
        has_neighbour & (rng.random(n) < 0.3),
        pick_from_lists(rome.neighbours, np.where(has_neighbour, fiche, 0), rng)
        if has_neighbour.any()
        else -1,
        -1,
    )
    level = rng.beta(4, 2, n)  # hidden overall skill level of the person
    skills = sample_sublists(rome.core, fiche, level, rng).concat_rows(
        sample_sublists(rome.other, fiche, 0.6 * level, rng)
    )
    extra = sample_sublists(
        rome.core, np.where(second >= 0, second, fiche), np.where(second >= 0, 0.4 * level, 0.0), rng
    )
    skills = skills.concat_rows(extra).unique_rows()
    experience = np.where(rng.random(n) < 0.15, 0, rng.exponential(36 * level + 6, n)).astype(np.int64)
    place, lat, lon = geo.sample(n, config.hub_radius_km, rng, hub)
    commute = rng.choice(COMMUTE_CHOICES_KM, size=n, p=COMMUTE_SHARES)
    contract_set = rng.choice(len(DECLARED_CONTRACT_SETS), size=n, p=DECLARED_CONTRACT_SHARES)
    wants_full_time = rng.random(n) < 0.78
    # Expectations follow the occupation's going rate, a little higher with experience.
    base_salary = BASE_MONTHLY_PAY * fiche_pay[fiche] * (0.9 + 0.0015 * np.minimum(experience, 120))
    declares_salary = rng.random(n) < 0.6
    salary_floor = np.round(base_salary * rng.lognormal(-0.05, 0.12, n), -1)
    registered = -rng.integers(0, 180, n)
    accepts = np.zeros((n, len(CONTRACTS)), dtype=bool)
    for k, contract in enumerate(CONTRACTS):
        declared = np.array([contract in s or not s for s in DECLARED_CONTRACT_SETS])[contract_set]
        accepts[:, k] = declared | (rng.random(n) < 0.2)
    return {
        "fiche": fiche,
        "second_fiche": second,
        "appellation": pick_from_lists(rome.appellations, fiche, rng),
        "skills": skills,
        "experience_months": experience,
        "qualification_code": rng.choice(QUALIFICATIONS, size=n, p=QUALIFICATION_SHARES),
        "place": place,
        "lat": lat,
        "lon": lon,
        "max_commute_km": commute,
        "contract_set": contract_set,
        "min_weekly_hours": np.where(wants_full_time, 35.0, 15.0),
        "max_weekly_hours": np.where(wants_full_time, 39.0, 30.0),
        "salary_floor_monthly": np.where(declares_salary, salary_floor, np.nan),
        "available_from": _dates(config.start, rng.integers(-30, 60, n)),
        "visible": rng.random(n) < config.visible_share,
        "registered_at": _dates(config.start, registered),
        # hidden, true behaviour
        "true_level": level,
        "true_commute_km": commute * rng.lognormal(-0.1, 0.3, n),
        "true_salary_floor": np.where(declares_salary, salary_floor, np.round(base_salary, -1))
        * rng.lognormal(0.02, 0.08, n),
        "true_accepts_contract": accepts,
        "true_wants_full_time": wants_full_time,
        "true_hours_strictness": rng.beta(3, 3, n),
        "true_openness": rng.beta(2, 3, n),
        "true_engagement": rng.beta(4, 3, n),
        "true_exit_week": rng.geometric(max(config.weekly_exit_rate, 1e-6), n),
    }


def generate_profile_behaviour(
    config: MarketConfig, profiles: Columns, fiche_pay: FloatArray, rng: np.random.Generator
) -> Columns:
    """Draw what the market models beyond thresholds read (see :mod:`eval.simulator.behaviour`).

    Drawn from their own random stream after :func:`generate_profiles`, so that every market model of
    a seed has the same people: declared means of transport and commute minutes, last pay (declared by
    70 %), and the hidden own pay, commute budget in minutes, utility weights, working-time dislikes,
    how fast preferences relax with time since registration, cascade and reason-giving habits.
    Returns columns of shape ``(n_profiles,)``; hidden ones are prefixed ``true_``.
    """
    n = config.n_profiles
    fiche = np.asarray(profiles["fiche"])
    experience = np.asarray(profiles["experience_months"])
    commute = np.asarray(profiles["max_commute_km"], dtype=float)
    mode = rng.choice(len(MOBILITY_MODES), size=n, p=MOBILITY_SHARES)
    budget = commute / TYPICAL_SPEED_KMH[mode] * 60.0
    nearest = np.abs(budget[:, None] - MINUTE_CHOICES[None, :]).argmin(axis=1)
    declares_minutes = rng.random(n) < 0.35
    # A person's own pay departs from the occupation's going rate (individual wage dispersion).
    own_pay = (
        BASE_MONTHLY_PAY
        * fiche_pay[fiche]
        * (0.9 + 0.0015 * np.minimum(experience, 120))
        * rng.lognormal(0.0, 0.22, n)
    )
    declares_pay = rng.random(n) < 0.7
    tolerance_noise = rng.lognormal(-0.1, 0.3, n)
    columns: Columns = {
        "mobility_mode": MOBILITY_MODES[mode],
        "max_commute_minutes": np.where(declares_minutes, MINUTE_CHOICES[nearest], 0).astype(np.int64),
        "last_monthly_pay": np.where(declares_pay, np.round(own_pay, -1), np.nan),
        "true_mode": mode,
        "true_commute_minutes": budget * tolerance_noise,
        "true_own_pay_floor": own_pay * rng.lognormal(-0.02, 0.06, n),
        "true_w_salary": rng.lognormal(np.log(4.0), 0.35, n),
        "true_w_commute": rng.lognormal(np.log(2.5), 0.35, n),
        "true_w_contract": rng.lognormal(np.log(2.0), 0.5, n),
        "true_w_hours": rng.lognormal(np.log(1.5), 0.5, n),
        "true_w_project": rng.lognormal(np.log(3.0), 0.35, n),
        "true_w_skills": rng.lognormal(np.log(3.0), 0.35, n),
        "true_relax_rate": rng.lognormal(np.log(0.03), 0.5, n),
        "true_persistence": rng.beta(8, 2, n),
        "true_stop_after_apply": rng.beta(5, 5, n),
        "true_gives_reasons": rng.random(n) < 0.8,
    }
    for k, schedule in enumerate(SCHEDULES.tolist()):
        columns[f"true_dislikes_{schedule}"] = rng.random(n) < SCHEDULE_DISLIKED[k]
    for contract in CONTRACTS.tolist():
        # months of search after which another contract type than those accepted becomes acceptable
        columns[f"true_relax_months_{contract}"] = rng.exponential(18.0, n)
    return columns


def schedule_propensities(n_fiches: int, rng: np.random.Generator) -> FloatArray:
    """How much more (or less) often each occupation's offers carry each working-time attribute than
    on average, shape ``(n_fiches, len(SCHEDULES))``, log-normal (some occupations work nights).

    Drawn once per world: a world generated in chunks shares them between its chunks.
    """
    return rng.lognormal(-0.5, 1.0, (n_fiches, len(SCHEDULES)))


def generate_offer_conditions(
    config: MarketConfig, offers: Columns, propensity: FloatArray, rng: np.random.Generator
) -> Columns:
    """Working-time attributes (an ``(n_offers, 4)`` boolean matrix ``schedule``, columns
    :data:`SCHEDULES`, more frequent in some occupations: ``propensity`` from
    :func:`schedule_propensities`) and the establishment's size band.

    Drawn from their own stream after :func:`generate_offers`: every market model has the same offers.
    """
    n = config.n_offers
    fiche = np.asarray(offers["fiche"])
    share = np.clip(SCHEDULE_SHARES[None, :] * propensity[fiche], 0.0, 0.8)
    return {
        "schedule": rng.random((n, len(SCHEDULES))) < share,
        "employer_size_band": rng.choice(len(EMPLOYER_SIZE_SHARES), size=n, p=EMPLOYER_SIZE_SHARES),
    }


def generate_offers(
    config: MarketConfig,
    rome: RomeArrays,
    geo: Geography,
    popularity: FloatArray,
    fiche_pay: FloatArray,
    rng: np.random.Generator,
    anchoring: Anchoring | None = None,
) -> Columns:
    """Draw job offers across the simulated period (plus a month of offers already open at the start).

    With ``anchoring``, most offers sit at its seeds (their commune and occupation).
    """
    n = config.n_offers
    fiche, hub = _fiches_and_hubs(n, rome, geo, popularity, rng, anchoring)
    n_required = np.minimum(rome.core.lengths[fiche], rng.integers(1, 4, n))
    core = rome.core.take(fiche)
    # keep the first n_required core skills of a random permutation inside each list
    order = np.lexsort((rng.random(len(core.values)), core.owners()))
    rank_in_row = np.arange(len(core.values)) - np.repeat(core.offsets[:-1], core.lengths)
    shuffled = Ragged(core.offsets, core.values[order])
    required = shuffled.mask(rank_in_row < np.repeat(n_required, core.lengths))
    skills = required.concat_rows(sample_sublists(rome.other, fiche, np.full(n, 0.35), rng)).unique_rows()
    place, lat, lon = geo.sample(n, config.hub_radius_km, rng, hub)
    full_time = rng.random(n) < 0.8
    hours = np.where(
        full_time,
        rng.choice(FULL_TIME_HOURS, size=n, p=[0.7, 0.1, 0.2]),
        rng.integers(15, 31, n).astype(float),
    )
    salary = (
        BASE_MONTHLY_PAY
        * fiche_pay[fiche]
        * rng.lognormal(0.0, OFFER_PAY_DISPERSION, n)
        * np.where(full_time, 1.0, hours / 35.0)
    )
    experience = rng.choice(np.array(["D", "S", "E"]), size=n, p=[0.45, 0.2, 0.35])
    months = np.where(experience == "D", 0, rng.choice(np.array([6, 12, 24, 36, 60]), size=n))
    period_days = max(config.weeks * 7, 1)
    created = rng.integers(-30, period_days, n)
    duration = rng.integers(20, 61, n)
    return {
        "fiche": fiche,
        "appellation": pick_from_lists(rome.appellations, fiche, rng),
        "skills": skills,
        "required_skills": required,
        "place": place,
        "lat": lat,
        "lon": lon,
        "contract_type": rng.choice(CONTRACTS, size=n, p=CONTRACT_SHARES),
        "weekly_hours": hours,
        "full_time": full_time,
        "salary_min_monthly": np.round(salary, -1),
        "salary_max_monthly": np.round(salary * rng.uniform(1.0, 1.2, n), -1),
        "experience": experience,
        "experience_months": months,
        "qualification_code": rng.choice(QUALIFICATIONS, size=n, p=QUALIFICATION_SHARES),
        "positions": np.where(rng.random(n) < 0.9, 1, rng.integers(2, 4, n)),
        "created_day": created,
        "created_at": _dates(config.start, created),
        "expires_at": _dates(config.start, created + duration),
        "need_date": _dates(config.start, created + rng.integers(14, 60, n)),
    }


def generate_trainings(
    config: MarketConfig,
    rome: RomeArrays,
    geo: Geography,
    popularity: FloatArray,
    rng: np.random.Generator,
    anchoring: Anchoring | None = None,
) -> Columns:
    """Draw training courses that teach some core skills of a target fiche (most are POE-eligible).

    With ``anchoring``, most trainings sit at its seeds (their commune and occupation).
    """
    n = config.n_trainings
    fiche, hub = _fiches_and_hubs(n, rome, geo, popularity, rng, anchoring)
    keep = np.clip(rng.uniform(0.3, 0.9, n), 0, 1)
    skills = sample_sublists(rome.core, fiche, keep, rng)
    empty = skills.lengths == 0  # every training teaches at least one skill: its fiche's first core skill
    skills = skills.concat_rows(
        Ragged(
            np.concatenate([[0], np.cumsum(empty)]).astype(np.int64),
            rome.core.values[rome.core.offsets[fiche[empty]]],
        )
    )
    short = rng.random(n) < 0.7
    hours = np.where(short, rng.integers(70, 400, n), rng.integers(400, 1200, n)).astype(float)
    start = rng.integers(-14, max(config.weeks * 7, 1) + 60, n)
    end = start + np.ceil(hours / 35.0 * 7 / 5).astype(np.int64) + 1
    place, lat, lon = geo.sample(n, config.hub_radius_km, rng, hub)
    modality = rng.choice(np.array(["presentiel", "mixte", "distanciel"]), size=n, p=[0.6, 0.25, 0.15])
    return {
        "fiche": fiche,
        "skills": skills,
        "hours": hours,
        "start_date": _dates(config.start, start),
        "end_date": _dates(config.start, end),
        "start_day": start,
        "end_day": end,
        "place": place,
        "lat": lat,
        "lon": lon,
        "modality": modality,
        "outcome_rate": np.round(rng.beta(6, 3, n), 3),
        "poe_eligible": short & (rng.random(n) < 0.9),
        "formacode": rng.integers(10000, 99999, n).astype(str),
    }


def generate_audit(n: int, rng: np.random.Generator) -> Columns:
    """Protected attributes drawn independently of everything else: no true group effect by design."""
    return {
        "sex": rng.choice(np.array(["F", "M"]), size=n),
        "age_band": rng.choice(np.array(["<26", "26-49", "50+"]), size=n, p=[0.2, 0.6, 0.2]),
        "qpv": rng.random(n) < 0.1,
    }
