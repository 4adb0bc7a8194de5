from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.points.approvals import STATUSES as REQUEST_STATUSES
from loyalty.points.tables import ENTRY_KINDS, SOURCE_KINDS


class PointsBalance(msgspec.Struct):
    available: int
    pending: int
    expiring_soon: int
    expiring_on: date | None
    value_fen: int  # what the available points are worth (100 points = 1 CNY by default)


class PointsEntry(msgspec.Struct):
    id: int
    kind: Annotated[
        Literal[ENTRY_KINDS],
        msgspec.Meta(description="earn: points credited (pending first when they vest later) | redeem: spent as "
                     "payment | expire: unspent points lapsed | adjust: a staff adjustment (or points forfeited on "
                     "erasure) | reverse: a sale or earning undone | vest: pending points became available | void: "
                     "pending points cancelled before vesting", examples=["earn"]),
    ]
    available_delta: Annotated[int, msgspec.Meta(examples=[1280], description="change to spendable points")]
    pending_delta: Annotated[int, msgspec.Meta(examples=[0], description="change to points not yet vested")]
    source_kind: Annotated[
        Literal[SOURCE_KINDS],
        msgspec.Meta(description="what caused it: sale (at an alliance merchant; source_id the sale) | referral "
                     "(source_id `lead:stage`) | event (attendance points; source_id the event) | staff (an "
                     "adjustment; source_id the staff account) | lot (vesting or expiry of earlier points; source_id "
                     "the lot) | erasure (points forfeited when the owner's data was erased)", examples=["sale"]),
    ]
    source_id: Annotated[str, msgspec.Meta(examples=["345"])]
    reason: Annotated[str, msgspec.Meta(examples=[""], description="the words typed with it (a staff adjustment's "
                                        "reason); often empty: `description` says what the entry is")]
    description: Annotated[str, msgspec.Meta(
        examples=["推荐好友 张三 到访"],
        description="what the entry is, in words in the reader's locale (the friend, the shop, the event it came from)",
    )]
    available_after: int
    pending_after: int
    created_at: datetime
    vesting: Annotated[Literal["pending", "vested", "void"] | None, msgspec.Meta(
        examples=["pending"],
        description="for an entry that credited pending points, what became of them since: pending (not yet "
                    "available) | vested (available now; a later `vest` entry moved them, adding nothing more) | void "
                    "(cancelled before vesting); null for every other entry",
    )] = None
    vests_on: Annotated[date | None, msgspec.Meta(
        examples=["2026-12-17"], description="with `vesting`: the day the pending points become (or became) available",
    )] = None


class PointsStatement(msgspec.Struct):
    balance: PointsBalance
    entries: list[PointsEntry]
    next_cursor: int | None


class PointsDue(msgspec.Struct):
    date: date
    points: int


class PointsSchedule(msgspec.Struct):
    """What happens to the points next. Points vested in year Y expire on 31 December of Y+1;
    spending takes the oldest first, so what is spent before its day never expires."""

    expiring: Annotated[list[PointsDue], msgspec.Meta(
        description="available points by the day they expire, soonest first (today or later)",
    )]
    vesting: Annotated[list[PointsDue], msgspec.Meta(
        description="pending points by the day they become available (they then expire by the same rule)",
    )]


class PointsAdjustment(msgspec.Struct, forbid_unknown_fields=True):
    # Above LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD (either sign) it waits for approval;
    # above 10,000,000 it is refused (422 adjustment-too-large).
    points: Annotated[int, msgspec.Meta(ge=-1_000_000_000, le=1_000_000_000, examples=[500, -200])]
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=500)]
    idempotency_key: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]


class PointsAdjusted(msgspec.Struct):
    entry_id: int
    available: int
    pending: int
    replayed: bool


class AdjustmentRequestView(msgspec.Struct):
    """A staff adjustment above the approval threshold: `pending` until another staff member
    (an admin, never the requester) approves it (then `entry_id` is its ledger entry) or
    rejects it (`decision_reason` says why)."""

    id: int
    member_id: int
    points: int
    reason: str
    status: Annotated[
        Literal[REQUEST_STATUSES],
        msgspec.Meta(description="pending: waiting for an admin other than the requester | approved: booked (see "
                     "entry_id) | rejected: not booked (see decision_reason)", examples=["pending"]),
    ]
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str
    entry_id: int | None
    replayed: bool = False


class AdjustmentApproval(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AdjustmentRejection(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=500)]
