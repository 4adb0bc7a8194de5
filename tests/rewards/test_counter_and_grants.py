"""The counter and gifts on both engines: a signed pick-up code hands a reward over once, an
expired one is refused, and a gift granted to one project's gold owners reaches them only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.cards import codes, service as cards
from loyalty.care.tables import OutboxMessage
from loyalty.members.tables import Project
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption, Reward
from tests.rewards.builders import NOW, give_points, owners, reward, staff


async def _redeemed(tmp_path, **reward_fields):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 1000)
    made = await service.redeem(owner, await reward(**reward_fields), "k")
    return owner, (await Redemption.select().where(Redemption.id == made.redemption_id).first())


async def test_a_pickup_code_hands_the_reward_over_once(database, settings, frozen, tmp_path):
    owner, row = await _redeemed(tmp_path)
    counter = await staff("counter1", "service")
    signer = cards.signer_for(settings)
    code = service.pickup_code(signer, row)

    await service.mark_ready(row["id"], counter)
    assert await service.pick_up(code, counter, signer) == row["id"]
    with pytest.raises(service.AlreadyPickedUp) as again:
        await service.pick_up(code, counter, signer)

    assert again.value.extra["picked_up_at"]
    assert (await Redemption.select(Redemption.status).first())["status"] == "picked_up"
    with pytest.raises(service.RedemptionClosed):
        await service.cancel(owner, row["id"])
    assert await OutboxMessage.count().where(OutboxMessage.kind == "reward_pickup") == 1  # "ready" was told


async def test_forged_expired_and_foreign_codes_are_refused(database, settings, frozen, tmp_path):
    _owner, row = await _redeemed(tmp_path, collect_days=2)
    counter = await staff("counter1", "service")
    signer = cards.signer_for(settings)
    code = service.pickup_code(signer, row)

    with pytest.raises(codes.CodeBadSignature) as altered:
        await service.pick_up(code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB"), counter, signer)
    with pytest.raises(codes.CodeMalformed) as garbage:
        await service.pick_up("not a code at all", counter, signer)
    # The clerk reads what to do, not the code's format or its signature.
    assert altered.value.detail is garbage.value.detail is service.NOT_A_PICKUP_CODE
    with pytest.raises(codes.CodeMalformed):
        await service.pick_up(signer.sign("static", row["member"]), counter, signer)
    with pytest.raises(codes.CodeBadSignature):  # the right redemption, but not the code it was given
        await service.pick_up(signer.sign("pickup", row["id"], step=row["code_nonce"] + 1), counter, signer)
    with pytest.raises(service.RedemptionExpired):  # before the expiry job: the refusal gives the points back itself
        await service.pick_up(code, counter, signer, now=NOW + timedelta(days=3))
    assert (await Redemption.select(Redemption.status).where(Redemption.id == row["id"]).first())["status"] == "expired"
    assert await service.expire_due(NOW + timedelta(days=3)) == 0  # and only once


async def test_a_reminder_goes_out_once_two_days_before_expiry(database, frozen, tmp_path):
    await _redeemed(tmp_path, collect_days=5)

    assert await service.remind_due(NOW + timedelta(days=2)) == 0
    assert await service.remind_due(NOW + timedelta(days=3, hours=1)) == 1
    assert await service.remind_due(NOW + timedelta(days=3, hours=2)) == 0
    assert await OutboxMessage.count().where(OutboxMessage.kind == "reward_pickup") == 1


async def test_a_holiday_gift_granted_to_one_projects_gold_owners_reaches_them_only(database, frozen, tmp_path):
    gold_here = await owners(tmp_path, 3, units=2, project="HZ-YH")
    blue_here = await owners(tmp_path, 2, start=10, project="HZ-YH")
    gold_elsewhere = await owners(tmp_path, 2, units=2, start=20, project="SH-BJ")
    admin = await staff("admin1", "admin")
    here = (await Project.select(Project.id).where(Project.code == "HZ-YH").first())["id"]
    gift = await reward(admin, prices={}, status="draft", stock=10)

    grant_id, made = await service.grant(gift, staff_id=admin, occasion="2027 春节", tiers=["gold"], project_ids=[here])
    _again, made_again = await service.grant(gift, staff_id=admin, occasion=" 2027春节 ", tiers=["gold", "gold"], project_ids=[here])

    assert (made, made_again) == (3, 0)
    rows = await Redemption.select(Redemption.member, Redemption.points, Redemption.status, Redemption.granted_by)
    assert sorted(r["member"] for r in rows) == sorted(gold_here)
    assert {(r["points"], r["status"], r["granted_by"]) for r in rows} == {(0, "reserved", grant_id)}
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 7
    for member in gold_here:
        assert [r["occasion"] for r in await service.owner_redemptions(member)] == ["2027 春节"]
    for member in blue_here + gold_elsewhere:
        assert await service.owner_redemptions(member) == []
        assert await service.catalogue(member) == []  # a granted-only gift is not in the catalogue


async def test_a_grant_larger_than_the_stock_grants_nothing(database, frozen, tmp_path):
    await owners(tmp_path, 3)
    admin = await staff("admin1", "admin")
    gift = await reward(admin, stock=2)

    with pytest.raises(service.RewardOutOfStock):
        await service.grant(gift, staff_id=admin, occasion="生日礼")

    assert await Redemption.count() == 0
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 2
