"""Offline evaluation on a simulated market: every ranker reranks the same candidates at a cut-off.

Protocol
--------
1. Cut the event log at ``cutoff`` (by default after 70 % of the simulated weeks). The reranker learns
   from alert lists sent before it, with labels observed before it.
2. Take the people still looking for a job at the cut-off (registered, not hired, not declared
   employed), at most ``max_people`` of them, drawn with a seed.
3. For each, the candidate generator returns up to ``pool_size`` offers open at the cut-off (ROME
   neighbourhood, within their declared commute), minus offers already sent to them.
4. Each ranker orders each pool; the simulator's hidden behaviour (:class:`MarketOracle`) grades every
   candidate as if it were read: refused with a reason, left, applied, accepted, hired. The same draws
   grade every ranker.
5. The grades are drawn ``grade_draws`` times (5 by default) over the same pools and orders, each draw
   from a stream of the seed of its own (:func:`grades_rng`): never the random baseline's, whose order
   would otherwise follow the grades. Every metric is the mean over the draws; ``<metric>_sd`` is their
   standard deviation, and ``lift@k`` = (NDCG@k − random's) / (1 − random's), draw by draw, says how
   much of the way from a random order to a perfect one a ranker goes.

A second view, independent of the oracle, reranks the alert lists actually logged after the cut-off.
On a database, that view is the whole evaluation (:func:`evaluate_logged`, protocol in
:mod:`eval.logged`): a :class:`MarketContext` is a :class:`~eval.logged.LoggedContext` with a simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.baselines import Scorer
from eval.logged import (
    LOGGED_APPLIED_GRADE,
    TOP,
    LoggedContext,
    NotEnoughOutcomesError,
    embed_and_index,
    logged_ranking_metrics,
    logged_test_set,
    rerank,
)
from eval.metrics import (
    APPLIED_GRADE,
    evaluate_ranking,
    group_ratio,
    ndcg_at_k,
    ndcg_per_query,
    opportunity_per_query,
    rank_by_score,
)
from eval.simulator.market import World
from eval.simulator.oracle import MarketOracle
from eval.simulator.records import world_tables
from features.pairs import PairFeatureBuilder
from features.schema import REASONS
from matching.candidates import CandidateGenerator
from matching.encoders import Encoder
from matching.encoders.base import Progress
from matching.frames import offers_from_frame, profiles_from_frame
from matching.referential import Referential

AUDIT_GROUPS = ("sex", "age_band", "qpv")
# Tags of the independent streams spawned from ``MarketEvalConfig.random_state`` (seeds
# ``[random_state, tag, draw]``): the oracle's grades of the alert and sourcing pools, apart from each
# other and from the random baseline's scores (:data:`eval.baselines.RANDOM_STREAM`).
ALERT_GRADES_STREAM = 2
SOURCING_GRADES_STREAM = 3
LIFT_REFERENCE = "random"  # the ranker lift is measured from
# metrics whose spread over the grading draws is reported (``<metric>_sd``); the exposure metrics read
# the order only, which the draws do not change
SPREAD_METRICS = ("ndcg@{k}", "lift@{k}", "recall@{k}", "mrr", "hires@{k}", "refusal_rate@{k}")


@dataclass(frozen=True, kw_only=True)
class MarketEvalConfig:
    """Settings of the offline protocol (see the module docstring)."""

    cutoff_week: int | None = None  # default: 70 % of the simulated weeks
    max_people: int = 600
    pool_size: int = 100
    max_offers: int = 300  # offers sourced (counsellor view)
    radius_factor: float = 1.5  # candidates up to this multiple of each person's declared commute
    k: int = 10
    random_state: int = 0
    grade_draws: int = 5  # the oracle grades the same pools this many times: metrics are their means


def default_cutoff_week(world: World) -> int:
    return max(1, round(0.7 * world.config.weeks))


@dataclass
class MarketContext(LoggedContext):
    """A :class:`~eval.logged.LoggedContext` over a simulated world: its oracle grades any candidate.

    ``audit`` is the world's audit table; ``cutoff`` falls at the start of ``cutoff_week``.
    """

    world: World
    oracle: MarketOracle
    cutoff_week: int
    _generators: dict[pd.Timestamp, CandidateGenerator] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        world: World,
        referential: Referential,
        encoder: Encoder,
        *,
        cutoff_week: int | None = None,
        progress: Progress | None = None,
    ) -> MarketContext:
        """The context of ``world`` cut at ``cutoff_week`` (default :func:`default_cutoff_week`).

        Raises
        ------
        ValueError
            If ``cutoff_week`` falls outside the simulated weeks.
        """
        week = cutoff_week if cutoff_week is not None else default_cutoff_week(world)
        if not 1 <= week < max(world.config.weeks, 1) + 1:
            raise ValueError(f"cut-off week {week} is outside the simulated {world.config.weeks} weeks")
        tables = world_tables(world)
        embeddings, bm25 = embed_and_index(tables, referential, encoder, progress=progress)
        return cls(
            world=world,
            referential=referential,
            encoder=encoder,
            tables=tables,
            embeddings=embeddings,
            builder=PairFeatureBuilder(referential=referential, embeddings=embeddings).fit(tables),
            oracle=MarketOracle(world),
            cutoff=pd.Timestamp(world.config.start, tz="UTC") + pd.Timedelta(days=7 * week),
            cutoff_week=week,
            bm25=bm25,
            audit=world.audit,
            source="simulated world",
        )

    def protocol(self) -> dict[str, Any]:
        """What the evaluation ran on: the world's seed and size, the cut-off week."""
        return {
            "source": self.source,
            "world_seed": self.world.config.seed,
            "profiles": self.world.config.n_profiles,
            "offers": self.world.config.n_offers,
            "weeks": self.world.config.weeks,
            "cutoff_week": self.cutoff_week,
        }

    # -- people and candidates ------------------------------------------------------------------------
    def active_people(self, moment: pd.Timestamp) -> np.ndarray:
        """Profiles registered by ``moment``, neither hired nor declared employed before it."""
        gone = self.tables.profiles_with("hired", before=moment) | self.tables.profiles_with(
            "refused", reason="deja_en_poste", before=moment
        )
        profiles = self.tables.profiles
        registered = pd.to_datetime(profiles["registered_at"], utc=True) <= moment
        ids = profiles.index[registered.to_numpy()]
        return np.array(sorted(set(ids) - gone), dtype=object)

    def _generator(self, moment: pd.Timestamp) -> CandidateGenerator:
        if moment not in self._generators:
            open_offers = self.tables.offers.loc[self.open_offers(moment)]
            generator = CandidateGenerator(referential=self.referential, encoder=self.encoder)
            generator.index_offers(
                list(offers_from_frame(open_offers)), vectors=self.embeddings.offers.lookup(open_offers.index)
            )
            self._generators[moment] = generator
        return self._generators[moment]

    def candidates(
        self, people: np.ndarray, moment: pd.Timestamp, pool_size: int, radius_factor: float = 1.0
    ) -> pd.DataFrame:
        """Candidate offers for each person at ``moment``: ``query``, ``item``, ``profile_id``, ``offer_id``, ``as_of``.

        ``radius_factor`` widens the search beyond the declared commute (the reranker then weighs
        distance against the person's observed tolerance).
        """
        generator = self._generator(moment)
        events = self.tables.events
        sent = events[(events["event"] == "alert_sent") & (events["occurred_at"] < moment)]
        already = set(zip(sent["profile_id"], sent["offer_id"], strict=True))
        frames = []
        profiles = self.tables.profiles.loc[people]
        for profile in profiles_from_frame(profiles):
            ids, _ = generator.recommend_offers(
                profile, k=pool_size, respect_preferences=False, radius_factor=radius_factor
            )
            fresh = [i for i in ids.tolist() if (profile.id, i) not in already]
            frames.append(pd.DataFrame({"query": profile.id, "item": fresh}))
        pool = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["query", "item"])
        return pool.assign(profile_id=pool["query"], offer_id=pool["item"], as_of=moment)

    def sourcing_candidates(self, offers: np.ndarray, moment: pd.Timestamp, pool_size: int) -> pd.DataFrame:
        """Consenting people still looking at ``moment``, for each offer, from the candidate generator.

        Columns ``query`` (the offer), ``item`` (the person), ``profile_id``, ``offer_id``, ``as_of``.
        """
        looking = self.tables.profiles.loc[self.active_people(moment)]
        generator = CandidateGenerator(referential=self.referential, encoder=self.encoder)
        generator.index_profiles(list(profiles_from_frame(looking)))  # keeps the consenting ones only
        frames = []
        for offer in offers_from_frame(self.tables.offers.loc[offers]):
            ids, _ = generator.recommend_profiles(offer, k=pool_size)
            frames.append(pd.DataFrame({"query": offer.id, "item": ids.tolist()}))
        pool = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["query", "item"])
        return pool.assign(profile_id=pool["item"], offer_id=pool["query"], as_of=moment)

    def open_offers(self, moment: pd.Timestamp) -> np.ndarray:
        offers = self.tables.offers
        created = offers["created_at"] <= moment
        expires = pd.to_datetime(offers["expires_at"]).dt.tz_localize("UTC") > moment
        return np.asarray(offers.index[(created & expires).to_numpy()], dtype=object)


