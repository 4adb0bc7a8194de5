"""Recurring series of events, drafted for staff to look over: a quarterly owner meetup (every
quarter on a chosen week and day of a chosen month of the quarter) or festival gatherings (one
per chosen Chinese festival of a year).

Festival dates come from the lunar calendar of the `lunardate` package, as the care calendar's
(loyalty/care/calendar.py): never a hand list. Staff see the drafted sessions (`preview`), may
drop some, and `create_series` makes the rest as draft events in one transaction: all of them,
each audited, or none."""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Sequence

from lunardate import LunarDate

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.errors import InvalidField
from loyalty.events import catalog
from loyalty.i18n import _
from loyalty.i18n.enums import enum_label
from loyalty.i18n.format import Later, identifiers

PATTERNS = ("quarterly", "festivals")
# The festivals a gathering may be drafted for: (lunar month, lunar day).
FESTIVALS = {
    "spring_festival": (1, 1),
    "lantern": (1, 15),
    "dragon_boat": (5, 5),
    "qixi": (7, 7),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
}
LAST_WEEK = 5  # `week` 5: the last such weekday of the month
FIRST_YEAR, LAST_YEAR = 2000, 2099  # what the lunar calendar knows
MOST_SESSIONS = 12


@dataclass(frozen=True)
class SeriesPlan:
    """What staff ask for: the pattern and, as for one event, what every session shares."""

    pattern: str
    year: int
    kind: str
    title_zh: str
    start_time: time  # Beijing
    duration_minutes: int
    capacity: int
    title_en: str = ""
    body_zh: str = ""
    body_en: str = ""
    venue: str = ""
    program_id: int | None = None
    party_size_limit: int = 1
    eligible_tiers: Sequence[str] = ()
    eligible_stages: Sequence[str] = ()
    eligible_project_ids: Sequence[int] = ()
    fee_platinum_fen: int = 0
    fee_gold_fen: int = 0
    fee_silver_fen: int = 0
    fee_blue_fen: int = 0
    attendance_points: int = 0
    signup_opens_days_before: int = 30
    # quarterly: which quarters, the month of each quarter (1 to 3), the week of that month (1 to 4, or 5: the
    # last) and the weekday (0 Monday to 6 Sunday)
    quarters: Sequence[int] = (1, 2, 3, 4)
    month_of_quarter: int = 2
    week: int = 3
    weekday: int = 5
    # festivals: which ones
    festivals: Sequence[str] = ()


@dataclass(frozen=True)
class Session:
    key: str  # 2027-q1, 2027-mid_autumn: what staff name to drop or keep a session
    on: date
    draft: catalog.EventDraft
    quarter: int | None = None
    festival: str | None = None


def nth_weekday(year: int, month: int, week: int, weekday: int) -> date:
    """The `week`-th `weekday` (0 Monday) of the month; week 5 is the last one."""
    if week == LAST_WEEK:
        last = date(year, month, gregorian.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))


def quarter_dates(year: int, quarters: Sequence[int], month_of_quarter: int, week: int, weekday: int) -> list[tuple[int, date]]:
    return [(q, nth_weekday(year, (q - 1) * 3 + month_of_quarter, week, weekday)) for q in sorted(set(quarters))]


def festival_date(festival: str, year: int) -> date:
    month, day = FESTIVALS[festival]
    return LunarDate(year, month, day).to_solar_date()


def _check_pattern(plan: SeriesPlan) -> None:
    if plan.pattern not in PATTERNS:
        raise InvalidField(_("The pattern is one of {patterns}", patterns=Later(identifiers, PATTERNS)), field="pattern")
    if not FIRST_YEAR <= plan.year <= LAST_YEAR:
        raise InvalidField(_("The year is {first} to {last}", first=FIRST_YEAR, last=LAST_YEAR), field="year")
    if not plan.title_zh.strip():  # the session's name alone is not a title
        raise InvalidField(catalog.CHINESE_TITLE_NEEDED, field="title_zh")
    if not 15 <= plan.duration_minutes <= 24 * 60:
        raise InvalidField(_("An event lasts 15 minutes to 24 hours"), field="duration_minutes")
    if not 1 <= plan.signup_opens_days_before <= 180:
        raise InvalidField(_("Sign-up opens 1 to 180 days before the event"), field="signup_opens_days_before")
    if plan.pattern == "quarterly":
        if not plan.quarters or set(plan.quarters) - {1, 2, 3, 4}:
            raise InvalidField(_("Choose at least one quarter, 1 to 4"), field="quarters")
        if not 1 <= plan.month_of_quarter <= 3:
            raise InvalidField(_("The month of the quarter is 1 to 3"), field="month_of_quarter")
        if not 1 <= plan.week <= LAST_WEEK:
            raise InvalidField(_("The week is 1 to 4, or 5 for the last"), field="week")
        if not 0 <= plan.weekday <= 6:
            raise InvalidField(_("The weekday is 0 (Monday) to 6 (Sunday)"), field="weekday")
    else:
        if not plan.festivals:
            raise InvalidField(_("Choose at least one festival"), field="festivals")
        if unknown := set(plan.festivals) - set(FESTIVALS):
            raise InvalidField(
                _("Unknown festivals {unknown}; the festivals are {festivals}",
                  unknown=Later(identifiers, sorted(unknown), style="standard"), festivals=Later(identifiers, tuple(FESTIVALS))),
                field="festivals",
            )


