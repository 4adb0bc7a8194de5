"""The time. Dates that matter to owners (stages, birthdays, the yearly review) are dates in
the developer's time zone, not UTC: an owner delivered at 07:00 Beijing time on Jan 1st was
delivered on Jan 1st."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(timezone.utc)


def today(zone: ZoneInfo = LOCAL_ZONE) -> date:
    return now().astimezone(zone).date()
