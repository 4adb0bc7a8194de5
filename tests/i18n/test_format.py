"""Money, rates and times as each locale writes them, times in Beijing time."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.i18n import format as fmt

UTC = dt.timezone.utc


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_money_is_yuan_with_two_decimals_in_both_locales(locale: str):
    assert fmt.money(128_000, locale) == "¥1,280.00"
    assert fmt.money(-128_000, locale) == "-¥1,280.00"
    assert fmt.money(5, locale) == "¥0.05"


def test_large_sums_are_written_in_wan_in_chinese():
    assert fmt.money(128_000_000, "zh-CN") == "¥128万"  # 1,280,000 yuan
    assert fmt.money(128_000_000, "en") == "¥1.28M"
    assert fmt.money(128_000_000, "zh-CN", compact=False) == "¥1,280,000.00"  # a settlement: every fen


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_rate_is_a_percent_with_one_decimal(locale: str):
    assert fmt.percent(0.231, locale) == "23.1%"
    assert fmt.percent(None, locale) == "—"  # nothing to divide by


def test_a_utc_moment_is_written_in_beijing_time():
    moment = dt.datetime(2026, 12, 17, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
    assert fmt.datetime(moment, "zh-CN") == "2026年12月17日 12:00"
    assert fmt.datetime(moment, "en") == "Dec 17, 2026, 12:00"
    late = dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # already the new year in Beijing
    assert fmt.datetime(late, "zh-CN") == "2027年1月1日 00:30"
    assert fmt.date(late, "en") == "Jan 1, 2027"
    assert fmt.datetime(late.replace(tzinfo=None), "zh-CN") == "2027年1月1日 00:30"  # naive is UTC


def test_numbers_are_grouped():
    assert fmt.number(1_280_000, "zh-CN") == fmt.number(1_280_000, "en") == "1,280,000"
