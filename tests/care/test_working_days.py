"""Working days (DESIGN.md "Working days"): China's statutory holidays and adjusted working days
(调休) from `chinese-calendar`; beyond the years it knows, Monday to Friday with one warning.

The 2026 National Day schedule (国务院办公厅, published 2025-11-04): 10月1日（周四）至7日（周三）放假调休，
共7天；9月20日（周日）、10月10日（周六）上班. Mid-Autumn is 9月25日–27日 on its own."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from loyalty.care import working_days
from loyalty.care.working_days import add_working_days, is_working_day
from loyalty.clock import LOCAL_ZONE


def bj(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_ZONE)


def test_three_working_days_after_september_30th_2026_end_on_the_worked_saturday_after_golden_week():
    # Thu 10-08 is the 1st working day, Fri 10-09 the 2nd, Saturday 10-10 (worked, 调休) the 3rd.
    assert add_working_days(bj(2026, 9, 30, 15, 30), 3) == bj(2026, 10, 10, 15, 30)


def test_golden_week_days_are_not_working_days_and_its_make_up_weekend_days_are():
    assert [is_working_day(bj(2026, 10, d).date()) for d in range(1, 8)] == [False] * 7
    assert is_working_day(bj(2026, 9, 20).date())  # a Sunday, worked
    assert is_working_day(bj(2026, 10, 10).date())  # a Saturday, worked
    assert not is_working_day(bj(2026, 10, 11).date())


def test_three_working_days_across_an_ordinary_weekend():
    # Friday 2026-11-13 → Mon 16, Tue 17, Wed 18.
    assert add_working_days(bj(2026, 11, 13, 16, 0), 3) == bj(2026, 11, 18, 16, 0)


def test_a_start_on_a_day_off_counts_from_the_next_working_day():
    assert add_working_days(bj(2026, 11, 14, 9, 0), 1) == bj(2026, 11, 16, 9, 0)  # Saturday → Monday
    assert add_working_days(bj(2026, 9, 19, 9, 0), 1) == bj(2026, 9, 20, 9, 0)  # Saturday → the worked Sunday


def test_zero_working_days_is_the_start_and_the_count_is_in_beijing_time():
    start = datetime.fromisoformat("2026-09-30T17:00:00+00:00")  # already Thursday 10-01 01:00 in Beijing
    assert add_working_days(start, 0) == start
    assert add_working_days(start, 1) == bj(2026, 10, 8, 1, 0)


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        add_working_days(bj(2026, 11, 13), -1)


def test_beyond_the_known_years_monday_to_friday_counts_and_a_warning_is_logged_once(caplog, monkeypatch):
    monkeypatch.setattr(working_days, "_warned_years", set())
    with caplog.at_level(logging.WARNING, logger="loyalty.care.working_days"):
        # 2099 is beyond any schedule: Friday 2099-01-02 → Mon 5, Tue 6, Wed 7 (no holidays known).
        assert add_working_days(bj(2099, 1, 2, 10, 0), 3) == bj(2099, 1, 7, 10, 0)
        assert add_working_days(bj(2099, 3, 6, 10, 0), 1) == bj(2099, 3, 9, 10, 0)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
