"""Request and response shapes of the events API (msgspec: validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a time zone")]
Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="per person, in fen (0 = free)")]
Title = Annotated[str, msgspec.Meta(max_length=100)]
Body = Annotated[str, msgspec.Meta(max_length=5000)]
Party = Annotated[int, msgspec.Meta(ge=1, le=20, description="the owner plus family members coming")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class EventCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["club_activity", "owner_meetup", "festival_gathering", "site_open_day", "decoration_seminar", "other"]
    title_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    starts_at: Aware
    ends_at: Aware
    signup_opens_at: Aware
    signup_closes_at: Aware
    cancel_deadline: Aware
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000, description="people (owners + family)")]
    title_en: Title = ""
    body_zh: Body = ""
    body_en: Body = ""
    venue: Annotated[str, msgspec.Meta(max_length=200)] = ""
    project_id: Id | None = None
    program_id: Id | None = None
    party_size_limit: Party = 1
    eligible_tiers: list[Literal["platinum", "gold", "silver", "blue"]] = []
    eligible_stages: list[Literal["prospect", "pre_owner", "settling", "stable", "veteran"]] = []
    eligible_project_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []
    fee_platinum_fen: Fen = 0
    fee_gold_fen: Fen = 0
    fee_silver_fen: Fen = 0
    fee_blue_fen: Fen = 0
    attendance_points: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    status: Literal["draft", "published"] = "published"


class ProgramCreate(msgspec.Struct, forbid_unknown_fields=True):
    title_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    title_en: Title = ""
    body_zh: Body = ""
    body_en: Body = ""
    project_id: Id | None = None


class Created(msgspec.Struct):
    id: int


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class SignupRequest(msgspec.Struct, forbid_unknown_fields=True):
    party_size: Party = 1
    join_waitlist: bool = msgspec.field(default=False)


class ProgramSignupRequest(msgspec.Struct, forbid_unknown_fields=True):
    event_ids: Annotated[list[Id], msgspec.Meta(max_length=100)] | None = None
    party_size: Party = 1
    join_waitlist: bool = False


class WhyNot(msgspec.Struct):
    type: str
    message: str
    title_zh: str
    title_en: str


class MySignupRef(msgspec.Struct):
    id: int
    status: str


class EventView(msgspec.Struct):
    id: int
    kind: str
    kind_label_zh: str
    kind_label_en: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    venue: str
    program_id: int | None
    project_id: int | None
    starts_at: datetime
    ends_at: datetime
    signup_opens_at: datetime
    signup_closes_at: datetime
    cancel_deadline: datetime
    capacity: int
    seats_left: int
    party_size_limit: int
    fee_per_person_fen: int
    attendance_points: int
    status: str
    can_sign_up: bool
    why_not: WhyNot | None
    my_signup: MySignupRef | None


class ProgramView(msgspec.Struct):
    id: int
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    starts_at: datetime
    ends_at: datetime
    event_ids: list[int]


class PaymentView(msgspec.Struct):
    id: int
    amount_fen: int
    currency: str
    status: Annotated[
        str,
        msgspec.Meta(
            description="requires_payment (pay with client_secret) | preparing (Stripe has not created the payment yet: "
            "no client_secret, the seat is kept and the hold starts once it is ready; look again in a minute) | "
            "failed (declined: pay again) | succeeded | cancelled"
        ),
    ]
    stripe_payment_intent: str
    client_secret: Annotated[str, msgspec.Meta(description="for Stripe.js while requires_payment or failed; else empty")]
    last_error: str


class SignupView(msgspec.Struct):
    id: int
    event_id: int
    event_title_zh: str
    event_title_en: str
    starts_at: datetime
    venue: str
    status: str
    status_label_zh: str
    status_label_en: str
    party_size: int
    fee_fen: int
    hold_expires_at: Annotated[
        datetime | None, msgspec.Meta(description="until when an unpaid seat is kept; null while the payment is preparing")
    ]
    waitlist_position: int | None
    ticket_code: str | None
    payment: PaymentView | None
    refund_fen: int
    refund_status: str
    checked_in_at: datetime | None


class StaffEventView(msgspec.Struct):
    id: int
    kind: str
    title_zh: str
    title_en: str
    status: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_taken: int


class StaffSignupView(msgspec.Struct):
    id: int
    member_id: int
    member_name: str
    status: str
    party_size: int
    fee_fen: int
    created_at: datetime
    checked_in_at: datetime | None
    checked_in_gate: str
    refund_fen: int
    refund_status: str  # "" (none), succeeded, pending, failed (retried every 15 minutes)


class CheckinRequest(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Id
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    gate: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    nonce: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class DoorCountView(msgspec.Struct):
    event_id: int
    checked_in: int
    expected: int
    people_in: int
    people_expected: int


class CheckinView(msgspec.Struct):
    result: Literal["checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet"]
    result_label_zh: str
    result_label_en: str
    event_id: int
    signup_id: int | None
    member_name: str
    party_size: int
    first_checked_in_at: datetime | None
    first_gate: str
    points_earned: int
    detail: str
    replayed: bool
    count: DoorCountView


class WebhookAnswer(msgspec.Struct):
    result: Literal["handled", "duplicate", "ignored"]
