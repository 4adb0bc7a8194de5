"""Request and response shapes of the rewards API (msgspec: validated at the edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a time zone")]
Name = Annotated[str, msgspec.Meta(max_length=100, examples=["中秋月饼礼盒"])]
NameEn = Annotated[str, msgspec.Meta(max_length=100, examples=["Mid-Autumn mooncake box"])]
Body = Annotated[str, msgspec.Meta(max_length=5000, examples=["六枚装，凭取货码到售楼处领取。"])]
Place = Annotated[str, msgspec.Meta(max_length=200, examples=["云湖里售楼处（周一至周日 9:00–18:00）"])]
PlaceEn = Annotated[str, msgspec.Meta(max_length=200, examples=["Yunhuli sales office (daily 9:00–18:00)"])]
Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Days = Annotated[int, msgspec.Meta(ge=1, le=365, description="days a reservation waits to be collected")]
Points = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000, description="points (0 = free)")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Tier = Literal["platinum", "gold", "silver", "blue"]
Stage = Literal["prospect", "pre_owner", "settling", "stable", "veteran"]

RewardKind = Annotated[
    Literal["gift", "voucher", "event_seat", "service"],
    msgspec.Meta(description="gift: a physical gift picked up at the counter | voucher: a merchant voucher | "
                 "event_seat: a seat at an event | service: a service (cleaning, inspection...)", examples=["gift"]),
]
RewardStatus = Annotated[
    Literal["draft", "published", "withdrawn"],
    msgspec.Meta(description="draft: staff only (or a gift only granted) | published: in the catalogue | "
                 "withdrawn: no longer redeemable (open redemptions stay valid)", examples=["published"]),
]
RedemptionStatus = Annotated[
    Literal["reserved", "ready", "picked_up", "cancelled", "expired"],
    msgspec.Meta(description="reserved: points spent, stock held | ready: waiting at the counter | picked_up | "
                 "cancelled: by the owner, points returned | expired: not collected by expires_at, points returned",
                 examples=["reserved"]),
]


class Prices(msgspec.Struct, forbid_unknown_fields=True):
    """Points per tier: null (or absent) = not offered to that tier, 0 = free."""

    platinum: Points | None = None
    gold: Points | None = None
    silver: Points | None = None
    blue: Points | None = None


class RewardCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: RewardKind
    name_zh: Name
    starts_on: date
    ends_on: date
    stock: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    prices: Prices
    name_en: NameEn = ""
    description_zh: Body = ""
    description_en: Body = ""
    pickup_place: Place = ""
    pickup_place_en: PlaceEn = ""
    per_owner_limit: Limit = 1
    eligible_tiers: list[Tier] = []
    eligible_stages: list[Stage] = []
    eligible_project_ids: list[Id] = []
    collect_days: Annotated[int, msgspec.Meta(ge=1, le=365, description="days a reservation waits to be collected")] = 14
    status: Literal["draft", "published"] = "draft"
    merchant_id: Annotated[Id | None, msgspec.Meta(description="kind voucher (required): the merchant whose tills "
                                                               "accept it")] = None
    event_id: Annotated[Id | None, msgspec.Meta(description="kind event_seat (required): the event it seats")] = None


class RewardUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """The fields to change (absent or null: unchanged). `prices`, when given, is the whole
    price list (a tier left out is no longer offered). Stock and status have their own routes."""

    kind: RewardKind | None = None
    name_zh: Name | None = None
    name_en: NameEn | None = None
    description_zh: Body | None = None
    description_en: Body | None = None
    pickup_place: Place | None = None
    pickup_place_en: PlaceEn | None = None
    prices: Prices | None = None
    per_owner_limit: Limit | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    eligible_tiers: list[Tier] | None = None
    eligible_stages: list[Stage] | None = None
    eligible_project_ids: list[Id] | None = None
    collect_days: Days | None = None


class StockChange(msgspec.Struct, forbid_unknown_fields=True):
    added: Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000, description="more arrived (or fewer: negative)")]


class GrantCreate(msgspec.Struct, forbid_unknown_fields=True):
    occasion: Annotated[str, msgspec.Meta(max_length=100, examples=["2027 春节"],
                                          description="one gift per owner per reward and occasion")]
    tiers: list[Tier] = []
    stages: list[Stage] = []
    project_ids: list[Id] = []


class GrantPreviewView(msgspec.Struct):
    owners: Annotated[int, msgspec.Meta(description="owners the grant would give a gift to now (those already given "
                                                    "this reward for this occasion left out); the stock it needs")]
    stock_left: int
    enough_stock: bool


class PickupRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(max_length=200, examples=["OC1.k1.UgAAAAAAAAAHAAAwOQ.3kq…"])]


class Created(msgspec.Struct):
    id: int


class GrantView(msgspec.Struct):
    id: int
    granted: int


class OfferView(msgspec.Struct):
    id: int
    kind: RewardKind
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    pickup_place: str
    pickup_place_en: str
    picture_url: Annotated[str | None, msgspec.Meta(description="the reward's picture (JPEG), or null")]
    points: int
    ends_on: date
    stock_left: int
    per_owner_limit: int
    redeemed_by_me: int
    collect_days: Annotated[int, msgspec.Meta(description="days a reservation waits at the pick-up place")]


class StaffRewardView(msgspec.Struct):
    id: int
    kind: RewardKind
    status: RewardStatus
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    pickup_place: str
    pickup_place_en: str
    picture_url: Annotated[str | None, msgspec.Meta(description="the reward's picture (JPEG), or null")]
    prices: Prices
    stock_total: int
    stock_remaining: int
    per_owner_limit: int
    starts_on: date
    ends_on: date
    eligible_tiers: list[str]
    eligible_stages: list[str]
    eligible_project_ids: list[int]
    collect_days: int
    merchant_id: int | None = None  # a voucher's merchant
    event_id: int | None = None  # an event seat's event


class RedemptionView(msgspec.Struct):
    id: int
    reward_id: int
    reward_kind: RewardKind
    reward_name_zh: str
    reward_name_en: str
    pickup_place: str
    pickup_place_en: str
    points: int
    status: RedemptionStatus
    status_label_zh: str
    status_label_en: str
    reserved_at: Aware
    expires_at: Aware
    ready_at: Aware | None
    picked_up_at: Aware | None
    gift_occasion: str | None  # a gift granted by staff (free), else null
    merchant_name: Annotated[str | None, msgspec.Meta(description="a voucher: the merchant whose tills accept it")] = None
    voucher_code: Annotated[str | None, msgspec.Meta(
        description="a voucher not yet used: its code, to show at the merchant's till (QR: code.svg)",
        examples=["K7QM-3XZ9-A4TB-0PRW"])] = None
    event_id: Annotated[int | None, msgspec.Meta(description="an event seat: its event (the ticket is the signup's)")] = None
    signup_id: Annotated[int | None, msgspec.Meta(description="an event seat: the owner's signup (its ticket)")] = None


class CounterRow(msgspec.Struct):
    id: int
    reward_id: int
    reward_name_zh: str
    reward_name_en: str
    member_name: str
    member_phone: Annotated[str, msgspec.Meta(description="masked", examples=["+86138****8000"])]
    points: int
    status: RedemptionStatus
    reserved_at: Aware
    ready_at: Aware | None
    expires_at: Aware
    gift: bool


class PickupView(msgspec.Struct):
    redemption_id: int
    reward_name_zh: str
    reward_name_en: str
    member_name: str
    member_phone: Annotated[str, msgspec.Meta(description="masked: the clerk checks it against the owner's phone",
                                              examples=["+86138****8000"])]
    status: RedemptionStatus


class ReportRow(msgspec.Struct):
    reward_id: int
    name_zh: str
    name_en: str
    status: RewardStatus
    stock_total: int
    stock_remaining: int
    reserved: int
    ready: int
    picked_up: int
    cancelled: int
    expired: int
    points_collected: int
    points_held: Annotated[int, msgspec.Meta(description="the liability: points held by reservations not yet "
                                                         "collected, which come back if cancelled or expired")]
    points_collected_fen: Annotated[int, msgspec.Meta(description="points_collected in fen (LOYALTY_POINTS_PER_CNY)")]
    points_held_fen: Annotated[int, msgspec.Meta(description="points_held in fen: the liability in money")]


# --- standing grants (gifts granted by rules) ------------------------------------------------------

GrantOccasionKind = Annotated[
    Literal["birthday", "holiday"],
    msgspec.Meta(description="birthday: each owner once a year, before their birthday | holiday: everyone in the "
                 "segment before the holiday named in `holiday`", examples=["holiday"]),
]
HolidayKey = Annotated[
    Literal["new_year", "spring_festival", "labour_day", "childrens_day", "mid_autumn", "national_day", "double_ninth"],
    msgspec.Meta(description="lunar holidays (spring_festival, mid_autumn, double_ninth) by the lunar calendar",
                 examples=["mid_autumn"]),
]
DaysBefore = Annotated[int, msgspec.Meta(ge=0, le=60, description="the gift is granted from this many days before the "
                                                                  "day until the day itself")]


class GrantRuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    occasion_kind: GrantOccasionKind
    holiday: HolidayKey | None = None  # required for a holiday rule, absent for birthdays
    days_before: DaysBefore = 7
    tiers: list[Tier] = []
    stages: list[Stage] = []
    project_ids: list[Id] = []


class GrantRuleView(msgspec.Struct):
    id: int
    reward_id: int
    occasion_kind: GrantOccasionKind
    holiday: str | None
    days_before: int
    tiers: list[str]
    stages: list[str]
    project_ids: list[int]
    status: Annotated[Literal["active", "paused"], msgspec.Meta(description="paused: grants nothing until resumed")]
    created_at: Aware
    granted: Annotated[dict[str, int], msgspec.Meta(description="reservations made per occasion (birthday-2027, "
                                                                "mid_autumn-2027)", examples=[{"mid_autumn-2027": 120}])]
    next_on: Annotated[date | None, msgspec.Meta(description="a holiday rule's next occasion (Beijing day, today's while "
                                                             "its window is open); null for birthdays")] = None