@dataclass(frozen=True)
class MarketEvaluation:
    """Metrics by ranker, fairness ratios by ranker, and the graded candidate pool.

    On a world (:func:`evaluate_market`), ``metrics``, ``fairness`` and ``sourcing`` are means over
    ``grade_draws`` grading draws, with ``<metric>_sd`` and ``lift@k`` (see the module docstring);
    ``pool`` and ``ranked`` hold the first draw's grades. On logged events alone
    (:func:`evaluate_logged`) the pool is the logged lists, ``metrics`` read their logged grades (one
    "draw"), and ``logged`` and ``sourcing`` are empty.
    """

    metrics: dict[str, dict[str, float]]
    fairness: dict[str, dict[str, float]]
    logged: dict[str, dict[str, float]]
    sourcing: dict[str, dict[str, float]]
    pool: pd.DataFrame
    ranked: dict[str, pd.DataFrame]
    relevant_grade: int = APPLIED_GRADE  # an application, on the scale of the pool's grades
    grade_draws: int = 1

    @property
    def summary(self) -> dict[str, float]:
        return {
            "people": float(self.pool["profile_id"].nunique()),
            "candidates": float(len(self.pool)),
            "relevant": float((self.pool["grade"] >= self.relevant_grade).sum()),
        }


def sample_people(ctx: MarketContext, moment: pd.Timestamp, max_people: int, random_state: int) -> np.ndarray:
    people = ctx.active_people(moment)
    if len(people) > max_people:
        people = np.sort(np.random.default_rng(random_state).choice(people, size=max_people, replace=False))
    return people


