"""Leads registered by owners (or by sales for them), each stage change, the visitor log of
the sales offices, and the reward rules (data, seeded with DESIGN.md's defaults)."""

from piccolo.columns import Boolean, BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member, Project
from loyalty.rewards.tables import Reward

STAGES = ("registered", "visited", "subscribed", "signed")  # forward order; plus "cancelled"
LEAD_STAGES = (*STAGES, "cancelled")  # every stage a lead can be in
BENEFICIARIES = ("referrer", "new_owner")  # who a reward rule pays: the owner who referred, the friend who bought
BENEFICIARIES = ("referrer", "new_owner")


class Lead(Table):
    referrer = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    name = Varchar(length=100)
    phone = Varchar(length=20, index=True)  # E.164
    project = ForeignKey(references=Project, null=False, on_delete=OnDelete.restrict)
    stage = Varchar(length=12, default="registered", index=True)
    registered_at = Timestamptz(default=TimestamptzNow(), index=True)
    registered_by_kind = Varchar(length=10, default="member")  # member | staff
    registered_by_id = Integer(null=True, default=None)
    protected_until = Date()
    visited_at = Timestamptz(null=True, default=None)
    subscribed_at = Timestamptz(null=True, default=None)
    signed_at = Timestamptz(null=True, default=None, index=True)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    new_member = Integer(null=True, default=None)  # the member the lead became on signing
    clawback_shortfall = BigInt(default=0)  # reversed rewards the balance could not cover


class LeadStageChange(Table):
    lead = ForeignKey(references=Lead, null=False, index=True, on_delete=OnDelete.restrict)
    from_stage = Varchar(length=12)
    to_stage = Varchar(length=12)
    actor_kind = Varchar(length=10)
    actor_id = Integer(null=True, default=None)
    note = Text(default="")
    at = Timestamptz(default=TimestamptzNow())


class OfficeVisit(Table):
    """Someone walked into a sales office on their own: a later referral of that phone for
    that project is refused (the visitor was not brought by the owner)."""

    phone = Varchar(length=20, index=True)
    project = ForeignKey(references=Project, null=False, on_delete=OnDelete.restrict)
    visited_at = Timestamptz(default=TimestamptzNow())
    staff_id = Integer(null=True, default=None)


class RewardRule(Table):
    stage = Varchar(length=12)
    beneficiary = Varchar(length=10)
    points = BigInt()
    vesting_days = Integer(default=0)
    active = Boolean(default=True)
    # A reward given to the beneficiary as a free reservation when the lead reaches the stage
    # (with the points, or instead of them: points may then be 0).
    gift_reward = ForeignKey(references=Reward, null=True, default=None, on_delete=OnDelete.restrict)


class ReferralAttempt(Table):
    """Every lead an owner tried to register on the member page, accepted or refused, with
    the precise outcome. The owner is told only "not accepted" for an owner, a protected or
    a visited phone (so the route cannot test whether a phone number is an owner); sales
    read the real reason here. The per-owner daily cap counts these rows, refusals included,
    or the cap would not stop probing."""

    referrer = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    day = Date()  # the Beijing date the attempt counts for
    phone = Varchar(length=20)  # E.164
    project = ForeignKey(references=Project, null=False, on_delete=OnDelete.restrict)
    outcome = Varchar(length=40, default="pending")  # accepted | the refusal's problem type (referral-protected...)
    detail = Text(default="")
    lead = Integer(null=True, default=None)  # the lead an accepted attempt made
    at = Timestamptz(default=TimestamptzNow())
