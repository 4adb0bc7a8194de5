"""What the card faces show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.cards.codes import CARD_CODE_KINDS
from loyalty.cards.tables import CARD_STATUSES, CRITERION_KINDS, TIERS, WHY_KINDS
from loyalty.openapi_contract import checked_enum

TIER_WORDS = "platinum 铂金卡, gold 金卡, silver 银卡, blue 蓝卡 (highest first)"
CRITERION_WORDS = ("units_owned: homes owned | delivered_units: homes handed over | contract_value_fen: total "
                   "contract value in fen | stage: lifecycle stage reached | signed_referrals: referrals signed "
                   "within window_months")
Tier = Annotated[Literal[TIERS], msgspec.Meta(description="the card tier: " + TIER_WORDS, examples=["gold"])]
CriterionKind = Annotated[Literal[CRITERION_KINDS], msgspec.Meta(description=CRITERION_WORDS, examples=["units_owned"])]
CodeKind = Annotated[
    Literal[CARD_CODE_KINDS],
    msgspec.Meta(description="static: the printed card or card image (identifies only) | dynamic: the rotating "
                 "one-time code on the owner's phone", examples=["dynamic"]),
]
TierLabel = Annotated[str, msgspec.Meta(description="the tier's name in the caller's language", examples=["金卡"])]
MaskedNumber = Annotated[str, msgspec.Meta(description="masked card number", examples=["8860 **** **** 1234"])]


class CriterionProgress(msgspec.Struct):
    kind: CriterionKind
    text: str
    have: int
    need: int
    met: bool


class TierProgress(msgspec.Struct):
    tier: Tier
    tier_label: TierLabel
    criteria: list[CriterionProgress]


class CardView(msgspec.Struct):
    number: MaskedNumber
    status: Annotated[
        Literal[CARD_STATUSES],
        msgspec.Meta(description="active: in use | suspended: codes are refused until staff lift it | replaced: "
                     "reissued, its codes no longer verify", examples=["active"]),
    ]
    tier: Tier
    tier_label: TierLabel
    tier_since: datetime
    why: str
    why_kind: Annotated[
        Literal[WHY_KINDS],
        msgspec.Meta(description="why the card has its tier: the criterion that matched (" + CRITERION_WORDS
                     + ") | assignment: given by staff until an end date | kept_until_review: no rule holds any "
                     "more; kept until the next yearly review", examples=["delivered_units"]),
    ]
    next_tier: TierProgress | None
    issued_at: datetime


TYPED_CODE_WORDS = (
    "the same one-time code as 18 digits (\"66\", 15 random digits and a Luhn check digit), for a cashier to "
    "type when the QR will not scan: the partner API takes them wherever it takes a dynamic code, and a sale "
    "with either the QR or the digits consumes both"
)


class DynamicCode(msgspec.Struct):
    code: str
    digits: Annotated[str, msgspec.Meta(pattern=r"^66[0-9]{16}$", examples=["660123456789012348"], description=TYPED_CODE_WORDS)]
    step_seconds: int
    refresh_after_seconds: int
    expires_at_unix: int


class VerifiedCard(msgspec.Struct):
    card_id: int
    member_id: int
    member_name: str
    number: str
    tier: Tier
    kind: CodeKind
    expires_at_unix: int | None
    # A dynamic code's step and nonce: what a sale that consumes the code records.
    step: int = 0
    nonce: int = 0


class CodeCheck(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class CodeCheckResult(msgspec.Struct):
    """What staff see for a scanned card: never the phone."""

    card_number: MaskedNumber
    member_name: Annotated[str, msgspec.Meta(examples=["张*"])]
    tier: Tier
    tier_label: TierLabel
    kind: CodeKind
    expires_at_unix: int | None


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TierAssignmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    tier: Annotated[str, checked_enum(TIERS, "the tier to give: " + TIER_WORDS + "; it must be above the tier "
                                      "the rules give (else 422 invalid-field)", "platinum")]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    ends_on: date


class PublicKeys(msgspec.Struct):
    algorithm: str
    format: str
    keys: dict[str, str]


class TierRule(msgspec.Struct):
    id: int
    tier: Tier
    kind: CriterionKind
    threshold: int
    window_months: int | None
    position: int
    active: bool
    text: Annotated[str, msgspec.Meta(description="the rule in words, in the caller's language",
                                      examples=["at least 2 homes delivered"])] = ""


class TierRulePreviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A rule as it would be saved (the body of staffAddTierRule / staffChangeTierRule without the reason),
    and which rule it changes."""

    tier: Annotated[str, checked_enum(TIERS, "the tier the rule gives: " + TIER_WORDS, "gold")]
    kind: Annotated[str, checked_enum(CRITERION_KINDS, "what the rule measures: " + CRITERION_WORDS, "delivered_units")]
    threshold: int
    rule_id: Annotated[int | None, msgspec.Meta(description="the rule being changed; null for a new rule")] = None
    window_months: int | None = None
    position: int = 0
    active: bool = True


class TierMoves(msgspec.Struct):
    tier: Tier
    tier_label: TierLabel
    members: Annotated[int, msgspec.Meta(description="current cards of this tier now")]
    up: Annotated[int, msgspec.Meta(description="of them, how many would move to a higher tier")]
    down: Annotated[int, msgspec.Meta(description="of them, how many would move to a lower tier")]
    stay: Annotated[int, msgspec.Meta(description="of them, how many would keep this tier")]
    after: Annotated[int, msgspec.Meta(description="current cards of this tier afterwards")]


class TierRulePreview(msgspec.Struct):
    """What saving the rule would do, per tier held now (highest tier first). `on_save`: at once, as the save
    does it (upgrades only; nobody moves down until the review). `at_review`: what the next yearly review
    would then do with these rules, down as well as up. Nothing is written."""

    on_save: list[TierMoves]
    at_review: list[TierMoves]
    rule_text: Annotated[str, msgspec.Meta(description="the rule in words, in the caller's language")]


class TierRuleChange(msgspec.Struct, forbid_unknown_fields=True):
    tier: Annotated[str, checked_enum(TIERS, "the tier the rule gives: " + TIER_WORDS, "gold")]
    kind: Annotated[str, checked_enum(CRITERION_KINDS, "what the rule measures: " + CRITERION_WORDS, "delivered_units")]
    threshold: int
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    window_months: int | None = None
    position: int = 0
    active: bool = True
