"""Request and response shapes of the events API (msgspec: validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from loyalty.events.rules import WHY_NOT_TYPES

Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a time zone")]
Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="per person, in fen (0 = free)")]
Title = Annotated[str, msgspec.Meta(max_length=100)]
Body = Annotated[str, msgspec.Meta(max_length=5000)]
Party = Annotated[int, msgspec.Meta(ge=1, le=20, description="the owner plus family members coming")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


SignupStatus = Annotated[
    Literal["pending_payment", "confirmed", "waitlisted", "cancelled", "attended", "no_show"],
    msgspec.Meta(description="pending_payment: seat held until hold_expires_at, pay to confirm (while `payment.status` is "
                 "preparing the seat is kept with no deadline yet) | confirmed: a seat (and a ticket) | waitlisted: no seat "
                 "yet, promoted in order when one frees | cancelled | attended: checked in at the door | no_show: "
                 "confirmed but did not come"),
]
RefundStatus = Annotated[
    Literal["", "pending", "requires_action", "succeeded", "failed", "canceled"],
    msgspec.Meta(description="Stripe's refund status: \"\" no refund | pending | requires_action | succeeded | failed "
                 "(retried every 15 minutes) | canceled"),
]
EventStatus = Annotated[
    Literal["draft", "published", "cancelled"],
    msgspec.Meta(description="draft: only staff see it | published | cancelled: called off, signups cancelled and refunded"),
]
EventKind = Literal["club_activity", "owner_meetup", "festival_gathering", "site_open_day", "decoration_seminar", "other"]


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
    type: Annotated[Literal[WHY_NOT_TYPES], msgspec.Meta(
        description="the problem type a signup now would be refused with", examples=["/problems/event-not-eligible"]
    )]
    message: str
    title_zh: str
    title_en: str


class MySignupRef(msgspec.Struct):
    id: int
    status: SignupStatus


class EventView(msgspec.Struct):
    id: int
    kind: EventKind
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
    attendance_points: Annotated[int, msgspec.Meta(description="points each member earns for checking in")]
    status: EventStatus
    can_sign_up: bool
    why_not: WhyNot | None
    my_signup: MySignupRef | None


class SessionView(msgspec.Struct):
    id: int
    title_zh: str
    title_en: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    seats_left: int
    my_signup_status: Annotated[SignupStatus | None, msgspec.Meta(description="my live signup for this session, if any")]


class ProgramSessionsView(msgspec.Struct):
    id: int
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    sessions: Annotated[list[SessionView], msgspec.Meta(description="the program's published sessions, this one included, soonest first")]


class EventDetailView(EventView):
    open_to: Annotated[list[str], msgspec.Meta(
        description="who may join, in the reader's language (tiers, stages, projects); empty: every member",
        examples=[["仅限金卡或铂金卡会员"]],
    )]
    waitlist_length: Annotated[int, msgspec.Meta(description="households on the waitlist now")]
    program: Annotated[ProgramSessionsView | None, msgspec.Meta(description="the seasonal program this event is a session of")]


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
    currency: Annotated[Literal["cny"], msgspec.Meta(description="ISO 4217, lower case as Stripe writes it")]
    status: Annotated[
        Literal["requires_payment", "preparing", "failed", "succeeded", "cancelled"],
        msgspec.Meta(
            description="requires_payment (pay with client_secret) | preparing (Stripe has not created the payment yet: "
            "no client_secret, the seat is kept and the hold starts once it is ready; look again in a minute) | "
            "failed (declined: pay again) | succeeded | cancelled"
        ),
    ]
    stripe_payment_intent: str
    client_secret: Annotated[str, msgspec.Meta(description="for Stripe.js while requires_payment or failed; else empty")]
    last_error: str


CancelReason = Annotated[
    Literal["", "member", "event_cancelled", "hold_expired", "payment_setup_failed", "reward_cancelled"],
    msgspec.Meta(description="why a cancelled signup is: \"\" (not cancelled) | member (the owner cancelled) | "
                 "event_cancelled | hold_expired (not paid in time: the seat was released) | payment_setup_failed "
                 "(the payment could not be prepared before the event) | reward_cancelled (a seat taken with a reward: the "
                 "owner gave the reward back)"),
]
PaymentStatus = Annotated[
    Literal["requires_payment", "preparing", "failed", "succeeded", "cancelled"],
    msgspec.Meta(
        description="requires_payment (pay with client_secret) | preparing (Stripe has not created the payment yet: "
        "no client_secret, the seat is kept and the hold starts once it is ready; look again in a minute) | "
        "failed (declined: pay again) | succeeded | cancelled"
    ),
]


class PaymentSetupView(msgspec.Struct):
    """What the owner page needs to pay for a signup with Stripe.js (Payment Element)."""

    signup_id: int
    signup_status: SignupStatus
    cancel_reason: CancelReason
    amount_fen: int
    currency: Annotated[Literal["cny"], msgspec.Meta(description="ISO 4217, lower case as Stripe writes it")]
    payment_status: PaymentStatus
    hold_expires_at: Annotated[datetime | None, msgspec.Meta(description="until when the unpaid seat is kept")]
    client_secret: Annotated[
        str, msgspec.Meta(description="the PaymentIntent's, for stripe.elements(); only while the seat is held and unpaid")
    ]
    last_error: Annotated[str, msgspec.Meta(description="Stripe's words for the last decline (for staff; pages say their own)")]
    publishable_key: Annotated[str, msgspec.Meta(description="Stripe publishable key (pk_...) for Stripe(key)")]
    stripe_js_url: Annotated[str, msgspec.Meta(description="where to load Stripe.js from")]
    payment_method_types: Annotated[
        list[Literal["card", "wechat_pay", "alipay"]], msgspec.Meta(description="what the PaymentIntent offers")
    ]


class SignupView(msgspec.Struct):
    id: int
    event_id: int
    event_title_zh: str
    event_title_en: str
    starts_at: datetime
    venue: str
    status: SignupStatus
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
    refund_status: RefundStatus
    checked_in_at: datetime | None
    cancel_reason: CancelReason = ""


class StaffEventView(msgspec.Struct):
    id: int
    kind: EventKind
    title_zh: str
    title_en: str
    status: EventStatus
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_taken: int
    venue: str = ""
    program_id: int | None = None
    eligible_tiers: list[str] = []
    eligible_project_ids: list[int] = []
    fee_platinum_fen: int = 0
    fee_gold_fen: int = 0
    fee_silver_fen: int = 0
    fee_blue_fen: int = 0
    live_signups: Annotated[int, msgspec.Meta(
        description="signups holding a seat or waiting for one: what a cancellation would cancel")] = 0
    paid_signups: Annotated[int, msgspec.Meta(
        description="of those, the ones with a payment: what a cancellation would refund in full")] = 0


class StaffProgramView(msgspec.Struct):
    id: int
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    project_id: int | None
    event_ids: list[int]
    starts_at: datetime | None
    ends_at: datetime | None


Festival = Literal["spring_festival", "lantern", "dragon_boat", "qixi", "mid_autumn", "double_ninth"]


class EventSeriesRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A recurring series: every shared field as for one event; the sessions' dates from the pattern."""

    pattern: Annotated[Literal["quarterly", "festivals"], msgspec.Meta(
        description="quarterly: one session in each chosen quarter (month of the quarter, week, weekday) | "
        "festivals: one on each chosen Chinese festival's date (lunar calendar)")]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2099, examples=[2027])]
    kind: EventKind
    title_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=80, examples=["业主恳谈会"])]
    start_time: Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["14:00"],
                                            description="Beijing time, HH:MM")]
    duration_minutes: Annotated[int, msgspec.Meta(ge=15, le=1440, examples=[120])]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000, description="people (owners + family)")]
    title_en: Annotated[str, msgspec.Meta(max_length=80)] = ""
    body_zh: Body = ""
    body_en: Body = ""
    venue: Annotated[str, msgspec.Meta(max_length=200)] = ""
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
    signup_opens_days_before: Annotated[int, msgspec.Meta(ge=1, le=180)] = 30
    quarters: Annotated[list[Literal[1, 2, 3, 4]], msgspec.Meta(max_length=4)] = msgspec.field(default_factory=lambda: [1, 2, 3, 4])
    month_of_quarter: Annotated[int, msgspec.Meta(ge=1, le=3, description="1: the quarter's first month")] = 2
    week: Annotated[int, msgspec.Meta(ge=1, le=5, description="the week of the month, 5: the last")] = 3
    weekday: Annotated[int, msgspec.Meta(ge=0, le=6, description="0 Monday to 6 Sunday")] = 5
    festivals: Annotated[list[Festival], msgspec.Meta(max_length=6)] = []


