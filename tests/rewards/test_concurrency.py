"""Redeeming under real concurrency on PostgreSQL: the calls share the test's event loop and
Piccolo's pool, so `asyncio.gather` puts them in flight on separate connections at once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption, Reward
from tests.rewards.builders import give_points, owners, reward

pytestmark = pytest.mark.postgres_only


async def test_200_owners_redeeming_20_in_stock_at_once_get_exactly_20_and_180_clear_refusals(database, frozen, tmp_path):
    members = await owners(tmp_path, 200)
    for member in members:
        await give_points(member, 1000)
    reward_id = await reward(stock=20)

    results = await asyncio.gather(*(service.redeem(m, reward_id, f"tap-{m}") for m in members), return_exceptions=True)

    refusals = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    assert refusals == {"RewardOutOfStock": 180}
    assert await Redemption.count() == 20
    assert await LedgerEntry.count().where(LedgerEntry.source_kind == "reward") == 20
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 0
    spent = [m for m in members if await points.available(m) == 600]
    assert len(spent) == 20
    assert await points.audit_ledger() == []


async def test_one_owner_double_clicking_50_times_gets_one_redemption(database, frozen, tmp_path):
    owner, = await owners(tmp_path, 1)
    await give_points(owner, 10_000)
    reward_id = await reward(stock=20, per_owner_limit=1)

    same_key = await asyncio.gather(*(service.redeem(owner, reward_id, "one-tap") for _ in range(50)))
    other_keys = await asyncio.gather(
        *(service.redeem(owner, reward_id, f"tap-{n}") for n in range(50)), return_exceptions=True
    )

    assert len({r.redemption_id for r in same_key}) == 1 and sum(not r.replayed for r in same_key) == 1
    assert Counter(type(r).__name__ for r in other_keys) == {"RedemptionLimitReached": 50}
    assert await Redemption.count() == 1
    assert await points.available(owner) == 9_600
    assert await LedgerEntry.count().where(LedgerEntry.source_kind == "reward") == 1


async def test_cancels_and_expiry_racing_give_back_once(database, frozen, tmp_path):
    members = await owners(tmp_path, 20)
    for member in members:
        await give_points(member, 1000)
    reward_id = await reward(stock=20)
    made = [await service.redeem(m, reward_id, "k") for m in members]

    from datetime import timedelta

    from tests.rewards.builders import NOW

    results = await asyncio.gather(
        *(service.cancel(m, r.redemption_id) for m, r in zip(members, made)),
        service.expire_due(NOW + timedelta(days=30)), return_exceptions=True,
    )

    assert [r for r in results if isinstance(r, BaseException) and type(r).__name__ != "RedemptionClosed"] == []
    assert all([await points.available(m) == 1000 for m in members])
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 20
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reverse") == 20
