"""A Celery worker killed in the middle of a job: the job runs again, with no double effect.

The job is the nightly vesting, `loyalty.points.vest_due`, sent as beat sends it. It vests
one pending lot per transaction, so a worker killed halfway leaves some lots vested and the
rest pending. Two ways to die, both SIGKILL (no warm shutdown, nothing acknowledged):
- the whole worker, main process and pool process: its job stays taken in Redis until
  LOYALTY_JOB_VISIBILITY_TIMEOUT_SECONDS have passed (a few seconds here, an hour by
  default), then the first sweep of a new worker puts it back and the new worker runs it;
- only the pool process running the job: the worker puts the job back at once
  (`task_reject_on_worker_lost`) and its new pool process runs it.
Either way the second run vests only what the first left pending, every lot has exactly one
`vest` entry, every balance equals its ledger (the `database` fixture audits it too), and the
job's result is the second run's.

Redis is the test's own (tests/faults/services.py): a killed worker leaves its job taken in
the broker, which no other test should meet. The worker runs in real time, so the lots are
due today (the real today in Beijing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery

from loyalty import clock
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry, PointsLot
from tests.faults.services import PrivateRedis, private_redis
from tests.faults.workers import loyalty_worker
from tests.points.builders import import_owners

pytestmark = pytest.mark.postgres_only

MEMBERS = 6
LOTS_EACH = 150
LOTS = MEMBERS * LOTS_EACH
POINTS_PER_LOT = 10
VISIBILITY_TIMEOUT = 3  # seconds: how long the killed worker's job stays taken
WORKER_ENV = {"LOYALTY_JOB_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT)}


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


async def pending_lots(folder: Path) -> list[int]:
    """MEMBERS owners with LOTS_EACH pending referral rewards each, all vesting today."""
    today = clock.today()
    members = await import_owners(folder, *[f"1380013{n:04d}" for n in range(MEMBERS)])
    for member in members:
        for n in range(LOTS_EACH):
            await points.earn(
                member, POINTS_PER_LOT, key=f"referral:{member}:{n}", source_kind="referral",
                vests_on=today, today=today - timedelta(days=30),
            )
    return members


async def vested() -> int:
    return await LedgerEntry.count().where(LedgerEntry.kind == "vest")


async def kill_halfway(kill: Callable[[], object]) -> float:
    """Wait until the job has vested a tenth of the lots, then `kill`. Returns when progress
    was first seen (the job had been delivered by then)."""
    first_seen = None
    deadline = time.monotonic() + 60
    while (done := await vested()) < LOTS // 10:
        if done and first_seen is None:
            first_seen = time.monotonic()
        assert time.monotonic() < deadline, f"the job vested only {done} lots in 60 s"
        await asyncio.sleep(0.02)
    kill()
    return first_seen or time.monotonic()


async def vested_once_each(members: list[int]) -> None:
    """Every lot vested by exactly one entry, every owner holding all of it."""
    entries = await LedgerEntry.select(LedgerEntry.idempotency_key, LedgerEntry.lot).where(LedgerEntry.kind == "vest")
    lots = await PointsLot.select(PointsLot.id, PointsLot.status)
    assert len(entries) == LOTS
    assert sorted(entry["lot"] for entry in entries) == sorted(lot["id"] for lot in lots)
    assert {entry["idempotency_key"] for entry in entries} == {f"vest:lot:{lot['id']}" for lot in lots}
    assert {lot["status"] for lot in lots} == {"available"}
    for member in members:
        balance = await points.balance(member)
        assert (balance.available, balance.pending) == (LOTS_EACH * POINTS_PER_LOT, 0)
    assert await points.audit_ledger() == []


def taken_jobs(broker: PrivateRedis) -> int:
    """Jobs a worker has taken and not acknowledged (kombu's `unacked` hash)."""
    client = redis.Redis.from_url(broker.url)
    try:
        return client.hlen("unacked")
    finally:
        client.close()


async def until_no_job_is_taken(broker: PrivateRedis) -> None:
    deadline = time.monotonic() + 10
    while taken_jobs(broker) and time.monotonic() < deadline:  # acknowledged just after the result is stored
        await asyncio.sleep(0.05)
    assert taken_jobs(broker) == 0


async def test_a_whole_worker_killed_mid_job_leaves_it_taken_until_the_visibility_timeout_then_it_reruns_once(
    database, broker, tmp_path
):
    members = await pending_lots(tmp_path)
    client = Celery(broker=broker.url, backend=broker.url)

    with loyalty_worker(database.url, broker.url, tmp_path / "first.log", env=WORKER_ENV) as first:
        job = client.send_task("loyalty.points.vest_due")
        delivered_by = await kill_halfway(first.kill)
        assert first.process.returncode == -9

    await asyncio.sleep(0.3)  # a COMMIT already sent when the worker died still lands
    done_before = await vested()
    assert LOTS // 10 <= done_before < LOTS, "the job was not killed in the middle"
    assert await points.audit_ledger() == []  # each lot vests in its own transaction: no half-vested lot
    assert taken_jobs(broker) == 1  # not lost: taken by a dead worker, waiting for the timeout

    await asyncio.sleep(max(0.0, delivered_by + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
    with loyalty_worker(database.url, broker.url, tmp_path / "second.log", env=WORKER_ENV):
        rerun = await asyncio.to_thread(job.get, timeout=60)
        await until_no_job_is_taken(broker)

    assert rerun == LOTS - done_before  # the second run found only what the first left pending
    await vested_once_each(members)


async def test_a_pool_process_killed_mid_job_is_replaced_and_the_job_reruns_at_once(database, broker, tmp_path):
    members = await pending_lots(tmp_path)
    client = Celery(broker=broker.url, backend=broker.url)

    # The default visibility timeout (an hour): the job must come back without it.
    with loyalty_worker(database.url, broker.url, tmp_path / "worker.log") as worker:
        job = client.send_task("loyalty.points.vest_due")
        await kill_halfway(worker.kill_pool_process)
        rerun = await asyncio.to_thread(job.get, timeout=60)
        await until_no_job_is_taken(broker)
        assert worker.process.poll() is None  # the worker itself lived on
        output = worker.output()

    assert "WorkerLostError" in output or "SIGKILL" in output, output[-3000:]
    assert 0 < rerun < LOTS  # it ran again, and skipped the lots the killed run had vested
    await vested_once_each(members)
