"""Pair features: allowlist, no protected attribute, no leakage of future events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eval.market import MarketContext
from eval.simulator.records import world_tables
from features.pairs import PairFeatureBuilder, stated_constraint_violations
from features.schema import (
    FEATURE_NAMES,
    TRAINING_FEATURES,
    FeatureAllowlistError,
    check_allowlist,
    protected_words,
)
from models.dataset import logged_lists
from serving.storage.market import read_market_tables


def test_every_declared_feature_is_allowlisted_and_none_is_protected() -> None:
    check_allowlist(FEATURE_NAMES)
    check_allowlist(TRAINING_FEATURES, allowlist=TRAINING_FEATURES)
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)


@pytest.mark.parametrize(
    "name",
    [
        "sex",
        "age_band",
        "qpv",
        "home_commune",
        "home_insee",
        "postcode_match",
        "nationality",
        "handicap",
        "home_lat",
        "family_size",
    ],
)
def test_protected_or_location_identity_names_are_refused(name: str) -> None:
    assert protected_words(name)
    with pytest.raises(FeatureAllowlistError, match="protected"):
        check_allowlist([*FEATURE_NAMES, name], allowlist=[*FEATURE_NAMES, name])
    with pytest.raises(FeatureAllowlistError, match="not allowlisted"):
        check_allowlist([name])


def test_feature_tables_leave_audit_and_ground_truth_behind(small_world) -> None:  # type: ignore[no-untyped-def]
    tables = world_tables(small_world)
    assert set(vars(tables)) == {"profiles", "offers", "trainings", "events"}
    audit_columns = set(small_world.audit.columns) - {"profile_id"}
    for frame in (tables.profiles, tables.offers, tables.events):
        assert not audit_columns & set(frame.columns)
        assert not [c for c in frame.columns if c.startswith("true_")]


def test_builder_returns_exactly_the_allowlist(small_market: MarketContext) -> None:
    rows = logged_lists(small_market.tables).head(200)
    X = small_market.builder.transform(rows[["profile_id", "offer_id", "as_of"]])
    assert tuple(X.columns) == FEATURE_NAMES
    assert len(X) == 200
    assert np.isfinite(X.to_numpy()[~np.isnan(X.to_numpy())]).all()


def test_features_ignore_events_at_or_after_their_moment(small_market: MarketContext) -> None:
    """Cutting the log at a list's send time (or adding later events) changes none of its features."""
    tables = small_market.tables
    rows = logged_lists(tables)
    late = rows[rows["as_of"] > rows["as_of"].quantile(0.7)]
    moment = late["as_of"].min()
    at_moment = rows[rows["as_of"] == moment][["profile_id", "offer_id", "as_of"]]
    assert len(at_moment) > 0
    full = small_market.builder.transform(at_moment)
    cut = PairFeatureBuilder(referential=small_market.referential, embeddings=small_market.embeddings).fit(
        tables.events_before(moment)
    )
    pd.testing.assert_frame_equal(full, cut.transform(at_moment))
    # a refusal of every candidate logged exactly at the moment must not be seen either
    same_time = at_moment.assign(
        occurred_at=moment,
        event="refused",
        reason="distance",
        training_id=None,
        rank=1,
        list_id="x",
        actor="system",
    )
    noisy = PairFeatureBuilder(referential=small_market.referential, embeddings=small_market.embeddings).fit(
        tables.with_events(same_time.drop(columns="as_of"))
    )
    pd.testing.assert_frame_equal(full, noisy.transform(at_moment))


