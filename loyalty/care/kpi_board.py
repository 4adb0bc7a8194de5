"""The KPI board (`/staff#kpis`): each KPI the seeds define as one declared definition — its key,
its name and formula in words (both languages, from the catalogues), its target, and how it is
counted: `compute(period, project, facts)` → numerator, denominator and the records it was
counted from (drill-down shows exactly those). A new KPI is one more `Kpi(...)` passed to
`register` (the repair KPIs and the group-complaint warnings are, below, over the figures their
own modules define).

Periods are Beijing months (`YYYY-MM`) and quarters (`YYYY-Qn`), as [start, end). The board
shows the chosen month, a trend of the twelve months up to it and of the four quarters up to
its quarter.

The formulas reuse what the rest of the care context counts: the five-point answers, their
weights and the 48-hour reply clock come from `loyalty.care.kpis`, a reached return visit is
`loyalty.care.visits.reached_visits`, an active owner is one with an active ownership who was
not erased (as visit coverage counts them).

Each record carries its part of the numerator and of the denominator, so the records of a
drill-down add up to the KPI's numbers (for owner-based rates the denominator is the owners,
and the records are the counted cases or visits: an owner's second complaint is listed with 0)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Awaitable, Callable

from dateutil.relativedelta import relativedelta

from loyalty import clock
from loyalty.care import kpis as care_kpis
from loyalty.care import repairs, visits
from loyalty.care.tables import DIMENSIONS, Case, GroupWarning, Repair, Survey
from loyalty.errors import InvalidField, NotFound
from loyalty.i18n import Message, _
from loyalty.i18n.catalog import translate
from loyalty.members.tables import Member, Ownership

TREND_MONTHS = 12
TREND_QUARTERS = 4
# A would-recommend answer (0–10) that counts as loyal: 7 and above (not a detractor).
LOYAL_FROM = 7
# What makes an owner's file complete: these member fields filled in (a gender other than
# "unknown"), and a contract date on every active ownership.
FILE_FIELDS = ("name", "phone", "birthday", "gender")


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str  # YYYY-MM or YYYY-Qn
    start: datetime
    end: datetime  # excluded

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), clock.LOCAL_ZONE)


def month_period(first: date) -> Period:
    first = first.replace(day=1)
    return Period(f"{first.year:04d}-{first.month:02d}", _start(first), _start(first + relativedelta(months=1)))


def quarter_period(day: date) -> Period:
    quarter = (day.month - 1) // 3
    first = date(day.year, quarter * 3 + 1, 1)
    return Period(f"{first.year:04d}-Q{quarter + 1}", _start(first), _start(first + relativedelta(months=3)))


def parse_period(text: str, field_name: str = "period") -> Period:
    """`YYYY-MM` or `YYYY-Qn` (Beijing time), years 2000–2199."""
    found = re.fullmatch(r"(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))", text or "")
    if not found or not 2000 <= int(found.group(1)) <= 2199:
        raise InvalidField(_("a period is a month (YYYY-MM) or a quarter (YYYY-Q1 to YYYY-Q4)"), field=field_name)
    year = int(found.group(1))
    if found.group(2):
        return month_period(date(year, int(found.group(2)), 1))
    return quarter_period(date(year, (int(found.group(3)) - 1) * 3 + 1, 1))


def trend_periods(month: Period) -> tuple[list[Period], list[Period]]:
    """The twelve months up to `month`, and the four quarters up to its quarter (oldest first)."""
    first = month.start.date()
    months = [month_period(first - relativedelta(months=n)) for n in range(TREND_MONTHS - 1, -1, -1)]
    quarters = [quarter_period(first - relativedelta(months=3 * n)) for n in range(TREND_QUARTERS - 1, -1, -1)]
    return months, quarters


# --- what a KPI counts ------------------------------------------------------------------------


@dataclass
class Record:
    kind: str  # survey | case | visit | member
    id: int
    at: datetime | None
    numerator: float
    denominator: int
    member: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Counted:
    numerator: float
    denominator: int
    records: list[Record]

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


class Facts:
    """The rows a board needs, loaded once per request for its whole span (and one project, or
    all), then counted per period in memory."""

    def __init__(self, start: datetime, end: datetime, project_id: int | None, now: datetime) -> None:
        self.start, self.end, self.project_id, self.now = start, end, project_id, now
        self._cache: dict[str, Any] = {}

    async def _once(self, name: str, load: Callable[[], Awaitable[Any]]) -> Any:
        if name not in self._cache:
            self._cache[name] = await load()
        return self._cache[name]

    async def surveys(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            query = Survey.select().where(
                Survey.answered_at.is_not_null() & (Survey.answered_at >= self.start) & (Survey.answered_at < self.end)
            ).order_by(Survey.answered_at).order_by(Survey.id)
            if self.project_id is not None:
                query = query.where(Survey.project == self.project_id)
            return await query
        return await self._once("surveys", load)

    async def cases(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            query = Case.select().where((Case.opened_at >= self.start) & (Case.opened_at < self.end)).order_by(
                Case.opened_at).order_by(Case.id)
            if self.project_id is not None:
                query = query.where(Case.project == self.project_id)
            return await query
        return await self._once("cases", load)

    async def owners(self) -> dict[int, list[dict[str, Any]]]:
        """Active owners (in the project): member id → their active ownerships."""
        async def load() -> dict[int, list[dict[str, Any]]]:
            query = Ownership.select(Ownership.id, Ownership.member, Ownership.contract_date, Ownership.unit.project).where(
                (Ownership.status == "active") & Ownership.member.erased_at.is_null()
            ).order_by(Ownership.id)
            if self.project_id is not None:
                query = query.where(Ownership.unit.project == self.project_id)
            found: dict[int, list[dict[str, Any]]] = {}
            for row in await query:
                found.setdefault(row["member"], []).append(row)
            return found
        return await self._once("owners", load)

    async def reached(self) -> list[dict[str, Any]]:
        return await self._once("reached", lambda: visits.reached_visits(self.start, self.end))

    async def repairs(self) -> list[dict[str, Any]]:
        """Repairs reported, accepted or rated in the span (each KPI picks its own by its own time)."""
        async def load() -> list[dict[str, Any]]:
            def within(column: Any) -> Any:
                return (column >= self.start) & (column < self.end)
            query = Repair.select().where(within(Repair.reported_at) | within(Repair.accepted_at) | within(Repair.rated_at))
            if self.project_id is not None:
                query = query.where(Repair.project == self.project_id)
            return await query.order_by(Repair.id)
        return await self._once("repairs", load)

    async def warnings(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            query = GroupWarning.select().where((GroupWarning.raised_at >= self.start) & (GroupWarning.raised_at < self.end))
            if self.project_id is not None:
                query = query.where(GroupWarning.project == self.project_id)
            return await query.order_by(GroupWarning.raised_at).output(load_json=True)
        return await self._once("warnings", load)


Compute = Callable[[Period, "Facts"], Awaitable[Counted]]


@dataclass(frozen=True)
class Kpi:
    key: str
    name: Message
    formula: Message
    target: float
    records: str  # what a drill-down lists: survey | case | visit | member | repair | warning
    compute: Compute
    lower_is_better: bool = False
    group: str = "main"  # main | department (satisfaction by department)

    def meets(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value <= self.target if self.lower_is_better else value >= self.target


KPIS: dict[str, Kpi] = {}


def register(kpi: Kpi) -> Kpi:
    """Declare a KPI (its key unique); the board, the trend and the drill-down follow."""
    if kpi.key in KPIS:
        raise ValueError(f"KPI {kpi.key} is declared twice")
    KPIS[kpi.key] = kpi
    return kpi


# --- the formulas -------------------------------------------------------------------------------


def weighted_satisfaction(fields: tuple[str, ...], kinds: tuple[str, ...]) -> Compute:
    """Σ weights of the answers / number of answers, over the five-point answers to `fields` of
    surveys of `kinds` answered in the period (care_kpis.SATISFACTION_WEIGHTS)."""
    async def compute(period: Period, facts: Facts) -> Counted:
        total, answers, records = 0.0, 0, []
        for survey in await facts.surveys():
            if survey["kind"] not in kinds or not period.holds(survey["answered_at"]):
                continue
            scores = [(name, score) for name, score in care_kpis.five_point_answers(survey) if name in fields]
            if not scores:
                continue
            weight = round(sum(care_kpis.SATISFACTION_WEIGHTS[score] for _name, score in scores), 4)
            total += weight
            answers += len(scores)
            records.append(Record("survey", survey["id"], survey["answered_at"], weight, len(scores), survey["member"],
                                  {"survey_kind": survey["kind"], "scores": dict(scores)}))
        return Counted(round(total, 4), answers, records)
    return compute


async def loyalty(period: Period, facts: Facts) -> Counted:
    records = [
        Record("survey", s["id"], s["answered_at"], int(s["recommend"] >= LOYAL_FROM), 1, s["member"],
               {"survey_kind": s["kind"], "recommend": s["recommend"]})
        for s in await facts.surveys() if s["recommend"] is not None and period.holds(s["answered_at"])
    ]
    return Counted(sum(r.numerator for r in records), len(records), records)


async def complaint_rate(period: Period, facts: Facts) -> Counted:
    owners = await facts.owners()
    seen: set[int] = set()
    records = []
    for case in await facts.cases():
        if case["kind"] != "complaint" or case["member"] not in owners or not period.holds(case["opened_at"]):
            continue
        first = case["member"] not in seen
        seen.add(case["member"])
        records.append(Record("case", case["id"], case["opened_at"], int(first), 0, case["member"],
                              {"title": case["title"], "status": case["status"]}))
    return Counted(len(seen), len(owners), records)


async def complaint_reply(period: Period, facts: Facts) -> Counted:
    now = facts.now
    records = []
    for case in await facts.cases():
        if case["kind"] != "complaint" or not period.holds(case["opened_at"]):
            continue
        ended, on_time = care_kpis.reply_clock(case, now)
        if ended:
            records.append(Record("case", case["id"], case["opened_at"], int(on_time), 1, case["member"],
                                  {"title": case["title"], "status": case["status"],
                                   "first_reply_due": case["first_reply_due"], "first_reply_at": case["first_reply_at"]}))
    return Counted(sum(r.numerator for r in records), len(records), records)


async def visit_coverage(period: Period, facts: Facts) -> Counted:
    owners = await facts.owners()
    seen: set[int] = set()
    records = []
    for visit in await facts.reached():
        if visit["member"] not in owners or not period.holds(visit["done_at"]):
            continue
        first = visit["member"] not in seen
        seen.add(visit["member"])
        records.append(Record("visit", visit["id"], visit["done_at"], int(first), 0, visit["member"], {"visit_kind": visit["kind"]}))
    return Counted(len(seen), len(owners), records)


async def file_completeness(period: Period, facts: Facts) -> Counted:
    owners = await facts.owners()
    members = {
        row["id"]: row for row in (await Member.select(Member.id, *(getattr(Member, f) for f in FILE_FIELDS)).where(
            Member.id.is_in(list(owners))) if owners else [])
    }
    records = []
    for member_id in sorted(owners):
        row = members.get(member_id, {})
        missing = [f for f in FILE_FIELDS if not row.get(f) or (f == "gender" and row.get(f) == "unknown")]
        if any(o["contract_date"] is None for o in owners[member_id]):
            missing.append("contract_date")
        records.append(Record("member", member_id, None, int(not missing), 1, member_id, {"missing": missing}))
    return Counted(sum(r.numerator for r in records), len(records), records)


def repair_figure(which: str) -> Compute:
    """One of `repairs.repair_figures` (satisfaction, pass_rate, second_repair_rate) for the period."""
    async def compute(period: Period, facts: Facts) -> Counted:
        figure = getattr(repairs.repair_figures(await facts.repairs(), period.start, period.end), which)
        counts = {
            "satisfaction": lambda r: int(r["satisfaction"] >= 4),
            "pass_rate": lambda r: int(r["rework_count"] == 0),
            "second_repair_rate": lambda r: int(r["second_repair_of"] is not None),
        }[which]
        at = {"satisfaction": "rated_at", "pass_rate": "accepted_at", "second_repair_rate": "reported_at"}[which]
        records = [
            Record("repair", r["id"], r[at], counts(r), 1, r["member"],
                   {"item": r["item"], "state": r["state"], "rework_count": r["rework_count"], "satisfaction": r["satisfaction"],
                    "second_repair_of": r["second_repair_of"], "contractor": r["contractor"]})
            for r in figure.records
        ]
        return Counted(figure.numerator, figure.denominator, records)
    return compute


async def warnings_acknowledged(period: Period, facts: Facts) -> Counted:
    records = [
        Record("warning", w["id"], w["raised_at"], int(w["acknowledged_at"] is not None), 1, None,
               {"case_kind": w["kind"], "building": w["building"], "cases": len(w["case_ids"]), "acknowledged_at": w["acknowledged_at"]})
        for w in await facts.warnings() if period.holds(w["raised_at"])
    ]
    return Counted(sum(r.numerator for r in records), len(records), records)


ALL_KINDS = ("event", "case", "yearly")
for _kpi in (
    Kpi("satisfaction", _("Satisfaction"),
        _("Σ weights of all five-point answers (event and case surveys' overall score, each yearly-survey dimension) "
          "answered in the period ÷ number of those answers; weights: very satisfied 1.0, satisfied 0.8, neutral 0.6, "
          "dissatisfied 0.3, very dissatisfied 0"),
        0.85, "survey", weighted_satisfaction(("satisfaction", *DIMENSIONS), ALL_KINDS)),
    Kpi("loyalty", _("Loyalty"),
        _("owners' answers of 7–10 to “would you recommend us to friends and family?” (0–10) in the period ÷ all "
          "answers to that question in the period"),
        0.85, "survey", loyalty),
    Kpi("complaint_rate", _("Complaint rate"),
        _("active owners who opened at least one complaint in the period ÷ active owners (an active ownership, not "
          "erased), lower is better"),
        0.10, "case", complaint_rate, lower_is_better=True),
    Kpi("complaint_reply", _("Complaints replied within 48 hours"),
        _("complaints opened in the period whose first reply came by the 48-hour deadline ÷ complaints opened in the "
          "period whose deadline has passed or that have been replied to"),
        1.0, "case", complaint_reply),
    Kpi("visit_coverage", _("Return-visit coverage"),
        _("active owners reached by a return visit done in the period ÷ active owners (an active ownership, not erased)"),
        0.85, "visit", visit_coverage),
    Kpi("file_completeness", _("Owner file completeness"),
        _("active owners whose file has a name, a phone number, a birthday and a gender, and a contract date on every "
          "home they own ÷ active owners; the files as they are now, the same for every period"),
        1.0, "member", file_completeness),
    Kpi("repair_satisfaction", _("Repair satisfaction"),
        _("repairs rated 4 or 5 (of 5) by their owner in the period ÷ repairs rated in the period"),
        0.75, "repair", repair_figure("satisfaction")),
    Kpi("repair_pass_rate", _("Repair pass rate"),
        _("repairs accepted in the period without any rework ÷ repairs accepted in the period"),
        0.85, "repair", repair_figure("pass_rate")),
    Kpi("second_repair_rate", _("Second-repair rate"),
        _("repairs reported in the period that repeat an earlier repair of the same item in the same home (within "
          "the second-repair window) ÷ repairs reported in the period, lower is better"),
        0.04, "repair", repair_figure("second_repair_rate"), lower_is_better=True),
    Kpi("group_warnings", _("Group-complaint warnings handled"),
        _("group-complaint warnings raised in the period that the service lead has acknowledged ÷ warnings raised "
          "in the period"),
        1.0, "warning", warnings_acknowledged),
    # Satisfaction by department: the seeds' per-department targets.
    Kpi("satisfaction_overall", _("Overall (yearly survey)"),
        _("Σ weights of the yearly survey's answers on all five dimensions in the period ÷ number of those answers"),
        0.65, "survey", weighted_satisfaction(DIMENSIONS, ("yearly",)), group="department"),
    Kpi("satisfaction_loyalty", _("Owner club (event surveys)"),
        _("Σ weights of the overall scores of event surveys answered in the period ÷ number of those answers"),
        0.32, "survey", weighted_satisfaction(("satisfaction",), ("event",)), group="department"),
    Kpi("satisfaction_planning", _("Planning and design"),
        _("Σ weights of the yearly survey's “planning and design” answers in the period ÷ number of those answers"),
        0.84, "survey", weighted_satisfaction(("planning_design",), ("yearly",)), group="department"),
    Kpi("satisfaction_sales", _("Sales service"),
        _("Σ weights of the yearly survey's “sales service” answers in the period ÷ number of those answers"),
        0.85, "survey", weighted_satisfaction(("sales_service",), ("yearly",)), group="department"),
    Kpi("satisfaction_engineering", _("Engineering (construction quality)"),
        _("Σ weights of the yearly survey's “construction quality” answers in the period ÷ number of those answers"),
        0.55, "survey", weighted_satisfaction(("construction_quality",), ("yearly",)), group="department"),
    Kpi("satisfaction_customer_service", _("Customer service"),
        _("Σ weights of the yearly survey's “customer service” answers in the period ÷ number of those answers"),
        0.70, "survey", weighted_satisfaction(("customer_service",), ("yearly",)), group="department"),
    Kpi("satisfaction_property", _("Property management"),
        _("Σ weights of the yearly survey's “property management” answers in the period ÷ number of those answers"),
        0.75, "survey", weighted_satisfaction(("property_management",), ("yearly",)), group="department"),
):
    register(_kpi)


# --- the board and the drill-down ---------------------------------------------------------------


def _kpi(key: str) -> Kpi:
    if key not in KPIS:
        raise NotFound(_("there is no such KPI"))
    return KPIS[key]


def _words(kpi: Kpi) -> dict[str, Any]:
    return {
        "key": kpi.key, "group": kpi.group, "records": kpi.records, "target": kpi.target, "lower_is_better": kpi.lower_is_better,
        "name_zh": translate(kpi.name, "zh-CN"), "name_en": translate(kpi.name, "en"),
        "formula_zh": translate(kpi.formula, "zh-CN"), "formula_en": translate(kpi.formula, "en"),
    }


def _point(period: Period, counted: Counted) -> dict[str, Any]:
    return {"period": period.key, "value": counted.value, "numerator": counted.numerator, "denominator": counted.denominator}


async def board(month: str, project_id: int | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every declared KPI for the month: its words, target, value, and its trend by month and by quarter."""
    chosen = parse_period(month, "month")
    if "Q" in chosen.key:
        raise InvalidField(_("a month is written YYYY-MM"), field="month")
    months, quarters = trend_periods(chosen)
    facts = Facts(min(months[0].start, quarters[0].start), max(months[-1].end, quarters[-1].end), project_id,
                  now or clock.now())
    found = []
    for kpi in KPIS.values():
        trend_months = [_point(p, await kpi.compute(p, facts)) for p in months]
        trend_quarters = [_point(p, await kpi.compute(p, facts)) for p in quarters]
        here = trend_months[-1]
        found.append({**_words(kpi), **here, "meets_target": kpi.meets(here["value"]),
                      "months": trend_months, "quarters": trend_quarters})
    return found


async def drill_down(key: str, period: str, project_id: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The records one KPI was counted from in one period (a month or a quarter), each with its part
    of the numerator and denominator, and who they concern."""
    kpi = _kpi(key)
    chosen = parse_period(period)
    facts = Facts(chosen.start, chosen.end, project_id, now or clock.now())
    counted = await kpi.compute(chosen, facts)
    member_ids = {r.member for r in counted.records if r.member}
    names = {
        row["id"]: row["name"]
        for row in (await Member.select(Member.id, Member.name).where(Member.id.is_in(list(member_ids))) if member_ids else [])
    }
    records = [
        {"kind": r.kind, "id": r.id, "at": r.at, "numerator": r.numerator, "denominator": r.denominator, "member_id": r.member,
         "member_name": names.get(r.member or 0, ""), **r.detail}
        for r in counted.records
    ]
    return {**_words(kpi), **_point(chosen, counted), "meets_target": kpi.meets(counted.value), "items": records}
