"""The engine's one clock: real, pinned to a day, or pinned to a moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from matching.clock import Clock, as_utc


def test_real_clock_reads_real_time() -> None:
    before = datetime.now(UTC)
    now = Clock().now()
    assert before <= now <= datetime.now(UTC)
    assert not Clock().pinned


def test_a_day_is_that_day_at_the_real_time_of_day_in_every_process() -> None:
    first, second = Clock(pinned_at=date(2025, 3, 10)), Clock(pinned_at=date(2025, 3, 10))
    a = first.now()
    b = second.now()  # another process made its clock later: it agrees, and time still moves forward
    assert a.date() == b.date() == first.today() == date(2025, 3, 10)
    assert a.tzinfo is not None and a <= b
    real = datetime.now(UTC)
    gap = (real.hour * 60 + real.minute) - (a.hour * 60 + a.minute)
    assert gap % 1440 <= 1  # the real time of day (a minute may turn, midnight too)


def test_a_moment_runs_on_from_when_the_clock_was_made() -> None:
    clock = Clock(pinned_at=datetime(2025, 3, 10, 9, 30))  # naive: UTC
    now = clock.now()
    assert datetime(2025, 3, 10, 9, 30, tzinfo=UTC) <= now < datetime(2025, 3, 10, 9, 31, tzinfo=UTC)
    assert clock.now() >= now and clock.pinned


def test_as_utc_converts_zoned_moments() -> None:
    paris = datetime(2025, 3, 10, 10, 0, tzinfo=UTC) + timedelta(hours=1)
    assert as_utc(datetime(2025, 3, 10, 10, 0)).tzinfo is UTC
    assert as_utc(paris.astimezone()).hour == 11
