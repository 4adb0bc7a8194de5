"""Request and response shapes of the care API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Five = Annotated[int, msgspec.Meta(ge=1, le=5)]


class CaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["complaint", "suggestion", "repair", "inquiry"]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    text: Text
    unit_id: Id | None = None


class StaffCaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    member_id: Id
    kind: Literal["complaint", "suggestion", "repair", "inquiry"]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    text: Text
    unit_id: Id | None = None


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    text: Text


class Assignment(msgspec.Struct, forbid_unknown_fields=True):
    staff_id: Id


class Resolution(msgspec.Struct, forbid_unknown_fields=True):
    result: Text


class FollowUp(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ClockView(msgspec.Struct):
    name: str
    due: datetime | None
    done: datetime | None
    state: Literal["met", "missed", "running", "overdue", "not_started"]


class CaseMessageView(msgspec.Struct):
    id: int
    author_kind: str
    text: str
    created_at: datetime


class CaseView(msgspec.Struct):
    id: int
    member_id: int
    kind: str
    kind_label_zh: str
    kind_label_en: str
    title: str
    text: str
    status: str
    status_label_zh: str
    status_label_en: str
    project_id: int | None
    unit_id: int | None
    assigned_to: int | None
    opened_by: str
    opened_at: datetime
    result: str
    clocks: list[ClockView]
    messages: list[CaseMessageView]
    photo_ids: list[int]


class Created(msgspec.Struct):
    id: int


class SurveyView(msgspec.Struct):
    id: int
    kind: str
    subject_id: int
    sent_at: datetime
    questions: list[str]


class SurveyAnswer(msgspec.Struct, forbid_unknown_fields=True):
    satisfaction: Five | None = None
    planning_design: Five | None = None
    sales_service: Five | None = None
    construction_quality: Five | None = None
    customer_service: Five | None = None
    property_management: Five | None = None
    recommend: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class Preferences(msgspec.Struct, forbid_unknown_fields=True):
    opt_outs: Annotated[list[Literal["birthday", "holiday", "warranty", "event_reminder", "points_expiry", "survey"]], msgspec.Meta(max_length=10)]


class KpiView(msgspec.Struct):
    project_id: int | None
    month: str
    satisfaction_rate: float | None
    satisfaction_scores: int
    nps: float | None
    recommend_answers: int
    reply_on_time_rate: float | None
    replies_due: int
    complaint_reply_on_time_rate: float | None
    follow_up_rate: float | None
    follow_ups_due: int
    referral_share: float | None
    new_buyers: int
    referred_buyers: int  # of the new buyers, those who came through a signed lead; the share's numerator
    referral_signed: int  # leads signed in the month (the funnel's stage count)
    overdue_cases: int


class KpiReport(msgspec.Struct):
    start: date
    end: date
    targets: dict[str, float]
    rows: list[KpiView]
