from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec


class PointsBalance(msgspec.Struct):
    available: int
    pending: int
    expiring_soon: int
    expiring_on: date | None
    value_fen: int  # what the available points are worth (100 points = 1 CNY by default)


class PointsEntry(msgspec.Struct):
    id: int
    kind: str
    available_delta: int
    pending_delta: int
    source_kind: str
    source_id: str
    reason: str
    available_after: int
    pending_after: int
    created_at: datetime


class PointsStatement(msgspec.Struct):
    balance: PointsBalance
    entries: list[PointsEntry]
    next_cursor: int | None


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
    status: str  # pending | approved | rejected
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
