"""Request and response shapes of the staff's messages to a group of owners (msgspec: validated
at the edge; the rules, such as a time to send in the future, are the service's)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with a time zone (the page sends Beijing time)")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Tier = Literal["platinum", "gold", "silver", "blue"]
Stage = Literal["prospect", "pre_owner", "settling", "stable", "veteran"]
Kind = Annotated[
    Literal["bulletin", "activity_news", "greeting"],
    msgspec.Meta(description="bulletin: a project bulletin (construction progress, topping-out, handover) | activity_news: "
                 "club activity news | greeting: a holiday greeting. Every kind may be refused by the owner "
                 "(outbox kinds project_bulletin, activity_news, holiday)", examples=["bulletin"]),
]
Status = Annotated[
    Literal["draft", "scheduled", "sending", "sent", "cancelled"],
    msgspec.Meta(description="draft: not confirmed, nothing sent | scheduled: confirmed, waits for send_at | sending: being "
                 "queued to the owners | sent: queued to every owner in the segment | cancelled", examples=["sent"]),
]


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """Which owners: every criterion given must hold; an empty list or null is no condition."""

    project_ids: list[Id] = []
    buildings: list[Annotated[str, msgspec.Meta(max_length=20, examples=["3幢"])]] = msgspec.field(
        default_factory=list)
    tiers: list[Tier] = []
    stages: list[Stage] = []
    tags: list[Annotated[str, msgspec.Meta(max_length=20, examples=["亲子"])]] = msgspec.field(default_factory=list)
    birthday_month: Annotated[int, msgspec.Meta(description="1–12")] | None = None
    no_contact_months: Annotated[int, msgspec.Meta(
        description="owners we sent no message to (a login code aside) in this many months, 1–120")] | None = None
    attended: Annotated[bool, msgspec.Meta(
        description="true: checked in at an event in the dates; false: at none")] | None = None
    attended_from: Annotated[date, msgspec.Meta(description="first day (Beijing) of the events counted")] | None = None
    attended_to: Annotated[date, msgspec.Meta(description="last day (Beijing) of the events counted")] | None = None


class CountRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: Kind
    segment: SegmentIn = msgspec.field(default_factory=SegmentIn)


class CountView(msgspec.Struct):
    members: Annotated[int, msgspec.Meta(description="owners in the segment now")]
    opted_out: Annotated[int, msgspec.Meta(description="of whom refused this kind: they will not get it")]
    reachable: Annotated[int, msgspec.Meta(description="members − opted_out: the owners it will be sent to")]


class BroadcastCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Kind
    title_zh: Annotated[str, msgspec.Meta(max_length=100, examples=["《工程进度通》第 12 期：3 幢封顶"])]
    body_zh: Annotated[str, msgspec.Meta(max_length=2000, examples=["尊敬的业主：3 幢已于本周顺利封顶……"])]
    title_en: Annotated[str, msgspec.Meta(max_length=100, examples=["Progress bulletin 12: building 3 tops out"])] = ""
    body_en: Annotated[str, msgspec.Meta(max_length=2000, description="empty: English readers get the Chinese")] = ""
    segment: SegmentIn = msgspec.field(default_factory=SegmentIn)
    send_at: Annotated[Aware, msgspec.Meta(description="later (in the future); null: as soon as it is confirmed")] | None = None


class Text(msgspec.Struct):
    title: str
    body: str


class Preview(msgspec.Struct):
    """What an owner reads, in each language (English falls back to Chinese)."""

    zh: Text
    en: Text


class Stats(msgspec.Struct):
    """The broadcast's outbox messages by where they stand."""

    queued: Annotated[int, msgspec.Meta(description="waiting to be sent (quiet hours, a retry) or being sent")]
    sent: int
    failed: Annotated[int, msgspec.Meta(description="every attempt on every channel failed, or expired")]
    opted_out: Annotated[int, msgspec.Meta(description="the owner refused this kind: not sent")]


class BroadcastView(msgspec.Struct):
    id: int
    kind: Kind
    status: Status
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    segment: SegmentIn
    send_at: datetime | None
    created_by: int
    created_at: datetime
    confirmed_at: datetime | None
    finished_at: datetime | None
    cancelled_at: datetime | None
    audience: Annotated[int | None, msgspec.Meta(description="owners in the segment when it went out")]
    stats: Stats
    preview: Preview
