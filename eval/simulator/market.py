"""The simulated labour market: entities, then weeks of alerts, refusals, applications, hires and trainings.

Alerts are chosen by a logging policy that mimics today's practice (ROME code and declared radius,
with noise); every shown item is logged with its rank, so position bias can be corrected later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.simulator.anchor import Anchoring
from eval.simulator.behaviour import (
    Population,
    employer_decides,
    pair_distance_km,
    required_coverage,
    respond_to_alerts,
    stacked_columns,
)
from eval.simulator.config import MarketConfig
from eval.simulator.entities import (
    DECLARED_CONTRACT_SETS,
    SCHEDULES,
    Columns,
    Geography,
    RomeArrays,
    fiche_weights,
    flatten_referential,
    generate_audit,
    generate_offer_conditions,
    generate_offers,
    generate_profile_behaviour,
    generate_profiles,
    generate_trainings,
    schedule_propensities,
)
from eval.simulator.ragged import IntArray, Ragged
from matching.domain import EVENT_COLUMNS
from matching.geo import Communes
from matching.referential import Referential
from matching.travel import density_rank

FloatArray = npt.NDArray[np.float64]
# How an offer's text says each working-time attribute (France Travail's own wordings).
SCHEDULE_WORDS = {
    "nuit": "travail de nuit",
    "week_end": "travail le week-end",
    "horaires_decales": "travail en horaires décalés (2x8)",
    "coupure": "horaires fractionnés avec coupure",
}
# "behaviour" comes last: a new stream leaves the draws of the others unchanged (SeedSequence.spawn)
STREAMS = ("geo", "popularity", "profiles", "offers", "trainings", "audit", "interactions", "behaviour")
RAW_EVENT_COLUMNS = ("day", "event", "profile", "offer", "training", "reason", "rank", "list_id", "actor")
# Columns of the interactions table (events with ids instead of row numbers).


@dataclass
class World:
    """A generated market as data frames (list columns hold codes), plus its description.

    ``hidden`` holds each profile's true preferences: ground truth for evaluation, never an input of
    the engine. ``audit`` holds protected attributes for fairness evaluation only.
    """

    config: MarketConfig
    referential_version: str
    profiles: pd.DataFrame
    offers: pd.DataFrame
    trainings: pd.DataFrame
    interactions: pd.DataFrame
    audit: pd.DataFrame
    hidden: pd.DataFrame
    subscriptions: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = ("profiles", "offers", "trainings", "subscriptions", "interactions", "audit", "hidden")


class _EventLog:
    """Collects events week by week as column arrays; turns indices into ids at the end."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(
        self, event: str, day: FloatArray, profile: IntArray, *, actor: str = "system", **columns: np.ndarray
    ) -> None:
        m = len(profile)
        if m == 0:
            return
        chunk: dict[str, np.ndarray] = {
            "day": day,
            "event": np.full(m, event),
            "profile": profile,
            "offer": columns.get("offer", np.full(m, -1)),
            "training": columns.get("training", np.full(m, -1)),
            "reason": columns.get("reason", np.full(m, "")),
            "rank": columns.get("rank", np.zeros(m, dtype=np.int64)),
            "list_id": columns.get("list_id", np.full(m, "")),
            "actor": np.full(m, actor),
        }
        self.chunks.append(chunk)

    def frame(
        self, config: MarketConfig, profile_ids: np.ndarray, offer_ids: np.ndarray, training_ids: np.ndarray
    ) -> pd.DataFrame:
        if not self.chunks:
            return no_interactions()
        cols = {c: np.concatenate([chunk[c] for chunk in self.chunks]) for c in RAW_EVENT_COLUMNS}
        order = np.argsort(cols["day"], kind="stable")
        cols = {c: v[order] for c, v in cols.items()}
        start = np.datetime64(config.start, "s")
        occurred = start + np.round(cols["day"] * 86400).astype("timedelta64[s]")

        def ids(index: np.ndarray, table: np.ndarray) -> np.ndarray:
            out = np.full(len(index), None, dtype=object)
            known = index >= 0
            out[known] = table[index[known]]
            return out

        def none_if_empty(values: np.ndarray) -> np.ndarray:
            out = values.astype(object)
            out[values == ""] = None
            return out

        return pd.DataFrame(
            {
                "occurred_at": pd.to_datetime(occurred).tz_localize("UTC"),
                "event": cols["event"],
                "profile_id": ids(cols["profile"], profile_ids),
                "offer_id": ids(cols["offer"], offer_ids),
                "training_id": ids(cols["training"], training_ids),
                "reason": none_if_empty(cols["reason"]),
                "rank": pd.Series(cols["rank"]).astype("Int64").where(cols["rank"] > 0),
                "list_id": none_if_empty(cols["list_id"]),
                "actor": cols["actor"],
            }
        )


