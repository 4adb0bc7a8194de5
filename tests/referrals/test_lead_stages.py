"""A lead moves registered → visited → subscribed → signed (skipping allowed), or is
cancelled from any stage; never backwards, never out of cancelled. Each stage pays its
rewards (rows of reward_rule) exactly once; cancel takes the deal's rewards back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.errors import InvalidField, NotFound
from loyalty.members.tables import Member
from loyalty.points import service as points
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, LeadStageChange, RewardRule
from tests.referrals.builders import FRIEND, TODAY, balance, e164, member_of, move, noon, register, rewards

FORWARD = ("registered", "visited", "subscribed", "signed")


async def lead_at(world, stage: str) -> dict:
    """A lead registered by the referrer and moved straight to `stage`."""
    lead = await register(world)
    return lead if stage == "registered" else await move(world, lead, stage)


async def changes(lead_id: int) -> list[tuple[str, str]]:
    rows = await LeadStageChange.select().where(LeadStageChange.lead == lead_id).order_by(LeadStageChange.id)
    return [(row["from_stage"], row["to_stage"]) for row in rows]


async def test_registered_to_visited_pays_the_referrer_200_points_at_once(world):
    lead = await register(world)

    moved = await move(world, lead, "visited")

    assert moved["stage"] == "visited" and moved["visited_at"] == noon(TODAY)
    assert await rewards(world.referrer) == [(f"{lead['id']}:visited", 200, 0)]
    assert await balance(world.referrer) == (200, 0)


async def test_visited_to_subscribed_records_the_time_and_pays_nothing_by_default(world):
    lead = await lead_at(world, "visited")

    moved = await move(world, lead, "subscribed")

    assert moved["stage"] == "subscribed" and moved["subscribed_at"] == noon(TODAY)
    assert await balance(world.referrer) == (200, 0)


async def test_subscribed_to_signed_pays_5000_pending_30_days_and_2000_welcome_to_the_new_owner(world, frozen):
    lead = await lead_at(world, "subscribed")

    moved = await move(world, lead, "signed")

    assert moved["stage"] == "signed" and moved["signed_at"] == noon(TODAY)
    new_owner = await member_of(FRIEND)
    assert moved["new_member"] == new_owner
    assert (await Member.select(Member.name).where(Member.id == new_owner).first())["name"] == "王五"
    assert await balance(world.referrer) == (200, 5_000)
    assert await rewards(new_owner) == [(f"{lead['id']}:signed", 2_000, 0)]
    assert await balance(new_owner) == (2_000, 0)

    assert await points.vest_due(today=TODAY + timedelta(days=29)) == 0
    assert await points.vest_due(today=TODAY + timedelta(days=30)) == 1
    frozen.move_to(noon(TODAY + timedelta(days=30)))
    assert await balance(world.referrer) == (5_200, 0)


async def test_each_stage_is_recorded_with_who_moved_it_and_when(world, frozen):
    lead = await register(world)
    for days, stage in enumerate(("visited", "subscribed", "signed"), start=1):
        frozen.move_to(noon(TODAY + timedelta(days=days)))
        await move(world, lead, stage, note=f"step {days}")

    rows = await LeadStageChange.select().where(LeadStageChange.lead == lead["id"]).order_by(LeadStageChange.id)
    assert [(r["from_stage"], r["to_stage"], r["actor_kind"], r["actor_id"], r["note"], r["at"]) for r in rows[1:]] == [
        ("registered", "visited", "staff", world.sales, "step 1", noon(TODAY + timedelta(days=1))),
        ("visited", "subscribed", "staff", world.sales, "step 2", noon(TODAY + timedelta(days=2))),
        ("subscribed", "signed", "staff", world.sales, "step 3", noon(TODAY + timedelta(days=3))),
    ]


async def test_skipping_from_registered_to_signed_pays_every_passed_stage_once(world):
    lead = await register(world)

    moved = await move(world, lead, "signed")

    assert moved["visited_at"] == moved["subscribed_at"] == moved["signed_at"] == noon(TODAY)
    assert await rewards(world.referrer) == [(f"{lead['id']}:visited", 200, 0), (f"{lead['id']}:signed", 0, 5_000)]
    assert await changes(lead["id"]) == [("", "registered"), ("registered", "signed")]

    await move(world, lead, "signed")  # a double click
    assert await balance(world.referrer) == (200, 5_000)
    assert await balance(await member_of(FRIEND)) == (2_000, 0)


async def test_skipping_to_subscribed_then_signing_pays_the_visit_once(world):
    lead = await register(world)

    await move(world, lead, "subscribed")
    await move(world, lead, "signed")

    assert await rewards(world.referrer) == [(f"{lead['id']}:visited", 200, 0), (f"{lead['id']}:signed", 0, 5_000)]


@pytest.mark.parametrize("stage", FORWARD)
async def test_moving_to_the_current_stage_changes_nothing(world, stage):
    lead = await lead_at(world, stage)
    before = (await rewards(world.referrer), await changes(lead["id"]))

    again = await move(world, lead, stage)

    assert again["stage"] == stage
    assert (await rewards(world.referrer), await changes(lead["id"])) == before


@pytest.mark.parametrize(
    "current, backwards",
    [
        ("visited", "registered"),
        ("subscribed", "registered"),
        ("subscribed", "visited"),
        ("signed", "registered"),
        ("signed", "visited"),
        ("signed", "subscribed"),
    ],
)
async def test_a_lead_never_moves_backwards(world, current, backwards):
    lead = await lead_at(world, current)
    before = await rewards(world.referrer)

    with pytest.raises(referrals.StageBackwards):
        await move(world, lead, backwards)

    assert (await referrals.get_lead(lead["id"]))["stage"] == current
    assert await rewards(world.referrer) == before


@pytest.mark.parametrize("stage", FORWARD)
async def test_a_cancelled_lead_stays_cancelled(world, stage):
    lead = await lead_at(world, "visited")
    await move(world, lead, "cancelled")

    with pytest.raises(referrals.StageBackwards):
        await move(world, lead, stage)

    assert (await referrals.get_lead(lead["id"]))["stage"] == "cancelled"
    assert await balance(world.referrer) == (200, 0)


async def test_cancelling_a_cancelled_lead_changes_nothing(world):
    lead = await lead_at(world, "signed")
    await move(world, lead, "cancelled")
    before = (await changes(lead["id"]), await AuditEntry.count())

    await move(world, lead, "cancelled", note="又点了一次")

    assert (await changes(lead["id"]), await AuditEntry.count()) == before


@pytest.mark.parametrize("stage", FORWARD)
async def test_a_lead_can_be_cancelled_from_any_stage_and_keeps_only_the_visit_reward(world, stage):
    lead = await lead_at(world, stage)

    cancelled = await move(world, lead, "cancelled", note="客户改买别家")

    assert (cancelled["stage"], cancelled["cancel_reason"], cancelled["cancelled_at"]) == ("cancelled", "客户改买别家", noon(TODAY))
    assert await changes(lead["id"]) == [("", "registered"), *([("registered", stage)] if stage != "registered" else []), (stage, "cancelled")]
    # The visit happened, so its 200 stay; the deal's rewards (pending or not) are gone.
    assert await balance(world.referrer) == ((0 if stage == "registered" else 200), 0)
    if stage == "signed":
        assert await balance(await member_of(FRIEND)) == (0, 0)
    assert await points.audit_ledger() == []


async def test_cancel_before_vesting_voids_the_pending_reward_so_it_never_vests(world):
    lead = await lead_at(world, "signed")
    await move(world, lead, "cancelled")

    assert await points.vest_due(today=TODAY + timedelta(days=30)) == 0
    assert await balance(world.referrer) == (200, 0)
    assert (await referrals.get_lead(lead["id"]))["clawback_shortfall"] == 0


async def test_cancel_after_vesting_claws_back_within_the_balance_and_records_the_shortfall(world, frozen):
    lead = await lead_at(world, "signed")
    frozen.move_to(noon(TODAY + timedelta(days=30)))
    await points.vest_due()
    await points.redeem(world.referrer, 5_000, key="spent", source_kind="sale")  # 200 left
    await points.redeem(await member_of(FRIEND), 1_500, key="welcome-spent", source_kind="sale")  # 500 left

    cancelled = await move(world, lead, "cancelled", note="签约后退房")

    assert await balance(world.referrer) == (0, 0)
    assert await balance(await member_of(FRIEND)) == (0, 0)
    assert cancelled["clawback_shortfall"] == 4_800 + 1_500
    (audit,) = await AuditEntry.select().where(AuditEntry.action == "lead.cancel").output(load_json=True)
    assert (audit["subject_id"], audit["actor_id"], audit["data"]["clawback_shortfall"]) == (lead["id"], world.sales, 6_300)
    assert await points.audit_ledger() == []


async def test_cancel_after_vesting_with_the_only_pending_policy_takes_nothing_back(world, frozen):
    lead = await lead_at(world, "signed")
    frozen.move_to(noon(TODAY + timedelta(days=30)))
    await points.vest_due()

    cancelled = await move(world, lead, "cancelled", policy=referrals.Policy(clawback="only_pending"))

    assert await balance(world.referrer) == (5_200, 0)
    assert await balance(await member_of(FRIEND)) == (2_000, 0)
    assert cancelled["clawback_shortfall"] == 7_000


async def test_cancel_after_vesting_with_the_unlimited_policy_may_take_the_balance_below_zero(world, frozen):
    lead = await lead_at(world, "signed")
    frozen.move_to(noon(TODAY + timedelta(days=30)))
    await points.vest_due()
    await points.redeem(world.referrer, 5_100, key="spent", source_kind="sale")  # 100 left

    cancelled = await move(world, lead, "cancelled", policy=referrals.Policy(clawback="unlimited"))

    assert await balance(world.referrer) == (-4_900, 0)
    assert cancelled["clawback_shortfall"] == 0


async def test_a_subscription_reward_added_by_staff_is_paid_once_and_taken_back_on_cancel(world):
    await RewardRule.insert(RewardRule(stage="subscribed", beneficiary="referrer", points=1_000, vesting_days=0))
    lead = await register(world)

    await move(world, lead, "subscribed")
    await move(world, lead, "subscribed")
    assert await balance(world.referrer) == (1_200, 0)

    await move(world, lead, "cancelled")
    assert await balance(world.referrer) == (200, 0)


async def test_an_inactive_reward_rule_pays_nothing(world):
    await RewardRule.update({RewardRule.active: False}).where(RewardRule.stage == "visited")
    lead = await register(world)
    await move(world, lead, "visited")
    assert await balance(world.referrer) == (0, 0)


async def test_the_households_reward_goes_to_the_registering_owner_only(world):
    await move(world, await register(world), "signed")
    assert await balance(world.referrer) == (200, 5_000)
    assert await balance(world.co_owner) == (0, 0)


async def test_cancel_needs_a_reason(world):
    lead = await lead_at(world, "visited")
    with pytest.raises(InvalidField):
        await referrals.move_lead(lead["id"], "cancelled", staff_id=world.sales, note=" ")
    assert (await referrals.get_lead(lead["id"]))["stage"] == "visited"


async def test_an_unknown_stage_or_lead_is_refused(world):
    lead = await register(world)
    with pytest.raises(InvalidField):
        await move(world, lead, "moved_in")
    with pytest.raises(NotFound):
        await move(world, 9_999, "visited")
    assert await Lead.count().where(Lead.stage == "registered") == 1


async def test_a_new_owner_who_is_already_a_member_keeps_their_member_record(world):
    from tests.identity.builders import add_member

    existing = await add_member("王五", e164(FRIEND))  # e.g. logged in once before buying
    lead = await lead_at(world, "signed")
    assert lead["new_member"] == existing
    assert await balance(existing) == (2_000, 0)
