"""Ranking offers for subscriptions: candidate generation, features, the champion ranker or the rule.

:class:`RankingService` holds what serving needs (referential, encoder, candidate indexes, champion
ranker and their versions) and ranks offers for many subscriptions at once. With no champion, or
with the kill switch on, the rule-based ranking (today's practice) is used, and logged as such.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.embeddings import EmbeddingTable, PairEmbeddings
from features.pairs import PairFeatureBuilder, as_float, stated_constraints
from features.tables import MarketTables
from matching.candidates import CandidateGenerator, load_generator, read_generator_info
from matching.domain import Offer, Profile, Subscription, accepted_contract_codes
from matching.encoders import Encoder
from matching.encoders.base import FloatMatrix
from matching.index import data_fingerprint
from matching.referential import Referential
from matching.views import profile_view
from models.ranker import LambdaRankRanker
from models.scoring import UNSTATED_IN_SUBSCRIPTION, learned_scores, rule_scores, sendable, stated_penalty

CANDIDATES_PER_SUBSCRIPTION = 100
SATURATION = 10  # an offer with this many applications per open position is not pushed any more
NEAR_EQUAL = 0.05  # sourcing scores this close are treated as ties and rotated by exposure


@dataclass
class RankingService:
    """Ranks offers for people with the loaded indexes and model.

    Parameters
    ----------
    generator
        Candidate indexes (offers at least) with their referential and encoder.
    ranker
        The champion ranker, or ``None`` (rule-based ranking).
    model_version
        How the ranker is named in logs, e.g. ``matching-alert-ranker@champion=v3``.
    index_version
        How the indexes are named in logs: the published version, else a fingerprint of the offers.
    index_as_of
        The latest offer reception or withdrawal the indexed offers reflect (UTC), ``None`` when the
        indexes were not built from a database.
    """

    generator: CandidateGenerator
    ranker: LambdaRankRanker | None = None
    model_version: str = "rule"
    index_version: str = field(default="")
    index_as_of: datetime | None = None
    unavailable_model: str = ""  # why the champion could not be loaded, when it could not
    _cached_builder: tuple[MarketTables, PairFeatureBuilder] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        offers = getattr(self.generator, "offers_", None)  # set once offers were indexed
        if not self.index_version and offers is not None:
            self.index_version = data_fingerprint(offers)[:16]

    @classmethod
    def load(
        cls,
        index_dir: Path,
        referential: Referential,
        encoder: Encoder,
        ranker: LambdaRankRanker | None = None,
        model_version: str = "rule",
        *,
        unavailable_model: str = "",
    ) -> RankingService:
        """The service over the indexes published at ``index_dir``, named by their version.

        The folder (a link to the current version) is resolved once, so that every file is read from
        the same version even if a new one is published meanwhile.

        Raises
        ------
        IndexIntegrityError
            The indexes are missing, corrupted, or built with another encoder or referential.
        """
        folder = Path(index_dir).resolve()
        generator = load_generator(folder, referential, encoder)
        info = read_generator_info(folder)
        read_at = info.get("data_as_of")
        return cls(
            generator,
            ranker,
            model_version,
            index_version=info.get("version", ""),
            index_as_of=datetime.fromisoformat(read_at) if read_at else None,
            unavailable_model=unavailable_model,
        )

    def with_offers(
        self, published: Sequence[Offer], withdrawn: Sequence[str], *, index_version: str
    ) -> RankingService:
        """A copy whose offer index also holds ``published`` and no longer ``withdrawn`` (copy on write).

        This service is left untouched, so requests ranking with it meanwhile see a consistent index;
        the copy shares everything but the offer index (copied: O(offers indexed)).

        Parameters
        ----------
        published
            Offers to add or replace (encoded with the generator's encoder).
        withdrawn
            Ids of offers to drop.
        index_version
            How the copy's indexes are named in logs (e.g. the published version plus the changes).

        Returns
        -------
        RankingService
            The copy; its feature builder cache is kept (the tables are the caller's).
        """
        generator = copy.copy(self.generator)  # shallow: the profile and training indexes are shared
        offers = getattr(self.generator, "offers_", None)
        if offers is not None:
            generator.offers_ = offers.copy()
        if published:
            generator.index_offers(published)
        generator.remove_offers(withdrawn)
        return replace(self, generator=generator, index_version=index_version)

    def ranking_mode(self, kill_switch: bool) -> str:
        return "ml" if self.ranker is not None and not kill_switch else "rule"

    def served_model(self, kill_switch: bool) -> str:
        return self.model_version if self.ranking_mode(kill_switch) == "ml" else "rule"

    def _builder(self, tables: MarketTables) -> PairFeatureBuilder:
        """One feature builder per event log: the history is computed once for a whole run."""
        if self._cached_builder is None or self._cached_builder[0] is not tables:
            empty = EmbeddingTable(pd.Index([]), np.zeros((0, self.generator.encoder.dim), dtype=np.float32))
            builder = PairFeatureBuilder(
                referential=self.generator.referential, embeddings=PairEmbeddings(empty, empty)
            ).fit(tables)
            self._cached_builder = (tables, builder)
        return self._cached_builder[1]

    def features(
        self,
        tables: MarketTables,
        profiles: Sequence[Profile],
        pairs: pd.DataFrame,
        *,
        queries: FloatMatrix | None = None,
    ) -> pd.DataFrame:
        """Pair features of ``pairs`` (``profile_id``, ``offer_id``, ``as_of``) for these people, shape ``(m, n)``.

        ``queries`` (shape ``(len(profiles), dim)``) are the people's vectors when already encoded.
        """
        offer_ids = pairs["offer_id"].unique()
        embeddings = self._embeddings(profiles, offer_ids, queries)
        return self._builder(tables).using(embeddings).transform(pairs)

    def encode_people(self, profiles: Sequence[Profile]) -> FloatMatrix:
        """The people's query vectors, shape ``(len(profiles), dim)``, in one encoder call."""
        return self.generator.encoder.encode_query(
            [profile_view(p, self.generator.referential) for p in profiles]
        )

    def _profile_vectors(
        self, people: Sequence[Profile], searched: Sequence[Profile], vectors: FloatMatrix
    ) -> FloatMatrix:
        """Vectors of the people's own profiles (what the ranker was trained on), shape ``(len(people), dim)``.

        The batch encoded each person as their subscription searches; that is the same text when the
        subscription keeps the profile's ROME codes (the default), so only the others are encoded again.
        """
        row_of = {p.id: k for k, p in reversed(list(enumerate(searched)))}
        out = np.zeros((len(people), vectors.shape[1]), dtype=np.float32)
        differ = []
        for k, person in enumerate(people):
            row = row_of.get(person.id)
            if row is not None and tuple(searched[row].rome_codes) == tuple(person.rome_codes):
                out[k] = vectors[row]
            else:
                differ.append(k)
        if differ:
            out[differ] = self.encode_people([people[k] for k in differ])
        return out

    def _embeddings(
        self, profiles: Sequence[Profile], offer_ids: np.ndarray, queries: FloatMatrix | None
    ) -> PairEmbeddings:
        """People encoded now (their project may have just changed) unless given; offers from the index."""
        index = self.generator.offers_
        if queries is None:
            queries = self.encode_people(profiles)
        indexed = np.asarray([o for o in offer_ids.tolist() if index.has(o)], dtype=object)
        return PairEmbeddings(
            profiles=EmbeddingTable(pd.Index([p.id for p in profiles]), queries),
            offers=EmbeddingTable(pd.Index(indexed), index.vectors_of(index.rows_of(indexed.tolist()))),
        )

    def rank_for_subscriptions(
        self,
        tables: MarketTables,
        subscriptions: Sequence[Subscription],
        profiles: dict[str, Profile],
        *,
        now: pd.Timestamp,
        exclude: dict[str, set[str]] | None = None,
        offers_since: Mapping[str, pd.Timestamp] | None = None,
        kill_switch: bool = False,
    ) -> pd.DataFrame:
        """Ranked, sendable offers for each subscription.

        Returns columns ``subscription_id, profile_id, offer_id, score, rank`` (rank 1 = best), at most
        ``max_alerts_per_run`` rows per subscription; none when nothing fits (quiet run). Offers already
        alerted (``exclude``), not yet published or expired at ``now``, withdrawn, outside the
        subscription's settings (declared contracts and hours unless ``beyond_criteria``, excluded
        contracts and occupations, salary floor, minimum hours) or covering no more skills than one
        refused for missing skills (:data:`models.scoring.UNSTATED_IN_SUBSCRIPTION`) are never sent;
        the other stated refusals an offer repeats rank it last under the rule; the learned ranker
        does not send an offer whose stated reasons still bind (its ``binding_floor``) and weighs the
        others' evidence.
        ``offers_since`` (incremental runs) keeps, for each subscription it names, only offers received
        after its moment (offers without a reception time: created after it).
        """
        exclude = exclude or {}
        rows: list[tuple[str, str, str]] = []
        subscribed = [s for s in subscriptions if s.profile_id in profiles]
        searched = [_as_searched(profiles[s.profile_id], s) for s in subscribed]
        vectors = self.encode_people(searched) if searched else None  # one encoder call per batch
        for row, (sub, person) in enumerate(zip(subscribed, searched, strict=True)):
            assert vectors is not None
            # the declared contracts and hours are respected unless the person opted in to more
            # (the alert then says how the offer departs from them)
            ids, _ = self.generator.recommend_offers(
                person,
                k=CANDIDATES_PER_SUBSCRIPTION,
                respect_preferences=not sub.beyond_criteria,
                query=vectors[row],
            )
            seen = exclude.get(sub.id, set())
            rows.extend((sub.id, sub.profile_id, o) for o in ids.tolist() if o not in seen)
        columns = ["subscription_id", "profile_id", "offer_id", "score", "rank"]
        if not rows:
            return pd.DataFrame(columns=columns)
        pool = pd.DataFrame(rows, columns=["subscription_id", "profile_id", "offer_id"])
        store = self._builder(tables).offers
        offer_rows = store.rows(pool["offer_id"].to_numpy())
        known = offer_rows >= 0
        pool = pool[known]
        keep = _hard_filters(store.take(offer_rows[known]), subscribed, pool, now, offers_since)
        pool = pool[keep].reset_index(drop=True)
        if pool.empty:
            return pd.DataFrame(columns=columns)
        people = [profiles[p] for p in pool["profile_id"].unique()]
        assert vectors is not None
        X = self.features(
            tables,
            people,
            pool.assign(as_of=now)[["profile_id", "offer_id", "as_of"]],
            queries=self._profile_vectors(people, searched, vectors),
        )
        mode = self.ranking_mode(kill_switch)
        learned = mode == "ml" and self.ranker is not None
        # The learned ranker weighs each stated reason by its learned strength and decaying evidence;
        # one that still binds is not pushed (as the feedback-loop experiment plays it). The rule,
        # which learns nothing, puts every offer repeating a stated refusal last.
        scores = (
            learned_scores(self.ranker, X) if learned and self.ranker else rule_scores(X) - stated_penalty(X)
        )
        binding = self.ranker.binding(X) if learned and self.ranker else np.zeros(len(X))
        # Employer-side balance: offers already swamped with applications are not pushed again.
        positions = X["offer_positions"].fillna(1.0).clip(lower=1.0).to_numpy()
        saturated = X["offer_applications"].fillna(0.0).to_numpy() >= SATURATION * positions
        pool = pool.assign(score=scores)[sendable(X, UNSTATED_IN_SUBSCRIPTION) & ~saturated & (binding == 0)]
        pool = pool.sort_values(["subscription_id", "score", "offer_id"], ascending=[True, False, True])
        pool["rank"] = pool.groupby("subscription_id").cumcount() + 1
        limits = pd.Series({s.id: s.max_alerts_per_run for s in subscribed})
        pool = pool[pool["rank"] <= limits.reindex(pool["subscription_id"]).to_numpy()]
        return pool[columns].reset_index(drop=True)


def _as_searched(profile: Profile, sub: Subscription) -> Profile:
    """The person as their subscription asks to search: its ROME codes, radius, contracts and minimum
    hours override the profile's."""
    update: dict[str, object] = {"rome_codes": sub.rome_codes, "max_commute_km": sub.radius_km}
    if sub.contract_types:
        update["contract_types"] = sub.contract_types
    if sub.min_weekly_hours:
        update["min_weekly_hours"] = sub.min_weekly_hours
    return profile.model_copy(update=update)


def _hard_filters(
    offers: dict[str, np.ndarray],
    subscriptions: list[Subscription],
    pool: pd.DataFrame,
    now: pd.Timestamp,
    offers_since: Mapping[str, pd.Timestamp] | None,
) -> np.ndarray:
    """Which candidate rows the subscription's explicit settings allow and are still open, shape ``(m,)``."""
    by_id = {s.id: s for s in subscriptions}
    subs = [by_id[s] for s in pool["subscription_id"]]
    contract = offers["contract_type"]
    excluded = np.array(
        # excluding CDD excludes a CDD Tremplin (DDT) too, as declaring it accepts one
        [
            c in accepted_contract_codes(s.excluded_contract_types)
            for c, s in zip(contract, subs, strict=True)
        ],
        dtype=bool,
    )
    salary = as_float(offers["salary_max_monthly"])
    floor = np.array([s.salary_floor_monthly or 0.0 for s in subs])
    underpaid = np.isfinite(salary) & (salary < floor)
    hours = as_float(offers["weekly_hours"])
    min_hours = np.array([s.min_weekly_hours or 0.0 for s in subs])
    too_short = np.isfinite(hours) & (hours < min_hours)
    expires = pd.to_datetime(pd.Series(offers["expires_at"])).to_numpy()
    expired = ~pd.isna(expires) & (expires <= np.datetime64(now.tz_convert(None).normalize()))
    withdrawn = ~pd.isna(pd.Series(offers.get("withdrawn_at", np.full(len(pool), None)))).to_numpy()
    # occupations refused as "pas ce métier": a ROME code or an appellation code of the subscription's
    refused_job = np.zeros(len(pool), dtype=bool)
    if any(s.excluded_occupations for s in subs):
        unknown = np.full(len(pool), None, dtype=object)
        codes = zip(
            offers.get("rome_code", unknown), offers.get("appellation_code", unknown), subs, strict=True
        )
        refused_job = np.array(
            [
                bool(s.excluded_occupations) and not {r, a}.isdisjoint(s.excluded_occupations)
                for r, a, s in codes
            ],
            dtype=bool,
        )
    # not published yet at the ranking moment (an index built from a whole simulated world holds them)
    created = pd.to_datetime(pd.Series(offers["created_at"]), utc=True).dt.tz_convert(None).to_numpy()
    moment = (now.tz_convert(None) if now.tzinfo is not None else now).to_datetime64()
    unpublished = ~pd.isna(created) & (created > moment)
    keep = ~(excluded | underpaid | too_short | expired | withdrawn | refused_job | unpublished)
    if offers_since:
        # new = received by the engine since the subscription was last ranked (worlds: created since)
        received = pd.to_datetime(pd.Series(offers.get("received_at", offers["created_at"])), utc=True)
        since = pd.to_datetime(pool["subscription_id"].map(offers_since), utc=True)
        keep &= (since.isna().to_numpy() | (received.to_numpy() > since.to_numpy())).astype(bool)
    return np.asarray(keep, dtype=bool)


def rank_profiles_for_offer(
    service: RankingService,
    tables: MarketTables,
    offer_id: str,
    profiles: dict[str, Profile],
    *,
    now: pd.Timestamp,
    kill_switch: bool = False,
    exposure: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Score consenting candidates for an offer: columns ``profile_id, score`` best first, and why each
    is placed lower (``stated``: the keys of :func:`features.pairs.stated_constraints` the offer
    repeats; ``beyond_radius``: beyond their own commute, which the rule ranks last too).

    A candidate who stated a refusal reason this offer repeats (too far, contract type refused…) is
    ranked after the others rather than dropped: the counsellor still sees them. Candidates whose
    scores are near-equal (within ``NEAR_EQUAL`` of the score spread) are ordered by how often they
    were already shown (``exposure``), so the same people are not on top of every offer of an area.
    """
    ids = [p for p in profiles if p in tables.profiles.index]
    if not ids or offer_id not in tables.offers.index:
        return pd.DataFrame(
            {
                "profile_id": pd.Series(dtype=str),
                "score": pd.Series(dtype=float),
                "stated": pd.Series(dtype=object),
                "beyond_radius": pd.Series(dtype=bool),
            }
        )
    pairs = pd.DataFrame({"profile_id": ids, "offer_id": offer_id, "as_of": now})
    X = service.features(tables, [profiles[p] for p in ids], pairs)
    if service.ranking_mode(kill_switch) == "ml" and service.ranker is not None:
        # a counsellor's list puts a person who stated a refusal this offer repeats lower, and says why
        # (the words below read the same masks): the counsellor decides, not a decaying weight
        scores = learned_scores(service.ranker, X, respect_stated=True, across_people=True)
    else:
        scores = rule_scores(X) - stated_penalty(X)
    masks = stated_constraints(X)  # the same features the penalty read: the words will not disagree
    stated = [tuple(r for r, mask in masks.items() if mask[i]) for i in range(len(ids))]
    beyond = X["beyond_declared_radius"].fillna(0.0).to_numpy(float) > 0
    frame = pd.DataFrame({"profile_id": ids, "score": scores, "stated": stated, "beyond_radius": beyond})
    return rotate_by_exposure(frame, exposure or {})


def rotate_by_exposure(
    frame: pd.DataFrame, exposure: dict[str, int], near_equal: float = NEAR_EQUAL
) -> pd.DataFrame:
    """Order ``profile_id, score`` rows (and any other columns) best first, the less-shown first among
    near-equal scores.

    Scores are cut into bands of ``near_equal`` × their spread below the best; inside a band,
    fewer past exposures win, then the score.
    """
    scores = frame["score"].to_numpy(float)
    spread = float(np.ptp(scores)) if len(scores) > 1 else 0.0
    width = near_equal * spread if spread > 0 else 1.0
    ordered = frame.assign(
        band=np.floor((scores.max() - scores) / width) if len(scores) else scores,
        shown=frame["profile_id"].map(exposure).fillna(0).astype(int),
    ).sort_values(["band", "shown", "score", "profile_id"], ascending=[True, True, False, True])
    return ordered.drop(columns=["band", "shown"]).reset_index(drop=True)
