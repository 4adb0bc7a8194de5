"""Referral gifts (老带新, both sides): a referral reward rule naming a reward gives its
beneficiary a free reservation when the lead reaches the stage, exactly once whatever repeats
or races; cancelling the lead takes back a deal's gift not yet picked up; out of stock, the
points still pay and the audit log says the gift could not be given."""

from __future__ import annotations

import asyncio

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.care.tables import OutboxMessage
from loyalty.points import service as points
from loyalty.referrals.tables import RewardRule
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption, Reward
from tests.referrals.builders import FRIEND, build_world, member_of, move, register
from tests.rewards.builders import reward


async def gift_on(stage: str, beneficiary: str, reward_id: int, points_: int | None = None) -> None:
    values = {RewardRule.gift_reward: reward_id}
    if points_ is not None:
        values[RewardRule.points] = points_
    updated = await RewardRule.update(values).where(
        (RewardRule.stage == stage) & (RewardRule.beneficiary == beneficiary)
    ).returning(RewardRule.id)
    if not updated:
        await RewardRule.insert(RewardRule(stage=stage, beneficiary=beneficiary, points=points_ or 0, gift_reward=reward_id))


async def gifts(member: int) -> list[tuple[int, str, int]]:
    rows = await Redemption.select().where(Redemption.member == member).order_by(Redemption.id)
    return [(r["reward"], r["status"], r["points"]) for r in rows]


async def stock(reward_id: int) -> int:
    return (await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first())["stock_remaining"]


async def test_both_sides_get_their_gift_once_when_the_lead_signs(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    box = await reward(name_zh="乔迁礼盒", stock=5, status="draft")
    await gift_on("signed", "referrer", box)
    await gift_on("signed", "new_owner", box, points_=0)
    lead = await register(world)

    await move(world, lead, "signed")
    await move(world, lead, "signed")  # a double click

    friend = await member_of(FRIEND)
    assert await gifts(world.referrer) == [(box, "reserved", 0)]
    assert await gifts(friend) == [(box, "reserved", 0)]
    assert await stock(box) == 3
    assert (await points.balance(world.referrer)).pending == 5000  # the points still pay alongside
    assert await points.available(friend) == 0 and (await points.balance(friend)).pending == 0  # points 0: the gift instead


async def test_both_sides_are_told_of_their_gift_once(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    box = await reward(name_zh="乔迁礼盒", stock=5, status="draft")
    await gift_on("signed", "referrer", box)
    await gift_on("signed", "new_owner", box, points_=0)
    lead = await register(world)

    await move(world, lead, "signed")
    await move(world, lead, "signed")  # a double click tells nobody twice

    friend = await member_of(FRIEND)
    told = await OutboxMessage.select(OutboxMessage.member).where(OutboxMessage.template == "reward_gift")
    assert sorted(row["member"] for row in told) == sorted([world.referrer, friend])


async def test_concurrent_moves_give_one_gift(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    box = await reward(stock=10, status="draft")
    await gift_on("visited", "referrer", box)
    lead = await register(world)

    results = await asyncio.gather(*(move(world, lead, "visited") for _ in range(10)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException) and type(r).__name__ != "RetryLater"] == []
    assert await gifts(world.referrer) == [(box, "reserved", 0)]
    assert await stock(box) == 9


async def test_cancelling_the_lead_takes_back_the_deals_gift_not_yet_picked_up(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    visit_gift = await reward(name_zh="到访礼", stock=5, status="draft")
    deal_gift = await reward(name_zh="签约礼", stock=5, status="draft")
    await gift_on("visited", "referrer", visit_gift)
    await gift_on("signed", "referrer", deal_gift)
    lead = await register(world)
    await move(world, lead, "signed")

    await move(world, lead, "cancelled")

    assert sorted(await gifts(world.referrer)) == sorted([(visit_gift, "reserved", 0), (deal_gift, "cancelled", 0)])
    assert await stock(deal_gift) == 5 and await stock(visit_gift) == 4
    entry = await AuditEntry.select().where(AuditEntry.action == "lead.cancel").output(load_json=True).first()
    assert len(entry["data"]["gifts_taken_back"]) == 1


async def test_out_of_stock_the_points_still_pay_and_the_audit_says_the_gift_was_not_given(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    empty = await reward(stock=0, status="draft")
    await gift_on("visited", "referrer", empty)
    lead = await register(world)

    await move(world, lead, "visited")

    assert await gifts(world.referrer) == []
    assert await points.available(world.referrer) == 200
    audited = await AuditEntry.select().where(AuditEntry.action == "referral.gift_not_given")
    assert [a["subject_id"] for a in audited] == [lead["id"]]


async def test_a_gift_is_in_no_owner_key_space(database, frozen, tmp_path):
    world = await build_world(tmp_path)
    box = await reward(stock=5)
    await gift_on("visited", "referrer", box)
    lead = await register(world)
    await points.earn(world.referrer, 1000, key="seed", source_kind="test")
    # The owner cannot take the gift's key first (it is refused), so the gift still comes.
    from loyalty.errors import InvalidField

    with pytest.raises(InvalidField):
        await service.redeem(world.referrer, box, f"sys:referral:{lead['id']}:visited:referrer")

    await move(world, lead, "visited")

    assert await gifts(world.referrer) == [(box, "reserved", 0)]


async def test_the_referral_rules_name_the_gift(database, frozen, tmp_path):
    from loyalty.referrals import service as referrals

    box = await reward(name_zh="乔迁礼盒", name_en="Housewarming box", stock=5, status="draft")
    await gift_on("signed", "new_owner", box, points_=0)

    rules = {(r.stage, r.beneficiary): r for r in await referrals.reward_rules()}

    assert (rules[("signed", "new_owner")].points, rules[("signed", "new_owner")].gift_name_zh) == (0, "乔迁礼盒")
    assert rules[("visited", "referrer")].gift_name_zh is None
