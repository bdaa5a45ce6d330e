"""The one clock of the engine: what "now" and "today" are for ranking, trainings, availability and the
event log.

Real time in production. Pinned for a demo or a test (``MATCHING_NOW``), so that a demo world built
for early 2025 is current for the API, the pages and the batch alike (an API ranking at the machine's
date would find every training of that world started and every offer expired):

- pinned to a **day** (``2025-03-10``): today is that day and the time of day is the real one, so that
  every process (the API, a batch started later) agrees and events keep their order through the day;
  the world stays on that day: at real midnight its clock goes back to the day's start (a demo that
  runs over several real days repeats its day, and events of two real days interleave);
- pinned to a **moment** (``2025-03-10T09:00``): the clock starts there when it is made and runs on at
  real speed (tests).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta


def as_utc(moment: datetime) -> datetime:
    """``moment`` with a zone: a naive one is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    """Now and today, real or pinned.

    Parameters
    ----------
    pinned_at
        A day (today is that day, at the real time of day), or the moment the clock reads when it is
        made (a naive moment is UTC); ``None``: real time.

    Examples
    --------
    >>> Clock(pinned_at=date(2025, 3, 10)).today()
    datetime.date(2025, 3, 10)
    """

    pinned_at: date | datetime | None = None
    _started: float = field(default_factory=time.monotonic, repr=False, compare=False)

    def now(self) -> datetime:
        """The current moment (UTC, with its zone)."""
        real = datetime.now(UTC)
        if self.pinned_at is None:
            return real
        if not isinstance(self.pinned_at, datetime):  # a day: the real time of day on it
            return datetime.combine(self.pinned_at, real.timetz())
        return as_utc(self.pinned_at) + timedelta(seconds=time.monotonic() - self._started)

    def today(self) -> date:
        """The current day (UTC)."""
        return self.now().date()

    @property
    def pinned(self) -> bool:
        """Whether the clock was pinned (a demo or a test) rather than real time."""
        return self.pinned_at is not None
