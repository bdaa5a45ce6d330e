"""Stress tests of the fairness audit: a deliberately biased ranker, biased historical labels, twins.

* :func:`biased_scorer` wraps a scorer and, for the people of one group, pushes scores down at random —
  the monitor must see it (alerts get worse for them, sourcing shows them less).
* :func:`inject_label_bias` removes a share of the positive outcomes (applications, acceptances, hires)
  of one group from the event log, as a biased history would; a ranker trained on it must not turn that
  label gap into a larger gap in what it ranks (it never sees the group).
* :func:`twin_declarations` makes, for each person, two declarations that differ only in name, civility,
  gendered form of the job title, graduation year and a QPV address; both go through the real intake
  (:func:`~matching.ingest.profiles.profile_from_declaration`) and are ranked by the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.baselines import Scorer
from eval.metrics import rank_by_score
from features.embeddings import EmbeddingTable, PairEmbeddings
from features.pairs import PairFeatureBuilder
from features.tables import MarketTables
from matching.domain import Profile
from matching.encoders import Encoder
from matching.frames import profiles_to_frame
from matching.geo import Communes
from matching.ingest.profiles import ProfileDeclaration, profile_from_declaration
from matching.referential import Referential, gendered_forms
from matching.views import profile_view
from models.dataset import GRADE_OF_EVENT

POSITIVE_EVENTS = ("applied", "employer_accepted", "hired")
POSITIVE_GRADE = GRADE_OF_EVENT["applied"]  # training labels: applied or better


def group_members(audit: pd.DataFrame, attribute: str, value: str) -> set[str]:
    """Profile ids whose audit ``attribute`` equals ``value`` (compared as text: ``qpv`` is "True")."""
    return set(audit.loc[audit[attribute].astype(str) == value, "profile_id"])


def biased_scorer(base: Scorer, members: set[str], *, strength: float = 1.0, random_state: int = 0) -> Scorer:
    """``base`` minus ``strength`` × its spread × U(0, 1) for rows of ``members`` (by ``profile_id``)."""

    def score(rows: pd.DataFrame, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        scores = np.asarray(base(rows, X), dtype=float)
        hit = rows["profile_id"].isin(members).to_numpy()
        spread = float(np.std(scores)) or 1.0
        noise = np.random.default_rng(random_state).random(len(scores))
        return scores - hit * strength * spread * noise

    return score


def inject_label_bias(
    tables: MarketTables,
    members: set[str],
    *,
    drop: float,
    before: pd.Timestamp,
    random_state: int = 0,
) -> MarketTables:
    """The event log without a share ``drop`` of the positive outcomes of ``members`` before ``before``.

    Whole (person, offer) outcomes go: an application and the hire that followed it vanish together.
    """
    events = tables.events
    positive = (
        events["event"].isin(POSITIVE_EVENTS)
        & events["profile_id"].isin(members)
        & (events["occurred_at"] < before)
    )
    pairs = events.loc[positive, ["profile_id", "offer_id"]].drop_duplicates()
    rng = np.random.default_rng(random_state)
    dropped = pairs[rng.random(len(pairs)) < drop]
    key = pd.MultiIndex.from_frame(events[["profile_id", "offer_id"]])
    gone = positive.to_numpy() & key.isin(pd.MultiIndex.from_frame(dropped))
    return replace(tables, events=events[~gone].reset_index(drop=True))


# -- counterfactual twins -----------------------------------------------------------------------------
# One identity per side; the twin differs in every field the issue lists and in nothing else.
ORIGINAL = {"civility": "M.", "first_name": "Julien", "last_name": "Martin", "graduation_year": 2008}
TWIN = {"civility": "Mme", "first_name": "Aïcha", "last_name": "Benali", "graduation_year": 2019}
ORIGINAL_ADDRESS = ("12 rue Victor Hugo", False)
TWIN_ADDRESS = ("Résidence Les Tilleuls, bâtiment C", True)  # a street of a quartier prioritaire


@dataclass(frozen=True)
class TwinPair:
    """Two declarations of one person that differ only in protected or proxy fields."""

    original: ProfileDeclaration
    twin: ProfileDeclaration


def _title_forms(profile: Profile, referential: Referential) -> tuple[str, str]:
    """(masculine, feminine) forms of the person's job title (its appellation, else the fiche)."""
    code = profile.appellation_codes[0] if profile.appellation_codes else None
    label = (
        referential.appellations[code].label
        if code is not None and code in referential.appellations
        else referential.fiches[profile.rome_codes[0]].label
    )
    forms = gendered_forms(label)
    return (forms[1], forms[2]) if len(forms) == 3 else (label, label)


