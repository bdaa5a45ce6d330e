"""Offline evaluation on logged events alone: a database, where no simulator knows the truth.

Protocol
--------
1. Cut the event log at ``cutoff`` (default :func:`default_cutoff`: the day by which 70 % of the logged
   alert lists had been sent). The reranker learns from the lists sent before it, labelled with the
   outcomes logged before it, exactly as on a simulated world (:func:`models.training.train_ranker`).
2. Every ranker reorders each alert list sent from the cut-off on. The grades are the outcomes logged
   for each offer shown, whenever they were logged (:mod:`models.dataset`: hired 5, employer accepted
   4, applied 3, opened 2, shown and never opened 1, refused 0).
3. The metrics read those grades only (:func:`logged_ranking_metrics`); parity ratios between audit
   groups are computed where the database holds audit attributes, and left out where it holds none.

Only the order within a logged list can be judged: an offer that was never shown has no outcome. What
needs the simulator's hidden behaviour is not computed (:data:`SKIPPED`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.baselines import BM25Scorer, Scorer
from eval.metrics import mrr, ndcg_at_k, rank_by_score, recall_at_k, refusal_rate_at_k
from features.embeddings import PairEmbeddings, embed_tables
from features.pairs import PairFeatureBuilder
from features.schema import REASONS
from features.tables import MarketTables
from matching.encoders import Encoder
from matching.encoders.base import Progress
from matching.errors import MatchingError
from matching.frames import offers_from_frame, profiles_from_frame
from matching.referential import Referential
from matching.views import offer_view, profile_view
from models.dataset import GRADE_OF_EVENT, GRADE_SHOWN, RankingSet, logged_lists, ranking_set, temporal_split

DEFAULT_CUTOFF_SHARE = 0.7  # as on a world: learn on the first 70 %, evaluate on the rest
MIN_TRAINING_OUTCOMES = 200  # below this LambdaRank fits noise: a handful of lists per tree
MIN_EVALUATION_OUTCOMES = 50  # below this a difference in NDCG between rankers is noise
TOP = 3  # a list holds a handful of alerts: metrics @10 read it whole, @3 measure its order
LOGGED_APPLIED_GRADE = GRADE_OF_EVENT["applied"]  # "relevant" on the logged scale (3, not the oracle's 2)
LOGGED_OUTCOMES = "logged outcomes"  # the protocol's ``graded_by`` on logged events
SKIPPED = (
    "market metrics on candidates never shown (graded by the simulator's hidden behaviour)",
    "sourcing view (counsellors' candidates graded by the simulator)",
    "feedback-loop experiment (needs simulated answers)",
)


class NotEnoughOutcomesError(MatchingError):
    """The event log holds too few outcomes on one side of the cut-off to learn or to evaluate."""


@dataclass(frozen=True)
class OutcomeCounts:
    """Logged outcomes (alerts opened, applied to, refused, accepted, leading to a hire) on each side.

    Attributes
    ----------
    training, training_lists
        Outcomes logged before the cut-off for lists sent before it, and those lists.
    evaluation, evaluation_lists
        Outcomes of lists sent from the cut-off on (logged at any time), and those lists.
    """

    training: int
    training_lists: int
    evaluation: int
    evaluation_lists: int


def default_cutoff(tables: MarketTables, share: float = DEFAULT_CUTOFF_SHARE) -> pd.Timestamp:
    """The day (UTC midnight) by which ``share`` of the logged alert lists had been sent.

    Parameters
    ----------
    tables
        The event log, with ``alert_sent`` rows carrying ``list_id``.
    share
        Fraction of the lists on the learning side, in ``(0, 1)``.

    Returns
    -------
    pandas.Timestamp
        UTC, at midnight: a date a person can repeat with ``--cutoff``.

    Raises
    ------
    NotEnoughOutcomesError
        If no alert list was ever logged.
    """
    sent = tables.events[tables.events["event"] == "alert_sent"]
    if sent.empty:
        raise NotEnoughOutcomesError(
            f"the database holds no alert list: 0 logged outcomes, at least {MIN_TRAINING_OUTCOMES} "
            "needed to learn from (run the alert batch, and let people answer)"
        )
    # a list is sent at one moment; count lists, not alerts, so that long lists weigh as much as short
    first = sent.groupby("list_id")["occurred_at"].min()
    moments = first if len(first) else sent["occurred_at"]
    # on the nanosecond clock, "lower": the moment a list was actually sent, not one between two
    nanoseconds = int(np.quantile(moments.astype("int64").to_numpy(), share, method="lower"))
    return pd.Timestamp(nanoseconds, tz="UTC").floor("D")


def count_outcomes(tables: MarketTables, cutoff: pd.Timestamp) -> OutcomeCounts:
    """How many logged outcomes each side of ``cutoff`` holds (see :class:`OutcomeCounts`)."""
    train, test = temporal_split(tables, cutoff)
    answered_train = train["grade"] != GRADE_SHOWN
    answered_test = test["grade"] != GRADE_SHOWN
    return OutcomeCounts(
        training=int(answered_train.sum()),
        training_lists=int(train["list_id"].nunique()),
        evaluation=int(answered_test.sum()),
        evaluation_lists=int(test["list_id"].nunique()),
    )


def check_enough_outcomes(
    counts: OutcomeCounts,
    cutoff: pd.Timestamp,
    *,
    min_training: int = MIN_TRAINING_OUTCOMES,
    min_evaluation: int = MIN_EVALUATION_OUTCOMES,
) -> None:
    """Refuse an event log too thin to learn from or to evaluate on, saying what it has and needs.

    Raises
    ------
    NotEnoughOutcomesError
        One line: the outcomes on each side of ``cutoff`` and the minimum of each.
    """
    if counts.training >= min_training and counts.evaluation >= min_evaluation:
        return
    raise NotEnoughOutcomesError(
        f"too few logged outcomes to learn from: {counts.training} before the cut-off "
        f"{cutoff:%Y-%m-%d} (at least {min_training} needed) and {counts.evaluation} from it on "
        f"(at least {min_evaluation} needed); an outcome is an alert of a logged list opened, applied "
        "to, refused or leading to a hire — wait for more answers or move --cutoff"
    )


def embed_and_index(
    tables: MarketTables, referential: Referential, encoder: Encoder, *, progress: Progress | None = None
) -> tuple[PairEmbeddings, BM25Scorer]:
    """Embeddings and BM25 texts of the profiles and offers of ``tables`` (what every context needs).

    Returns
    -------
    tuple
        :class:`~features.embeddings.PairEmbeddings` (people as queries, offers as documents) and a
        :class:`~eval.baselines.BM25Scorer` over the same ROME-aware views.
    """
    embeddings = embed_tables(tables, referential, encoder, progress=progress)
    profiles = list(profiles_from_frame(tables.profiles))
    offers = list(offers_from_frame(tables.offers))
    bm25 = BM25Scorer(
        pd.Series([offer_view(o, referential) for o in offers], index=[o.id for o in offers]),
        pd.Series([profile_view(p, referential) for p in profiles], index=[p.id for p in profiles]),
    )
    return embeddings, bm25


@dataclass
class LoggedContext:
    """What every ranker is compared on when only the logged events are known.

    Attributes
    ----------
    referential, encoder
        The ROME referential and the encoder of the ``embedding_similarity`` feature.
    tables
        Profiles, offers, trainings and every logged event (features read history before each row).
    embeddings
        Vectors of the people and offers that are scored.
    builder
        The pair features serving computes, fitted on ``tables``.
    cutoff
        The temporal cut (UTC): learn before it, evaluate from it on.
    bm25
        The lexical baseline over the same texts.
    audit
        Protected attributes by person (``profile_id``, ``sex``, ``age_band``, ``qpv``) for parity
        ratios only, or ``None`` where there are none.
    source
        Where the events come from, in words (a database URL without its password, a world).
    """

    referential: Referential
    encoder: Encoder
    tables: MarketTables
    embeddings: PairEmbeddings
    builder: PairFeatureBuilder
    cutoff: pd.Timestamp
    bm25: BM25Scorer
    audit: pd.DataFrame | None
    source: str

    @classmethod
    def from_tables(
        cls,
        tables: MarketTables,
        referential: Referential,
        encoder: Encoder,
        *,
        cutoff: pd.Timestamp,
        source: str,
        audit: pd.DataFrame | None = None,
        progress: Progress | None = None,
    ) -> LoggedContext:
        """A context over logged tables (a database's), embedding only who and what was shown.

        Parameters
        ----------
        tables
            Every profile, offer and event (:func:`serving.storage.market.read_market_tables`).
        referential, encoder
            As serving uses them (the encoder of the published indexes, for the same similarity).
        cutoff
            The temporal cut (UTC).
        source
            Where the tables come from, in words (recorded with the evaluation).
        audit
            Protected attributes by person, or ``None`` (parity ratios are then not computed).
        progress
            ``(stage, done, in all)``: texts embedded (``embedding (<encoder>) profiles``, ``… offers``),
            then the event history the pair features read.
        """
        shown = tables.events.loc[tables.events["event"] == "alert_sent", ["profile_id", "offer_id"]]
        # Only offers shown in a list are ever scored here: embedding every offer a live database kept
        # (expired ones included) would cost hours and change nothing.
        scored = replace(
            tables,
            profiles=tables.profiles[tables.profiles.index.isin(shown["profile_id"])],
            offers=tables.offers[tables.offers.index.isin(shown["offer_id"])],
        )
        embedding = None
        if progress is not None:
            report = progress

            def embedding(stage: str, done: int, total: int) -> None:
                report(f"embedding ({encoder.name}) {stage}", done, total)

        embeddings, bm25 = embed_and_index(scored, referential, encoder, progress=embedding)
        if progress is not None:
            progress("pair features: event history", 0, 1)
        # fitted on every table: the history and going rates serving reads, not the shown subset
        builder = PairFeatureBuilder(referential=referential, embeddings=embeddings).fit(tables)
        if progress is not None:
            progress("pair features: event history", 1, 1)
        return cls(
            referential=referential,
            encoder=encoder,
            tables=tables,
            embeddings=embeddings,
            builder=builder,
            cutoff=pd.Timestamp(cutoff),
            bm25=bm25,
            audit=audit if audit is not None and len(audit) else None,
            source=source,
        )

    def with_tables(self, tables: MarketTables) -> Self:
        """The same context over another event log (features recomputed from it)."""
        # everything else is shared, a world's candidate generators by moment too: offers do not change
        builder = PairFeatureBuilder(referential=self.referential, embeddings=self.embeddings).fit(tables)
        return replace(self, tables=tables, builder=builder)

    def features(self, pool: pd.DataFrame) -> pd.DataFrame:
        """Pair features of rows with ``profile_id``, ``offer_id``, ``as_of``: shape ``(m, n_features)``."""
        return self.builder.transform(pool[["profile_id", "offer_id", "as_of"]])

    def protocol(self) -> dict[str, Any]:
        """What the evaluation ran on, for the report and MLflow's parameters."""
        counts = count_outcomes(self.tables, self.cutoff)
        return {
            "source": self.source,
            "graded_by": LOGGED_OUTCOMES,
            "profiles": len(self.tables.profiles),
            "offers": len(self.tables.offers),
            "events": len(self.tables.events),
            "outcomes_before_cutoff": counts.training,
            "outcomes_after_cutoff": counts.evaluation,
            "lists_after_cutoff": counts.evaluation_lists,
            "parity": "audit attributes" if self.audit is not None else "not computed: no audit attributes",
            "not_computed": "; ".join(SKIPPED),
        }


def logged_test_set(ctx: LoggedContext) -> RankingSet | None:
    """Alert lists sent from the cut-off on, with their logged grades and features; ``None`` if none."""
    rows = logged_lists(ctx.tables, sent_from=ctx.cutoff)
    return ranking_set(rows, ctx.builder) if len(rows) else None


def rerank(data: RankingSet, scorer: Scorer) -> pd.DataFrame:
    """Each logged list reordered by ``scorer``: a ranked frame (:mod:`eval.metrics`).

    Returns
    -------
    pandas.DataFrame
        One row per alert shown: ``query`` (the list), ``item`` (the offer), ``profile_id``,
        ``position`` (1 = top, by ``scorer``), ``grade`` (logged, 0..5), ``reason``.
    """
    rows = data.rows.rename(columns={"list_id": "query"}).assign(item=data.rows["offer_id"])
    scores: npt.NDArray[np.float64] = scorer(rows, data.X)
    return rank_by_score(rows, scores)


def logged_ranking_metrics(ranked: pd.DataFrame, k: int = 10, top: int = TOP) -> dict[str, float]:
    """Metrics of reordered logged lists, from their logged grades only.

    Parameters
    ----------
    ranked
        From :func:`rerank` (grades on the logged scale: applied 3, hired 5).
    k
        Cut of the main NDCG (a whole list when lists are shorter).
    top
        Cut of the metrics that judge the head of a list.

    Returns
    -------
    dict
        ``ndcg@k``, ``ndcg@top``, ``mrr`` (first application or better), ``recall@top`` (applications
        or better in the top), ``refusal_rate@top`` overall and by reason.
    """
    return {
        **ndcg_at_k(ranked, k),
        **ndcg_at_k(ranked, top),
        **mrr(ranked, min_grade=LOGGED_APPLIED_GRADE),
        **recall_at_k(ranked, top, min_grade=LOGGED_APPLIED_GRADE),
        **refusal_rate_at_k(ranked, top, REASONS),
    }