def grades_rng(random_state: int, stream: int, draw: int = 0) -> np.random.Generator:
    """The generator of one grading draw: stream ``stream`` of ``random_state``, draw ``draw``.

    Streams spawned from ``[random_state, stream, draw]`` are independent of each other and of the
    random baseline's (:data:`eval.baselines.RANDOM_STREAM`), whatever ``random_state``.
    """
    return np.random.default_rng([random_state, stream, draw])


def candidate_pool(ctx: MarketContext, config: MarketEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates at the cut-off for the people sampled (steps 2 and 3), ungraded, and their features."""
    people = sample_people(ctx, ctx.cutoff, config.max_people, config.random_state)
    pool = ctx.candidates(people, ctx.cutoff, config.pool_size, config.radius_factor)
    return pool, ctx.features(pool)


def sourcing_pool(ctx: MarketContext, config: MarketEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consenting candidates for (at most ``max_offers``) offers open at the cut-off, ungraded, and their
    features."""
    offers = ctx.open_offers(ctx.cutoff)
    if len(offers) > config.max_offers:
        rng = np.random.default_rng(config.random_state)
        offers = np.sort(rng.choice(offers, size=config.max_offers, replace=False))
    pool = ctx.sourcing_candidates(offers, ctx.cutoff, config.pool_size)
    return pool, ctx.features(pool)


def grade_pool(ctx: MarketContext, pool: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``pool`` with the oracle's ``grade`` and ``reason`` of each (person, offer), drawn from ``rng``."""
    truth = ctx.oracle.relevance(
        pool["profile_id"].to_numpy(), pool["offer_id"].to_numpy(), week=ctx.cutoff_week, rng=rng
    )
    return pool.assign(grade=truth.grade, reason=truth.reason)


def graded_pool(
    ctx: MarketContext, config: MarketEvalConfig, draw: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates at the cut-off with their features and the ground-truth grades of draw ``draw``."""
    pool, X = candidate_pool(ctx, config)
    return grade_pool(ctx, pool, grades_rng(config.random_state, ALERT_GRADES_STREAM, draw)), X


def graded_sourcing_pool(
    ctx: MarketContext, config: MarketEvalConfig, draw: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consenting candidates for offers open at the cut-off, with features and the ground-truth grades
    of draw ``draw``."""
    pool, X = sourcing_pool(ctx, config)
    return grade_pool(ctx, pool, grades_rng(config.random_state, SOURCING_GRADES_STREAM, draw)), X


def mean_and_spread(draws: list[dict[str, float]], spread: tuple[str, ...] = ()) -> dict[str, float]:
    """Each metric's mean over ``draws``, and ``<metric>_sd`` for those in ``spread``.

    Parameters
    ----------
    draws
        One dict of metrics per grading draw (the same keys).
    spread
        Metrics whose standard deviation over the draws is added (sample standard deviation,
        ``ddof=1``; 0 with a single draw, where nothing varies).

    Returns
    -------
    dict
        Means over the draws where a metric is defined (NaN where it never is), then the spreads.
    """
    out: dict[str, float] = {}
    deviations: dict[str, float] = {}
    for key in draws[0]:
        values = np.array([draw[key] for draw in draws], dtype=float)
        finite = values[np.isfinite(values)]
        out[key] = float(finite.mean()) if len(finite) else float("nan")
        if key in spread:
            deviations[f"{key}_sd"] = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
    return {**out, **deviations}


def lift(ndcg: float, reference: float) -> float:
    """How far from ``reference`` (random's NDCG) towards a perfect order ``ndcg`` goes: 0 random, 1 perfect."""
    return (ndcg - reference) / (1.0 - reference) if reference < 1 else float("nan")


def _add_lift(draws: dict[str, list[dict[str, float]]], k: int) -> None:
    """Add ``lift@k`` to every draw of every ranker, against :data:`LIFT_REFERENCE`'s NDCG of that draw."""
    if LIFT_REFERENCE not in draws:
        return
    reference = [draw[f"ndcg@{k}"] for draw in draws[LIFT_REFERENCE]]
    for per_draw in draws.values():
        for draw, base in zip(per_draw, reference, strict=True):
            draw[f"lift@{k}"] = lift(draw[f"ndcg@{k}"], base)


def fairness_ratios(
    ranked: pd.DataFrame,
    audit: pd.DataFrame,
    k: int,
    *,
    opportunity_k: int = 20,
    relevant_grade: int = APPLIED_GRADE,
) -> dict[str, float]:
    """Parity ratios between audit groups (min group mean / max group mean, 1 = parity).

    Parameters
    ----------
    ranked
        A ranked frame with ``profile_id`` (each query is one person's: their pool, or a list sent
        to them).
    audit
        ``profile_id`` and the :data:`AUDIT_GROUPS` columns.
    k
        Cut of the per-query NDCG.
    opportunity_k, relevant_grade
        Equal opportunity: share of each query's items of at least ``relevant_grade`` ranked in the top
        ``opportunity_k``.

    Returns
    -------
    dict
        ``ndcg_ratio/<attribute>``, ``opportunity@<opportunity_k>_ratio/<attribute>`` and
        ``fairness_min_ratio`` (NaN where fewer than two groups are present).
    """
    audit = audit.set_index("profile_id")
    person = ranked.groupby("query", sort=False)["profile_id"].first()
    ndcg = ndcg_per_query(ranked, k)
    opportunity = opportunity_per_query(ranked, opportunity_k, min_grade=relevant_grade)
    out = {}
    for attribute in AUDIT_GROUPS:
        # the group of each query's person (a person may have several queries: lists)
        groups = pd.Series(
            audit[attribute].astype(str).reindex(person.to_numpy()).to_numpy(), index=person.index
        ).dropna()
        out[f"ndcg_ratio/{attribute}"] = group_ratio(ndcg, groups)
        out[f"opportunity@{opportunity_k}_ratio/{attribute}"] = group_ratio(opportunity, groups)
    finite = [v for v in out.values() if np.isfinite(v)]
    out["fairness_min_ratio"] = float(min(finite)) if finite else float("nan")
    return out


def _reporter(progress: Progress | None, stage: str, total: int) -> Callable[[int], None]:
    """``done(n)`` reporting ``(stage, n, total)`` to ``progress`` (nothing without one)."""

    def done(n: int) -> None:
        if progress is not None:
            progress(stage, n, total)

    done(0)
    return done


def _ranked_once(pool: pd.DataFrame, scores: npt.ArrayLike) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """``pool`` ranked by ``scores``, and the pool's row of each ranked row (to attach any draw's grades)."""
    ranked = rank_by_score(pool.assign(_row=np.arange(len(pool))), scores)
    return ranked.drop(columns="_row"), ranked["_row"].to_numpy(np.int64)


def _with_grades(ranked: pd.DataFrame, rows: npt.NDArray[np.int64], graded: pd.DataFrame) -> pd.DataFrame:
    """``ranked`` with the grades and reasons of ``graded`` (the pool graded by one draw)."""
    return ranked.assign(grade=graded["grade"].to_numpy()[rows], reason=graded["reason"].to_numpy()[rows])


def evaluate_market(
    ctx: MarketContext,
    scorers: dict[str, Scorer],
    config: MarketEvalConfig | None = None,
    *,
    progress: Progress | None = None,
) -> MarketEvaluation:
    """Run the protocol for every scorer (see the module docstring).

    The pools, their features and every scorer's order are computed once; the oracle grades the pools
    ``config.grade_draws`` times and each draw scores every order.

    Parameters
    ----------
    ctx
        The world cut at its cut-off.
    scorers
        Rankers by name; with :data:`LIFT_REFERENCE` (``random``) among them, ``lift@k`` is added.
    config
        The protocol's settings (default :class:`MarketEvalConfig`).
    progress
        Called as ``("rankers", done, len(scorers))`` as each scorer is evaluated.

    Returns
    -------
    MarketEvaluation
        Means over the draws, with ``<metric>_sd`` for :data:`SPREAD_METRICS`; the pool and the ranked
        frames hold the first draw's grades.

    Raises
    ------
    ValueError
        If ``config.grade_draws`` is below 1.
    """
    config = config or MarketEvalConfig()
    if config.grade_draws < 1:
        raise ValueError(f"grade_draws must be >= 1, not {config.grade_draws!r}")
    k = config.k
    spread = tuple(name.format(k=k) for name in SPREAD_METRICS)
    done = _reporter(progress, "rankers", len(scorers))  # the bar shows while the pools are drawn
    draws = range(config.grade_draws)
    pool, X = candidate_pool(ctx, config)
    graded = [grade_pool(ctx, pool, grades_rng(config.random_state, ALERT_GRADES_STREAM, d)) for d in draws]
    catalogue = pool["item"].unique()
    people_pool, people_X = sourcing_pool(ctx, config)
    people = people_pool["item"].unique()
    people_graded = [
        grade_pool(ctx, people_pool, grades_rng(config.random_state, SOURCING_GRADES_STREAM, d))
        for d in draws
    ]
    logged = logged_test_set(ctx)
    alerts: dict[str, list[dict[str, float]]] = {}
    fairness: dict[str, list[dict[str, float]]] = {}
    sourcing: dict[str, list[dict[str, float]]] = {}
    ranked_by: dict[str, pd.DataFrame] = {}
    logged_metrics: dict[str, dict[str, float]] = {}
    for i, (name, scorer) in enumerate(scorers.items(), start=1):
        # scorers see the candidates, never a grade: one order per pool, graded by every draw
        ranked, rows = _ranked_once(pool, scorer(pool, X))
        by_draw = [_with_grades(ranked, rows, grades) for grades in graded]
        ranked_by[name] = by_draw[0]
        alerts[name] = [evaluate_ranking(r, k=k, reasons=REASONS, catalogue=catalogue) for r in by_draw]
        fairness[name] = [fairness_ratios(r, ctx.world.audit, k) for r in by_draw]
        if logged is not None:
            # logged grades run 0..5 (shown-not-opened = 1): the same exponential gains apply
            logged_metrics[name] = ndcg_at_k(rerank(logged, scorer), k)
        if len(people_pool):
            # candidates shown to counsellors: ranked per offer, exposure measured over people
            ranked_people, people_rows = _ranked_once(people_pool, scorer(people_pool, people_X))
            sourcing[name] = [
                evaluate_ranking(_with_grades(ranked_people, people_rows, grades), k=k, catalogue=people)
                for grades in people_graded
            ]
        done(i)
    _add_lift(alerts, k)
    _add_lift(sourcing, k)
    return MarketEvaluation(
        metrics={name: mean_and_spread(d, spread) for name, d in alerts.items()},
        fairness={name: mean_and_spread(d) for name, d in fairness.items()},
        logged=logged_metrics,
        sourcing={name: mean_and_spread(d, spread) for name, d in sourcing.items()},
        pool=graded[0],
        ranked=ranked_by,
        grade_draws=config.grade_draws,
    )


def evaluate_logged(
    ctx: LoggedContext,
    scorers: dict[str, Scorer],
    config: MarketEvalConfig | None = None,
    *,
    progress: Progress | None = None,
) -> MarketEvaluation:
    """Every scorer reorders the alert lists sent from the cut-off on, graded by their logged outcomes.

    The protocol of :mod:`eval.logged`: nothing here asks a simulator, so it runs on a database.

    Parameters
    ----------
    ctx
        Logged tables, features and the cut-off.
    scorers
        Rankers by name.
    config
        ``k`` (the main NDCG's cut); the other settings concern simulated candidates.
    progress
        Called as ``("rankers", done, len(scorers))``.

    Returns
    -------
    MarketEvaluation
        ``metrics`` from :func:`~eval.logged.logged_ranking_metrics`; ``fairness`` per ranker (empty
        dicts without audit attributes); ``pool``: the logged lists (``query`` = list).

    Raises
    ------
    NotEnoughOutcomesError
        If no alert list was sent from the cut-off on.
    """
    config = config or MarketEvalConfig()
    logged = logged_test_set(ctx)
    if logged is None:
        raise NotEnoughOutcomesError(
            f"no alert list was sent from the cut-off {ctx.cutoff:%Y-%m-%d} on: nothing to evaluate on "
            "(move --cutoff earlier)"
        )
    metrics, fairness, ranked_by = {}, {}, {}
    done = _reporter(progress, "rankers", len(scorers))
    for i, (name, scorer) in enumerate(scorers.items(), start=1):
        ranked = rerank(logged, scorer)
        ranked_by[name] = ranked
        metrics[name] = logged_ranking_metrics(ranked, config.k)
        fairness[name] = (
            fairness_ratios(
                ranked, ctx.audit, config.k, opportunity_k=TOP, relevant_grade=LOGGED_APPLIED_GRADE
            )
            if ctx.audit is not None
            else {}
        )
        done(i)
    pool = logged.rows.rename(columns={"list_id": "query"}).assign(item=logged.rows["offer_id"])
    return MarketEvaluation(metrics, fairness, {}, {}, pool, ranked_by, relevant_grade=LOGGED_APPLIED_GRADE)
