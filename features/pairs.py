"""Pair features of (profile, offer) at a moment: what the ranker sees, named in :mod:`features.schema`.

``PairFeatureBuilder(referential=..., embeddings=...).fit(tables).transform(pairs)`` takes ``m`` rows
of ``profile_id``, ``offer_id`` and ``as_of`` (the moment the ranking is made) and returns an
``(m, len(FEATURE_NAMES))`` frame. Every time-dependent value reads only events strictly before its
row's ``as_of`` (:class:`AsOfIndex`, the vectorised equivalent of pandas ``merge_asof`` with exact
matches excluded), so a training row never sees its own outcome or anything later.
The same features serve sourcing: an (offer, profile) pair is the same pair seen from the employer.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

from features.asof import AsOfIndex
from features.embeddings import PairEmbeddings
from features.schema import EVIDENCE_HALF_LIFE_DAYS, FEATURE_NAMES, REASONS
from features.tables import TIME_DTYPE, MarketTables
from matching.domain import (
    APPROXIMATE_PRECISIONS,
    DEFAULT_COMMUTE_KM,
    accepted_contract_codes,
    contract_family,
    wanted_skills,
)
from matching.geo import haversine_km
from matching.referential import Referential
from matching.schedule import WorkSchedule
from matching.travel import commute_budget_minutes, density_rank, travel_minutes

FloatArray = npt.NDArray[np.float64]
EXPERIENCE_LEVEL = {"D": 0.0, "S": 1.0, "E": 2.0}
#: Working-time attributes, in the order of the ``offer_*`` schedule features.
SCHEDULE_FEATURES = {
    WorkSchedule.NIGHTS.value: "offer_nights",
    WorkSchedule.WEEKENDS.value: "offer_weekends",
    WorkSchedule.SHIFTS.value: "offer_shifted_hours",
    WorkSchedule.SPLIT.value: "offer_split_days",
}
FULL_TIME_KEY, PART_TIME_KEY = "temps_plein", "temps_partiel"
# Evidence decays as exp(-age / tau); weights are stored relative to a fixed epoch so that a
# cumulative sum of exp(t / tau) times exp(-as_of / tau) is the decayed count at any moment.
EVIDENCE_TAU_DAYS = EVIDENCE_HALF_LIFE_DAYS / np.log(2.0)
EVIDENCE_EPOCH = pd.Timestamp("2020-01-01", tz="UTC")
# Pseudo-observations of the declared radius in a person's estimated distance tolerance.
TOLERANCE_PRIOR_WEIGHT = 3.0
# A salary refusal weighs on offers paying up to this many times the refused pay, fading linearly: one
# standard deviation of offered pay within an occupation (real France Travail offers: median within-code
# sd of log monthly pay 0.25 over the 16 ROME codes with at least 10 full-time offers stating a salary,
# data/sample/README.md; e^0.25 = 1.28), how far the person's floor may lie above
# the refused offer. At 1.15, repeat salary refusals rose above the frozen control on the cascade
# model of the development world (seed 42).
SALARY_EVIDENCE_SPAN = 1.28
MONTH_DAYS = 30.44


Columns = Mapping[str, Any]  # a frame or a dict of aligned arrays
_DIGITS = re.compile(r"(\d+)")


def as_float(values: Any) -> FloatArray:
    """Numbers as float64, anything else (None, NA, text) as NaN, shape ``(m,)``."""
    try:
        return np.asarray(values, dtype=float)  # the common case: numbers and None
    except (TypeError, ValueError):
        return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float))


@lru_cache(maxsize=1024)
def _level(value: Any) -> float:
    """Number in a qualification code ("3", "NV3"…), NaN when there is none."""
    found = _DIGITS.search(str(value)) if _present(value) else None
    return float(found.group(1)) if found else np.nan


def _present(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and np.isnan(value))


def _qualification(values: Any) -> FloatArray:
    return np.fromiter((_level(v) for v in values), float, len(values))


def _text(values: Any) -> npt.NDArray[np.str_]:
    """Strings, with missing values as ``""``."""
    return np.array([str(v) if _present(v) else "" for v in values], dtype=str).reshape(-1)


def _listlike(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _flag(values: Any) -> FloatArray:
    """Booleans as 1.0 / 0.0, missing as NaN."""
    return np.fromiter((float(bool(v)) if _present(v) else np.nan for v in values), float, len(values))


class RomeRelations:
    """Closest ROME relation between a person's project codes and an offer's code (memoised)."""

    def __init__(self, referential: Referential) -> None:
        self.referential = referential
        self._pair = lru_cache(maxsize=200_000)(self._compute)

    def _compute(self, project: tuple[str, ...], code: str) -> tuple[float, float, float, float]:
        known = [c for c in project if c in self.referential.fiches]
        if code not in self.referential.fiches or not known:
            return float(code in project), 6.0, np.nan, float(len(project) > 1 and project[1] == code)
        distances = [self.referential.rome_distance(c, code) for c in known]
        best = min(distances, key=lambda d: (d.relation, d.mobility_rank or 0))
        rank = float(best.mobility_rank) if best.mobility_rank is not None else np.nan
        second = float(len(project) > 1 and project[1] == code)
        return float(code in project), float(best.relation), rank, second

    def __call__(self, projects: Sequence[Sequence[str]], codes: Sequence[str]) -> FloatArray:
        """Shape ``(m, 4)``: same code, relation, mobility rank, second project code."""
        return np.array(
            [self._pair(tuple(p), c) for p, c in zip(projects, codes, strict=True)], dtype=float
        ).reshape(-1, 4)


def _wanted_skills(offers: Columns, referential: Referential) -> list[tuple[str, ...]]:
    # a world's offers (the simulator's) have no inferred skills: they list theirs
    inferred = offers["inferred_skills"] if "inferred_skills" in offers else [()] * len(offers["skills"])
    return [
        wanted_skills(
            required,
            listed,
            guessed,
            referential.core_skills(code),
        )
        for required, listed, guessed, code in zip(
            offers["required_skills"], offers["skills"], inferred, offers["rome_code"], strict=True
        )
    ]


def pair_values(
    profiles: Columns, offers: Columns, referential: Referential, relations: RomeRelations
) -> pd.DataFrame:
    """Time-independent values of aligned rows (row ``i`` of each is pair ``i``), shape ``(m, ·)``.

    ``profiles`` and ``offers`` are frames or dicts of aligned arrays (see :class:`RowStore`).
    """
    commute = as_float(profiles["max_commute_km"])
    commute = np.where(np.isfinite(commute) & (commute > 0), commute, DEFAULT_COMMUTE_KM)
    km = haversine_km(
        as_float(profiles["home_lat"]),
        as_float(profiles["home_lon"]),
        as_float(offers["lat"]),
        as_float(offers["lon"]),
    )
    if "place_precision" in offers:
        # a place known to an area only (a département, a region) is no point: its distance is
        # unknown, as it was before such places were placed at all; the candidate filter and the
        # explanation read its edge instead, and a refusal of it never teaches a commute
        approximate = np.isin(_text(offers["place_precision"]), [str(p) for p in APPROXIMATE_PRECISIONS])
        km = np.where(approximate, np.nan, km)
    wanted = _wanted_skills(offers, referential)
    have = [set(s) for s in profiles["skills"]]
    missing = np.array([sum(s not in h for s in w) for w, h in zip(wanted, have, strict=True)], dtype=float)
    n_wanted = np.array([len(w) for w in wanted], dtype=float)
    offer_skills = [set(s) | set(w) for s, w in zip(offers["skills"], wanted, strict=True)]
    union = np.array([len(h | s) for h, s in zip(have, offer_skills, strict=True)], dtype=float)
    inter = np.array([len(h & s) for h, s in zip(have, offer_skills, strict=True)], dtype=float)
    rome = relations(list(profiles["rome_codes"]), list(offers["rome_code"]))
    if "stated_rome_code" in offers:
        # an offer filed under its appellation's sub-fiche keeps the code its publisher stated: a
        # person whose project is that code is on the same job
        stated = [
            float(_present(c) and c in p)
            for c, p in zip(offers["stated_rome_code"], profiles["rome_codes"], strict=True)
        ]
        rome[:, 0] = np.maximum(rome[:, 0], np.asarray(stated, dtype=float))
    salary = as_float(offers["salary_max_monthly"])
    salary = np.where(np.isfinite(salary), salary, as_float(offers["salary_min_monthly"]))
    floor = as_float(profiles["salary_floor_monthly"])
    contract = _text(offers["contract_type"])
    # a declared CDD accepts a CDD Tremplin (DDT) too, as the candidate filter does
    declared = [accepted_contract_codes(c) for c in profiles["contract_types"]]
    hours = as_float(offers["weekly_hours"])
    low, high = as_float(profiles["min_weekly_hours"]), as_float(profiles["max_weekly_hours"])
    within = (hours >= np.nan_to_num(low, nan=0.0)) & (hours <= np.nan_to_num(high, nan=np.inf))
    full_time = _flag(offers["full_time"])
    m = len(km)

    def column(frame: Columns, name: str) -> Any:
        return frame[name] if name in frame else np.full(m, None, dtype=object)

    modes = column(profiles, "mobility_mode")
    minutes = travel_minutes(km, modes, as_float(column(offers, "area_density")))
    budget = commute_budget_minutes(as_float(column(profiles, "max_commute_minutes")), commute, modes)
    own_pay = as_float(column(profiles, "last_monthly_pay"))
    schedules = [tuple(v) if _listlike(v) else None for v in column(offers, "schedule")]
    flags = {
        name: np.array([np.nan if s is None else float(code in s) for s in schedules], dtype=float)
        for code, name in SCHEDULE_FEATURES.items()
    }
    pattern = np.where(np.isnan(full_time), "", np.where(full_time == 0.0, PART_TIME_KEY, FULL_TIME_KEY))
    # a 'horaires' refusal is about the offer's working-time attributes when it has any (a night job
    # refused says nothing of day jobs of the same pattern), else about its full/part-time pattern;
    # keying it by both made the pattern's evidence push away every full-time offer (measured: repeat
    # 'horaires' refusals above the frozen control on the schedule market model)
    refused_keys = ["|".join(s) if s else str(p) for s, p in zip(schedules, pattern.tolist(), strict=True)]
    return pd.DataFrame(
        {
            "rome_same_code": rome[:, 0],
            "rome_relation": rome[:, 1],
            "rome_mobility_rank": rome[:, 2],
            "rome_second_project": rome[:, 3],
            "core_skill_coverage": np.where(
                n_wanted > 0, (n_wanted - missing) / np.maximum(n_wanted, 1), 1.0
            ),
            "missing_required_skills": missing,
            "skill_overlap": np.where(union > 0, inter / np.maximum(union, 1), 0.0),
            "distance_ratio": km / commute,
            "beyond_declared_radius": np.where(np.isfinite(km), (km > commute).astype(float), np.nan),
            "salary_ratio": salary / np.where(floor > 0, floor, np.nan),
            "contract_declared_ok": np.array(
                [float(not d or c in d) if c else np.nan for c, d in zip(contract, declared, strict=True)]
            ),
            "offer_permanent": (contract == "CDI").astype(float),
            "hours_within_declared": np.where(np.isfinite(hours), within.astype(float), np.nan),
            "offer_full_time": full_time,
            "experience_gap_months": as_float(offers["experience_months"])
            - as_float(profiles["experience_months"]),
            "experience_required": np.array(
                [EXPERIENCE_LEVEL.get(v, np.nan) if _present(v) else np.nan for v in offers["experience"]],
                dtype=float,
            ),
            "qualification_gap": _qualification(offers["qualification_code"])
            - _qualification(profiles["qualification_code"]),
            "offer_positions": as_float(offers["positions"]),
            "travel_time_ratio": minutes / np.where(budget > 0, budget, np.nan),
            "salary_vs_own_pay": salary / np.where(own_pay > 0, own_pay, np.nan),
            **flags,
            "employer_size_band": as_float(column(offers, "employer_size_band")),
            # carried for the history features, not model inputs
            "_schedule_keys": np.array(refused_keys, dtype=object),
            "_pattern": pattern,
            "_salary": salary,
            # history is kept per contract family: refusing a CDD Tremplin for its contract is refusing a CDD
            "_contract": _text([contract_family(c) for c in contract]),
            "_full_time": np.where(np.isnan(full_time), "", np.where(full_time == 1.0, "1", "0")),
            "_rome_code": _text(offers["rome_code"]),
        }
    )


# The key each cumulative history frame is looked up by.
HISTORY_KEYS: dict[str, list[str]] = {
    "person": ["profile_id"],
    "distance_refused": ["profile_id"],
    "distance_applied": ["profile_id"],
    "salary_refused": ["profile_id"],
    "contract_refused": ["profile_id", "_contract"],
    "contract_applied": ["profile_id", "_contract"],
    "hours_refused": ["profile_id", "_full_time"],
    "rome_refused": ["profile_id", "_rome_code"],
    "rome_applied": ["profile_id", "_rome_code"],
    "coverage_refused": ["profile_id"],
    "offer_applications": ["offer"],
    **{f"evidence_{r}": ["profile_id"] for r in ("distance", "salaire", "metier", "competences")},
    "evidence_type_contrat": ["profile_id", "_contract"],
    "evidence_undeclared_contract": ["profile_id"],
    "evidence_horaires": ["profile_id", "_key"],
    "evidence_rome": ["profile_id", "_rome_code"],
}


PROFILE_COLUMNS = (
    "id",
    "max_commute_km",
    "max_commute_minutes",
    "mobility_mode",
    "last_monthly_pay",
    "registered_at",
    "home_lat",
    "home_lon",
    "skills",
    "rome_codes",
    "salary_floor_monthly",
    "contract_types",
    "min_weekly_hours",
    "max_weekly_hours",
    "experience_months",
    "qualification_code",
)
OFFER_COLUMNS = (
    "id",
    "lat",
    "lon",
    "required_skills",
    "skills",
    "inferred_skills",
    "rome_code",
    "salary_max_monthly",
    "salary_min_monthly",
    "contract_type",
    "weekly_hours",
    "full_time",
    "schedule",
    "employer_size_band",
    "experience_months",
    "experience",
    "qualification_code",
    "positions",
    "created_at",
    "expires_at",
    # lifecycle columns of stored offers (absent from simulated worlds): the alert batch's filters
    "received_at",
    "withdrawn_at",
    # how precise the place is and the publisher's ROME code (stored real offers only)
    "place_precision",
    "stated_rome_code",
    # the appellation a "pas ce métier" refusal excludes from a subscription (alert filters only)
    "appellation_code",
)


class RowStore:
    """The columns features read, as NumPy arrays, and the row of each id.

    Gathering a few hundred rows from a million-row frame costs milliseconds per column when pandas
    takes them from Arrow-backed columns; from NumPy arrays it costs microseconds. Built once per
    table, shared by every request.
    """

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        # a dict: hashing a few hundred Python strings beats pandas' indexer on Arrow-backed ids
        self.row_of = {key: row for row, key in enumerate(frame.index.tolist())}
        self.columns = {
            c: frame[c].to_numpy(
                dtype=object if frame[c].dtype == object or "str" in str(frame[c].dtype) else None
            )
            for c in columns
            if c in frame.columns
        }

    def rows(self, ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Row of each id, ``-1`` when unknown, shape ``(m,)``."""
        get = self.row_of.get
        keys = np.asarray(ids, dtype=object).tolist()
        return np.fromiter((get(key, -1) for key in keys), np.int64, len(keys))

    def take(self, rows: npt.NDArray[np.int64]) -> dict[str, np.ndarray]:
        """The stored columns of ``rows`` (all known), aligned arrays."""
        return {c: values[rows] for c, values in self.columns.items()}


