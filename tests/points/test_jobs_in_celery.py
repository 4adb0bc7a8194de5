"""The daily points jobs run in a real Celery worker on Redis, exactly as beat sends them
(no arguments: the worker's own today). A worker cannot be time-travelled, so the data is
arranged relative to the real current date in Beijing."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from loyalty import clock
from loyalty.care.tables import OutboxMessage
from loyalty.points import service as points
from tests.points.builders import OTHER_PHONE, PHONE, celery_worker, entries_of, import_owners, lot_of_entry, set_lot_expiry

pytestmark = pytest.mark.postgres_only


async def _run_twice(database, redis_url: str, task: str) -> tuple[object, object]:
    """Run `task` in a worker, then again (as a re-delivered or repeated beat would)."""
    with celery_worker(database.url, redis_url) as (celery, queue):
        first = await asyncio.to_thread(celery.send_task(task, queue=queue).get, timeout=60)
        second = await asyncio.to_thread(celery.send_task(task, queue=queue).get, timeout=60)
    return first, second


async def test_vest_due_in_a_celery_worker_vests_todays_points_once(database, redis_url, tmp_path):
    today = clock.today()
    (member,) = await import_owners(tmp_path, PHONE)
    due = await points.earn(member, 5_000, key="due", source_kind="referral", vests_on=today, today=today - timedelta(days=30))
    await points.earn(member, 700, key="tomorrow", source_kind="referral", vests_on=today + timedelta(days=1), today=today)

    first, second = await _run_twice(database, redis_url, "loyalty.points.vest_due")

    assert (first, second) == (1, 0)
    balance = await points.balance(member, today)
    assert (balance.available, balance.pending) == (5_000, 700)
    assert len(await entries_of(member, "vest")) == 1
    assert (await lot_of_entry(due.entry_id))["expires_on"] == date(today.year + 1, 12, 31)
    assert await points.audit_ledger() == []


async def test_expire_due_in_a_celery_worker_expires_past_lots_once(database, redis_url, tmp_path):
    today = clock.today()
    (member,) = await import_owners(tmp_path, PHONE)
    await points.earn(member, 400, key="old", source_kind="test", today=date(today.year - 2, 6, 1))  # ended last Dec 31
    await points.earn(member, 300, key="current", source_kind="test", today=today)

    first, second = await _run_twice(database, redis_url, "loyalty.points.expire_due")

    assert (first, second) == (1, 0)
    assert (await points.balance(member, today)).available == 300
    assert [e["available_delta"] for e in await entries_of(member, "expire")] == [-400]
    assert await points.audit_ledger() == []


async def test_notify_expiring_in_a_celery_worker_tells_each_member_once(database, redis_url, tmp_path):
    today = clock.today()
    first, second = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    soon = await points.earn(first, 120, key="soon", source_kind="test", today=today)
    also_soon = await points.earn(first, 80, key="also-soon", source_kind="test", today=today)
    later = await points.earn(second, 500, key="later", source_kind="test", today=today)
    await set_lot_expiry((await lot_of_entry(soon.entry_id))["id"], today + timedelta(days=10))
    await set_lot_expiry((await lot_of_entry(also_soon.entry_id))["id"], today + timedelta(days=30))
    await set_lot_expiry((await lot_of_entry(later.entry_id))["id"], today + timedelta(days=31))

    told_first, told_again = await _run_twice(database, redis_url, "loyalty.points.notify_expiring")

    assert (told_first, told_again) == (1, 0)
    messages = await OutboxMessage.select().where(OutboxMessage.template == "points_expiring").output(load_json=True)
    assert [(m["recipient"], m["payload"]["points"]) for m in messages] == [(f"+86{PHONE}", 200)]
    assert messages[0]["payload"]["expires_on"] == (today + timedelta(days=10)).isoformat()
