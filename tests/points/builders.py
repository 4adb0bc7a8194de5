"""Builders for points tests: owners through the real owner import, staff through the
identity service, balances read back through the points service. No raw SQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from celery import Celery

from loyalty.members.tables import Member
from loyalty.points.tables import LedgerEntry, PointsLot
from tests.conftest import TEST_SECRET
from tests.sms_server import SERVER_SMS_ENV
from tests.members_builders import import_rows

PHONE = "13800138001"
OTHER_PHONE = "13800138002"
LOYALTY = str(Path(sys.executable).parent / "loyalty")


async def import_owners(folder: Path, *phones: str) -> list[int]:
    """One owner per phone (each with a delivered unit of their own); their member ids in order."""
    await import_rows(
        folder,
        [
            {"phone": phone, "name": f"业主{n}", "contract_date": "2020-01-01", "delivery_date": "2021-01-01"}
            for n, phone in enumerate(phones, start=1)
        ],
    )
    return [await member_of(phone) for phone in phones]


async def member_of(phone: str) -> int:
    row = await Member.select(Member.id).where(Member.phone == f"+86{phone}").first()
    assert row is not None, f"no member with phone {phone}"
    return row["id"]


async def lots_of(member: int) -> list[dict[str, Any]]:
    """The member's lots, oldest first."""
    return await PointsLot.select().where(PointsLot.member == member).order_by(PointsLot.id)


async def entries_of(member: int, kind: str | None = None) -> list[dict[str, Any]]:
    query = LedgerEntry.select().where(LedgerEntry.member == member).order_by(LedgerEntry.id)
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    return await query


async def lot_of_entry(entry_id: int) -> dict[str, Any]:
    entry = await LedgerEntry.select(LedgerEntry.lot).where(LedgerEntry.id == entry_id).first()
    assert entry is not None and entry["lot"] is not None
    lot = await PointsLot.select().where(PointsLot.id == entry["lot"]).first()
    assert lot is not None
    return lot


async def set_lot_expiry(lot_id: int, expires_on: date) -> None:
    """Lots always expire on a December 31st; a test run on a real day (the Celery worker
    cannot be time-travelled) needs one that expires within the notice window of today. No
    service sets an arbitrary expiry, so this is a Piccolo update."""
    await PointsLot.update({PointsLot.expires_on: expires_on}).where(PointsLot.id == lot_id)


@contextmanager
def celery_worker(
    database_url: str, redis_url: str, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Celery, str]]:
    """A real `loyalty worker` process on its own Redis queue, for the life of the block;
    yields a Celery client and the queue name. Its output is attached to failures.
    `extra_env` adds to (or overrides) the worker's environment, e.g. LOYALTY_SMTP_HOST."""
    queue = f"test-points-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ, LOYALTY_DATABASE_URL=database_url, LOYALTY_BROKER_URL=redis_url, LOYALTY_SECRET_KEY=TEST_SECRET,
        **SERVER_SMS_ENV,  # a worker refuses the log SMS backend; nothing here reaches this one
    )
    env.update(extra_env or {})
    worker = subprocess.Popen(
        [LOYALTY, "worker", "--pool=solo", "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Celery(broker=redis_url, backend=redis_url), queue
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        if sys.exc_info()[0] is not None:
            print(output)
