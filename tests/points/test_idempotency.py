"""Every ledger operation carries an idempotency key: a replay returns the first result, the
same key with a different request is refused and changes nothing — also when the replays
arrive at once on many PostgreSQL connections."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from tests.points.builders import OTHER_PHONE, PHONE, entries_of, import_owners

TODAY = date(2026, 6, 15)


@pytest.fixture
async def member(database, tmp_path) -> int:
    (member,) = await import_owners(tmp_path, PHONE)
    return member


async def test_an_earn_replay_returns_the_first_result_and_another_body_is_refused(member):
    first = await points.earn(member, 500, key="welcome:1", source_kind="referral", source_id="1", today=TODAY)
    again = await points.earn(member, 500, key="welcome:1", source_kind="referral", source_id="1", today=TODAY)

    assert (again.entry_id, again.available, again.replayed, first.replayed) == (first.entry_id, 500, True, False)
    for different in (
        dict(points=501, source_id="1"),
        dict(points=500, source_id="2"),
        dict(points=500, source_id="1", vests_on=date(2026, 7, 15)),
    ):
        with pytest.raises(points.IdempotencyConflict):
            await points.earn(member, different.pop("points"), key="welcome:1", source_kind="referral", today=TODAY, **different)
    assert (await points.balance(member, TODAY)).available == 500
    assert len(await entries_of(member)) == 1


async def test_a_key_used_for_one_member_is_refused_for_another(member, tmp_path):
    other = await import_owners(tmp_path, OTHER_PHONE)
    await points.earn(member, 500, key="k", source_kind="test", today=TODAY)
    with pytest.raises(points.IdempotencyConflict):
        await points.earn(other[0], 500, key="k", source_kind="test", today=TODAY)
    assert (await points.balance(other[0], TODAY)).available == 0


async def test_a_key_used_for_an_earn_is_refused_for_a_redeem(member):
    await points.earn(member, 500, key="k", source_kind="test", today=TODAY)
    with pytest.raises(points.IdempotencyConflict):
        await points.redeem(member, 500, key="k", source_kind="test", today=TODAY)
    assert (await points.balance(member, TODAY)).available == 500


async def test_an_adjustment_replay_returns_the_first_result_and_another_body_is_refused(member):
    first = await points.adjust(member, 300, key="adjust:1", reason="生日礼遇", staff_id=7, today=TODAY)
    again = await points.adjust(member, 300, key="adjust:1", reason="生日礼遇", staff_id=7, today=TODAY)

    assert (again.entry_id, again.available, again.replayed) == (first.entry_id, 300, True)
    with pytest.raises(points.IdempotencyConflict):
        await points.adjust(member, 300, key="adjust:1", reason="another reason", staff_id=7, today=TODAY)
    with pytest.raises(points.IdempotencyConflict):
        await points.adjust(member, -300, key="adjust:1", reason="生日礼遇", staff_id=7, today=TODAY)
    assert (await points.balance(member, TODAY)).available == 300


async def test_a_replay_answers_with_the_balance_of_that_time_not_of_now(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)
    first = await points.redeem(member, 100, key="sale-1", source_kind="sale", today=TODAY)
    await points.redeem(member, 200, key="sale-2", source_kind="sale", today=TODAY)

    again = await points.redeem(member, 100, key="sale-1", source_kind="sale", today=TODAY)

    assert (again.entry_id, again.points, again.available) == (first.entry_id, 100, 900)
    assert (await points.balance(member, TODAY)).available == 700


async def test_a_refused_redeem_leaves_its_key_free(member):
    await points.earn(member, 100, key="seed", source_kind="test", today=TODAY)
    with pytest.raises(points.InsufficientPoints):
        await points.redeem(member, 150, key="sale-1", source_kind="sale", today=TODAY)
    await points.earn(member, 100, key="more", source_kind="test", today=TODAY)

    result = await points.redeem(member, 150, key="sale-1", source_kind="sale", today=TODAY)

    assert (result.replayed, result.available) == (False, 50)


@pytest.mark.postgres_only
async def test_50_concurrent_replays_of_a_redeem_spend_once_and_all_get_the_first_result(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)

    results = await asyncio.gather(
        *(points.redeem(member, 400, key="sale-1", source_kind="sale", source_id="1", today=TODAY) for _ in range(50))
    )

    assert len({r.entry_id for r in results}) == 1
    assert {r.available for r in results} == {600}
    assert sum(not r.replayed for r in results) == 1
    assert (await points.balance(member, TODAY)).available == 600
    assert await LedgerEntry.count().where(LedgerEntry.kind == "redeem") == 1
    assert await points.audit_ledger() == []


@pytest.mark.postgres_only
async def test_concurrent_calls_with_one_key_and_two_bodies_settle_on_one_body(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)

    async def redeem(amount: int) -> object:
        try:
            return await points.redeem(member, amount, key="sale-1", source_kind="sale", today=TODAY)
        except points.IdempotencyConflict as conflict:
            return conflict

    outcomes = await asyncio.gather(*(redeem(100 if n % 2 else 300) for n in range(40)))

    results = [o for o in outcomes if isinstance(o, points.EntryResult)]
    conflicts = [o for o in outcomes if isinstance(o, points.IdempotencyConflict)]
    assert len(results) == 20 and len(conflicts) == 20  # the 20 callers of the winning body replay
    assert len({(r.entry_id, r.points) for r in results}) == 1
    assert (await points.balance(member, TODAY)).available == 1_000 - results[0].points
    assert await points.audit_ledger() == []


@pytest.mark.postgres_only
async def test_concurrent_earn_redeem_and_reverse_keep_every_balance_equal_to_its_ledger(database, tmp_path):
    first, second = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    for member in (first, second):
        await points.earn(member, 10_000, key=f"seed:{member}", source_kind="test", today=TODAY)
        for n in range(20):  # sales to reverse later, and rewards to claw back
            await points.redeem(member, 50, key=f"sale:{member}:{n}", source_kind="sale", today=TODAY)
            await points.earn(member, 30, key=f"reward:{member}:{n}", source_kind="referral", today=TODAY)
    # each: 10,000 - 20 × 50 + 20 × 30 = 9,600

    calls = []
    for member in (first, second):
        for n in range(40):
            calls.append(points.earn(member, 10, key=f"earn:{member}:{n}", source_kind="test", today=TODAY))
            calls.append(points.redeem(member, 20, key=f"redeem:{member}:{n}", source_kind="sale", today=TODAY))
            calls.append(points.adjust(member, 5, key=f"adjust:{member}:{n}", reason="goodwill", staff_id=1, today=TODAY))
        for n in range(20):
            calls.append(points.reverse(f"sale:{member}:{n}", key=f"undo-sale:{member}:{n}", points=20, today=TODAY))
            calls.append(points.reverse(f"sale:{member}:{n}", key=f"undo-sale-rest:{member}:{n}", points=30, today=TODAY))
            calls.append(points.reverse(f"reward:{member}:{n}", key=f"claw:{member}:{n}", today=TODAY))
    calls.append(points.vest_due(today=TODAY))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    # 9,600 + 40 × (10 - 20 + 5) + 20 × 50 given back - 20 × 30 clawed back
    for member in (first, second):
        assert (await points.balance(member, TODAY)).available == 9_600 - 200 + 1_000 - 600
    assert await points.audit_ledger() == []
