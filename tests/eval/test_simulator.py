"""The market simulator: reproducible, coherent, and honest about the hidden behaviour it emits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from eval.simulator import (
    MarketConfig,
    World,
    WorldFormatError,
    read_manifest,
    read_world,
    simulate_market,
    write_world,
)
from eval.simulator.config import MarketAnchor
from eval.simulator.stream import write_world_streaming
from matching.errors import MatchingError
from matching.geo import Communes, haversine_km, load_communes
from matching.referential import Referential

SAMPLE_WORLD = Path(__file__).resolve().parents[2] / "data" / "sample" / "world"
SMALL = MarketConfig(n_profiles=600, n_offers=500, n_trainings=80, months=2, seed=7)


@pytest.fixture(scope="module")
def fallback() -> Communes:
    return load_communes()


@pytest.fixture(scope="module")
def world(builtin: Referential, fallback: Communes) -> World:
    return simulate_market(builtin, fallback, MarketConfig(seed=3))


def test_same_seed_same_world(builtin: Referential, fallback: Communes) -> None:
    a = simulate_market(builtin, fallback, SMALL)
    b = simulate_market(builtin, fallback, SMALL)
    for table in World.TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    c = simulate_market(builtin, fallback, SMALL.model_copy(update={"seed": 8}))
    assert not c.profiles["home_lat"].equals(a.profiles["home_lat"])


def test_period_does_not_change_the_people(builtin: Referential, fallback: Communes) -> None:
    short = simulate_market(builtin, fallback, SMALL.model_copy(update={"months": 0}))
    pd.testing.assert_frame_equal(short.profiles, simulate_market(builtin, fallback, SMALL).profiles)
    assert short.interactions.empty


def test_committed_sample_is_what_the_command_generates(
    builtin: Referential, fallback: Communes, tmp_path: Path
) -> None:
    manifest = json.loads((SAMPLE_WORLD / "manifest.json").read_text())
    config = MarketConfig(**manifest["config"])
    assert config == MarketConfig()  # `matching sample` defaults
    fresh = write_world(simulate_market(builtin, fallback, config), tmp_path / "world")
    # byte for byte, manifest included: optional settings a world was made without leave no trace
    assert (fresh / "manifest.json").read_bytes() == (SAMPLE_WORLD / "manifest.json").read_bytes()
    assert sum(p.stat().st_size for p in SAMPLE_WORLD.iterdir()) < 5 * 2**20


def test_exposure_is_logged_with_ranks(world: World) -> None:
    sent = world.interactions[world.interactions["event"] == "alert_sent"]
    assert sent["rank"].notna().all()
    assert sent["rank"].min() == 1
    assert sent["rank"].max() == world.config.alerts_per_week
    assert not sent.duplicated(["profile_id", "offer_id"]).any()  # each offer alerted once per person
    opened = world.interactions[world.interactions["event"] == "alert_opened"]
    open_rate = opened.groupby("rank").size() / sent.groupby("rank").size()
    assert open_rate.loc[1] > open_rate.loc[world.config.alerts_per_week]  # position bias


def test_events_name_who_acted(world: World) -> None:
    """Who acted, as serving logs it: employers' decisions and hires are the employer's, proposals the
    counsellor's, a person's answers to alerts and enrolments their own, alerts sent the system's."""
    events = world.interactions
    actor_of = events.groupby("event")["actor"].agg(lambda actors: set(actors))
    for event in ("employer_accepted", "employer_refused", "hired"):
        assert actor_of[event] == {"employer"}, event
    assert actor_of["counsellor_proposed"] == {"counsellor"}
    for event in ("alert_opened", "refused", "applied", "training_enrolled"):
        assert actor_of[event] == {"jobseeker"}, event
    assert actor_of["alert_sent"] == {"system"}


def _pairs(world: World, event: str, reason: str | None = None) -> pd.DataFrame:
    """Events joined with their offer (columns suffixed ``_o``) and person (profile + hidden truth)."""
    events = world.interactions[world.interactions["event"] == event]
    if reason is not None:
        events = events[events["reason"] == reason]
    offers = world.offers.add_suffix("_o")
    profiles = world.profiles.rename(columns={"id": "profile_id"}).merge(world.hidden, on="profile_id")
    return events.merge(offers, left_on="offer_id", right_on="id_o").merge(profiles, on="profile_id")


