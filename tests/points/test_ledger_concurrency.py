"""Points are money: exact under real concurrency on PostgreSQL (many connections at once)."""

from __future__ import annotations

import asyncio

import pytest

from loyalty.members.tables import Member
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry


async def _member(phone: str = "+8613800138001") -> int:
    rows = await Member.insert(Member(name="李四", phone=phone)).returning(Member.id)
    return rows[0]["id"]


@pytest.mark.postgres_only
async def test_redeem_never_overdraws_under_200_concurrent_calls(database):
    member = await _member()
    await points.earn(member, 1_000, key="seed", source_kind="test")

    async def spend(n: int) -> str:
        try:
            await points.redeem(member, 30, key=f"spend-{n}", source_kind="test")
            return "ok"
        except points.InsufficientPoints:
            return "refused"

    outcomes = await asyncio.gather(*(spend(n) for n in range(200)))

    assert outcomes.count("ok") == 33  # 33 × 30 = 990 ≤ 1,000 < 34 × 30
    balance = await points.balance(member)
    assert balance.available == 1_000 - 33 * 30
    assert await points.audit_ledger() == []


@pytest.mark.postgres_only
async def test_concurrent_replays_of_one_key_pay_once(database):
    member = await _member()

    results = await asyncio.gather(
        *(points.earn(member, 500, key="welcome:1", source_kind="referral", source_id="1") for _ in range(50)),
        return_exceptions=True,
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert {r.entry_id for r in results} == {results[0].entry_id}
    assert (await points.balance(member)).available == 500
    assert await LedgerEntry.count().where(LedgerEntry.member == member) == 1


async def test_a_replay_returns_the_first_result_and_another_body_is_refused(database):
    member = await _member()
    await points.earn(member, 100, key="seed", source_kind="test")
    first = await points.redeem(member, 40, key="sale-1", source_kind="sale", source_id="1")
    again = await points.redeem(member, 40, key="sale-1", source_kind="sale", source_id="1")

    assert again.entry_id == first.entry_id and again.replayed and again.available == 60
    with pytest.raises(points.IdempotencyConflict):
        await points.redeem(member, 41, key="sale-1", source_kind="sale", source_id="1")
    assert (await points.balance(member)).available == 60
