"""The time. Dates that matter to owners (stages, birthdays, the yearly review) are dates in
the developer's time zone, not UTC: an owner delivered at 07:00 Beijing time on Jan 1st was
delivered on Jan 1st."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

# Set only while the demo replays its history (loyalty.demo): the services then record a
# sale, a check-in or a survey answer on the day it happened, through the same code paths.
_as_of: ContextVar[datetime | None] = ContextVar("loyalty_clock_as_of", default=None)


def now() -> datetime:
    fixed = _as_of.get()
    return fixed if fixed is not None else datetime.now(timezone.utc)


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Inside, `now()` and `today()` answer `moment` (an aware datetime), in this task only."""
    if moment.tzinfo is None:
        raise ValueError("as_of needs an aware datetime")
    token = _as_of.set(moment.astimezone(timezone.utc))
    try:
        yield
    finally:
        _as_of.reset(token)


def today(zone: ZoneInfo = LOCAL_ZONE) -> date:
    return now().astimezone(zone).date()
