"""Reply shapes of the dashboards. Each report is rows plus a totals row of the same shape
(its id is null). The CSV export words these fields for people (`loyalty.dashboards.csv_export`):
rows, then totals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.dashboards.service import LIABILITY_KINDS
from loyalty.events.tables import EVENT_STATUSES


class TierRowView(msgspec.Struct):
    project_id: int | None
    project: str
    platinum: int
    gold: int
    silver: int
    blue: int
    members: int


class TierReport(msgspec.Struct):
    """rows − counted_again + without_a_unit = totals, per tier and in `members`: a member owning
    units in two projects counts in both projects' rows, once in the totals."""

    rows: list[TierRowView]
    totals: TierRowView
    counted_again: TierRowView  # owners of units in several projects: their extra counts in the rows
    without_a_unit: TierRowView  # current cards of members owning no unit today (in the totals only)


class ReferralRowView(msgspec.Struct):
    project_id: int | None
    project: str
    month: str
    registered: int
    visited: int
    subscribed: int
    signed: int  # leads that reached signed in the month (the funnel's stage count)
    new_buyers: int
    referred_buyers: int  # of the new buyers, those who came through a signed lead
    signed_of_registered: int  # of the leads registered in the month, those that have signed since
    conversion: float | None  # signed_of_registered / registered: a cohort rate, at most 1
    referral_share: float | None
    target: float
    meets_target: bool | None


class ReferralReport(msgspec.Struct):
    start: date
    end: date
    target: float
    rows: list[ReferralRowView]
    totals: ReferralRowView


class EventRowView(msgspec.Struct):
    event_id: int | None
    title_zh: str
    title_en: str
    starts_at: datetime | None
    status: Annotated[
        Literal[("", *EVENT_STATUSES)],
        msgspec.Meta(description="the event's status: published | cancelled (drafts are not counted); \"\" in the "
                     "totals row", examples=["published"]),
    ]
    seats: int
    signups: int
    people: int
    attended: int
    attended_people: int
    no_show: int
    no_show_people: int
    no_show_rate: float | None
    attendance_rate: float | None


class EventReport(msgspec.Struct):
    start: date
    end: date
    rows: list[EventRowView]
    totals: EventRowView


class MerchantRowView(msgspec.Struct):
    merchant_id: int | None
    merchant: str
    sales: int
    gross_fen: int
    discount_fen: int
    points_redeemed: int
    points_value_fen: int
    reversed_fen: int


class MerchantReport(msgspec.Struct):
    start: date
    end: date
    rows: list[MerchantRowView]
    totals: MerchantRowView


class LiabilityRowView(msgspec.Struct):
    kind: Annotated[
        Literal[LIABILITY_KINDS],
        msgspec.Meta(description="available: spendable points | pending: earned, not yet vested | total: available + "
                     "pending | debt: points members owe (negative balances after reversals), not netted",
                     examples=["available"]),
    ]
    points: Annotated[int, msgspec.Meta(examples=[1280000])]
    value_fen: Annotated[int, msgspec.Meta(examples=[1280000], description="what the points are worth, in fen")]


class LiabilityView(msgspec.Struct):
    points_per_cny: int
    accounts: int
    available: int
    available_value_fen: int
    pending: int
    pending_value_fen: int
    total_points: int
    total_value_fen: int
    debt: int
    rows: list[LiabilityRowView]  # the same figures one per line, for the chart and the CSV