def twin_declarations(profiles: list[Profile], referential: Referential) -> list[TwinPair]:
    """For each profile, a declaration with a masculine identity and its feminine QPV twin."""
    pairs = []
    for profile in profiles:
        masculine, feminine = _title_forms(profile, referential)
        shared = {
            "id": profile.id,
            "home_insee": profile.home.insee,
            "rome_code": profile.rome_codes[0],
            "skills": profile.skills,
            "experience_months": profile.experience_months,
            "qualification_code": profile.qualification_code,
            "max_commute_km": profile.max_commute_km,
            "contract_types": profile.contract_types,
            "min_weekly_hours": profile.min_weekly_hours,
            "max_weekly_hours": profile.max_weekly_hours,
            "salary_floor_monthly": profile.salary_floor_monthly,
            "available_from": profile.available_from,
            "visible": profile.visible,
            "registered_at": profile.registered_at,
            "birth_year": 1990,
        }
        pairs.append(
            TwinPair(
                ProfileDeclaration(
                    **shared,
                    **ORIGINAL,
                    job_title=masculine,
                    address=ORIGINAL_ADDRESS[0],
                    qpv=ORIGINAL_ADDRESS[1],
                ),
                ProfileDeclaration(
                    **shared, **TWIN, job_title=feminine, address=TWIN_ADDRESS[0], qpv=TWIN_ADDRESS[1]
                ),
            )
        )
    return pairs


Intake = Callable[[ProfileDeclaration, Referential, Communes, date], Profile]


def default_intake(
    declaration: ProfileDeclaration, referential: Referential, communes: Communes, today: date
) -> Profile:
    """The production intake (:func:`~matching.ingest.profiles.profile_from_declaration`), profile only."""
    return profile_from_declaration(declaration, referential, communes, today=today)[0]


def _tables_of(
    declarations: list[ProfileDeclaration],
    tables: MarketTables,
    make_profile: Callable[[ProfileDeclaration], Profile],
) -> tuple[MarketTables, list[Profile]]:
    """``tables`` with these people's rows replaced by what the intake makes of their declarations."""
    profiles = [make_profile(d) for d in declarations]
    rows = profiles_to_frame(profiles)
    others = tables.profiles.drop(index=rows.index)
    return replace(tables, profiles=pd.concat([others, rows[others.columns]])), profiles


@dataclass(frozen=True)
class TwinResult:
    """Rank displacement between twins, per (twin pair, ranked item)."""

    alerts_shift: pd.Series  # per (person, offer in the original's top k): |position change|
    sourcing_shift: pd.Series  # per (offer, person): |rank change| when only that person is the twin
    identical_profiles: float  # share of pairs the intake turned into the same profile

    def within(self, places: int = 1) -> dict[str, float]:
        """Share of pairs whose rank moved by at most ``places``, per side."""
        return {
            "alerts": float((self.alerts_shift <= places).mean()),
            "sourcing": float((self.sourcing_shift <= places).mean()),
        }


