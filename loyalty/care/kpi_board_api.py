"""The KPI board for service staff (and admins): every declared KPI (loyalty.care.kpi_board) with its
formula, target, value and trend, the records a KPI was counted from, and the care plans (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.openapi.spec import Example
from litestar.params import FromPath, QueryParameter

from loyalty import clock
from loyalty.care import care_plans, kpi_board
from loyalty.care.tables import CASE_KINDS, CASE_STATUSES, REPAIR_ITEMS, REPAIR_STATES, SURVEY_KINDS
from loyalty.care.visit_schemas import VisitKind
from loyalty.i18n import request_locale
from loyalty.openapi_contract import raises

SERVICE = {"roles": ("service",)}
RecordKind = Literal["survey", "case", "visit", "member", "repair", "warning"]
ADMIN = {"roles": ("admin",)}


class KpiPoint(msgspec.Struct):
    period: str  # YYYY-MM or YYYY-Qn
    value: float | None  # numerator / denominator; None when there is nothing to count
    numerator: float
    denominator: int


class BoardKpi(msgspec.Struct):
    key: str
    group: Literal["main", "department"]
    records: RecordKind  # what a drill-down lists
    target: float
    lower_is_better: bool
    name_zh: str
    name_en: str
    formula_zh: str
    formula_en: str
    period: str
    value: float | None
    numerator: float
    denominator: int
    meets_target: bool | None
    months: list[KpiPoint]  # the twelve months up to the chosen one, oldest first
    quarters: list[KpiPoint]  # the four quarters up to the chosen month's


class KpiRecord(msgspec.Struct, omit_defaults=True):
    kind: RecordKind
    id: int
    at: datetime | None
    numerator: float  # this record's part of the KPI's numerator
    denominator: int  # and of its denominator (0 where the denominator counts owners)
    member_id: int | None
    member_name: str
    survey_kind: Literal[SURVEY_KINDS] | None = None  # type: ignore[valid-type]
    scores: dict[str, int] | None = None
    recommend: int | None = None
    title: str | None = None
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    first_reply_due: datetime | None = None
    first_reply_at: datetime | None = None
    visit_kind: VisitKind | None = None
    missing: list[str] | None = None
    item: Literal[REPAIR_ITEMS] | None = None  # type: ignore[valid-type]
    state: Literal[REPAIR_STATES] | None = None  # type: ignore[valid-type]
    rework_count: int | None = None
    satisfaction: int | None = None
    second_repair_of: int | None = None
    contractor: str | None = None
    case_kind: Literal[CASE_KINDS] | None = None  # type: ignore[valid-type]
    building: str | None = None
    cases: int | None = None
    acknowledged_at: datetime | None = None


class KpiDrillDown(msgspec.Struct):
    key: str
    group: Literal["main", "department"]
    records: RecordKind
    target: float
    lower_is_better: bool
    name_zh: str
    name_en: str
    formula_zh: str
    formula_en: str
    period: str
    value: float | None
    numerator: float
    denominator: int
    meets_target: bool | None
    items: list[KpiRecord]


class CarePlanView(msgspec.Struct):
    key: Literal[tuple(care_plans.PLANS)]  # type: ignore[valid-type]
    visit_kind: VisitKind
    name: str
    segment: str
    cadence: str
    next_run: datetime
    segment_owners: int
    visits_made: int  # this month's (the 315 plan: all of them)
    visits_open: int
    visits_total: int


Month = Annotated[str | None, QueryParameter(max_length=7, examples=[Example(value="2026-12")],
                                            description="YYYY-MM (Beijing); this month if left out")]
ProjectId = Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="one project only")]


class StaffKpiBoardController(Controller):
    path = "/kpi-board"
    tags = ["staff"]

    @raises("invalid-field")
    @get(operation_id="staffKpiBoard", summary="Every care KPI with its formula, target, value and trend", opt=SERVICE)
    async def board(self, month: Month = None, project_id: ProjectId = None) -> list[BoardKpi]:
        """The KPI board of a Beijing month: each KPI's name and formula (Chinese and English), its target, its value
        (`numerator / denominator`), whether it meets the target (`lower_is_better` for the complaint rate), and its trend
        over the twelve months and four quarters up to the month.
        """
        found = await kpi_board.board(month or clock.today().strftime("%Y-%m"), project_id)
        return msgspec.convert(found, list[BoardKpi], from_attributes=True)

    @raises("invalid-field", "not-found")
    @get("/{key:str}/records", operation_id="staffKpiRecords", summary="The records one KPI was counted from", opt=SERVICE)
    async def records(
        self, key: FromPath[str],
        period: Annotated[str, QueryParameter(max_length=7, examples=[Example(value="2026-Q4")],
                                              description="a month (YYYY-MM) or a quarter (YYYY-Qn), Beijing time")],
        project_id: ProjectId = None,
    ) -> KpiDrillDown:
        """The drill-down: the surveys, cases, return visits or owner files the KPI was counted from in the period, each
        with its part of the numerator and the denominator; they add up to the KPI's numbers.
        """
        found = await kpi_board.drill_down(key, period, project_id)
        return msgspec.convert(found, KpiDrillDown, from_attributes=True)


@get("/care-plans", operation_id="staffCarePlans", tags=["staff"], opt=ADMIN,
     summary="The care plans: segment, next run, owners in the segment, visits made")
async def staff_care_plans(request: Request[Any, Any, Any]) -> list[CarePlanView]:
    """For admins: each care plan (elderly living alone, silent owners, "315" handover care) with its segment and
    cadence in the reader's language, when the job runs next, how many owners its segment holds now, and the return
    visits it made this month (all of them for the 315 plan) and how many are still open.
    """
    return [CarePlanView(**row) for row in await care_plans.overview(request_locale(request))]