class PairFeatureBuilder(BaseEstimator):
    """Builds :data:`~features.schema.FEATURE_NAMES` for (profile, offer, as_of) rows.

    A scikit-learn estimator (``get_params``, ``clone``): the settings are keyword-only and stored as given; :meth:`fit` reads the
    market tables once (row stores, event history, going rates), :meth:`transform` builds features.

    Parameters
    ----------
    referential
        ROME referential for relations and fiche core skills.
    embeddings
        Profile and offer embeddings for the similarity feature (:meth:`using` swaps them without
        fitting again).

    Attributes
    ----------
    relations_ : RomeRelations
        Memoised ROME relations over ``referential``.
    profile_rows_, offer_rows_ : RowStore
        The profiles' and offers' columns as arrays, by id.
    lookups_ : dict of str to AsOfIndex
        Cumulative event history (:data:`HISTORY_KEYS`), looked up strictly before a moment.
    going_rate_ : pandas.Series
        Median offered monthly salary by ROME code.
    """

    relations_: RomeRelations
    profile_rows_: RowStore
    offer_rows_: RowStore
    lookups_: dict[str, AsOfIndex]
    going_rate_: pd.Series

    def __init__(self, *, referential: Referential, embeddings: PairEmbeddings) -> None:
        self.referential = referential
        self.embeddings = embeddings

    def fit(self, tables: MarketTables) -> PairFeatureBuilder:
        """Read the tables features are computed from.

        Parameters
        ----------
        tables
            Profiles, offers and the event log the history is read from (events of any time: each
            feature row only reads those strictly before its ``as_of``).

        Returns
        -------
        PairFeatureBuilder
            ``self``.
        """
        self.relations_ = RomeRelations(self.referential)
        self.profile_rows_ = RowStore(tables.profiles, PROFILE_COLUMNS)
        self.offer_rows_ = RowStore(tables.offers, OFFER_COLUMNS)
        # how urban each workplace is among the market's offers: the travel-time estimate's speeds
        self.offer_rows_.columns["area_density"] = density_rank(
            pd.to_numeric(tables.offers["lat"], errors="coerce").to_numpy(float),
            pd.to_numeric(tables.offers["lon"], errors="coerce").to_numpy(float),
        )
        self.lookups_ = {
            name: AsOfIndex(
                frame,
                HISTORY_KEYS[name],
                [str(c) for c in frame.columns if c not in (*HISTORY_KEYS[name], "occurred_at")],
            )
            for name, frame in self._event_history(tables).items()
        }
        # Going rate of each occupation (median offered salary): the yardstick for people who declared
        # no salary floor.
        offers = tables.offers
        offered = pd.to_numeric(offers["salary_max_monthly"], errors="coerce").fillna(
            pd.to_numeric(offers["salary_min_monthly"], errors="coerce")
        )
        self.going_rate_ = offered.groupby(offers["rome_code"].to_numpy()).median()
        return self

    def using(self, embeddings: PairEmbeddings) -> PairFeatureBuilder:
        """The same builder (fitted state shared) with other embeddings, e.g. for a new batch of people."""
        clone = copy.copy(self)
        clone.embeddings = embeddings
        return clone

    def _check_fitted(self) -> None:
        if not hasattr(self, "lookups_"):
            raise RuntimeError("the feature builder is not fitted: call fit(tables) first")

    @property
    def offers(self) -> RowStore:
        """The offers' columns as arrays (for filters applied before features)."""
        self._check_fitted()
        return self.offer_rows_

    def _rows(
        self, profile_ids: npt.ArrayLike, offer_ids: npt.ArrayLike
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The profile and offer rows of each pair; ``KeyError`` naming unknown ids."""
        p, o = self.profile_rows_.rows(profile_ids), self.offer_rows_.rows(offer_ids)
        if (p < 0).any() or (o < 0).any():
            unknown = sorted(
                set(np.asarray(profile_ids)[p < 0].tolist()) | set(np.asarray(offer_ids)[o < 0].tolist())
            )
            raise KeyError(f"unknown profile or offer ids: {', '.join(map(str, unknown[:5]))}")
        return self.profile_rows_.take(p), self.offer_rows_.take(o)

    def _values(self, profile_ids: npt.ArrayLike, offer_ids: npt.ArrayLike) -> pd.DataFrame:
        profiles, offers = self._rows(profile_ids, offer_ids)
        return pair_values(profiles, offers, self.referential, self.relations_)

    def _event_history(self, tables: MarketTables) -> dict[str, pd.DataFrame]:
        """Cumulative per-person (and per person × offer attribute) event statistics, by time."""
        events = tables.events
        alerts = events[events["event"].isin(["alert_sent", "alert_opened", "applied", "refused"])].copy()
        person = alerts[["profile_id", "occurred_at"]].copy()
        kinds = {
            "n_alerts": alerts["event"] == "alert_sent",
            "n_opened": alerts["event"] == "alert_opened",
            "n_applied": alerts["event"] == "applied",
            **{f"n_refused_{r}": (alerts["event"] == "refused") & (alerts["reason"] == r) for r in REASONS},
        }
        for name, mask in kinds.items():
            person[name] = mask.astype(float).groupby(alerts["profile_id"]).cumsum()
        acted = alerts[alerts["event"].isin(["applied", "refused"]) & alerts["offer_id"].notna()]
        acted = acted[acted["offer_id"].isin(tables.offers.index)].reset_index(drop=True)
        values = self._values(acted["profile_id"], acted["offer_id"])
        acted = pd.concat([acted, values], axis=1)
        applied = acted[acted["event"] == "applied"].copy()
        refused = acted[acted["event"] == "refused"]

        def cumulative(frame: pd.DataFrame, by: list[str], column: str, how: str) -> pd.DataFrame:
            if how in ("cummin", "cummax"):  # an unknown value (no salary, no place) bounds nothing
                frame = frame[frame[column].notna()]
            out = frame[[*by, "occurred_at"]].copy()
            grouped = frame.groupby(by)[column] if column else frame.groupby(by)["occurred_at"]
            out["value"] = getattr(grouped, how)() + (1 if how == "cumcount" else 0)
            return out

        def reason(r: str) -> pd.DataFrame:
            return refused[refused["reason"] == r].copy()

        def evidence(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
            """Cumulative decaying weights of refusals (see :data:`EVIDENCE_TAU_DAYS`)."""
            out = frame[[*by, "occurred_at"]].copy()
            age = (pd.to_datetime(frame["occurred_at"], utc=True) - EVIDENCE_EPOCH).dt.total_seconds()
            out["value"] = np.exp(age.to_numpy(float) / 86400.0 / EVIDENCE_TAU_DAYS)
            out["value"] = out.groupby(by)["value"].cumsum() if len(out) else out["value"]
            return out

        hours = reason("horaires")
        hours = hours.assign(_key=hours["_schedule_keys"].astype(str).str.split("|")).explode("_key")

        frames = {
            "person": person,
            "distance_refused": cumulative(reason("distance"), ["profile_id"], "distance_ratio", "cummin"),
            "distance_applied": cumulative(applied, ["profile_id"], "distance_ratio", "cummax"),
            "salary_refused": cumulative(reason("salaire"), ["profile_id"], "_salary", "cummax"),
            "contract_refused": cumulative(
                reason("type_contrat"), ["profile_id", "_contract"], "", "cumcount"
            ),
            "contract_applied": cumulative(applied, ["profile_id", "_contract"], "", "cumcount"),
            "hours_refused": cumulative(reason("horaires"), ["profile_id", "_full_time"], "", "cumcount"),
            "rome_refused": cumulative(reason("metier"), ["profile_id", "_rome_code"], "", "cumcount"),
            "rome_applied": cumulative(applied, ["profile_id", "_rome_code"], "", "cumcount"),
            "coverage_refused": cumulative(
                reason("competences"), ["profile_id"], "core_skill_coverage", "cummax"
            ),
            "offer_applications": cumulative(
                applied.assign(offer=applied["offer_id"]), ["offer"], "", "cumcount"
            ),
            **{
                f"evidence_{r}": evidence(reason(r), ["profile_id"])
                for r in ("distance", "salaire", "metier", "competences")
            },
            "evidence_type_contrat": evidence(reason("type_contrat"), ["profile_id", "_contract"]),
            "evidence_undeclared_contract": evidence(
                reason("type_contrat").query("contract_declared_ok == 0"), ["profile_id"]
            ),
            "evidence_horaires": evidence(hours, ["profile_id", "_key"]),
            "evidence_rome": evidence(reason("metier"), ["profile_id", "_rome_code"]),
        }
        return {
            name: frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)
            for name, frame in frames.items()
        }

    def transform(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Features of (profile, offer, moment) rows.

        Parameters
        ----------
        pairs
            ``m`` rows with columns ``profile_id``, ``offer_id`` and ``as_of`` (a timestamp; naive
            ones are read as UTC).

        Returns
        -------
        pandas.DataFrame
            Shape ``(m, len(FEATURE_NAMES))``, float64, columns :data:`~features.schema.FEATURE_NAMES`,
            NaN where a value is unknown (never infinite).

        Raises
        ------
        RuntimeError
            If the builder is not fitted.
        KeyError
            If a profile or offer id is not in the fitted tables.
        """
        self._check_fitted()
        if pairs.empty:
            return pd.DataFrame({name: pd.Series(dtype=float) for name in FEATURE_NAMES})
        pairs = pairs.reset_index(drop=True)
        as_of = pd.to_datetime(pairs["as_of"], utc=True).astype(TIME_DTYPE)
        profile_rows, offer_rows = self._rows(pairs["profile_id"], pairs["offer_id"])
        values = pair_values(profile_rows, offer_rows, self.referential, self.relations_)
        queries = pd.DataFrame(
            {
                "profile_id": pairs["profile_id"].to_numpy(),
                "offer": pairs["offer_id"].to_numpy(),
                "as_of": as_of,
                "_contract": values["_contract"],
                "_full_time": values["_full_time"],
                "_rome_code": values["_rome_code"],
            }
        )
        h = self.lookups_
        person = pd.DataFrame(h["person"].lookup(queries, queries["as_of"])).fillna(0.0)

        def last(name: str, fill: float = np.nan, keys: pd.DataFrame = queries) -> FloatArray:
            found = h[name].lookup(keys, queries["as_of"])["value"]
            return np.where(np.isnan(found), fill, found)

        # decayed evidence: stored weights exp(t / tau) times exp(-as_of / tau)
        now = (as_of - EVIDENCE_EPOCH).dt.total_seconds().to_numpy(float) / 86400.0
        decay = np.exp(-now / EVIDENCE_TAU_DAYS)

        def evidence(name: str, keys: pd.DataFrame = queries) -> FloatArray:
            return last(name, 0.0, keys=keys) * decay

        pattern_evidence = evidence("evidence_horaires", queries.assign(_key=values["_pattern"].to_numpy()))
        hours_evidence = np.zeros(len(pairs))
        for code, flag in SCHEDULE_FEATURES.items():
            has = values[flag].fillna(0.0).to_numpy(float) > 0
            hours_evidence = hours_evidence + has * evidence("evidence_horaires", queries.assign(_key=code))
        ratio = values["distance_ratio"].to_numpy(float)
        # the person's commute tolerance as far as their answers tell: at least the declared radius and
        # the farthest offer they applied to; an offer refused as too far caps it (at 0.8 of its
        # distance), trusted the more the more such refusals there are (shrunk toward the declared
        # radius while the history is short); a refusal never raises it
        floor = np.maximum(1.0, np.nan_to_num(last("distance_applied"), nan=1.0))
        cap = 0.8 * np.nan_to_num(last("distance_refused"), nan=np.inf)
        refusals = person["n_refused_distance"].to_numpy(float)
        trust = refusals / (refusals + TOLERANCE_PRIOR_WEIGHT)
        tolerance = np.where(cap < floor, floor + trust * (np.minimum(cap, floor) - floor), floor)
        # a profile table without registration dates reads as unknown (NaT)
        registered = pd.to_datetime(
            pd.Series(profile_rows.get("registered_at", np.full(len(pairs), None))), utc=True, errors="coerce"
        )

        created = pd.Series(offer_rows["created_at"]).astype(TIME_DTYPE)
        alerts = person["n_alerts"].to_numpy()
        opened = person["n_opened"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = {
                "embedding_similarity": self.embeddings.similarity(pairs["profile_id"], pairs["offer_id"]),
                **{c: values[c].to_numpy(float) for c in values.columns if not c.startswith("_")},
                "offer_days_online": (as_of - created).dt.total_seconds().to_numpy() / 86400.0,
                "offer_applications": last("offer_applications", 0.0),
                "history_alerts": alerts,
                "history_open_rate": np.where(alerts > 0, opened / alerts, np.nan),
                "history_apply_rate": np.where(opened > 0, person["n_applied"].to_numpy() / opened, np.nan),
                **{
                    f"history_refusal_rate_{r}": np.where(
                        alerts > 0, person[f"n_refused_{r}"].to_numpy() / alerts, np.nan
                    )
                    for r in REASONS
                },
                "distance_over_refused": values["distance_ratio"].to_numpy() / last("distance_refused"),
                "distance_over_applied": values["distance_ratio"].to_numpy() / last("distance_applied"),
                "salary_vs_occupation": values["_salary"].to_numpy(float)
                / self.going_rate_.reindex(values["_rome_code"]).to_numpy(float),
                "salary_over_refused": values["_salary"].to_numpy(float) / last("salary_refused"),
                "contract_refusals": last("contract_refused", 0.0),
                "contract_applications": last("contract_applied", 0.0),
                "hours_refusals": last("hours_refused", 0.0),
                "rome_metier_refusals": last("rome_refused", 0.0),
                "rome_applications": last("rome_applied", 0.0),
                "coverage_over_refused": values["core_skill_coverage"].to_numpy() - last("coverage_refused"),
                "months_since_registration": (as_of - registered.astype(TIME_DTYPE))
                .dt.total_seconds()
                .to_numpy()
                / 86400.0
                / MONTH_DAYS,
                "distance_over_tolerance": ratio / tolerance,
                # graded near the refused value: a refusal as too far at 20 km weighs on 18 km too
                "evidence_distance": evidence("evidence_distance")
                * np.nan_to_num(np.clip((ratio / last("distance_refused") - 0.7) / 0.3, 0.0, 1.0)),
                "evidence_salaire": evidence("evidence_salaire")
                * np.nan_to_num(
                    np.clip(
                        (SALARY_EVIDENCE_SPAN - values["_salary"].to_numpy(float) / last("salary_refused"))
                        / (SALARY_EVIDENCE_SPAN - 1.0),
                        0.0,
                        1.0,
                    )
                ),
                # a contract refused for its type, outside the contracts the person declared, confirms
                # the declaration: every other undeclared contract is as unwelcome (CDD refused by
                # someone who declared CDI only: an interim mission is no better)
                "evidence_type_contrat": np.maximum(
                    evidence("evidence_type_contrat"),
                    evidence("evidence_undeclared_contract")
                    * (values["contract_declared_ok"].to_numpy(float) == 0),
                ),
                "evidence_horaires": hours_evidence,
                "evidence_horaires_pattern": pattern_evidence,
                # "not this job" about an offer of the person's own project says the offer is not what
                # its code promises, not that the project changed (only the person's declaration does);
                # with noisy reasons, keying it by the code pushed the project away (measured: repeat
                # "metier" refusals above the frozen control on the noisy_reasons model)
                "evidence_metier": (evidence("evidence_rome") + evidence("evidence_metier"))
                * (values["rome_same_code"].to_numpy(float) == 0),
                "evidence_competences": evidence("evidence_competences")
                * (values["core_skill_coverage"].to_numpy(float) - last("coverage_refused") <= 0.0),
            }
        frame = pd.DataFrame(out)[list(FEATURE_NAMES)].astype(float)
        return frame.replace([np.inf, -np.inf], np.nan)


def stated_constraints(X: pd.DataFrame) -> dict[str, npt.NDArray[np.bool_]]:
    """Which of the person's *stated* refusal reasons each candidate repeats: one mask of shape ``(m,)``
    per reason (``distance``, ``salaire``, ``type_contrat``, ``horaires``, ``metier``,
    ``competences``).

    A refusal with an explicit reason is a constraint the person told us: an offer at least as far as
    one refused as too far, paying no more than one refused for salary, of a contract type or a
    full/part-time pattern refused as such, outside their project codes once they refused an offer as
    not their job, or covering no more skills than one refused for missing skills. Policies demote
    such offers below the others (rankings) or do not send them (alerts); explanations name them.
    """
    outside_project = X["rome_same_code"] == 0
    refused_a_job = (X["history_refusal_rate_metier"] > 0) | (X["rome_metier_refusals"] > 0)
    masks = {
        "distance": X["distance_over_refused"] >= 1.0,
        "salaire": X["salary_over_refused"] <= 1.0,
        "type_contrat": X["contract_refusals"] > 0,
        "horaires": X["hours_refusals"] > 0,
        "metier": outside_project & refused_a_job,
        "competences": X["coverage_over_refused"] <= 0.0,
    }
    return {reason: np.asarray(mask, dtype=bool) for reason, mask in masks.items()}


def stated_constraint_violations(X: pd.DataFrame) -> npt.NDArray[np.float64]:
    """How many of the person's stated refusal reasons each candidate repeats, shape ``(m,)`` (see
    :func:`stated_constraints`)."""
    return np.asarray(sum(mask.astype(float) for mask in stated_constraints(X).values()), dtype=np.float64)