class EventSeriesCreate(EventSeriesRequest, forbid_unknown_fields=True):
    keep: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(
        max_length=12, description="the keys of the previewed sessions to create (the others are dropped); "
        "absent: all of them")] | None = None


class SeriesSessionView(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(examples=["2027-q1", "2027-mid_autumn"])]
    title_zh: str
    title_en: str
    starts_at: datetime
    ends_at: datetime
    signup_opens_at: datetime
    signup_closes_at: datetime
    cancel_deadline: datetime
    quarter: int | None
    festival: Festival | None


class SeriesCreated(msgspec.Struct):
    ids: list[int]


class StaffSignupView(msgspec.Struct):
    id: int
    member_id: int
    member_name: str
    status: SignupStatus
    party_size: int
    fee_fen: int
    created_at: datetime
    checked_in_at: datetime | None
    checked_in_gate: str
    refund_fen: int
    refund_status: RefundStatus


class CheckinRequest(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Id
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    gate: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    nonce: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=64, examples=["gate-a-000417"],
            description="the scanner's own id for this scan: a retry with the same nonce (after a lost answer) gets the "
            "first answer again with `replayed: true`, instead of `already_checked_in`; one nonce per event",
        ),
    ] | None = None


class DoorCountView(msgspec.Struct):
    event_id: int
    checked_in: Annotated[int, msgspec.Meta(description="signups checked in so far")]
    expected: Annotated[int, msgspec.Meta(description="signups holding a seat: confirmed, checked in, or no-show")]
    people_in: Annotated[int, msgspec.Meta(description="people checked in: the party sizes of the checked-in signups")]
    people_expected: Annotated[int, msgspec.Meta(description="people expected: the party sizes of all `expected` signups")]
    conflicts: Annotated[
        int, msgspec.Meta(description="offline admissions the server would not have made (see the door's conflicts)")
    ] = 0