def _titles(plan: SeriesPlan, quarter: int | None, festival: str | None) -> tuple[str, str]:
    """Each session's title says which one it is: 2027年第1季度业主恳谈会 / Owners' meetup Q1 2027;
    2027中秋节业主联欢会 / Mid-Autumn Festival: owners' gathering 2027."""
    zh, en = plan.title_zh.strip(), plan.title_en.strip()
    if quarter is not None:
        return f"{plan.year}年第{quarter}季度{zh}", (f"{en} Q{quarter} {plan.year}" if en else "")
    assert festival is not None
    name_zh, name_en = enum_label("festival", festival, "zh-CN"), enum_label("festival", festival, "en")
    return f"{plan.year}{name_zh}{zh}", (f"{name_en}: {en} {plan.year}" if en else "")


def preview(plan: SeriesPlan, now: datetime | None = None) -> list[Session]:
    """The sessions the plan drafts, soonest first, each a draft event checked as `create_event`
    checks one. Sessions starting before `now` are left out; none left is a refusal."""
    now = now or clock.now()
    _check_pattern(plan)
    if plan.pattern == "quarterly":
        dates = [(f"{plan.year}-q{q}", day, q, None) for q, day in quarter_dates(
            plan.year, plan.quarters, plan.month_of_quarter, plan.week, plan.weekday)]
    else:
        dates = [(f"{plan.year}-{f}", festival_date(f, plan.year), None, f) for f in dict.fromkeys(plan.festivals)]
    sessions = []
    for key, day, quarter, festival in sorted(dates, key=lambda d: d[1]):
        starts = datetime.combine(day, plan.start_time.replace(tzinfo=None), clock.LOCAL_ZONE)
        if starts <= now:
            continue
        title_zh, title_en = _titles(plan, quarter, festival)
        draft = catalog.EventDraft(
            kind=plan.kind, title_zh=title_zh, title_en=title_en, body_zh=plan.body_zh, body_en=plan.body_en, venue=plan.venue,
            starts_at=starts, ends_at=starts + timedelta(minutes=plan.duration_minutes),
            signup_opens_at=max(starts - timedelta(days=plan.signup_opens_days_before), now),
            signup_closes_at=starts, cancel_deadline=starts - timedelta(days=1), capacity=plan.capacity,
            program_id=plan.program_id, party_size_limit=plan.party_size_limit, eligible_tiers=tuple(plan.eligible_tiers),
            eligible_stages=tuple(plan.eligible_stages), eligible_project_ids=tuple(plan.eligible_project_ids),
            fee_platinum_fen=plan.fee_platinum_fen, fee_gold_fen=plan.fee_gold_fen, fee_silver_fen=plan.fee_silver_fen,
            fee_blue_fen=plan.fee_blue_fen, attendance_points=plan.attendance_points, status="draft",
        )
        if len(draft.title_zh) > 100:
            raise InvalidField(_("The title is too long for the session's name: at most 100 characters with it"), field="title_zh")
        if len(draft.title_en) > 100:
            raise InvalidField(_("The title is too long for the session's name: at most 100 characters with it"), field="title_en")
        catalog._check(draft)
        sessions.append(Session(key, day, draft, quarter, festival))
    if not sessions:
        raise InvalidField(_("Every session of this series would start in the past"), field="year")
    return sessions[:MOST_SESSIONS]


async def create_series(plan: SeriesPlan, staff_id: int, keep: Sequence[str] | None = None, now: datetime | None = None) -> list[int]:
    """The kept sessions (all when `keep` is None) as draft events, in one transaction: each
    audited as an event made, and the series as a whole; any refusal leaves nothing written."""
    sessions = preview(plan, now)
    if keep is not None:
        known = {s.key for s in sessions}
        if unknown := [k for k in keep if k not in known]:
            raise InvalidField(
                _("These sessions are not in the series: {keys}", keys=Later(identifiers, unknown, style="standard")), field="keep"
            )
        sessions = [s for s in sessions if s.key in set(keep)]
        if not sessions:
            raise InvalidField(_("Keep at least one session"), field="keep")
    await catalog._check_references(sessions[0].draft)
    ids = []
    async with db.transaction():
        for session in sessions:
            ids.append(await catalog.create_event(session.draft, staff_id))
        await audit.record(
            action="event.series.create", subject_kind="event", subject_id=ids[0], actor_id=staff_id,
            data={"pattern": plan.pattern, "year": plan.year, "sessions": [s.key for s in sessions], "event_ids": ids},
        )
    return ids

