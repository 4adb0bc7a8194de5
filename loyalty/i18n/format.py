"""Numbers, money and times the way each locale writes them (Babel's CLDR data), in Beijing time.

Money is integer fen all the way here and becomes a Decimal only to be written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_datetime_format
from babel.lists import format_list
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency, format_decimal, format_percent

from loyalty.i18n.locale import normalise

BEIJING = ZoneInfo("Asia/Shanghai")
# From 100,000 yuan (10万) up, Chinese readers expect 万/亿 rather than six digits and more.
COMPACT_FROM_YUAN = 100_000


def _babel(locale: str) -> str:
    return normalise(locale).replace("-", "_")


def _yuan(fen: int) -> Decimal:
    return Decimal(int(fen)).scaleb(-2)


def _plain_yen(text: str) -> str:
    # CLDR writes the yuan as "CN¥" in English, to tell it from the Japanese yen; our readers
    # are in China, where "¥" is the yuan (the issue's `¥1,280.00`).
    return text.replace("CN¥", "¥")


def money(fen: int, locale: str, *, compact: bool = True) -> str:
    """`¥1,280.00` in both locales; from 10万元 up, `¥128万` in Chinese (and `¥1.28M` in English)
    unless `compact` is False (a settlement, where every fen is read)."""
    fen = int(fen)
    if compact and abs(fen) >= COMPACT_FROM_YUAN * 100:
        text = format_compact_currency(_yuan(fen), "CNY", locale=_babel(locale), fraction_digits=2)
    else:
        text = format_currency(_yuan(fen), "CNY", locale=_babel(locale))
    return _plain_yen(text)


def number(value: int, locale: str) -> str:
    return format_decimal(int(value), locale=_babel(locale))


def large_number(value: int, locale: str) -> str:
    """A big count in the reader's units: `40 million` / `4000万` (Chinese counts in 万)."""
    return format_compact_decimal(int(value), format_type="long", locale=_babel(locale), fraction_digits=1)


def percent(rate: float | Decimal | None, locale: str) -> str:
    """A rate of 0..1 as `23.1%`; no rate (nothing to divide by) as an em dash."""
    if rate is None:
        return "—"
    return format_percent(rate, "#,##0.0%", locale=_babel(locale))


def _beijing(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(BEIJING)


def date(day: dt.date | dt.datetime, locale: str) -> str:
    """`2026年12月17日` / `Dec 17, 2026` (a datetime is taken in Beijing time first)."""
    if isinstance(day, dt.datetime):
        day = _beijing(day).date()
    return format_skeleton("yMMMd", day, locale=_babel(locale))


def time_of_day(moment: dt.datetime, locale: str) -> str:
    return format_skeleton("Hm", _beijing(moment), tzinfo=BEIJING, locale=_babel(locale))


def datetime(moment: dt.datetime, locale: str) -> str:
    """`2026年12月17日 12:00` / `Dec 17, 2026, 12:00`, always in Beijing time."""
    local = _beijing(moment)
    pattern = get_datetime_format("medium", locale=_babel(locale))
    return pattern.replace("{1}", date(local, locale)).replace("{0}", time_of_day(local, locale))


def items(values: Iterable[Any], locale: str, *, style: str = "standard") -> str:
    """A list the reader's way: `铂金卡、金卡和银卡` / `Platinum, Gold, and Silver`; with
    style="or", `金卡或银卡` / `Gold or Silver` (a choice among them)."""
    return format_list([str(value) for value in values], style=style, locale=_babel(locale))


def identifiers(values: Iterable[Any], locale: str, *, style: str = "or") -> str:
    """Values a client sends as they are (`visited`, `gold`), in backticks, listed the reader's
    way: the choices a field takes, in a sentence about that field."""
    return items([f"`{value}`" for value in values], locale, style=style)


class Later:
    """A value for a message's placeholder, written in the reader's locale when the message is
    rendered (a service raising an error does not know who will read it):
    `_("Check-in opens at {at}", at=Later(format.time_of_day, opens_at))`."""

    def __init__(self, write: Callable[..., str], *args: Any, **kwargs: Any) -> None:
        self.write, self.args, self.kwargs = write, args, kwargs

    def render(self, locale: str) -> str:
        return self.write(*self.args, locale, **self.kwargs)

    def __str__(self) -> str:  # logs and exception text, as the English source
        return self.render("en")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Later) and (self.write, self.args, self.kwargs) == (other.write, other.args, other.kwargs)

    __hash__ = None  # type: ignore[assignment]
