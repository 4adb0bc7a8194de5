"""A rate limit's window in words ("1 hour", "5 minutes"), for the 429s that name it."""

from __future__ import annotations

from typing import Any

from loyalty.i18n import Message, _n

_UNITS = {
    "second": lambda n: _n("{count} second", "{count} seconds", n),
    "minute": lambda n: _n("{count} minute", "{count} minutes", n),
    "hour": lambda n: _n("{count} hour", "{count} hours", n),
    "day": lambda n: _n("{count} day", "{count} days", n),
    "month": lambda n: _n("{count} month", "{count} months", n),
    "year": lambda n: _n("{count} year", "{count} years", n),
}


def window_words(item: Any) -> Message | str:
    """The window of a `limits` rate item (`20/hour` → "1 hour"); a unit we have no words for
    is shown as the library writes it."""
    unit = _UNITS.get(item.GRANULARITY.name)
    return unit(int(item.multiples)) if unit else f"{item.multiples} {item.GRANULARITY.name}"