class CheckinView(msgspec.Struct):
    result: Annotated[
        Literal["checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet"],
        msgspec.Meta(
            description="checked_in: let them in (points awarded) | already_checked_in: this signup was scanned before "
            "(see first_checked_in_at, first_gate) | not_signed_up: the member has no seat for this event | "
            "wrong_event: a ticket for another event | cancelled: the signup was cancelled | not_open_yet: check-in "
            "opens before the start (120 minutes by default). Each is a 200: the door decides, nothing is refused"
        ),
    ]
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


class AdmissionEntry(msgspec.Struct):
    signup_id: int
    member_id: int
    member_name: str
    party_size: int
    status: SignupStatus
    checked_in_at: datetime | None
    checked_in_gate: str


class AdmissionListView(msgspec.Struct):
    """What a door scanner keeps to decide offline; fetch again while online to see other doors' admissions."""

    event_id: int
    opens_at: Annotated[datetime, msgspec.Meta(description="the first moment the door takes a ticket")]
    starts_at: datetime
    generated_at: datetime
    signups: list[AdmissionEntry]


Nonce = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


ScanResult = Literal["checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet"]


class OfflineScanIn(msgspec.Struct, forbid_unknown_fields=True):
    nonce: Nonce
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    gate: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    scanned_at: Annotated[datetime, msgspec.Meta(tz=True, description="when the device scanned it (its own clock)")]
    offline_result: Annotated[
        Literal["checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet", "invalid_code"],
        msgspec.Meta(description="what the device showed at the door"),
    ]


class OfflineSyncRequest(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Id
    device: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="the scanner's own id, kept with each scan")]
    scans: Annotated[list[OfflineScanIn], msgspec.Meta(max_length=500)]


class SyncedScanView(msgspec.Struct):
    nonce: str
    status: Annotated[
        Literal["applied", "replay", "refused"],
        msgspec.Meta(description="applied: recorded now | replay: this nonce was applied before (its first answer) | "
                     "refused: not applied (`reason` says why); the device drops it from its queue and shows it"),
    ]
    result: Annotated[
        Literal["checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet", "invalid_code"] | None,
        msgspec.Meta(description="what the server recorded: a check-in result, or invalid_code (no valid ticket or card of "
                     "ours); for a door that turned a valid ticket away, what the door said; null when refused"),
    ]
    conflict: Annotated[bool, msgspec.Meta(description="the door and the server disagree: staff must look (`conflict_kind`)")]
    conflict_kind: Annotated[
        Literal["", "admitted", "turned_away"],
        msgspec.Meta(description="admitted: let in though the server would not (again, or not valid) | turned_away: an "
                     "offline door refused a ticket the server holds valid"),
    ]
    replayed: Annotated[bool, msgspec.Meta(description="this nonce was applied before: the first answer again")]
    reason: str = ""


class OfflineSyncView(msgspec.Struct):
    scans: list[SyncedScanView]
    count: DoorCountView


class DoorConflictView(msgspec.Struct):
    scan_id: int
    signup_id: int | None
    member_name: str
    party_size: int
    gate: str
    device: str
    scanned_at: datetime
    result: Annotated[
        ScanResult | Literal["invalid_code"], msgspec.Meta(description="what the server recorded when the scan was synced")
    ]
    kind: Annotated[
        Literal["admitted", "turned_away"],
        msgspec.Meta(description="admitted: let in though the server would not (again, or not valid) | turned_away: an "
                     "offline door refused a valid ticket (nobody came in: follow up)"),
    ]
    offline_result: Annotated[
        Literal["", "checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet", "invalid_code"],
        msgspec.Meta(description="what the offline door showed; empty for a live scan (a later admission made a conflict)"),
    ]
    first_checked_in_at: datetime | None
    first_gate: str


class DoorDeviceRequest(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Id
    gate: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class DoorDeviceSetup(msgspec.Struct):
    url: Annotated[str, msgspec.Meta(description="what the QR holds: the staff page with the one-time code after `#`")]
    expires_at: datetime
    qr_png_base64: Annotated[str, msgspec.Meta(description="the QR code of `url`, a PNG in base64")]


class DoorDeviceView(msgspec.Struct):
    id: int
    gate: str
    staff_name: Annotated[str, msgspec.Meta(description="who set the phone up")]
    opened_at: datetime
    expires_at: datetime


class DoorDeviceSessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class DoorDeviceSession(msgspec.Struct):
    event_id: int
    gate: str


class WebhookAnswer(msgspec.Struct):
    result: Annotated[
        Literal["handled", "duplicate", "ignored"],
        msgspec.Meta(description="handled: acted on | duplicate: this event id was handled before | ignored: a type "
                     "we do not act on"),
    ]

