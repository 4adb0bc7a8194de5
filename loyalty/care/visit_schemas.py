"""Request and response shapes of the return-visit API (loyalty.care.visit_api)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from loyalty.care.tables import MESSAGE_KINDS, VISIT_KINDS, VISIT_OUTCOMES, VISIT_STATUSES
from loyalty.care.visits import CONTACT_KINDS
from loyalty.openapi_contract import checked_enum

Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
KIND_WORDS = (
    "after_subscription 认购后 (a week after) | after_signing 签约后 (a week after) | before_handover 交付前 (7 days before) | "
    "after_move_in 入住后 (within a month) | after_repair 维修后 (24 h after the case closed) | after_major_repair 重大维修后 "
    "(2 months after) | after_complaint 投诉后 (3 working days after the case closed) | monthly_plan 月度回访 | "
    "care_elderly_alone 独居老人关怀 (monthly) | care_silent 沉默业主关怀 (monthly) | care_315 交付“315”关怀 (2 months after handover) | "
    "care_315_interview 交付“315”深度访谈 (within 3 months of handover)"
)
OUTCOME_WORDS = "reached 已联系上 | not_reached 未联系上 | refused 拒绝回访"
VisitKind = Annotated[Literal[VISIT_KINDS], msgspec.Meta(description=KIND_WORDS, examples=["after_complaint"])]
Outcome = Annotated[Literal[VISIT_OUTCOMES], msgspec.Meta(description=OUTCOME_WORDS, examples=["reached"])]


class VisitView(msgspec.Struct):
    id: int
    member_id: int | None  # None: a subscribed lead, not yet a member (lead_id)
    lead_id: int | None
    name: str
    phone: str
    kind: VisitKind
    kind_label_zh: str
    kind_label_en: str
    source: Annotated[str, msgspec.Meta(description="what caused it: lead:<id>, ownership:<id>, case:<id> or plan:<YYYY-MM>",
                                        examples=["case:12"])]
    assigned_to: int | None
    due_at: datetime
    overdue: Annotated[bool, msgspec.Meta(description="open and past its due time")]
    status: Annotated[Literal[VISIT_STATUSES], msgspec.Meta(description="open 待回访 | done 已回访")]
    outcome: Outcome | None
    notes: str
    satisfaction: Annotated[int, msgspec.Meta(ge=1, le=5)] | None
    created_at: datetime
    done_at: datetime | None
    done_by: int | None


class VisitOutcome(msgspec.Struct, forbid_unknown_fields=True):
    # Checked by the service (422 invalid-field naming `outcome`), not by the decoder.
    outcome: Annotated[str, checked_enum(VISIT_OUTCOMES, OUTCOME_WORDS, "reached")]
    notes: Annotated[str, msgspec.Meta(max_length=2000, examples=["业主对维修结果满意"])] = ""
    satisfaction: Annotated[int, msgspec.Meta(ge=1, le=5, description="1–5 (5 = very satisfied), only when reached")] | None = None


class VisitAssignment(msgspec.Struct, forbid_unknown_fields=True):
    staff_id: Id


class CoverageView(msgspec.Struct):
    month: Annotated[str, msgspec.Meta(examples=["2026-12"])]
    active_owners: int
    reached_owners: int
    rate: Annotated[float | None, msgspec.Meta(description="reached_owners / active_owners (None without active owners)")]
    target: Annotated[float, msgspec.Meta(examples=[0.85])]


class ContactView(msgspec.Struct, omit_defaults=True):
    kind: Annotated[Literal[CONTACT_KINDS], msgspec.Meta(
        description="visit: a return visit done | case_message: the care desk's message on one of the owner's cases | "
        "message: a message sent to the owner (WeChat, SMS, e-mail)")]
    id: int
    at: datetime
    visit_kind: VisitKind | None = None
    outcome: Outcome | None = None
    notes: str | None = None
    satisfaction: int | None = None
    staff_id: int | None = None
    case_id: int | None = None
    case_title: str | None = None
    text: str | None = None
    channel: str | None = None
    message_kind: Annotated[Literal[MESSAGE_KINDS], msgspec.Meta(examples=["case_update"])] | None = None
    subject: str | None = None


class ContactPage(msgspec.Struct):
    items: list[ContactView]
    next_offset: Annotated[int | None, msgspec.Meta(description="offset of the next page; None on the last")]
