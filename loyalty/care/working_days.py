"""Working days in China (DESIGN.md, "Working days"): statutory holidays and the adjusted
working days (调休, e.g. Saturday 2026-10-10 is worked to make Golden Week), from the maintained
`chinese-calendar` package, never a hand list.

Beyond the years the package knows (it is updated each November, when the State Council
publishes the next year's schedule), a day counts as a working day when it is Monday to
Friday, and a warning is logged once per year. We fall back rather than refuse: a clock that
refused would stop a complaint from closing on January 2nd until someone upgrades a package,
and a Monday-to-Friday count can only make a due time *earlier* than the real one (a holiday
counted as a working day), never let a promised call run late unnoticed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import chinese_calendar

from loyalty import clock

log = logging.getLogger("loyalty.care.working_days")

_warned_years: set[int] = set()


def is_working_day(day: date) -> bool:
    """True on a working day in mainland China (adjusted working Saturdays and Sundays included)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "chinese-calendar %s has no holiday schedule for %s: counting Monday to Friday as working days "
                "(upgrade the package once the State Council publishes the year)",
                getattr(chinese_calendar, "__version__", "?"), day.year,
            )
        return day.weekday() < 5


def add_working_days(start: datetime, n: int) -> datetime:
    """The same Beijing clock time on the `n`-th working day after `start`'s Beijing date
    (`start` itself never counts, whether or not it is a working day). n = 0 is `start`."""
    if n < 0:
        raise ValueError("n counts working days forward: it is 0 or more")
    local = start.astimezone(clock.LOCAL_ZONE)
    day, left = local.date(), n
    while left:
        day += timedelta(days=1)
        left -= is_working_day(day)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), clock.LOCAL_ZONE)
