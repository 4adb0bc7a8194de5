"""Double clicks and retries on PostgreSQL, many connections at once: every reward is paid
exactly once, and a phone belongs to one referrer."""

from __future__ import annotations

import asyncio

import pytest

from loyalty.members.tables import Member
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, LeadStageChange
from tests.referrals.builders import FRIEND, balance, e164, member_of, move, register, tier_of

pytestmark = pytest.mark.postgres_only


async def test_50_concurrent_mark_signed_calls_pay_each_beneficiary_exactly_once(world):
    lead = await register(world)

    results = await asyncio.gather(*(move(world, lead, "signed") for _ in range(50)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert {r["stage"] for r in results} == {"signed"}
    new_owner = await member_of(FRIEND)
    assert await Member.count().where(Member.phone == e164(FRIEND)) == 1
    rewards = await LedgerEntry.select(LedgerEntry.member, LedgerEntry.idempotency_key).where(LedgerEntry.source_kind == "referral")
    assert sorted((r["member"], r["idempotency_key"]) for r in rewards) == sorted([
        (world.referrer, f"referral:{lead['id']}:visited:referrer"),
        (world.referrer, f"referral:{lead['id']}:signed:referrer"),
        (new_owner, f"referral:{lead['id']}:signed:new_owner"),
    ])
    assert await balance(world.referrer) == (200, 5_000)
    assert await balance(new_owner) == (2_000, 0)
    assert await LeadStageChange.count().where(LeadStageChange.to_stage == "signed") == 1
    assert await tier_of(world.referrer) == "silver"
    assert await points.audit_ledger() == []


async def test_concurrent_visited_and_signed_clicks_pay_the_visit_once(world):
    lead = await register(world)

    await asyncio.gather(*(move(world, lead, stage) for stage in ("visited", "subscribed", "signed") * 10), return_exceptions=True)

    assert (await referrals.get_lead(lead["id"]))["stage"] == "signed"
    assert await balance(world.referrer) == (200, 5_000)


async def test_concurrent_cancels_take_the_rewards_back_once(world):
    lead = await move(world, await register(world), "signed")

    results = await asyncio.gather(*(move(world, lead, "cancelled") for _ in range(20)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await balance(world.referrer) == (200, 0)
    assert await LeadStageChange.count().where(LeadStageChange.to_stage == "cancelled") == 1
    assert await points.audit_ledger() == []


async def test_owners_registering_one_friend_at_once_give_the_phone_to_one_of_them(world, monkeypatch):
    callers = (world.referrer, world.other_owner, world.third_owner) * 5
    # Line the callers up after their first query, so they really do arrive at once (a
    # double click, two owners with the same friend) rather than one after the other.
    barrier = asyncio.Barrier(len(callers))
    owned_unit_ids = referrals._owned_unit_ids

    async def at_once(member_id: int) -> list[int]:
        units = await owned_unit_ids(member_id)
        try:  # never a deadlock: should a fix hold a lock here, the line-up gives up after 5 s
            async with asyncio.timeout(5):
                await barrier.wait()
        except (TimeoutError, asyncio.BrokenBarrierError):
            await barrier.abort()
        return units

    monkeypatch.setattr(referrals, "_owned_unit_ids", at_once)

    async def attempt(referrer: int) -> object:
        try:
            return await register(world, referrer=referrer)
        except referrals.ReferralRejected as refused:
            return refused

    outcomes = await asyncio.gather(*(attempt(r) for r in callers))

    assert await Lead.count().where(Lead.phone == e164(FRIEND)) == 1
    assert sum(isinstance(o, dict) for o in outcomes) == 1
