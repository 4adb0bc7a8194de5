"""Lots: redemption takes the oldest expiry first; vesting, expiry and notices are daily jobs
that act on the right day only and change nothing when run again."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine

from loyalty.care.tables import OutboxMessage
from loyalty.points import service as points
from tests.points.builders import OTHER_PHONE, PHONE, entries_of, import_owners, lot_of_entry, lots_of


def noon(day: date) -> datetime:
    """12:00 in Beijing on `day` (04:00 UTC): the service's today is `day`."""
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=timezone.utc)


async def test_points_vested_in_a_year_expire_after_december_31st_of_the_next_year(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    with time_machine.travel(noon(date(2025, 1, 1)), tick=False):
        first = await points.earn(member, 100, key="a", source_kind="test")
    with time_machine.travel(noon(date(2025, 12, 31)), tick=False):
        second = await points.earn(member, 100, key="b", source_kind="test")

    assert (await lot_of_entry(first.entry_id))["expires_on"] == date(2026, 12, 31)
    assert (await lot_of_entry(second.entry_id))["expires_on"] == date(2026, 12, 31)


async def test_redeem_takes_the_lots_with_the_earliest_expiry_first(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    # The later-expiring lot is created first, so "oldest id" and "oldest expiry" disagree.
    late = await points.earn(member, 300, key="late", source_kind="test", today=date(2026, 3, 1))
    early = await points.earn(member, 200, key="early", source_kind="test", today=date(2025, 3, 1))
    middle = await points.earn(member, 100, key="middle", source_kind="test", today=date(2025, 9, 1))
    # early and middle both expire 2026-12-31; late on 2027-12-31.

    await points.redeem(member, 250, key="spend-1", source_kind="test", today=date(2026, 3, 2))
    remaining = {name: (await lot_of_entry(e.entry_id))["remaining"] for name, e in [("early", early), ("middle", middle), ("late", late)]}
    assert remaining == {"early": 0, "middle": 50, "late": 300}

    await points.redeem(member, 100, key="spend-2", source_kind="test", today=date(2026, 3, 2))
    remaining = {name: (await lot_of_entry(e.entry_id))["remaining"] for name, e in [("early", early), ("middle", middle), ("late", late)]}
    assert remaining == {"early": 0, "middle": 0, "late": 250}
    assert (await points.balance(member, today=date(2026, 3, 2))).available == 250
    assert await points.audit_ledger() == []


async def test_expire_due_expires_only_lots_past_their_last_day(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 400, key="old", source_kind="test", today=date(2025, 6, 1))  # last day 2026-12-31
    await points.earn(member, 300, key="new", source_kind="test", today=date(2026, 6, 1))  # last day 2027-12-31
    await points.redeem(member, 150, key="spend", source_kind="test", today=date(2026, 7, 1))  # from "old"

    assert await points.expire_due(today=date(2026, 12, 31)) == 0  # the last day is still a valid day
    assert (await points.balance(member, today=date(2026, 12, 31))).available == 550

    assert await points.expire_due(today=date(2027, 1, 1)) == 1
    assert (await points.balance(member, today=date(2027, 1, 1))).available == 300
    expired = await entries_of(member, "expire")
    assert [(e["available_delta"], e["available_after"]) for e in expired] == [(-250, 300)]
    assert [lot["status"] for lot in await lots_of(member)] == ["expired", "available"]
    assert await points.audit_ledger() == []


async def test_expire_due_run_twice_expires_once(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 400, key="old", source_kind="test", today=date(2024, 6, 1))

    with time_machine.travel(noon(date(2026, 1, 1)), tick=False):
        assert await points.expire_due() == 1
        assert await points.expire_due() == 0

    assert len(await entries_of(member, "expire")) == 1
    assert (await points.balance(member)).available == 0
    assert await points.audit_ledger() == []


async def test_an_expired_lot_is_no_longer_spendable(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 400, key="old", source_kind="test", today=date(2024, 6, 1))
    await points.expire_due(today=date(2026, 1, 1))

    with pytest.raises(points.InsufficientPoints):
        await points.redeem(member, 1, key="spend", source_kind="test", today=date(2026, 1, 1))


async def test_vest_due_moves_pending_points_to_available_on_their_day(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    earned = await points.earn(
        member, 5_000, key="reward", source_kind="referral", vests_on=date(2026, 7, 15), today=date(2026, 6, 15)
    )
    assert (earned.available, earned.pending) == (0, 5_000)

    assert await points.vest_due(today=date(2026, 7, 14)) == 0
    assert (await points.balance(member)).pending == 5_000
    with pytest.raises(points.InsufficientPoints):  # pending points are not spendable
        await points.redeem(member, 1, key="too-early", source_kind="test", today=date(2026, 7, 14))

    assert await points.vest_due(today=date(2026, 7, 15)) == 1
    balance = await points.balance(member, today=date(2026, 7, 15))
    assert (balance.available, balance.pending) == (5_000, 0)
    lot = await lot_of_entry(earned.entry_id)
    assert (lot["status"], lot["expires_on"]) == ("available", date(2027, 12, 31))
    assert await points.audit_ledger() == []


async def test_vest_due_run_twice_vests_once(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 5_000, key="reward", source_kind="referral", vests_on=date(2026, 7, 15), today=date(2026, 6, 15))

    with time_machine.travel(noon(date(2026, 7, 20)), tick=False):  # a late run vests what is overdue
        assert await points.vest_due() == 1
        assert await points.vest_due() == 0

    vests = await entries_of(member, "vest")
    assert [(e["available_delta"], e["pending_delta"]) for e in vests] == [(5_000, -5_000)]
    assert (await points.balance(member)).available == 5_000
    assert await points.audit_ledger() == []


async def test_an_earn_whose_vesting_day_has_come_is_available_at_once(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    earned = await points.earn(member, 100, key="r", source_kind="test", vests_on=date(2026, 6, 15), today=date(2026, 6, 15))
    assert (earned.available, earned.pending) == (100, 0)


async def _messages() -> list[dict]:
    return await OutboxMessage.select().where(OutboxMessage.template == "points_expiring").order_by(OutboxMessage.id).output(load_json=True)


async def test_notify_expiring_tells_each_member_once_30_days_ahead(database, tmp_path):
    first, second = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    # Two lots of the first member and one of the second expire on 2026-12-31.
    await points.earn(first, 100, key="f1", source_kind="test", today=date(2025, 2, 1))
    await points.earn(first, 50, key="f2", source_kind="test", today=date(2025, 8, 1))
    await points.earn(first, 70, key="f3", source_kind="test", today=date(2026, 2, 1))  # 2027: not yet
    await points.earn(second, 30, key="s1", source_kind="test", today=date(2025, 5, 1))

    assert await points.notify_expiring(today=date(2026, 11, 30)) == 0  # 31 days ahead: too early
    assert await _messages() == []

    assert await points.notify_expiring(today=date(2026, 12, 1)) == 2
    messages = await _messages()
    assert sorted((m["recipient"], m["payload"]["points"], m["payload"]["expires_on"]) for m in messages) == [
        (f"+86{PHONE}", 150, "2026-12-31"),
        (f"+86{OTHER_PHONE}", 30, "2026-12-31"),
    ]
    assert "150" in next(m["body"] for m in messages if m["recipient"] == f"+86{PHONE}")


async def test_notify_expiring_never_tells_about_the_same_points_twice(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 100, key="f1", source_kind="test", today=date(2025, 2, 1))

    assert await points.notify_expiring(today=date(2026, 12, 1)) == 1
    assert await points.notify_expiring(today=date(2026, 12, 1)) == 0
    assert await points.notify_expiring(today=date(2026, 12, 20)) == 0
    assert len(await _messages()) == 1


async def test_notify_expiring_skips_spent_and_already_expired_lots(database, tmp_path):
    first, second = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    await points.earn(first, 100, key="f1", source_kind="test", today=date(2025, 2, 1))
    await points.redeem(first, 100, key="spent", source_kind="test", today=date(2025, 3, 1))
    await points.earn(second, 100, key="s1", source_kind="test", today=date(2024, 2, 1))  # last day 2025-12-31

    assert await points.notify_expiring(today=date(2026, 12, 1)) == 0
    assert await _messages() == []


async def test_balance_shows_what_expires_within_30_days(database, tmp_path):
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 100, key="f1", source_kind="test", today=date(2025, 2, 1))
    await points.earn(member, 70, key="f2", source_kind="test", today=date(2026, 2, 1))

    assert (await points.balance(member, today=date(2026, 11, 30))).expiring_soon == 0
    soon = await points.balance(member, today=date(2026, 12, 1))
    assert (soon.available, soon.expiring_soon, soon.expiring_on) == (170, 100, date(2026, 12, 31))


@pytest.mark.postgres_only
async def test_jobs_run_concurrently_vest_expire_and_notify_each_lot_once(database, tmp_path):
    import asyncio

    members = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    for member in members:
        await points.earn(member, 100, key=f"old:{member}", source_kind="test", today=date(2024, 6, 1))  # ends 2025-12-31
        await points.earn(member, 200, key=f"soon:{member}", source_kind="test", today=date(2025, 6, 1))  # ends 2026-12-31
        await points.earn(member, 300, key=f"due:{member}", source_kind="referral", vests_on=date(2026, 12, 1), today=date(2026, 11, 1))
    day = date(2026, 12, 1)

    await asyncio.gather(*(job(today=day) for job in (points.vest_due, points.expire_due, points.notify_expiring) for _ in range(10)))

    for member in members:
        assert [len(await entries_of(member, kind)) for kind in ("vest", "expire")] == [1, 1]
        assert (await points.balance(member, day)).available == 500
    assert len(await _messages()) == 2
    assert await points.audit_ledger() == []