def test_refusal_reasons_follow_hidden_preferences(world: World) -> None:
    far = _pairs(world, "refused", "distance")
    distance = haversine_km(far["home_lat"], far["home_lon"], far["lat_o"], far["lon_o"])
    assert (distance > far["true_commute_km"]).mean() > 0.99
    pay = _pairs(world, "refused", "salaire")
    assert (pay["salary_max_monthly_o"] < pay["true_salary_floor"]).mean() > 0.99
    contract = _pairs(world, "refused", "type_contrat")
    accepted = [
        row[f"true_accepts_{c}"]
        for c, (_, row) in zip(contract["contract_type_o"], contract.iterrows(), strict=True)
    ]
    assert not any(accepted)
    reasons = world.interactions.loc[world.interactions["event"] == "refused", "reason"].value_counts(
        normalize=True
    )
    assert set(reasons.index) >= {
        "distance",
        "salaire",
        "type_contrat",
        "horaires",
        "metier",
        "competences",
        "autre",
    }
    assert reasons["autre"] < 0.25


def _coverage(frame: pd.DataFrame) -> np.ndarray:
    return np.array(
        [
            len(set(req) & set(sk)) / len(req) if len(req) else 1.0
            for req, sk in zip(frame["required_skills_o"], frame["skills"], strict=True)
        ]
    )


def test_employers_and_hires_follow_fit(world: World) -> None:
    refused = _pairs(world, "employer_refused", "competences")
    hired = _pairs(world, "hired")
    assert len(hired) > 50
    assert _coverage(hired).mean() > _coverage(refused).mean() + 0.3
    assert not hired.duplicated("profile_id").any()
    per_offer = hired.groupby("offer_id").size()
    assert (per_offer <= world.offers.set_index("id").loc[per_offer.index, "positions"]).all()


def test_trainings(world: World) -> None:
    t = world.trainings
    assert (t.loc[t["poe_eligible"], "hours"] < 400).all()
    assert (t["end_date"] >= t["start_date"]).all()
    assert t["skills"].map(len).min() >= 1
    enrolled = world.interactions[world.interactions["event"] == "training_enrolled"]
    completed = world.interactions[world.interactions["event"] == "training_completed"]
    assert len(enrolled) > 0
    assert len(completed) <= len(enrolled)


def test_audit_attributes_are_separate_and_independent(world: World) -> None:
    assert not {"sex", "age_band", "qpv"} & set(world.profiles.columns)
    audit = world.audit.set_index("profile_id")
    hired = set(world.interactions.loc[world.interactions["event"] == "hired", "profile_id"])
    share = audit.assign(hired=audit.index.isin(hired)).groupby("sex")["hired"].mean()
    assert abs(share["F"] - share["M"]) < 0.08  # no true group effect


def test_real_referential_world(real_referential: Referential, real_communes: Communes) -> None:
    world = simulate_market(
        real_referential,
        real_communes,
        MarketConfig(n_profiles=300, n_offers=300, n_trainings=30, months=1, seed=1),
    )
    assert world.offers["rome_code"].isin(list(real_referential.fiches)).all()
    assert world.profiles["home_insee"].map(lambda c: c in real_communes).all()
    assert (world.interactions["event"] == "alert_sent").sum() > 0