def no_interactions() -> pd.DataFrame:
    """An empty interactions table with its columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})


def _group_by(keys: IntArray, n_keys: int) -> tuple[IntArray, IntArray, IntArray]:
    """Sort items by key: ``(order, starts, counts)`` with ``starts``/``counts`` of shape ``(n_keys,)``."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return order, starts, counts


def _rank_within(groups: IntArray, score: FloatArray) -> IntArray:
    """0-based rank of each item inside its group, by decreasing score, shape ``(m,)``."""
    order = np.lexsort((-score, groups))
    sorted_groups = groups[order]
    first = np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]])
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - group_start
    return rank


def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n, shape (n,) (an empty array for n = 0)."""
    return np.array(
        [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)],
        dtype=f"<U{len(prefix) + max(width, len(str(n)))}",
    )


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Millisecond timestamps: what Parquet stores, so a world reads back exactly as generated."""
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].astype(pd.DatetimeTZDtype("ms", dtype.tz))
        elif pd.api.types.is_datetime64_dtype(dtype):
            frame[column] = frame[column].astype("datetime64[ms]")
    return frame


class MarketSimulator:
    """Generate a coherent synthetic market on top of a referential and a commune table.

    Parameters
    ----------
    referential
        Built-in or official ROME referential.
    communes
        Commune table (La Poste base or the built-in fallback).
    config
        Sizes, period, seed and behaviour knobs.
    """

    def __init__(self, referential: Referential, communes: Communes, config: MarketConfig) -> None:
        self.referential = referential
        self.config = config
        seeds = np.random.SeedSequence(config.seed).spawn(len(STREAMS))
        self.rngs = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
        self.rome: RomeArrays = flatten_referential(referential)
        self.anchoring: Anchoring | None = None
        if config.anchor is not None:  # hubs at the anchor's communes, most entities at its seeds
            self.anchoring, self.geo = Anchoring.build(config.anchor, self.rome, referential, communes)
        else:
            n_hubs = max(3, config.n_profiles // config.profiles_per_hub)
            self.geo = Geography.build(communes, n_hubs, self.rngs["geo"])
        pop_rng = self.rngs["popularity"]
        self.offer_popularity = fiche_weights(self.rome.n_fiches, pop_rng)
        # Jobseekers follow demand loosely: some occupations are short of candidates, others crowded.
        profile_popularity = self.offer_popularity * pop_rng.lognormal(0, 0.5, self.rome.n_fiches)
        self.profile_popularity = profile_popularity / profile_popularity.sum()
        self.fiche_pay = pop_rng.lognormal(0.0, 0.18, self.rome.n_fiches)  # occupations differ in pay

    def run(self, progress: Callable[[str, int, int], None] | None = None) -> World:
        """Generate entities, then simulate ``config.months`` of interactions; returns the world."""
        report = progress or (lambda _stage, _done, _total: None)
        cfg, rome = self.config, self.rome
        report("entities", 0, 4)
        profiles = generate_profiles(
            cfg,
            rome,
            self.geo,
            self.profile_popularity,
            self.fiche_pay,
            self.rngs["profiles"],
            self.anchoring,
        )
        report("entities", 1, 4)
        offers = generate_offers(
            cfg, rome, self.geo, self.offer_popularity, self.fiche_pay, self.rngs["offers"], self.anchoring
        )
        behaviour = self.rngs["behaviour"]
        profiles.update(generate_profile_behaviour(cfg, profiles, self.fiche_pay, behaviour))
        propensity = schedule_propensities(rome.n_fiches, behaviour)
        offers.update(generate_offer_conditions(cfg, offers, propensity, behaviour))
        offers["true_density"] = density_rank(np.asarray(offers["lat"]), np.asarray(offers["lon"]))
        report("entities", 2, 4)
        trainings = generate_trainings(
            cfg, rome, self.geo, self.offer_popularity, self.rngs["trainings"], self.anchoring
        )
        report("entities", 3, 4)
        audit = generate_audit(cfg.n_profiles, self.rngs["audit"])
        report("entities", 4, 4)
        profile_ids = make_ids("P", cfg.n_profiles, 7)
        offer_ids = make_ids("SIM", cfg.n_offers, 7)
        training_ids = make_ids("T", cfg.n_trainings, 6)
        log = _EventLog()
        if cfg.weeks:
            _Interactions(self, profiles, offers, trainings, log).run(report)
        profile_rows = canonical(self.profiles_frame(profiles, profile_ids))
        return World(
            config=cfg,
            referential_version=self.referential.version,
            profiles=profile_rows,
            offers=canonical(self.offers_frame(offers, offer_ids)),
            trainings=canonical(self.trainings_frame(trainings, training_ids)),
            interactions=canonical(log.frame(cfg, profile_ids, offer_ids, training_ids)),
            audit=pd.DataFrame({"profile_id": profile_ids, **audit}),
            hidden=self.hidden_frame(profiles, profile_ids),
            subscriptions=self.subscriptions_frame(profile_rows),
        )

    # -- frames ---------------------------------------------------------------------------------------
    def _codes(self, lists: object, table: np.ndarray) -> pd.Series:
        assert isinstance(lists, Ragged)
        codes = table[lists.values].tolist()
        bounds = lists.offsets.tolist()
        return pd.Series([codes[a:b] for a, b in pairwise(bounds)], dtype=object)

    def _place_columns(self, cols: Columns) -> Columns:
        place = cols["place"]
        assert isinstance(place, np.ndarray)
        return {
            "insee": self.geo.communes.insee[place],
            "lat": np.round(cols["lat"], 5),
            "lon": np.round(cols["lon"], 5),
        }

    def profiles_frame(self, p: Columns, ids: np.ndarray) -> pd.DataFrame:
        rome = self.rome
        fiche, second = p["fiche"], p["second_fiche"]
        assert isinstance(fiche, np.ndarray)
        assert isinstance(second, np.ndarray)
        codes = rome.fiche_codes
        seconds = np.where(second >= 0, codes[np.maximum(second, 0)], "").tolist()
        rome_codes = [[a, b] if b else [a] for a, b in zip(codes[fiche].tolist(), seconds, strict=True)]
        place = self._place_columns(p)
        contract_set = p["contract_set"]
        assert isinstance(contract_set, np.ndarray)
        return pd.DataFrame(
            {
                "id": ids,
                "rome_codes": rome_codes,
                "appellation_codes": [[c] for c in rome.appellation_codes[p["appellation"]].tolist()],
                "skills": self._codes(p["skills"], rome.skill_codes),
                "experience_months": p["experience_months"],
                "qualification_code": p["qualification_code"],
                "home_insee": place["insee"],
                "home_lat": place["lat"],
                "home_lon": place["lon"],
                "max_commute_km": p["max_commute_km"],
                "contract_types": [list(DECLARED_CONTRACT_SETS[k]) for k in contract_set.tolist()],
                "min_weekly_hours": p["min_weekly_hours"],
                "max_weekly_hours": p["max_weekly_hours"],
                "salary_floor_monthly": p["salary_floor_monthly"],
                "mobility_mode": p["mobility_mode"],
                "max_commute_minutes": pd.array(
                    [m if m > 0 else None for m in p["max_commute_minutes"].tolist()], dtype="Int64"
                ),
                "last_monthly_pay": p["last_monthly_pay"],
                "available_from": p["available_from"],
                "visible": p["visible"],
                "registered_at": pd.to_datetime(p["registered_at"]).tz_localize("UTC"),
            }
        )

    def offers_frame(self, o: Columns, ids: np.ndarray) -> pd.DataFrame:
        rome = self.rome
        app = o["appellation"]
        assert isinstance(app, np.ndarray)
        labels = rome.appellation_labels[app]
        place = self._place_columns(o)
        names = self.geo.communes.names[o["place"]]
        skills = self._codes(o["skills"], rome.skill_codes)
        skill_label = dict(zip(rome.skill_codes.tolist(), rome.skill_labels.tolist(), strict=True))
        flags = np.asarray(o["schedule"], dtype=bool)
        schedules = [SCHEDULES[row].tolist() for row in flags]
        descriptions = [
            f"Nous recrutons : {label} ({contract}) à {name}. Missions : "
            + "; ".join(skill_label[s].lower() for s in sk)
            + "."
            + (" Horaires : " + ", ".join(SCHEDULE_WORDS[w] for w in sched) + "." if sched else "")
            for label, contract, name, sk, sched in zip(
                labels.tolist(), o["contract_type"].tolist(), names.tolist(), skills, schedules, strict=True
            )
        ]
        return pd.DataFrame(
            {
                "id": ids,
                "title": np.char.add(labels, " (H/F)"),
                "description": descriptions,
                "rome_code": rome.fiche_codes[o["fiche"]],
                "appellation_code": rome.appellation_codes[app],
                "appellation_label": labels,
                **{k: place[k] for k in ("insee", "lat", "lon")},
                "contract_type": o["contract_type"],
                "weekly_hours": o["weekly_hours"],
                "full_time": o["full_time"],
                "schedule": schedules,
                "employer_size_band": o["employer_size_band"],
                "salary_min_monthly": o["salary_min_monthly"],
                "salary_max_monthly": o["salary_max_monthly"],
                "experience": o["experience"],
                "experience_months": o["experience_months"],
                "qualification_code": o["qualification_code"],
                "skills": skills,
                "required_skills": self._codes(o["required_skills"], rome.skill_codes),
                "positions": o["positions"],
                "created_at": pd.to_datetime(o["created_at"]).tz_localize("UTC"),
                "expires_at": o["expires_at"],
                "need_date": o["need_date"],
            }
        )

    def trainings_frame(self, t: Columns, ids: np.ndarray) -> pd.DataFrame:
        rome = self.rome
        fiche = t["fiche"]
        assert isinstance(fiche, np.ndarray)
        place = self._place_columns(t)
        names = self.geo.communes.names[t["place"]]
        return pd.DataFrame(
            {
                "id": ids,
                "title": [
                    f"Formation {rome_label}"
                    for rome_label in (
                        self.referential.fiches[c].label for c in rome.fiche_codes[fiche].tolist()
                    )
                ],
                "rome_codes": [[c] for c in rome.fiche_codes[fiche].tolist()],
                "skills": self._codes(t["skills"], rome.skill_codes),
                "hours": t["hours"],
                "start_date": t["start_date"],
                "end_date": t["end_date"],
                **{k: place[k] for k in ("insee", "lat", "lon")},
                "modality": t["modality"],
                "organisation": np.char.add("Centre de formation de ", np.char.title(names.astype(str))),
                "outcome_rate": t["outcome_rate"],
                "poe_eligible": t["poe_eligible"],
                "formacode": t["formacode"],
            }
        )

    def hidden_frame(self, p: Columns, ids: np.ndarray) -> pd.DataFrame:
        accepts = p["true_accepts_contract"]
        assert isinstance(accepts, np.ndarray)
        from eval.simulator.entities import CONTRACTS

        frame = pd.DataFrame(
            {
                "profile_id": ids,
                **{k: v for k, v in p.items() if k.startswith("true_") and np.ndim(v) == 1},
            }
        )
        for k, contract in enumerate(CONTRACTS.tolist()):
            frame[f"true_accepts_{contract}"] = accepts[:, k]
        return frame

    def subscriptions_frame(self, profiles: pd.DataFrame) -> pd.DataFrame:
        """Every profile with a job project gets a subscription mirroring its declared preferences."""
        ids = profiles["id"].to_numpy().astype(str)
        return pd.DataFrame(
            {
                "id": np.char.add("S", ids.astype(str)),
                "profile_id": ids,
                "rome_codes": profiles["rome_codes"],
                "radius_km": profiles["max_commute_km"],
                "contract_types": profiles["contract_types"],
                "excluded_contract_types": [[] for _ in range(len(ids))],
                "min_weekly_hours": profiles["min_weekly_hours"],
                "salary_floor_monthly": profiles["salary_floor_monthly"],
                "channel": "email",
                "cadence": "weekly",
                "max_alerts_per_run": self.config.alerts_per_week,
                "active": True,
            }
        )


class _Interactions:
    """The weekly loop; state lives here, the behaviour in :mod:`eval.simulator.behaviour`."""

    def __init__(
        self,
        sim: MarketSimulator,
        profiles: Columns,
        offers: Columns,
        trainings: Columns,
        log: _EventLog,
    ) -> None:
        self.sim, self.cfg, self.log = sim, sim.config, log
        self.rng = sim.rngs["interactions"]
        initial = profiles["skills"]
        assert isinstance(initial, Ragged)
        self.initial_skills = initial
        start = np.datetime64(sim.config.start, "D")
        registered_day = (np.asarray(profiles["registered_at"]) - start).astype(np.int64)
        columns = {**profiles, **stacked_columns(profiles), "registered_day": registered_day}
        self.pop = Population(columns, offers, initial)
        self.trainings = trainings
        n_p, n_o = sim.config.n_profiles, sim.config.n_offers
        self.hired = np.zeros(n_p, dtype=bool)
        self.known_employed = np.zeros(n_p, dtype=bool)
        self.positions_left = np.asarray(offers["positions"]).astype(np.int64).copy()
        self.sent_keys = np.zeros(0, dtype=np.int64)
        self.learned: list[tuple[IntArray, IntArray]] = []  # (profile, skill) pairs from completed trainings
        self.pending: list[tuple[int, IntArray, IntArray]] = []  # (day skills land, profiles, trainings)
        self.n_offers = n_o

    def run(self, report: Callable[[str, int, int], None]) -> None:
        for week in range(self.cfg.weeks):
            self._land_completed_trainings(week * 7)
            self._alerts(week)
            self._counsellor_sourcing(week)
            report("weeks", week + 1, self.cfg.weeks)

    # -- helpers --------------------------------------------------------------------------------------
    def _active_offers(self, day: int) -> IntArray:
        created = np.asarray(self.pop.offers["created_day"])
        expires = (np.asarray(self.pop.offers["expires_at"]) - np.datetime64(self.cfg.start, "D")).astype(
            np.int64
        )
        return np.flatnonzero((created <= day) & (day < expires) & (self.positions_left > 0))

    def _active_profiles(self, day: int) -> IntArray:
        registered = (
            np.asarray(self.pop.profiles["registered_at"]) - np.datetime64(self.cfg.start, "D")
        ).astype(np.int64)
        return np.flatnonzero((registered <= day) & ~self.hired & ~self.known_employed)

    def _land_completed_trainings(self, day: int) -> None:
        landed = [(p, t) for d, p, t in self.pending if d <= day]
        self.pending = [item for item in self.pending if item[0] > day]
        if not landed:
            return
        trainings_skills = self.trainings["skills"]
        assert isinstance(trainings_skills, Ragged)
        for p, t in landed:
            taught = trainings_skills.take(t)
            self.learned.append((p[taught.owners()], taught.values))
        owners = np.concatenate([p for p, _ in self.learned])
        values = np.concatenate([s for _, s in self.learned])
        order = np.argsort(owners, kind="stable")
        counts = np.bincount(owners, minlength=len(self.initial_skills)).astype(np.int64)
        extra = Ragged(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), values[order])
        self.pop.skills = self.initial_skills.concat_rows(extra).unique_rows()

    def _candidates(self, people: IntArray, offers: IntArray, draws: int) -> tuple[IntArray, IntArray]:
        """Logging policy's candidate draws: offers of the person's project fiches or their neighbours."""
        rome, rng = self.sim.rome, self.rng
        fiche = np.asarray(self.pop.profiles["fiche"])
        second = np.asarray(self.pop.profiles["second_fiche"])
        order, starts, counts = _group_by(np.asarray(self.pop.offers["fiche"])[offers], rome.n_fiches)
        p = np.repeat(people, draws)
        target = fiche[p].copy()
        u = rng.random(len(p))
        use_second = (u < 0.15) & (second[p] >= 0)
        target[use_second] = second[p][use_second]
        has_neighbour = rome.neighbours.lengths[fiche[p]] > 0
        use_neighbour = (u > 0.85) & has_neighbour
        if use_neighbour.any():
            lists = rome.neighbours.take(fiche[p][use_neighbour])
            pick = lists.offsets[:-1] + (rng.random(int(use_neighbour.sum())) * lists.lengths).astype(
                np.int64
            )
            target[use_neighbour] = lists.values[pick]
        valid = counts[target] > 0
        p, target = p[valid], target[valid]
        o = offers[order[starts[target] + (rng.random(len(p)) * counts[target]).astype(np.int64)]]
        key = p * self.n_offers + o
        key, first = np.unique(key, return_index=True)
        fresh = ~np.isin(key, self.sent_keys)
        return p[first][fresh], o[first][fresh]

    # -- alerts ---------------------------------------------------------------------------------------
    def _alerts(self, week: int) -> None:
        cfg, rng, pop = self.cfg, self.rng, self.pop
        day = week * 7
        people, offers = self._active_profiles(day), self._active_offers(day)
        if len(people) == 0 or len(offers) == 0:
            return
        p, o = self._candidates(people, offers, cfg.candidates_per_alert_list)
        distance = pair_distance_km(pop, p, o)
        declared = np.asarray(pop.profiles["max_commute_km"])[p]
        same_fiche = np.asarray(pop.offers["fiche"])[o] == np.asarray(pop.profiles["fiche"])[p]
        contract_sets = np.asarray(pop.profiles["contract_set"])[p]
        declared_ok = np.array(
            [
                not DECLARED_CONTRACT_SETS[k] or c in DECLARED_CONTRACT_SETS[k]
                for k, c in zip(
                    contract_sets.tolist(), np.asarray(pop.offers["contract_type"])[o].tolist(), strict=True
                )
            ]
        )
        # Today's practice: ROME code and declared radius, with noise (the logging policy).
        score = (
            2.0 * same_fiche
            + 1.0 * (distance <= declared)
            + 0.5 * declared_ok
            - distance / 50.0
            + rng.gumbel(0, 0.7, len(p))
        )
        keep = distance <= 2.0 * declared
        p, o, score = p[keep], o[keep], score[keep]
        rank = _rank_within(p, score) + 1
        shown = rank <= cfg.alerts_per_week
        p, o, rank = p[shown], o[shown], rank[shown]
        self.sent_keys = np.concatenate([self.sent_keys, p * self.n_offers + o])
        m = len(p)
        sent_day = day + 0.25 + np.zeros(m)
        list_id = np.char.add(f"a{week:03d}-", p.astype(str))
        self.log.add("alert_sent", sent_day, p, offer=o, rank=rank, list_id=list_id)
        response = respond_to_alerts(pop, p, o, rank, week, cfg, rng)
        open_day = sent_day + rng.uniform(0.05, 3.0, m)
        act_day = open_day + rng.uniform(0.001, 0.02, m)

        def log_alert_rows(
            event: str, when: FloatArray, rows: npt.NDArray[np.bool_], reason: np.ndarray | None = None
        ) -> None:
            why = np.full(int(rows.sum()), "") if reason is None else reason[rows]
            self.log.add(  # the person's own answers, as serving logs them
                event,
                when[rows],
                p[rows],
                offer=o[rows],
                rank=rank[rows],
                list_id=list_id[rows],
                reason=why,
                actor="jobseeker",
            )

        opened, refused, applied = response.opened, response.refused, response.applied
        log_alert_rows("alert_opened", open_day, opened)
        log_alert_rows("refused", act_day, refused, reason=response.reason)
        log_alert_rows("applied", act_day, applied)
        self.known_employed[p[refused & (response.reason == "deja_en_poste")]] = True
        self._employer_step(p[applied], o[applied], act_day[applied], actor="employer")
        self._maybe_enrol(p[refused & (response.reason == "competences")], day)

    def _employer_step(self, p: IntArray, o: IntArray, day: FloatArray, actor: str) -> None:
        if len(p) == 0:
            return
        rng = self.rng
        decision = employer_decides(self.pop, p, o, rng)
        decided = day + rng.uniform(2, 10, len(p))
        acc = decision.accepted
        self.log.add("employer_accepted", decided[acc], p[acc], offer=o[acc], actor=actor)
        ref = ~acc
        self.log.add(
            "employer_refused", decided[ref], p[ref], offer=o[ref], reason=decision.reason[ref], actor=actor
        )
        # Hires in random order; an offer hires at most its open positions, a person at most once.
        candidates = np.flatnonzero(decision.hired & ~self.hired[p])
        candidates = candidates[rng.permutation(len(candidates))]
        _, first_per_person = np.unique(p[candidates], return_index=True)
        candidates = candidates[np.sort(first_per_person)]
        order = np.argsort(o[candidates], kind="stable")
        candidates = candidates[order]
        offer_of = o[candidates]
        new_group = (
            np.concatenate([[True], offer_of[1:] != offer_of[:-1]])
            if len(offer_of)
            else np.zeros(0, dtype=bool)
        )
        group_start = (
            np.maximum.accumulate(np.where(new_group, np.arange(len(offer_of)), 0))
            if len(offer_of)
            else np.zeros(0, dtype=np.int64)
        )
        within = np.arange(len(offer_of)) - group_start
        hires = candidates[within < self.positions_left[offer_of]]
        np.subtract.at(self.positions_left, o[hires], 1)
        self.hired[p[hires]] = True
        self.log.add(
            "hired", decided[hires] + rng.uniform(3, 14, len(hires)), p[hires], offer=o[hires], actor=actor
        )
        lacking = ref & (decision.reason == "competences")
        self._maybe_enrol(p[lacking], int(day.min()))

    def _counsellor_sourcing(self, week: int) -> None:
        """Counsellors open a share of open offers and propose the two best visible candidates."""
        cfg, rng, pop = self.cfg, self.rng, self.pop
        day = week * 7
        offers = self._active_offers(day)
        offers = offers[rng.random(len(offers)) < cfg.counsellor_share]
        people = self._active_profiles(day)
        people = people[np.asarray(pop.profiles["visible"])[people]]
        if len(offers) == 0 or len(people) == 0:
            return
        order, starts, counts = _group_by(np.asarray(pop.profiles["fiche"])[people], self.sim.rome.n_fiches)
        draws = 20
        o = np.repeat(offers, draws)
        f = np.asarray(pop.offers["fiche"])[o]
        valid = counts[f] > 0
        o, f = o[valid], f[valid]
        p = people[order[starts[f] + (rng.random(len(o)) * counts[f]).astype(np.int64)]]
        _key, first = np.unique(o * len(pop.skills) + p, return_index=True)
        o, p = o[first], p[first]
        near = pair_distance_km(pop, p, o) <= np.asarray(pop.profiles["max_commute_km"])[p]
        o, p = o[near], p[near]
        score = required_coverage(pop, p, o) + rng.gumbel(0, 0.2, len(p))
        rank = _rank_within(o, score) + 1
        top = rank <= 2
        o, p, rank = o[top], p[top], rank[top]
        proposed_day = day + rng.uniform(0.3, 4.0, len(p))
        self.log.add(
            "counsellor_proposed",
            proposed_day,
            p,
            offer=o,
            rank=rank,
            list_id=np.char.add(f"c{week:03d}-", o.astype(str)),
            actor="counsellor",
        )
        self._employer_step(p, o, proposed_day, actor="employer")

    def _maybe_enrol(self, people: IntArray, day: int) -> None:
        """People who lack skills may enrol in a training of their fiche starting within 60 days."""
        rng = self.rng
        people = np.unique(people[rng.random(len(people)) < 0.3])
        if len(people) == 0 or self.cfg.n_trainings == 0:
            return
        fiche_t = np.asarray(self.trainings["fiche"])
        start_t = np.asarray(self.trainings["start_day"])
        open_t = np.flatnonzero((start_t >= day) & (start_t <= day + 60))
        order, starts, counts = _group_by(fiche_t[open_t], self.sim.rome.n_fiches)
        f = np.asarray(self.pop.profiles["fiche"])[people]
        ok = counts[f] > 0
        people, f = people[ok], f[ok]
        if len(people) == 0:
            return
        t = open_t[order[starts[f] + (rng.random(len(people)) * counts[f]).astype(np.int64)]]
        self.log.add("training_enrolled", start_t[t] + 0.35, people, training=t, actor="jobseeker")
        end_t = np.asarray(self.trainings["end_day"])[t]
        completes = rng.random(len(t)) < np.asarray(self.trainings["outcome_rate"])[t]
        self.log.add("training_completed", end_t[completes] + 0.7, people[completes], training=t[completes])
        for landing_day in np.unique(end_t[completes]).tolist():
            sel = completes & (end_t == landing_day)
            self.pending.append((int(landing_day) + 1, people[sel], t[sel]))


def simulate_market(
    referential: Referential,
    communes: Communes,
    config: MarketConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> World:
    """Generate a seeded, reproducible market world (see :class:`MarketSimulator`)."""
    return MarketSimulator(referential, communes, config or MarketConfig()).run(progress)
