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

A second view, independent of the oracle, reranks the alert lists actually logged after the cut-off.
On a database, that view is the whole evaluation (:func:`evaluate_logged`, protocol in
:mod:`eval.logged`): a :class:`MarketContext` is a :class:`~eval.logged.LoggedContext` with a simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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

    On logged events alone (:func:`evaluate_logged`) the pool is the logged lists, ``metrics`` read
    their logged grades, and ``logged`` and ``sourcing`` are empty.
    """

    metrics: dict[str, dict[str, float]]
    fairness: dict[str, dict[str, float]]
    logged: dict[str, dict[str, float]]
    sourcing: dict[str, dict[str, float]]
    pool: pd.DataFrame
    ranked: dict[str, pd.DataFrame]
    relevant_grade: int = APPLIED_GRADE  # an application, on the scale of the pool's grades

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


def graded_pool(ctx: MarketContext, config: MarketEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates at the cut-off with their features and ground-truth grades."""
    people = sample_people(ctx, ctx.cutoff, config.max_people, config.random_state)
    pool = ctx.candidates(people, ctx.cutoff, config.pool_size, config.radius_factor)
    truth = ctx.oracle.relevance(
        pool["query"].to_numpy(),
        pool["item"].to_numpy(),
        week=ctx.cutoff_week,
        rng=np.random.default_rng(config.random_state),
    )
    pool = pool.assign(grade=truth.grade, reason=truth.reason)
    return pool, ctx.features(pool)


def graded_sourcing_pool(ctx: MarketContext, config: MarketEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consenting candidates for offers open at the cut-off, with features and ground-truth grades."""
    offers = ctx.open_offers(ctx.cutoff)
    if len(offers) > config.max_offers:
        rng = np.random.default_rng(config.random_state)
        offers = np.sort(rng.choice(offers, size=config.max_offers, replace=False))
    pool = ctx.sourcing_candidates(offers, ctx.cutoff, config.pool_size)
    truth = ctx.oracle.relevance(
        pool["profile_id"].to_numpy(),
        pool["offer_id"].to_numpy(),
        week=ctx.cutoff_week,
        rng=np.random.default_rng(config.random_state + 1),
    )
    pool = pool.assign(grade=truth.grade, reason=truth.reason)
    return pool, ctx.features(pool)


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


def evaluate_market(
    ctx: MarketContext,
    scorers: dict[str, Scorer],
    config: MarketEvalConfig | None = None,
    *,
    progress: Progress | None = None,
) -> MarketEvaluation:
    """Run the protocol for every scorer (see the module docstring).

    ``progress`` is called as ``("rankers", done, len(scorers))`` as each scorer is evaluated.
    """
    config = config or MarketEvalConfig()
    done = _reporter(progress, "rankers", len(scorers))  # the bar shows while the pools are drawn
    pool, X = graded_pool(ctx, config)
    catalogue = pool["item"].unique()
    metrics, fairness, ranked_by = {}, {}, {}
    sourcing_pool, sourcing_X = graded_sourcing_pool(ctx, config)
    sourcing: dict[str, dict[str, float]] = {}
    logged = logged_test_set(ctx)
    logged_metrics: dict[str, dict[str, float]] = {}
    for i, (name, scorer) in enumerate(scorers.items(), start=1):
        ranked = rank_by_score(pool, scorer(pool, X))
        ranked_by[name] = ranked
        metrics[name] = evaluate_ranking(ranked, k=config.k, reasons=REASONS, catalogue=catalogue)
        fairness[name] = fairness_ratios(ranked, ctx.world.audit, config.k)
        if logged is not None:
            # logged grades run 0..5 (shown-not-opened = 1): the same exponential gains apply
            logged_metrics[name] = ndcg_at_k(rerank(logged, scorer), config.k)
        if len(sourcing_pool):
            # candidates shown to counsellors: ranked per offer, exposure measured over people
            ranked_people = rank_by_score(sourcing_pool, scorer(sourcing_pool, sourcing_X))
            sourcing[name] = evaluate_ranking(
                ranked_people, k=config.k, catalogue=sourcing_pool["item"].unique()
            )
        done(i)
    return MarketEvaluation(metrics, fairness, logged_metrics, sourcing, pool, ranked_by)


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