def test_round_trip_and_corruption_refused(world: World, tmp_path: Path) -> None:
    folder = write_world(world, tmp_path / "w")
    again = read_world(folder)
    pd.testing.assert_frame_equal(again.offers, world.offers)
    (folder / "offers.parquet").write_bytes((folder / "offers.parquet").read_bytes()[:-100])
    with pytest.raises(WorldFormatError, match="checksum"):
        read_world(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(WorldFormatError, match="matching sample"):
        read_world(folder)


def test_streamed_world_reads_back_and_is_reproducible(
    builtin: Referential, fallback: Communes, tmp_path: Path
) -> None:
    """Chunks of 700 rows (several row groups per table) give one consistent, readable world."""
    config = MarketConfig(n_profiles=2000, n_offers=1500, n_trainings=0, months=0, seed=3)
    counts = write_world_streaming(builtin, fallback, config, tmp_path / "a", chunk_rows=700)
    assert counts["profiles"] == counts["subscriptions"] == counts["audit"] == 2000
    assert counts["offers"] == 1500 and counts["trainings"] == counts["interactions"] == 0
    world = read_world(tmp_path / "a")  # checksums and the manifest's row counts hold
    assert world.profiles["id"].is_unique and world.offers["id"].is_unique
    assert world.profiles["id"].iloc[-1] == "P0002000"
    assert world.profiles["skills"].map(len).mean() > 1
    assert list(world.interactions.columns) == list(simulate_market(builtin, fallback, config).interactions)
    # chunks draw from their own streams: the world is not the same as one chunk…
    assert (
        world.profiles["rome_codes"].iloc[:700].tolist()
        != world.profiles["rome_codes"].iloc[700:1400].tolist()
    )
    # …and the same seed and chunking write the same bytes
    write_world_streaming(builtin, fallback, config, tmp_path / "b", chunk_rows=700)
    assert read_manifest(tmp_path / "a") == read_manifest(tmp_path / "b")
    with pytest.raises(MatchingError, match="months"):
        write_world_streaming(builtin, fallback, config.model_copy(update={"months": 1}), tmp_path / "c")


def test_streamed_chunks_share_the_occupations_working_time_propensities(
    builtin: Referential, fallback: Communes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Night work is an occupation's trait, not a chunk's: one draw serves every chunk of offers."""
    import eval.simulator.stream as stream

    drawn: list[np.ndarray] = []
    used: list[np.ndarray] = []

    def spy_draw(n_fiches: int, rng: np.random.Generator) -> np.ndarray:
        drawn.append(stream_draw(n_fiches, rng))
        return drawn[-1]

    def spy_use(config: MarketConfig, offers: dict, propensity: np.ndarray, rng: np.random.Generator) -> dict:
        used.append(propensity)
        return stream_use(config, offers, propensity, rng)

    stream_draw, stream_use = stream.schedule_propensities, stream.generate_offer_conditions
    monkeypatch.setattr(stream, "schedule_propensities", spy_draw)
    monkeypatch.setattr(stream, "generate_offer_conditions", spy_use)
    config = MarketConfig(n_profiles=50, n_offers=900, n_trainings=0, months=0, seed=3)
    write_world_streaming(builtin, fallback, config, tmp_path / "w", chunk_rows=300)
    assert len(drawn) == 1 and len(used) == 3
    assert all(u is drawn[0] for u in used)


@pytest.mark.slow
def test_national_size_world(builtin: Referential, fallback: Communes, tmp_path: Path) -> None:
    """1M profiles, 500k offers and 100k trainings stream to Parquet (~40 s, ~1.5 GB peak on 2 cores)."""
    config = MarketConfig(n_profiles=1_000_000, n_offers=500_000, n_trainings=100_000, months=0, seed=5)
    counts = write_world_streaming(builtin, fallback, config, tmp_path / "national")
    assert counts["profiles"] == 1_000_000 and counts["offers"] == 500_000
    assert counts["trainings"] == 100_000
    for table, column in (("profiles", "id"), ("offers", "id")):
        ids = pq.read_table(tmp_path / "national" / f"{table}.parquet", columns=[column])[column]
        assert len(ids) == counts[table]
        assert pc.count_distinct(ids).as_py() == counts[table]


def test_world_without_trainings(builtin: Referential, fallback: Communes) -> None:
    world = simulate_market(builtin, fallback, SMALL.model_copy(update={"n_trainings": 0}))
    assert world.trainings.empty
    assert not world.interactions["event"].str.startswith("training").any()


def test_anchored_world_draws_people_and_jobs_at_the_seeds(
    builtin: Referential, fallback: Communes, tmp_path: Path
) -> None:
    """Every entity at a seed (share 1): its occupation and, within the spread of a hub, its commune."""
    codes = ["N1103", "M1607"]
    places = fallback.insee[:3].tolist()
    anchor = MarketAnchor(
        seeds=tuple(
            (insee, code, 1.0 + k) for k, (insee, code) in enumerate(zip(places, codes * 2, strict=False))
        ),
        share=1.0,
        neighbour_share=0.0,
    )
    config = MarketConfig(n_profiles=300, n_offers=200, n_trainings=40, months=1, seed=5, anchor=anchor)
    world = simulate_market(builtin, fallback, config)
    assert world.profiles["rome_codes"].map(lambda c: c[0] in codes).all()
    assert (
        world.offers["rome_code"].isin(codes).all()
        and world.trainings["rome_codes"].map(lambda c: c[0] in codes).all()
    )
    lat, lon = zip(*(fallback.coords(p) for p in places), strict=True)
    nearest = haversine_km(
        world.offers["lat"].to_numpy()[:, None], world.offers["lon"].to_numpy()[:, None], lat, lon
    ).min(axis=1)
    assert np.median(nearest) < 25
    # the anchor is part of the world's description: it reads back and generates the same world
    folder = write_world(world, tmp_path / "anchored")
    again = read_world(folder)
    assert again.config == config
    pd.testing.assert_frame_equal(simulate_market(builtin, fallback, again.config).profiles, world.profiles)
    # some anchored people hold a fiche leading to the seed's (mobility, family): candidates too
    mixed = simulate_market(
        builtin,
        fallback,
        config.model_copy(update={"anchor": anchor.model_copy(update={"neighbour_share": 0.5})}),
    )
    assert not mixed.profiles["rome_codes"].map(lambda c: c[0] in codes).all()


def test_anchor_outside_the_world_is_refused(builtin: Referential, fallback: Communes) -> None:
    anchor = MarketAnchor(seeds=(("75056", "M1851", 1.0),))  # a real offer's code: not built-in
    with pytest.raises(MatchingError, match="anchor on the referential the offers use"):
        simulate_market(builtin, fallback, MarketConfig(n_profiles=50, n_offers=50, anchor=anchor))