def _scores(
    pool: pd.DataFrame,
    tables: MarketTables,
    profiles: list[Profile],
    base: PairEmbeddings,
    encoder: Encoder,
    referential: Referential,
    scorer: Scorer,
) -> npt.NDArray[np.float64]:
    vectors = encoder.encode_query([profile_view(p, referential) for p in profiles])
    ids = pd.Index([p.id for p in profiles])
    others = base.profiles.ids.difference(ids)
    embeddings = PairEmbeddings(
        profiles=EmbeddingTable(
            others.append(ids), np.vstack([base.profiles.lookup(others), vectors]).astype(np.float32)
        ),
        offers=base.offers,
    )
    builder = PairFeatureBuilder(referential=referential, embeddings=embeddings).fit(tables)
    X = builder.transform(pool[["profile_id", "offer_id", "as_of"]])
    return np.asarray(scorer(pool, X), dtype=float)


def _other_better(ranked: pd.DataFrame, twin_scores: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """For each row, the rank the row would have if its score were ``twin_scores`` (others unchanged)."""
    out = np.empty(len(ranked), dtype=np.int64)
    for _query, rows in ranked.groupby("query", sort=False).indices.items():
        scores = ranked["score"].to_numpy()[rows]
        twin = twin_scores[rows]
        # 1 + rows scoring above the twin, not counting the person themself
        above = (scores[None, :] > twin[:, None]).sum(axis=1) - (scores > twin)
        out[rows] = 1 + above
    return out


def twin_ranks(
    pairs: list[TwinPair],
    *,
    alerts_pool: pd.DataFrame,
    sourcing_pool: pd.DataFrame,
    tables: MarketTables,
    embeddings: PairEmbeddings,
    encoder: Encoder,
    referential: Referential,
    communes: Communes,
    scorer: Scorer,
    today: date,
    k: int = 20,
    intake: Intake = default_intake,
) -> TwinResult:
    """Rank every pool with the originals, then with the twins, and measure how far ranks moved.

    Alerts: a twin gets their own list; each offer of the original's top ``k`` is followed to its new
    position. Sourcing: each person is swapped for their twin alone in an offer's list (others stay).
    ``intake`` turns a declaration into a profile (the production one by default).
    """
    ids = {p.original.id for p in pairs}
    alerts_pool = alerts_pool[alerts_pool["profile_id"].isin(ids)].reset_index(drop=True)
    sourcing_pool = sourcing_pool[sourcing_pool["profile_id"].isin(ids)].reset_index(drop=True)
    both = pd.concat(
        [alerts_pool.assign(side="alerts"), sourcing_pool.assign(side="sourcing")], ignore_index=True
    )
    scores = {}
    profiles_by_side = {}
    for side in ("original", "twin"):
        declarations = [getattr(p, side) for p in pairs]
        side_tables, profiles = _tables_of(
            declarations, tables, lambda d: intake(d, referential, communes, today)
        )
        profiles_by_side[side] = profiles
        scores[side] = _scores(both, side_tables, profiles, embeddings, encoder, referential, scorer)
    alerts = both["side"].to_numpy() == "alerts"
    original = rank_by_score(alerts_pool, scores["original"][alerts])
    twin = rank_by_score(alerts_pool, scores["twin"][alerts])
    moved = original.merge(twin[["query", "item", "position"]], on=["query", "item"], suffixes=("", "_twin"))
    moved = moved[moved["position"] <= k]
    alerts_shift = (moved["position"] - moved["position_twin"]).abs()
    # sourcing: scores of the full lists come from the originals; the twin's own row is swapped in
    full = rank_by_score(sourcing_pool, scores["original"][~alerts])
    twin_scores = pd.Series(scores["twin"][~alerts], index=sourcing_pool.index)
    order = full.merge(
        sourcing_pool.assign(twin_score=twin_scores)[["query", "item", "twin_score"]], on=["query", "item"]
    )
    twin_position = _other_better(order, order["twin_score"].to_numpy())
    sourcing_shift = pd.Series(np.abs(order["position"].to_numpy() - twin_position))
    same = np.mean(
        [a == b for a, b in zip(profiles_by_side["original"], profiles_by_side["twin"], strict=True)]
    )
    return TwinResult(alerts_shift.reset_index(drop=True), sourcing_shift, float(same))
