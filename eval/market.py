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
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from eval.baselines import BM25Scorer, Scorer
from eval.metrics import (
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
from features.embeddings import PairEmbeddings, embed_tables
from features.pairs import PairFeatureBuilder
from features.schema import REASONS
from features.tables import MarketTables
from matching.candidates import CandidateGenerator
from matching.encoders import Encoder
from matching.encoders.base import Progress
from matching.frames import offers_from_frame, profiles_from_frame
from matching.referential import Referential
from matching.views import offer_view, profile_view
from models.dataset import logged_lists, ranking_set

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
class MarketContext:
    """Everything the protocol shares between rankers: tables, embeddings, features, oracle, pools."""

    world: World
    referential: Referential
    encoder: Encoder
    tables: MarketTables
    embeddings: PairEmbeddings
    builder: PairFeatureBuilder
    oracle: MarketOracle
    cutoff: pd.Timestamp
    cutoff_week: int
    bm25: BM25Scorer
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
        week = cutoff_week if cutoff_week is not None else default_cutoff_week(world)
        if not 1 <= week < max(world.config.weeks, 1) + 1:
            raise ValueError(f"cut-off week {week} is outside the simulated {world.config.weeks} weeks")
        tables = world_tables(world)
        embeddings = embed_tables(tables, referential, encoder, progress=progress)
        profiles = list(profiles_from_frame(tables.profiles))
        offers = list(offers_from_frame(tables.offers))
        bm25 = BM25Scorer(
            pd.Series([offer_view(o, referential) for o in offers], index=[o.id for o in offers]),
            pd.Series([profile_view(p, referential) for p in profiles], index=[p.id for p in profiles]),
        )
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
        )

    def with_tables(self, tables: MarketTables) -> MarketContext:
        """The same context over another event log (features recomputed from it)."""
        # the candidate generators (open offers by moment) are shared: offers do not change
        builder = PairFeatureBuilder(referential=self.referential, embeddings=self.embeddings).fit(tables)
        return replace(self, tables=tables, builder=builder)

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

    def features(self, pool: pd.DataFrame) -> pd.DataFrame:
        return self.builder.transform(pool[["profile_id", "offer_id", "as_of"]])


@dataclass(frozen=True)
class MarketEvaluation:
    """Metrics by ranker, fairness ratios by ranker, and the graded candidate pool."""

    metrics: dict[str, dict[str, float]]
    fairness: dict[str, dict[str, float]]
    logged: dict[str, dict[str, float]]
    sourcing: dict[str, dict[str, float]]
    pool: pd.DataFrame
    ranked: dict[str, pd.DataFrame]

    @property
    def summary(self) -> dict[str, float]:
        return {
            "people": float(self.pool["query"].nunique()),
            "candidates": float(len(self.pool)),
            "relevant": float((self.pool["grade"] >= 2).sum()),
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


def fairness_ratios(ranked: pd.DataFrame, audit: pd.DataFrame, k: int) -> dict[str, float]:
    """Parity ratios by audit group (min group mean / max group mean) of NDCG@k and opportunity@20."""
    audit = audit.set_index("profile_id")
    ndcg = ndcg_per_query(ranked, k)
    opportunity = opportunity_per_query(ranked, 20)
    out = {}
    for attribute in AUDIT_GROUPS:
        groups = audit[attribute].astype(str)
        out[f"ndcg_ratio/{attribute}"] = group_ratio(ndcg, groups)
        out[f"opportunity@20_ratio/{attribute}"] = group_ratio(opportunity, groups)
    out["fairness_min_ratio"] = float(np.nanmin(list(out.values()))) if out else float("nan")
    return out


def evaluate_market(
    ctx: MarketContext, scorers: dict[str, Scorer], config: MarketEvalConfig | None = None
) -> MarketEvaluation:
    """Run the protocol for every scorer (see the module docstring)."""
    config = config or MarketEvalConfig()
    pool, X = graded_pool(ctx, config)
    catalogue = pool["item"].unique()
    metrics, fairness, ranked_by = {}, {}, {}
    sourcing_pool, sourcing_X = graded_sourcing_pool(ctx, config)
    sourcing: dict[str, dict[str, float]] = {}
    logged_rows = logged_lists(ctx.tables, sent_from=ctx.cutoff)
    logged = ranking_set(logged_rows, ctx.builder) if len(logged_rows) else None
    logged_metrics: dict[str, dict[str, float]] = {}
    for name, scorer in scorers.items():
        ranked = rank_by_score(pool, scorer(pool, X))
        ranked_by[name] = ranked
        metrics[name] = evaluate_ranking(ranked, k=config.k, reasons=REASONS, catalogue=catalogue)
        fairness[name] = fairness_ratios(ranked, ctx.world.audit, config.k)
        if logged is not None:
            rows = logged.rows.rename(columns={"list_id": "query"}).assign(item=logged.rows["offer_id"])
            # logged grades run 0..5 (shown-not-opened = 1): the same exponential gains apply
            logged_metrics[name] = ndcg_at_k(rank_by_score(rows, scorer(rows, logged.X)), config.k)
        if len(sourcing_pool):
            # candidates shown to counsellors: ranked per offer, exposure measured over people
            ranked_people = rank_by_score(sourcing_pool, scorer(sourcing_pool, sourcing_X))
            sourcing[name] = evaluate_ranking(
                ranked_people, k=config.k, catalogue=sourcing_pool["item"].unique()
            )
    return MarketEvaluation(metrics, fairness, logged_metrics, sourcing, pool, ranked_by)
