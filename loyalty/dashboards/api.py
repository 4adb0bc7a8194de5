"""The dashboards as staff read them: JSON at `/api/v1/staff/dashboards/<name>`, the same
rows as CSV at `<name>.csv` (UTF-8 with a BOM, so Excel shows the Chinese names), worded in
the reader's language (`loyalty.dashboards.csv_export`).

Who reads what: admins all; sales the referral funnel and the KPIs; event staff the event
attendance; service the KPIs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from loyalty import clock, exports
from loyalty.care.api import kpi_report
from loyalty.care.schemas import KpiReport
from loyalty.dashboards import csv_export, service
from loyalty.dashboards.schemas import (
    EventReport,
    EventRowView,
    LiabilityRowView,
    LiabilityView,
    MerchantReport,
    MerchantRowView,
    ReferralReport,
    ReferralRowView,
    TierReport,
    TierRowView,
)
from loyalty.i18n import _p, request_locale, translate
from loyalty.settings import Settings
from loyalty.openapi_contract import raises

ADMIN = {"roles": ("admin",)}
REFERRAL_READERS = {"roles": ("sales",)}
EVENT_READERS = {"roles": ("event_staff",)}
KPI_READERS = {"roles": ("sales", "service")}
CSV = "text/csv"
XLSX = exports.XLSX

Start = Annotated[date, QueryParameter(description="first day, e.g. 2026-01-01 (Beijing time)")]
End = Annotated[date, QueryParameter(description="last day, included, e.g. 2026-12-31")]
ProjectId = Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="one project only")]


async def named_for(rows: Sequence[Any], locale: str) -> Sequence[Any]:
    """Rows that name their project, naming it in English for an English reader where the
    project has an English name (rows without a project, and the totals, are left as they are)."""
    if locale != "en" or not any(hasattr(row, "project") for row in rows):
        return rows
    english = await service.english_project_names()
    return [
        msgspec.structs.replace(row, project=english[row.project_id]) if row.project_id in english else row
        for row in rows
    ]


async def csv_reply(
    request: Request[Any, Any, Any], name: str, columns: Sequence[csv_export.Column], rows: Sequence[Any],
    totals: Any | None = None,
) -> Response[str]:
    """The rows (then the totals) in the reader's words; an attachment named `name`.csv."""
    locale = request_locale(request)
    return Response(
        csv_export.csv_document(columns, await named_for(rows, locale), totals, locale), media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# Each workbook's one sheet is named for its dashboard, in the reader's language.
SHEETS = {
    "tiers": _p("dashboard_sheet", "Members by tier"),
    "referrals": _p("dashboard_sheet", "Referrals"),
    "events": _p("dashboard_sheet", "Event attendance"),
    "merchants": _p("dashboard_sheet", "Merchant sales"),
    "liability": _p("dashboard_sheet", "Points owed"),
    "kpis": _p("dashboard_sheet", "Satisfaction and service"),
}


async def xlsx_reply(
    request: Request[Any, Any, Any], name: str, columns: Sequence[csv_export.Column], rows: Sequence[Any],
    totals: Any | None = None,
) -> Response[bytes]:
    """The CSV's cells as an Excel workbook; an attachment named `name`.xlsx."""
    locale = request_locale(request)
    sheet = translate(SHEETS[name.split("-")[0]], locale)
    return Response(
        csv_export.xlsx_document(sheet, columns, await named_for(rows, locale), totals, locale), media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def _tier_view(row: service.TierRow) -> TierRowView:
    return TierRowView(project_id=row.project_id, project=row.project, members=row.members, **row.counts)


async def tier_report(project_id: int | None) -> TierReport:
    found = await service.tier_distribution(project_id)
    return TierReport(
        rows=[_tier_view(row) for row in found.rows], totals=_tier_view(found.totals),
        counted_again=_tier_view(found.counted_again), without_a_unit=_tier_view(found.without_a_unit),
    )


def _referral_view(row: service.ReferralRow) -> ReferralRowView:
    return ReferralRowView(
        project_id=row.project_id, project=row.project, month=row.month, registered=row.registered, visited=row.visited,
        subscribed=row.subscribed, signed=row.signed, new_buyers=row.new_buyers,
        referred_buyers=row.referred_buyers, signed_of_registered=row.signed_of_registered,
        conversion=row.conversion, referral_share=row.referral_share, target=row.target, meets_target=row.meets_target,
    )


async def referral_report(start: date, end: date, project_id: int | None) -> ReferralReport:
    found = await service.referral_funnel(start, end, project_id)
    return ReferralReport(
        start=start, end=end, target=service.REFERRAL_TARGET, rows=[_referral_view(row) for row in found.rows],
        totals=_referral_view(found.totals),
    )


def _event_view(row: service.EventRow) -> EventRowView:
    return EventRowView(
        event_id=row.event_id, title_zh=row.title_zh, title_en=row.title_en, starts_at=row.starts_at, status=row.status,
        seats=row.seats, signups=row.signups, people=row.people, attended=row.attended, attended_people=row.attended_people,
        no_show=row.no_show, no_show_people=row.no_show_people, no_show_rate=row.no_show_rate,
        attendance_rate=row.attendance_rate,
    )


async def event_report(start: date, end: date) -> EventReport:
    found = await service.event_attendance(start, end)
    return EventReport(start=start, end=end, rows=[_event_view(row) for row in found.rows], totals=_event_view(found.totals))


def _merchant_view(row: service.MerchantRow) -> MerchantRowView:
    return MerchantRowView(**vars(row))


async def merchant_report(start: date, end: date) -> MerchantReport:
    found = await service.merchant_sales(start, end)
    return MerchantReport(
        start=start, end=end, rows=[_merchant_view(row) for row in found.rows], totals=_merchant_view(found.totals)
    )


async def liability_view(points_per_cny: int) -> LiabilityView:
    found = await service.points_liability(points_per_cny)
    return LiabilityView(
        points_per_cny=found.points_per_cny, accounts=found.accounts, available=found.available,
        available_value_fen=found.available_value_fen, pending=found.pending, pending_value_fen=found.pending_value_fen,
        total_points=found.total_points, total_value_fen=found.total_value_fen, debt=found.debt,
        rows=[
            LiabilityRowView(kind=kind, points=amount, value_fen=found.value_fen(amount))  # type: ignore[arg-type]
            for kind, amount in zip(
                service.LIABILITY_KINDS, (found.available, found.pending, found.total_points, found.debt), strict=True
            )
        ],
    )


class StaffDashboardController(Controller):
    path = "/dashboards"
    tags = ["dashboards"]

    @get("/tiers", operation_id="dashboardTiers", opt=ADMIN,
         summary="Members with a current card per project and tier (a member counts in each project they own in), with totals")
    async def tiers(self, project_id: ProjectId = None) -> TierReport:
        """The tier dashboard, for admins: how many members hold each tier, per project and in total."""
        return await tier_report(project_id)

    @get("/tiers.csv", operation_id="dashboardTiersCsv", opt=ADMIN, media_type=CSV, summary="The tier distribution as CSV")
    async def tiers_csv(self, request: Request[Any, Any, Any], project_id: ProjectId = None) -> Response[str]:
        """The tier dashboard as a CSV file (UTF-8 with BOM, for Excel): its rows, then the totals."""
        report = await tier_report(project_id)
        return await csv_reply(request, "tiers", csv_export.TIER_COLUMNS, report.rows, report.totals)

    @get("/tiers.xlsx", operation_id="dashboardTiersXlsx", opt=ADMIN, media_type=XLSX, summary="The tier distribution as an Excel workbook")
    async def tiers_xlsx(self, request: Request[Any, Any, Any], project_id: ProjectId = None) -> Response[bytes]:
        """The tier dashboard as an .xlsx workbook: the CSV's rows and totals, numbers as numbers."""
        report = await tier_report(project_id)
        return await xlsx_reply(request, "tiers", csv_export.TIER_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/referrals", operation_id="dashboardReferrals", opt=REFERRAL_READERS,
         summary="The referral funnel per project and month, and the referral share of new buyers against the 30% target")
    async def referrals(self, start: Start, end: End, project_id: ProjectId = None) -> ReferralReport:
        """The referral dashboard, for sales and admins: per project and month, the funnel and the share of new
        buyers who were referred.
        """
        return await referral_report(start, end, project_id)

    @raises("invalid-field")
    @get("/referrals.csv", operation_id="dashboardReferralsCsv", opt=REFERRAL_READERS, media_type=CSV,
         summary="The referral funnel as CSV")
    async def referrals_csv(
        self, request: Request[Any, Any, Any], start: Start, end: End, project_id: ProjectId = None
    ) -> Response[str]:
        """The referral dashboard as a CSV file (UTF-8 with BOM, for Excel): its rows, then the totals."""
        report = await referral_report(start, end, project_id)
        return await csv_reply(request, f"referrals-{start}-{end}", csv_export.REFERRAL_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/referrals.xlsx", operation_id="dashboardReferralsXlsx", opt=REFERRAL_READERS, media_type=XLSX,
         summary="The referral funnel as an Excel workbook")
    async def referrals_xlsx(
        self, request: Request[Any, Any, Any], start: Start, end: End, project_id: ProjectId = None
    ) -> Response[bytes]:
        """The referral dashboard as an .xlsx workbook: the CSV's rows and totals."""
        report = await referral_report(start, end, project_id)
        return await xlsx_reply(request, f"referrals-{start}-{end}", csv_export.REFERRAL_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/events", operation_id="dashboardEvents", opt=EVENT_READERS,
         summary="Per event starting in the range: seats, signed up, attended, no-shows, no-show and attendance rates")
    async def events(self, start: Start, end: End) -> EventReport:
        """The event-attendance dashboard, for event staff and admins: per event, who signed up, came and did not
        come.
        """
        return await event_report(start, end)

    @raises("invalid-field")
    @get("/events.csv", operation_id="dashboardEventsCsv", opt=EVENT_READERS, media_type=CSV,
         summary="Event attendance as CSV")
    async def events_csv(self, request: Request[Any, Any, Any], start: Start, end: End) -> Response[str]:
        """The event-attendance dashboard as a CSV file (UTF-8 with BOM, for Excel): its rows, then the totals."""
        report = await event_report(start, end)
        return await csv_reply(request, f"events-{start}-{end}", csv_export.EVENT_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/events.xlsx", operation_id="dashboardEventsXlsx", opt=EVENT_READERS, media_type=XLSX,
         summary="Event attendance as an Excel workbook")
    async def events_xlsx(self, request: Request[Any, Any, Any], start: Start, end: End) -> Response[bytes]:
        """The event-attendance dashboard as an .xlsx workbook: the CSV's rows and totals."""
        report = await event_report(start, end)
        return await xlsx_reply(request, f"events-{start}-{end}", csv_export.EVENT_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/merchants", operation_id="dashboardMerchants", opt=ADMIN,
         summary="Per merchant, sales made in the range: count, gross, discounts, points redeemed and their value, reversed")
    async def merchants(self, start: Start, end: End) -> MerchantReport:
        """The alliance-merchant dashboard, for admins: per merchant, the sales in the range and the points taken
        as payment.
        """
        return await merchant_report(start, end)

    @raises("invalid-field")
    @get("/merchants.csv", operation_id="dashboardMerchantsCsv", opt=ADMIN, media_type=CSV,
         summary="Merchant sales as CSV")
    async def merchants_csv(self, request: Request[Any, Any, Any], start: Start, end: End) -> Response[str]:
        """The alliance-merchant dashboard as a CSV file (UTF-8 with BOM, for Excel): its rows, then the totals."""
        report = await merchant_report(start, end)
        return await csv_reply(request, f"merchants-{start}-{end}", csv_export.MERCHANT_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/merchants.xlsx", operation_id="dashboardMerchantsXlsx", opt=ADMIN, media_type=XLSX,
         summary="Merchant sales as an Excel workbook")
    async def merchants_xlsx(self, request: Request[Any, Any, Any], start: Start, end: End) -> Response[bytes]:
        """The alliance-merchant dashboard as an .xlsx workbook: the CSV's rows and totals."""
        report = await merchant_report(start, end)
        return await xlsx_reply(request, f"merchants-{start}-{end}", csv_export.MERCHANT_COLUMNS, report.rows, report.totals)

    @raises("invalid-field")
    @get("/liability", operation_id="dashboardLiability", opt=ADMIN,
         summary="Outstanding points (available and pending) and what they are worth in fen")
    async def liability(self, settings: NamedDependency[Settings]) -> LiabilityView:
        """The points-liability dashboard, for admins: the points members hold and what they are worth in fen,
        for the accounts.
        """
        return await liability_view(settings.points_per_cny)

    @raises("invalid-field")
    @get("/liability.csv", operation_id="dashboardLiabilityCsv", opt=ADMIN, media_type=CSV,
         summary="The points liability as CSV")
    async def liability_csv(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Response[str]:
        """The points-liability dashboard as a CSV file (UTF-8 with BOM, for Excel): one line per kind."""
        view = await liability_view(settings.points_per_cny)
        return await csv_reply(request, f"liability-{clock.today()}", csv_export.LIABILITY_COLUMNS, view.rows)

    @raises("invalid-field")
    @get("/liability.xlsx", operation_id="dashboardLiabilityXlsx", opt=ADMIN, media_type=XLSX,
         summary="The points liability as an Excel workbook")
    async def liability_xlsx(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Response[bytes]:
        """The points-liability dashboard as an .xlsx workbook: one line per kind."""
        view = await liability_view(settings.points_per_cny)
        return await xlsx_reply(request, f"liability-{clock.today()}", csv_export.LIABILITY_COLUMNS, view.rows)

    @raises("invalid-field")
    @get("/kpis", operation_id="dashboardKpis", opt=KPI_READERS,
         summary="Satisfaction, NPS, reply on time, follow-up rate and referral share per project and month, with targets")
    async def kpis(self, start: Start, end: End, project_id: ProjectId = None) -> KpiReport:
        """The care KPI dashboard, for sales, service and admins: per project and month, against the targets."""
        return await kpi_report(start, end, project_id)

    @raises("invalid-field")
    @get("/kpis.csv", operation_id="dashboardKpisCsv", opt=KPI_READERS, media_type=CSV, summary="The KPIs as CSV")
    async def kpis_csv(
        self, request: Request[Any, Any, Any], start: Start, end: End, project_id: ProjectId = None
    ) -> Response[str]:
        """The care KPI dashboard as a CSV file (UTF-8 with BOM, for Excel): its rows, the last one for all months."""
        report = await kpi_report(start, end, project_id)
        return await csv_reply(request, f"kpis-{start}-{end}", csv_export.KPI_COLUMNS, report.rows)

    @raises("invalid-field")
    @get("/kpis.xlsx", operation_id="dashboardKpisXlsx", opt=KPI_READERS, media_type=XLSX,
         summary="The KPIs as an Excel workbook")
    async def kpis_xlsx(
        self, request: Request[Any, Any, Any], start: Start, end: End, project_id: ProjectId = None
    ) -> Response[bytes]:
        """The care KPI dashboard as an .xlsx workbook: its rows, the last one for all months."""
        report = await kpi_report(start, end, project_id)
        return await xlsx_reply(request, f"kpis-{start}-{end}", csv_export.KPI_COLUMNS, report.rows)
