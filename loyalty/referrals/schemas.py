from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.openapi_contract import checked_enum
from loyalty.referrals.tables import LEAD_STAGES

STAGE_WORDS = "registered → visited → subscribed → signed, or cancelled"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50, examples=["王先生"])]
Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["13912345678"])]


class LeadCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A friend an owner brings: the phone is protected for the owner for 90 days."""

    name: Name
    phone: Phone
    project_id: int
    close_relative: bool = False


class StaffLeadCreate(LeadCreate, forbid_unknown_fields=True):
    referrer_member_id: int = 0


class LeadMove(msgspec.Struct, forbid_unknown_fields=True):
    # Checked by the service (422 invalid-field, or stage-backwards), not by the decoder.
    stage: Annotated[str, checked_enum(LEAD_STAGES, "the stage to move the lead to: " + STAGE_WORDS, "visited")]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class OfficeVisitCreate(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    project_id: int


class LeadRewardView(msgspec.Struct):
    stage: Annotated[Literal[LEAD_STAGES], msgspec.Meta(examples=["visited"])]
    points: int
    status: Annotated[
        Literal["earned", "pending", "taken_back", "expected", "not_paid"],
        msgspec.Meta(
            description="earned: available | pending: becomes available on vests_on | taken_back: the deal was "
            "cancelled | expected: paid when the lead reaches the stage | not_paid: the stage was reached but nothing "
            "was paid (the yearly limit of paid signings)",
            examples=["earned"],
        ),
    ]
    vests_on: date | None = None


class LeadView(msgspec.Struct):
    id: int
    referrer_id: int
    referrer_name: str
    name: str
    phone: str
    project_id: int
    project: str
    stage: Annotated[Literal[LEAD_STAGES], msgspec.Meta(description="where the lead is: " + STAGE_WORDS,
                                                          examples=["visited"])]
    registered_at: datetime
    protected_until: date
    visited_at: datetime | None
    subscribed_at: datetime | None
    signed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    # The owner's own list only (GET /me/referrals): what each rewarded stage earned, or will.
    rewards: list[LeadRewardView] = []


class RewardRuleInfo(msgspec.Struct):
    stage: Annotated[Literal[LEAD_STAGES], msgspec.Meta(examples=["signed"])]
    beneficiary: Annotated[Literal["referrer", "new_owner"], msgspec.Meta(
        description="referrer: the owner who referred | new_owner: the friend who bought", examples=["referrer"]
    )]
    points: int
    vesting_days: Annotated[int, msgspec.Meta(description="days the points stay pending before they can be used")]
    gift_name_zh: Annotated[str | None, msgspec.Meta(
        description="a reward given too (a free reservation under My rewards), or null", examples=["乔迁礼盒"])] = None
    gift_name_en: Annotated[str | None, msgspec.Meta(examples=["Housewarming box"])] = None


class ReferralRules(msgspec.Struct):
    """What referring earns, for the owner's explainer."""

    protection_days: Annotated[int, msgspec.Meta(
        description="how long a referred phone stays the owner's referral", examples=[90]
    )]
    rewards: list[RewardRuleInfo]


class StaffRewardRuleView(msgspec.Struct):
    """A referral reward rule as staff edit it: what the beneficiary gets when a lead reaches the stage."""

    id: int
    stage: Annotated[Literal[LEAD_STAGES], msgspec.Meta(examples=["signed"])]
    beneficiary: Annotated[Literal["referrer", "new_owner"], msgspec.Meta(
        description="referrer: the owner who referred | new_owner: the friend who bought", examples=["referrer"]
    )]
    points: int
    vesting_days: Annotated[int, msgspec.Meta(description="days the points stay pending before they can be used")]
    active: bool
    gift_reward_id: Annotated[int | None, msgspec.Meta(description="the reward given too (a free reservation), or null")]
    gift_name_zh: Annotated[str | None, msgspec.Meta(examples=["中秋月饼礼盒"])] = None
    gift_name_en: Annotated[str | None, msgspec.Meta(examples=["Mid-Autumn mooncake box"])] = None


class RewardRuleChange(msgspec.Struct, forbid_unknown_fields=True):
    """The fields to change (absent: unchanged; `gift_reward_id` null: no gift any more)."""

    points: Annotated[int, msgspec.Meta(ge=0, le=1_000_000, examples=[2000])] | msgspec.UnsetType = msgspec.UNSET
    vesting_days: Annotated[int, msgspec.Meta(ge=0, le=365, examples=[30])] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    gift_reward_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None | msgspec.UnsetType = msgspec.UNSET


class ReferralAttemptView(msgspec.Struct):
    """One owner's try at registering a lead: `outcome` is `accepted`, or the precise
    refusal (`referral-already-owner`, `referral-protected`, `referral-visited-before`, ...)
    that the owner was told only as `referral-not-accepted`."""

    id: int
    referrer_id: int
    referrer_name: str
    phone: str
    project_id: int
    day: date
    outcome: str
    detail: str
    lead_id: int | None
    at: datetime


class FunnelMonth(msgspec.Struct):
    project_id: int
    project: str
    month: str
    registered: int
    visited: int
    subscribed: int
    signed: int  # leads that reached signed in the month (the funnel's stage count)
    # Of the leads registered in the month, those signed since: conversion's numerator (a
    # cohort, so conversion never passes 1; `signed` may count leads registered earlier).
    signed_of_registered: int
    new_buyers: int
    referred_buyers: int  # of the new buyers, those who came through a signed lead; the share's numerator
    conversion: float | None
    referral_share: float | None
    referral_share_target: float = 0.30
