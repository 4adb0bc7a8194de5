"""Redeeming on both engines: the points and the stock move together or not at all, a retry
with the same key answers the first redemption, every refusal says why, and giving back
(cancel, expiry) returns points and stock exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.errors import NotFound
from loyalty.points import service as points
from loyalty.rewards import rules, service
from loyalty.rewards.tables import Redemption, Reward
from tests.rewards.builders import NOW, TODAY, give_points, owners, project_id, reward


async def _stock(reward_id: int) -> int:
    row = await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first()
    return row["stock_remaining"]


async def test_redeeming_spends_the_tier_price_and_takes_one_from_stock(database, frozen, tmp_path):
    blue, = await owners(tmp_path, 1)
    gold, = await owners(tmp_path, 1, units=2, start=1)
    await give_points(blue, 1000)
    await give_points(gold, 1000)
    reward_id = await reward()

    await service.redeem(blue, reward_id, "k1")
    await service.redeem(gold, reward_id, "k1")

    assert await points.available(blue) == 600 and await points.available(gold) == 800
    assert await _stock(reward_id) == 8
    rows = await Redemption.select().order_by(Redemption.id)
    assert [(r["member"], r["points"], r["status"]) for r in rows] == [(blue, 400, "reserved"), (gold, 200, "reserved")]
    assert rows[0]["expires_at"] == NOW + timedelta(days=14)


async def test_the_same_key_answers_the_first_redemption_and_another_reward_under_it_is_a_conflict(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 1000)
    first, other = await reward(per_owner_limit=2), await reward()

    made = await service.redeem(owner, first, "click-1")
    again = await service.redeem(owner, first, "click-1")

    assert again.redemption_id == made.redemption_id and again.replayed and not made.replayed
    assert await points.available(owner) == 600 and await _stock(first) == 9
    with pytest.raises(points.IdempotencyConflict):
        await service.redeem(owner, other, "click-1")


async def test_not_enough_points_takes_nothing_and_the_key_can_be_used_again(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 100)
    reward_id = await reward()

    with pytest.raises(points.InsufficientPoints):
        await service.redeem(owner, reward_id, "k")
    assert await _stock(reward_id) == 10 and await Redemption.count() == 0

    await give_points(owner, 300)
    await service.redeem(owner, reward_id, "k")
    assert await points.available(owner) == 0 and await _stock(reward_id) == 9


async def test_refusals_name_their_reason(database, frozen, tmp_path):
    blue, = await owners(tmp_path, 1)
    await give_points(blue, 5000)
    gold_only = await reward(prices={"gold": 100, "platinum": 50})
    other_project = await reward(eligible_project_ids=[await project_id()], prices={"blue": 1})
    ended = await reward(starts_on=TODAY - timedelta(days=10), ends_on=TODAY - timedelta(days=1))
    one_left = await reward(stock=1, per_owner_limit=5)
    limited = await reward(per_owner_limit=1)

    with pytest.raises(rules.RewardNotEligible) as not_eligible:
        await service.redeem(blue, gold_only, "a")
    assert not_eligible.value.extra["rule"] == "tier"
    await service.redeem(blue, other_project, "b")  # the owner's own project: allowed
    with pytest.raises(rules.RewardNotOnOffer):
        await service.redeem(blue, ended, "c")
    await service.redeem(blue, one_left, "d")
    with pytest.raises(service.RewardOutOfStock):
        await service.redeem(blue, one_left, "e")
    await service.redeem(blue, limited, "f")
    with pytest.raises(service.RedemptionLimitReached):
        await service.redeem(blue, limited, "g")


async def test_a_free_price_spends_no_points_and_writes_no_ledger_entry(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    reward_id = await reward(prices={"blue": 0})

    await service.redeem(owner, reward_id, "free")

    assert (await Redemption.select(Redemption.points, Redemption.ledger_key).first()) == {"points": 0, "ledger_key": ""}
    assert await points.history(owner) == []


async def test_the_catalogue_shows_only_what_the_owner_may_take(database, frozen, tmp_path):
    blue, = await owners(tmp_path, 1)
    await give_points(blue, 5000)
    offered = await reward()
    await reward(prices={"gold": 1})  # not for blue
    await reward(status="draft")
    await reward(stock=0)
    taken = await reward(per_owner_limit=1)
    await service.redeem(blue, taken, "k")

    offers = await service.catalogue(blue)

    assert [(o.reward["id"], o.price) for o in offers] == [(offered, 400)]


async def test_cancelling_returns_points_and_stock_once(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 1000)
    reward_id = await reward()
    made = await service.redeem(owner, reward_id, "k")

    await service.cancel(owner, made.redemption_id)
    with pytest.raises(service.RedemptionClosed):
        await service.cancel(owner, made.redemption_id)

    assert await points.available(owner) == 1000 and await _stock(reward_id) == 10
    row = await Redemption.select().first()
    assert row["status"] == "cancelled" and row["return_entry"] is not None
    with pytest.raises(NotFound):
        other, = await owners(tmp_path, 1, start=5)
        await service.cancel(other, made.redemption_id)


async def test_uncollected_reservations_expire_and_give_back_once(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 1000)
    reward_id = await reward(collect_days=3)
    await service.redeem(owner, reward_id, "k")

    assert await service.expire_due(NOW + timedelta(days=2)) == 0
    assert await service.expire_due(NOW + timedelta(days=3)) == 1
    assert await service.expire_due(NOW + timedelta(days=4)) == 0

    assert await points.available(owner) == 1000 and await _stock(reward_id) == 10
    assert (await Redemption.select(Redemption.status).first())["status"] == "expired"


async def test_the_statement_names_the_reward_spent_on_and_given_back(database, frozen, tmp_path):
    from loyalty.i18n import translate
    from loyalty.points.describe import describe
    from loyalty.points.tables import LedgerEntry

    owner, = await owners(tmp_path, 1)
    await give_points(owner, 1000)
    reward_id = await reward()
    made = await service.redeem(owner, reward_id, "k")
    await service.cancel(owner, made.redemption_id)

    entries = await LedgerEntry.select().where(LedgerEntry.member == owner).order_by(LedgerEntry.id)
    words = await describe(entries, owner)
    name = (await Reward.select(Reward.name_zh).where(Reward.id == reward_id).first())["name_zh"]
    said = [translate(words[e["id"]], "zh-CN") for e in entries if e["source_kind"] == "reward"]
    assert said == [f"兑换「{name}」", f"「{name}」已取消或未领取，积分已退回"], said
