"""Lifecycle stage (prospect → pre_owner → settling → stable → veteran), derived from dates.

The rule, after the seeds' owner journey:
- prospect: no signed contract;
- pre_owner (准业主): signed, no unit delivered yet (or delivery is in the future);
- settling (磨合期): the first year after the earliest delivery;
- stable (稳定期): years two and three after it;
- veteran (老业主): from the fourth year on (the "four-year pact").

`cutoffs(today)` is the one statement of the year boundaries; the per-member function and the
set-based SQL refresh both compare delivery dates against it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

STAGES = ("prospect", "pre_owner", "settling", "stable", "veteran")


@dataclass(frozen=True)
class Cutoffs:
    today: date
    stable_from: date  # delivered on or before this date → at least stable
    veteran_from: date  # delivered on or before this date → veteran


def _anniversary_edge(today: date, years: int) -> date:
    """The latest delivery date whose `years`-th anniversary is on or before `today`.
    Anniversaries follow relativedelta (one year after 2024-02-29 is 2025-02-28), so on
    2025-02-28 a delivery of 2024-02-29 has had its anniversary: the edge moves a day on."""
    edge = today - relativedelta(years=years)
    if (edge + timedelta(days=1)) + relativedelta(years=years) <= today:
        edge += timedelta(days=1)
    return edge


def cutoffs(today: date) -> Cutoffs:
    return Cutoffs(
        today=today,
        stable_from=_anniversary_edge(today, 1),
        veteran_from=_anniversary_edge(today, 3),
    )


def stage_of(first_contract: date | None, first_delivery: date | None, today: date) -> str:
    """The stage of a member whose earliest contract and delivery dates are given."""
    if first_delivery is not None and first_delivery <= today:
        edge = cutoffs(today)
        if first_delivery <= edge.veteran_from:
            return "veteran"
        if first_delivery <= edge.stable_from:
            return "stable"
        return "settling"
    if first_contract is not None or first_delivery is not None:
        return "pre_owner"
    return "prospect"
