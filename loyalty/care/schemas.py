"""Request and response shapes of the care API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.care.cases import CLOCK_NAMES, CLOCK_STATES
from loyalty.care.outbox import OPTIONAL_KINDS
from loyalty.care.tables import AUTHORS, CASE_KINDS, CASE_SEVERITIES, CASE_STATUSES, SURVEY_KINDS

CaseKind = Annotated[
    Literal[CASE_KINDS],
    msgspec.Meta(description="complaint 投诉 | suggestion 建议 | repair 报修 | inquiry 咨询", examples=["repair"]),
]
Author = Annotated[Literal[AUTHORS], msgspec.Meta(description="member: the owner | staff: the care desk",
                                                   examples=["member"])]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Five = Annotated[int, msgspec.Meta(ge=1, le=5)]


class CaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: CaseKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["卫生间天花板漏水"])]
    text: Text
    unit_id: Id | None = None


class StaffCaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    member_id: Id
    kind: CaseKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["卫生间天花板漏水"])]
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
    name: Annotated[
        Literal[CLOCK_NAMES],
        msgspec.Meta(description="reply: the first reply | result: the case resolved | follow_up: the call after "
                     "resolving", examples=["reply"]),
    ]
    due: datetime | None
    done: datetime | None
    state: Annotated[
        Literal[CLOCK_STATES],
        msgspec.Meta(description="met: done by `due` | missed: done late | running: not done, not yet due | overdue: "
                     "not done, past `due` | not_started: no due time yet (the follow-up before resolving)",
                     examples=["running"]),
    ]


class CaseMessageView(msgspec.Struct):
    id: int
    author_kind: Author
    text: str
    created_at: datetime


class CaseView(msgspec.Struct):
    id: int
    member_id: int
    kind: CaseKind
    kind_label_zh: Annotated[str, msgspec.Meta(examples=["报修"])]
    kind_label_en: Annotated[str, msgspec.Meta(examples=["Repair request"])]
    title: Annotated[str, msgspec.Meta(examples=["卫生间天花板漏水"])]
    text: str
    status: Annotated[
        Literal[CASE_STATUSES],
        msgspec.Meta(description="open: waiting for the first reply | in_progress: replied, being handled | "
                     "resolved: the result is given, the follow-up call is due | followed_up: the owner was called "
                     "back; closed", examples=["in_progress"]),
    ]
    status_label_zh: Annotated[str, msgspec.Meta(examples=["处理中"])]
    status_label_en: Annotated[str, msgspec.Meta(examples=["In progress"])]
    project_id: int | None
    unit_id: int | None
    assigned_to: int | None
    opened_by: Annotated[Literal[AUTHORS], msgspec.Meta(description="member: opened by the owner | staff: entered by "
                                                         "the care desk for the owner", examples=["member"])]
    opened_at: datetime
    result: str
    clocks: list[ClockView]
    messages: list[CaseMessageView]
    photo_ids: list[int]


Severity = Annotated[Literal[CASE_SEVERITIES], msgspec.Meta(description="normal | major: handled first, set by the care "
                                                            "desk (audited)", examples=["major"])]


class SeverityChange(msgspec.Struct, forbid_unknown_fields=True):
    severity: Severity


class CaseOwner(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(examples=["张伟"])]
    phone: Annotated[str, msgspec.Meta(description="masked", examples=["+86138****8000"])]


class CaseRating(msgspec.Struct):
    """The owner's answer to the survey sent when the case was resolved."""

    satisfaction: Annotated[int | None, msgspec.Meta(description="1–5", examples=[5])]
    recommend: Annotated[int | None, msgspec.Meta(description="0–10: would you recommend us?", examples=[9])]
    comment: str
    answered_at: datetime


class CaseHandler(msgspec.Struct):
    staff_id: int
    name: Annotated[str, msgspec.Meta(examples=["客服小王"])]
    role: Annotated[Literal["service", "admin"], msgspec.Meta(description="service: customer service | admin",
                                                              examples=["service"])]


class StaffCaseView(CaseView):
    """A case as the care desk sees it: the owner (phone masked), its weight, who has it, the clock
    it waits on, the follow-up note and the owner's rating."""

    severity: Severity
    owner: CaseOwner | None
    assignee_name: str | None
    next_clock: Annotated[Literal[CLOCK_NAMES] | None, msgspec.Meta(
        description="the clock that runs out next: reply, then result, then follow_up; none once followed up",
        examples=["reply"])]
    next_due: datetime | None
    follow_up_note: str
    rating: CaseRating | None


class Created(msgspec.Struct):
    id: int


class SurveyView(msgspec.Struct):
    id: int
    kind: Annotated[
        Literal[SURVEY_KINDS],
        msgspec.Meta(description="event: after attending an event | case: after a case was resolved | yearly: the "
                     "yearly satisfaction survey on five dimensions", examples=["case"]),
    ]
    subject_id: Annotated[int, msgspec.Meta(description="the event or case id; the year for a yearly survey",
                                            examples=[2026])]
    sent_at: datetime
    questions: Annotated[
        list[str],
        msgspec.Meta(description="the answer's fields to ask, in order: satisfaction (1–5) or the yearly survey's "
                     "five dimensions (1–5), recommend (0–10), comment", examples=[["satisfaction", "recommend", "comment"]]),
    ]
    subject_title: Annotated[str, msgspec.Meta(
        description="what the survey is about: the case's title, or the event's Chinese title; empty for a yearly one",
        examples=["卫生间天花板漏水"],
    )] = ""
    subject_title_en: Annotated[str, msgspec.Meta(
        description="the event's English title where it has one; else empty", examples=[""],
    )] = ""


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
    opt_outs: Annotated[
        list[Literal[OPTIONAL_KINDS]],
        msgspec.Meta(max_length=10, description="the messages the owner does not want: birthday greetings | holiday "
                     "greetings | warranty reminders | event_reminder: before an event signed up for | points_expiry "
                     "notices | survey invitations. Login codes and updates on the owner's events and cases are "
                     "always sent", examples=[["holiday", "survey"]]),
    ]
    channels: Annotated[
        list[Literal["wechat", "sms", "email"]],
        msgspec.Meta(min_length=1, max_length=3, description="the channels the owner wants messages by, in order of "
                     "preference (a channel left out is not used; one that cannot reach the owner hands the message to "
                     "the next). Left out of a change: kept as it was. Login codes always go by SMS",
                     examples=[["wechat", "sms"]]),
    ] | None = None


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
