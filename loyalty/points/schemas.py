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
    points: Annotated[int, msgspec.Meta(ge=-1_000_000_000, le=1_000_000_000, examples=[500, -200])]
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=500)]
    idempotency_key: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]


class PointsAdjusted(msgspec.Struct):
    entry_id: int
    available: int
    pending: int
    replayed: bool
