"""Stated reasons as decaying evidence, and the signals beyond thresholds (issue 19)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eval.market import MarketContext
from features.pairs import PairFeatureBuilder
from features.schema import EVIDENCE_HALF_LIFE_DAYS


def _refusal(profile: str, offer: str, moment: pd.Timestamp, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "occurred_at": [moment],
            "event": ["refused"],
            "profile_id": [profile],
            "offer_id": [offer],
            "training_id": [None],
            "reason": [reason],
            "rank": [1],
            "list_id": ["t"],
            "actor": ["jobseeker"],
        }
    )


def _with(ctx: MarketContext, events: pd.DataFrame) -> PairFeatureBuilder:
    tables = ctx.tables.with_events(events)
    return PairFeatureBuilder(referential=ctx.referential, embeddings=ctx.embeddings).fit(tables)


def _gained(
    ctx: MarketContext, profile: str, refused: str, reason: str, offers: list[str], column: str
) -> pd.Series:
    """How much ``column`` rises for ``offers`` two days after ``profile`` refused ``refused`` for
    ``reason`` (a day after the world's last event)."""
    when = ctx.tables.events["occurred_at"].max() + pd.Timedelta(days=1)
    builder = _with(ctx, _refusal(profile, refused, when, reason))
    pairs = pd.DataFrame({"profile_id": profile, "offer_id": offers, "as_of": when + pd.Timedelta(days=2)})
    return builder.transform(pairs)[column] - ctx.builder.transform(pairs)[column]


def test_evidence_of_a_contract_refusal_halves_every_half_life(small_market: MarketContext) -> None:
    tables = small_market.tables
    offers = tables.offers
    profile = tables.profiles.index[0]
    refused = offers.index[offers["contract_type"] == "CDD"][0]
    same = offers.index[(offers["contract_type"] == "CDD") & (offers.index != refused)][0]
    other = offers.index[offers["contract_type"] == "CDI"][0]
    when = tables.events["occurred_at"].max() + pd.Timedelta(days=1)
    builder = _with(small_market, _refusal(profile, refused, when, "type_contrat"))
    ages = [1, 1 + EVIDENCE_HALF_LIFE_DAYS, 1 + 2 * EVIDENCE_HALF_LIFE_DAYS]
    pairs = pd.DataFrame(
        {
            "profile_id": profile,
            "offer_id": [same, same, same, other],
            "as_of": [when + pd.Timedelta(days=d) for d in ages] + [when + pd.Timedelta(days=1)],
        }
    )
    before = small_market.builder.transform(pairs)
    evidence = builder.transform(pairs)["evidence_type_contrat"] - before["evidence_type_contrat"]
    assert evidence[0] > 0.95 * np.exp(-1 / (EVIDENCE_HALF_LIFE_DAYS / np.log(2)))
    assert np.isclose(evidence[1], evidence[0] / 2) and np.isclose(evidence[2], evidence[0] / 4)
    assert evidence[3] == 0  # another contract type: no evidence


def test_refusing_an_undeclared_contract_weighs_on_every_undeclared_one(small_market: MarketContext) -> None:
    """Someone who declared CDI only and refused a CDD for its type wants no interim mission either;
    the declared CDI stays free of evidence."""
    tables = small_market.tables
    profiles, offers = tables.profiles, tables.offers
    profile = profiles.index[profiles["contract_types"].map(lambda c: list(c) == ["CDI"])][0]
    refused = offers.index[offers["contract_type"] == "CDD"][0]
    interim = offers.index[offers["contract_type"] == "MIS"][0]
    permanent = offers.index[offers["contract_type"] == "CDI"][0]
    gained = _gained(
        small_market, profile, refused, "type_contrat", [interim, permanent], "evidence_type_contrat"
    )
    assert gained[0] > 0.9 and gained[1] == 0


def test_not_this_job_about_an_offer_of_the_project_does_not_push_the_project_away(
    small_market: MarketContext,
) -> None:
    """A "metier" refusal of an offer of the person's own project code weighs on offers outside the
    project only: the declared project is undone by the person's declaration, not by one refusal."""
    tables = small_market.tables
    profiles, offers = tables.profiles, tables.offers

    def project_offers(profile: str) -> pd.Index:
        return offers.index[offers["rome_code"].isin(list(profiles.loc[profile, "rome_codes"]))]

    profile = next(p for p in profiles.index if len(project_offers(p)) >= 2)
    project = list(profiles.loc[profile, "rome_codes"])
    mine = project_offers(profile)
    elsewhere = offers.index[~offers["rome_code"].isin(project)][0]
    gained = _gained(
        small_market, profile, mine[0], "metier", [mine[0], mine[1], elsewhere], "evidence_metier"
    )
    assert gained[0] == 0 and gained[1] == 0 and gained[2] > 0.9


def test_a_salary_refusal_weighs_on_offers_paying_up_to_28_percent_more(small_market: MarketContext) -> None:
    """One sd of offered pay within an occupation (real offers): 20 % more still weighs, 30 % no more."""
    tables = small_market.tables
    offers = tables.offers[tables.offers["salary_max_monthly"].notna()]
    profile = tables.profiles.index[3]
    refused = offers.index[0]
    pay = float(offers.loc[refused, "salary_max_monthly"])
    ratio = offers["salary_max_monthly"] / pay
    near = ratio[(ratio > 1.15) & (ratio < 1.24)].index[0]
    beyond = ratio[ratio > 1.3].index[0]
    gained = _gained(small_market, profile, refused, "salaire", [refused, near, beyond], "evidence_salaire")
    assert gained[0] > 0.9 and 0 < gained[1] < gained[0] and gained[2] == 0


def test_an_hours_refusal_weighs_on_the_refused_working_time_not_on_every_full_time_offer(
    small_market: MarketContext,
) -> None:
    tables = small_market.tables
    offers = tables.offers
    profile = tables.profiles.index[1]
    nights = offers["schedule"].map(lambda s: "nuit" in s) & offers["full_time"]
    plain = (offers["schedule"].map(len) == 0) & offers["full_time"]
    refused, other_night, day_job = offers.index[nights][0], offers.index[nights][1], offers.index[plain][0]
    gained = _gained(small_market, profile, refused, "horaires", [other_night, day_job], "evidence_horaires")
    assert gained[0] > 0.9 and gained[1] == 0


def test_signals_beyond_thresholds_are_relative_to_the_person(small_market: MarketContext) -> None:
    tables = small_market.tables
    pool = pd.DataFrame(
        {
            "profile_id": np.repeat(tables.profiles.index[:30].to_numpy(), 20),
            "offer_id": np.tile(tables.offers.index[:20].to_numpy(), 30),
            "as_of": small_market.cutoff,
        }
    )
    X = small_market.features(pool)
    travel, distance = X["travel_time_ratio"], X["distance_ratio"]
    assert travel.notna().all() and (travel > 0).all()
    assert np.corrcoef(travel, distance)[0, 1] > 0.8  # minutes follow km, by mode and density
    own = X["salary_vs_own_pay"]
    assert own.notna().mean() > 0.5 and own.isna().any()  # only where the last pay was declared
    assert set(np.unique(X["offer_nights"])) <= {0.0, 1.0}
    assert (X["months_since_registration"] >= 0).all()
    assert X["distance_over_tolerance"].notna().all()