def test_history_features_follow_refusals(small_market: MarketContext) -> None:
    """A refusal for distance, logged before the moment, shows up in the person's features."""
    tables = small_market.tables
    profile, offer = tables.profiles.index[0], tables.offers.index[0]
    moment = tables.events["occurred_at"].max() + pd.Timedelta(days=1)
    pair = pd.DataFrame({"profile_id": [profile], "offer_id": [offer], "as_of": [moment]})
    before = small_market.builder.transform(pair)
    refusal = pd.DataFrame(
        {
            "occurred_at": [moment - pd.Timedelta(hours=1)],
            "event": ["refused"],
            "profile_id": [profile],
            "offer_id": [offer],
            "training_id": [None],
            "reason": ["type_contrat"],
            "rank": [1],
            "list_id": ["t"],
            "actor": ["system"],
        }
    )
    after = (
        PairFeatureBuilder(referential=small_market.referential, embeddings=small_market.embeddings)
        .fit(tables.with_events(refusal))
        .transform(pair)
    )
    assert after.loc[0, "contract_refusals"] == before.loc[0, "contract_refusals"] + 1
    assert stated_constraint_violations(after)[0] >= 1


def test_unknown_ids_are_a_clear_error(small_market: MarketContext) -> None:
    pair = pd.DataFrame(
        {
            "profile_id": ["nobody"],
            "offer_id": [small_market.tables.offers.index[0]],
            "as_of": [pd.Timestamp("2025-02-01", tz="UTC")],
        }
    )
    with pytest.raises(KeyError, match="nobody"):
        small_market.builder.transform(pair)


def test_training_features_with_known_answers() -> None:
    from datetime import date, datetime

    from features.poe import training_features
    from matching.domain import Location, Offer, Profile

    home = Location(lat=48.85, lon=2.35)
    profile = Profile(id="p", rome_codes=("N1101",), skills=("s1",), home=home, max_commute_km=20)
    offer = Offer(
        id="o",
        title="Cariste",
        rome_code="N1101",
        required_skills=("s1", "s2", "s3"),
        created_at=datetime(2025, 1, 1),
        need_date=date(2025, 3, 1),
    )
    trainings = pd.DataFrame(
        {
            "skills": [("s2", "s3"), ("s2",), ("s9",)],
            "hours": [210.0, 500.0, 70.0],
            "start_date": [date(2025, 1, 20), date(2025, 1, 10), date(2025, 2, 1)],
            "end_date": [date(2025, 2, 20), date(2025, 4, 10), date(2025, 2, 15)],
            "lat": [48.85 + 10 / 111.2, 48.85, 43.3],
            "lon": [2.35, 2.35, 5.4],
            "modality": ["presentiel", "presentiel", "distanciel"],
            "outcome_rate": [0.7, 0.5, 0.9],
            "poe_eligible": [True, True, True],
        }
    )
    X = training_features(profile, offer, trainings, today=date(2025, 1, 10))
    assert tuple(X.columns) == tuple(TRAINING_FEATURES)
    assert X["missing_covered_share"].tolist() == [1.0, 0.5, 0.0]
    assert X["poe_eligible"].tolist() == [1.0, 0.0, 1.0]  # 500 h is no POE whatever the flag says
    assert X["days_to_start"].tolist() == [10.0, 0.0, 22.0]
    assert X["ends_before_need"].tolist() == [1.0, 0.0, 1.0]
    assert X["training_distance_ratio"].iloc[0] == pytest.approx(0.5, abs=0.01)
    assert X["training_distance_ratio"].iloc[2] == 0.0  # remote


def test_features_from_the_database_equal_features_from_the_world(
    tmp_path, small_market: MarketContext
) -> None:  # type: ignore[no-untyped-def]
    from entrypoints.world_loader import load_world
    from serving.storage.db import make_engine, migrate
    from serving.storage.repository import SqlRepository

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    load_world(small_market.world, SqlRepository(engine))
    from_db = read_market_tables(engine)
    assert len(from_db.events) == len(small_market.tables.events)
    rows = logged_lists(small_market.tables).sample(300, random_state=0)[["profile_id", "offer_id", "as_of"]]
    db_builder = PairFeatureBuilder(
        referential=small_market.referential, embeddings=small_market.embeddings
    ).fit(from_db)
    pd.testing.assert_frame_equal(db_builder.transform(rows), small_market.builder.transform(rows))
