"""What the card faces show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec


class CriterionProgress(msgspec.Struct):
    kind: str
    text: str
    have: int
    need: int
    met: bool


class TierProgress(msgspec.Struct):
    tier: str
    tier_label: str
    criteria: list[CriterionProgress]


class CardView(msgspec.Struct):
    number: str  # masked
    status: str
    tier: str
    tier_label: str
    tier_since: datetime
    why: str
    why_kind: str
    next_tier: TierProgress | None
    issued_at: datetime


class DynamicCode(msgspec.Struct):
    code: str
    step_seconds: int
    refresh_after_seconds: int
    expires_at_unix: int


class VerifiedCard(msgspec.Struct):
    card_id: int
    member_id: int
    member_name: str
    number: str
    tier: str
    kind: str
    expires_at_unix: int | None
    # A dynamic code's step and nonce: what a sale that consumes the code records.
    step: int = 0
    nonce: int = 0


class CodeCheck(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class CodeCheckResult(msgspec.Struct):
    """What staff see for a scanned card: never the phone."""

    card_number: str
    member_name: str
    tier: str
    tier_label: str
    kind: str
    expires_at_unix: int | None


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TierAssignmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    tier: str
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    ends_on: date


class PublicKeys(msgspec.Struct):
    algorithm: str
    format: str
    keys: dict[str, str]


class TierRule(msgspec.Struct):
    id: int
    tier: str
    kind: str
    threshold: int
    window_months: int | None
    position: int
    active: bool


class TierRuleChange(msgspec.Struct, forbid_unknown_fields=True):
    tier: str
    kind: str
    threshold: int
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    window_months: int | None = None
    position: int = 0
    active: bool = True
