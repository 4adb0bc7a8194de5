"""The dashboards' CSV files as a person opens them in a spreadsheet: headers in the reader's
words, enumeration values (tiers, statuses, kinds) named, times in Beijing time, rates as
percentages and money as money. A spreadsheet still gets numbers to sum: counts and points stay
numbers, and each amount has a second column in yuan as a plain number beside its money text.

The JSON reports keep the machine's names and units (fen, rates of 0..1); only the files
handed to people are worded here. A column the staff page shows too has the page's header: the
same context and English source (admin_ui/static/staff.js), so the same words in both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from loyalty.cards.tables import TIERS
from loyalty.exports import csv_text, xlsx_bytes
from loyalty.i18n import Message, _p, translate
from loyalty.i18n.enums import ENUMS, enum_label
from loyalty.i18n.format import datetime as local_datetime, money, percent

Cell = Callable[[Any, str], Any]  # (a row of the report, the reader's locale) → what the cell holds

# The totals row and the month column's "all": words, not the report's markers.
TOTAL = _p("dashboard_column", "Total")
ALL_MONTHS = _p("dashboard_column", "All months")
YES, NO = _p("dashboard_column", "Yes"), _p("dashboard_column", "No")


@dataclass(frozen=True)
class Column:
    header: Message
    cell: Cell
    names_the_row: bool = False  # the totals row says "Total" here


def plain(name: str) -> Cell:
    """A number or a name as it is (an id, a count, a project's name); nothing as an empty cell."""
    return lambda row, locale: "" if getattr(row, name) is None else getattr(row, name)


def month(name: str) -> Cell:
    return lambda row, locale: translate(ALL_MONTHS, locale) if getattr(row, name) == "all" else getattr(row, name)


def rate(name: str) -> Cell:
    return lambda row, locale: percent(getattr(row, name), locale)


def money_text(name: str) -> Cell:
    return lambda row, locale: money(getattr(row, name), locale, compact=False)  # a report: every fen is read


def yuan(name: str) -> Cell:
    """The amount in yuan as a number (`1200.00`), exact: fen are integers, never floats."""
    return lambda row, locale: Decimal(int(getattr(row, name))).scaleb(-2)


def enum(name: str, table: str) -> Cell:
    return lambda row, locale: enum_label(table, getattr(row, name), locale) if getattr(row, name) else ""


def moment(name: str) -> Cell:
    return lambda row, locale: "" if getattr(row, name) is None else local_datetime(getattr(row, name), locale)


def yes_no(name: str) -> Cell:
    def cell(row: Any, locale: str) -> str:
        value = getattr(row, name)
        return "" if value is None else translate(YES if value else NO, locale)

    return cell


def amount(name: str, header: Message, header_in_yuan: Message) -> list[Column]:
    """An amount read as money, then the same amount as a number a spreadsheet can sum."""
    return [Column(header, money_text(name)), Column(header_in_yuan, yuan(name))]


def _lines(columns: Sequence[Column], rows: Sequence[Any], totals: Any | None, locale: str) -> list[list[Any]]:
    lines = [[column.cell(row, locale) for column in columns] for row in rows]
    if totals is not None:
        lines.append([
            translate(TOTAL, locale) if column.names_the_row else column.cell(totals, locale) for column in columns
        ])
    return lines


def csv_document(columns: Sequence[Column], rows: Sequence[Any], totals: Any | None, locale: str) -> str:
    """The header row, the rows, then the totals row (its naming column saying "Total")."""
    return csv_text([translate(column.header, locale) for column in columns], _lines(columns, rows, totals, locale))


def xlsx_document(title: str, columns: Sequence[Column], rows: Sequence[Any], totals: Any | None, locale: str) -> bytes:
    """The same cells as the CSV, as an Excel workbook of one sheet (numbers stay numbers)."""
    return xlsx_bytes(title, [translate(column.header, locale) for column in columns], _lines(columns, rows, totals, locale))


PROJECT_ID = Column(_p("dashboard_column", "Project no."), plain("project_id"))
PROJECT = Column(_p("dashboard_column", "Project"), plain("project"), names_the_row=True)
MONTH = Column(_p("dashboard_column", "Month"), month("month"))

TIER_COLUMNS = (
    PROJECT_ID, PROJECT,
    *(Column(ENUMS["tier"][tier], plain(tier)) for tier in TIERS),
    Column(_p("dashboard_column", "Members"), plain("members")),
)

REFERRAL_COLUMNS = (
    PROJECT_ID, PROJECT, MONTH,
    Column(_p("dashboard_column", "Leads registered"), plain("registered")),
    Column(_p("dashboard_column", "Leads visited"), plain("visited")),
    Column(_p("dashboard_column", "Leads subscribed"), plain("subscribed")),
    Column(_p("dashboard_column", "Leads signed"), plain("signed")),
    Column(_p("dashboard_column", "New buyers"), plain("new_buyers")),
    Column(_p("dashboard_column", "Referred buyers"), plain("referred_buyers")),
    Column(_p("dashboard_column", "Registered in the month and signed since"), plain("signed_of_registered")),
    Column(_p("dashboard_column", "Conversion"), rate("conversion")),
    Column(_p("dashboard_column", "Referral share of new buyers"), rate("referral_share")),
    Column(_p("dashboard_column", "Target"), rate("target")),
    Column(_p("dashboard_column", "Meets the target"), yes_no("meets_target")),
)

EVENT_COLUMNS = (
    Column(_p("dashboard_column", "Event no."), plain("event_id")),
    Column(_p("dashboard_column", "Event (Chinese)"), plain("title_zh"), names_the_row=True),
    Column(_p("dashboard_column", "Event (English)"), plain("title_en")),
    Column(_p("dashboard_column", "Starts at (Beijing time)"), moment("starts_at")),
    Column(_p("dashboard_column", "Status"), enum("status", "event_status")),
    Column(_p("dashboard_column", "Seats"), plain("seats")),
    Column(_p("dashboard_column", "Signups"), plain("signups")),
    Column(_p("dashboard_column", "People signed up"), plain("people")),
    Column(_p("dashboard_column", "Signups attended"), plain("attended")),
    Column(_p("dashboard_column", "People attended"), plain("attended_people")),
    Column(_p("dashboard_column", "No-show signups"), plain("no_show")),
    Column(_p("dashboard_column", "No-show people"), plain("no_show_people")),
    Column(_p("dashboard_column", "No-show rate"), rate("no_show_rate")),
    Column(_p("dashboard_column", "Attendance rate"), rate("attendance_rate")),
)

MERCHANT_COLUMNS = (
    Column(_p("dashboard_column", "Merchant no."), plain("merchant_id")),
    Column(_p("dashboard_column", "Merchant"), plain("merchant"), names_the_row=True),
    Column(_p("dashboard_column", "Sales"), plain("sales")),
    *amount("gross_fen", _p("dashboard_column", "Gross"), _p("dashboard_column", "Gross (CNY)")),
    *amount("discount_fen", _p("dashboard_column", "Discounts"), _p("dashboard_column", "Discounts (CNY)")),
    Column(_p("dashboard_column", "Points redeemed"), plain("points_redeemed")),
    *amount("points_value_fen", _p("dashboard_column", "Value of the points"),
            _p("dashboard_column", "Value of the points (CNY)")),
    *amount("reversed_fen", _p("dashboard_column", "Reversed"), _p("dashboard_column", "Reversed (CNY)")),
)

LIABILITY_COLUMNS = (
    Column(_p("dashboard_column", "Kind"), enum("kind", "liability_kind")),
    Column(_p("dashboard_column", "Points"), plain("points")),
    *amount("value_fen", _p("dashboard_column", "Value"), _p("dashboard_column", "Value (CNY)")),
)

KPI_COLUMNS = (
    PROJECT_ID, MONTH,
    Column(_p("dashboard_column", "Satisfied (4 or 5 of 5)"), rate("satisfaction_rate")),
    Column(_p("dashboard_column", "Scores given"), plain("satisfaction_scores")),
    Column(_p("dashboard_column", "Net promoter score"), plain("nps")),
    Column(_p("dashboard_column", "Recommendation answers"), plain("recommend_answers")),
    Column(_p("dashboard_column", "Replied on time"), rate("reply_on_time_rate")),
    Column(_p("dashboard_column", "Replies due"), plain("replies_due")),
    Column(_p("dashboard_column", "Complaints replied on time"), rate("complaint_reply_on_time_rate")),
    Column(_p("dashboard_column", "Followed up on time"), rate("follow_up_rate")),
    Column(_p("dashboard_column", "Follow-ups due"), plain("follow_ups_due")),
    Column(_p("dashboard_column", "Referral share of new buyers"), rate("referral_share")),
    Column(_p("dashboard_column", "New buyers"), plain("new_buyers")),
    Column(_p("dashboard_column", "Referred buyers"), plain("referred_buyers")),
    Column(_p("dashboard_column", "Referral leads signed"), plain("referral_signed")),
    Column(_p("dashboard_column", "Overdue cases"), plain("overdue_cases")),
)
