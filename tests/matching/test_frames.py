"""Frames <-> domain objects: the columns the pair features read survive a round trip (issue 19)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from matching.domain import (
    ContractType,
    Location,
    MobilityMode,
    Offer,
    Precision,
    Profile,
)
from matching.frames import offers_from_frame, offers_to_frame, profiles_from_frame, profiles_to_frame
from matching.schedule import WorkSchedule

CREATED = datetime(2025, 2, 3, 8, 30, tzinfo=UTC)


def _offers() -> list[Offer]:
    return [
        Offer(
            id="O1",
            title="Agent de tri de nuit",
            rome_code="K2304",
            location=Location(
                insee="06029", label="06 - CANNES", lat=43.55, lon=7.01, precision=Precision.COMMUNE
            ),
            contract_type=ContractType.MIS,
            weekly_hours=35.0,
            salary_min_monthly=1801.8,
            skills=("123", "456"),
            created_at=CREATED,
            need_date=date(2025, 3, 1),
            schedule=(WorkSchedule.WEEKENDS, WorkSchedule.NIGHTS),
            employer_size_band=5,
        ),
        Offer(id="O2", title="Data analyst", rome_code="M1419", created_at=CREATED),
    ]


def test_offers_round_trip_with_schedule_and_employer_size() -> None:
    offers = _offers()
    frame = offers_to_frame(offers)
    assert frame.loc["O1", "schedule"] == ["nuit", "week_end"]  # plain values, in one order
    assert frame.loc["O2", "schedule"] == []
    assert str(frame["employer_size_band"].dtype) == "Int64"
    assert frame.loc["O1", "employer_size_band"] == 5
    assert frame["employer_size_band"].isna().tolist() == [False, True]
    assert list(offers_from_frame(frame)) == offers


def test_offer_frames_without_the_new_columns_read_as_defaults() -> None:
    # a world written before the columns existed, or a database row whose schedule is NULL
    frame = offers_to_frame(_offers()).drop(columns=["employer_size_band"])
    frame["schedule"] = [None, None]
    read = list(offers_from_frame(frame))
    assert [o.schedule for o in read] == [(), ()]
    assert [o.employer_size_band for o in read] == [None, None]


def test_profiles_round_trip_with_mobility_and_pay() -> None:
    profiles = [
        Profile(
            id="P1",
            rome_codes=("K2304",),
            home=Location(insee="06029", lat=43.55, lon=7.01),
            max_commute_km=20.0,
            max_commute_minutes=45,
            mobility_mode=MobilityMode.PUBLIC_TRANSPORT,
            last_monthly_pay=1850.5,
            available_from=date(2025, 3, 1),
        ),
        Profile(id="P2", rome_codes=("M1419",), home=Location(insee="75056")),
    ]
    frame = profiles_to_frame(profiles)
    assert frame.loc["P1", "mobility_mode"] == "transports_en_commun"
    assert type(frame.loc["P1", "mobility_mode"]) is str  # the value, not the enum
    assert frame.loc["P1", "last_monthly_pay"] == 1850.5
    assert frame.loc["P1", "max_commute_minutes"] == 45
    assert frame[["last_monthly_pay", "mobility_mode"]].isna().loc["P2"].all()
    assert list(profiles_from_frame(frame)) == profiles
