"""Background jobs through a real Celery worker on Redis, and in-process without a broker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery

from loyalty import jobs
from loyalty.members.tables import Member
from tests.conftest import TEST_SECRET
from tests.members_builders import import_rows
from tests.sms_server import SERVER_SMS_ENV

LOYALTY = str(Path(sys.executable).parent / "loyalty")


async def _stale_stages(database, tmp_path) -> None:
    await import_rows(
        tmp_path,
        [
            {"phone": "13800138001", "name": "李老业主", "contract_date": "2015-01-10", "delivery_date": "2016-06-01"},
            {"phone": "13800138002", "name": "王准业主", "contract_date": "2026-01-10", "delivery_date": ""},
        ],
    )
    # What a night without the job looks like: stored stages that no longer match the dates.
    await Member.update({Member.stage: "settling"}, force=True)


@pytest.mark.postgres_only
async def test_refresh_stages_runs_in_a_real_celery_worker_on_redis(database, redis_url, tmp_path):
    await _stale_stages(database, tmp_path)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        LOYALTY_DATABASE_URL=database.url,
        LOYALTY_BROKER_URL=redis_url,
        LOYALTY_SECRET_KEY=TEST_SECRET,
        **SERVER_SMS_ENV,
    )
    worker = subprocess.Popen(
        [LOYALTY, "worker", "--pool=solo", "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = Celery(broker=redis_url, backend=redis_url)
        result = client.send_task("loyalty.members.refresh_stages", queue=queue)
        changed = await asyncio.to_thread(result.get, timeout=60)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert changed == 2, output
    stages = {row["phone"]: row["stage"] for row in await Member.select(Member.phone, Member.stage)}
    assert stages == {"+8613800138001": "veteran", "+8613800138002": "pre_owner"}


async def test_without_a_broker_jobs_run_in_process_at_once(database, settings, tmp_path):
    await _stale_stages(database, tmp_path)
    jobs.configure(settings)
    assert settings.broker_url is None
    await jobs.enqueue("loyalty.members.refresh_stages")
    stages = sorted(row["stage"] for row in await Member.select(Member.stage))
    assert stages == ["pre_owner", "veteran"]


async def test_enqueue_refuses_a_job_that_does_not_exist(database, settings):
    jobs.configure(settings)
    with pytest.raises(KeyError):
        await jobs.enqueue("loyalty.nothing.here")


@pytest.mark.postgres_only
async def test_an_owner_import_runs_in_a_real_celery_worker_and_ends_done(database, redis_url, tmp_path):
    """The upload's job, run by a worker process: it reads the stored file, imports it and
    records the outcome on the import's progress record (the web process is not involved)."""
    from loyalty.members.tables import OwnerImport
    from tests.members.owner_files import owner_row, write_owner_file

    path = write_owner_file(tmp_path / "owners.csv", [owner_row(), owner_row(name="李强", phone="13912345678")])
    # What an upload leaves for a worker (members.imports.start_import, with a broker).
    created = await OwnerImport.insert(OwnerImport(file_name="owners.csv", content=path.read_bytes())).returning(OwnerImport.id)
    import_id = created[0]["id"]
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, LOYALTY_DATABASE_URL=database.url, LOYALTY_BROKER_URL=redis_url, LOYALTY_SECRET_KEY=TEST_SECRET,
               **SERVER_SMS_ENV)
    worker = subprocess.Popen(
        [LOYALTY, "worker", "--pool=solo", "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = Celery(broker=redis_url, backend=redis_url)
        result = client.send_task("loyalty.members.import_owners", args=[import_id], queue=queue)
        await asyncio.to_thread(result.get, timeout=60)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    record = await OwnerImport.select().where(OwnerImport.id == import_id).first()
    assert (record["status"], record["rows_imported"], bytes(record["content"])) == ("done", 2, b""), output
    assert await Member.count() == 2


def test_the_worker_refuses_to_start_on_the_log_sms_backend_outside_the_demo(redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOYALTY_", "TENCENTCLOUD_"))}
    env.update(LOYALTY_BROKER_URL=redis_url, LOYALTY_SECRET_KEY=TEST_SECRET, LOYALTY_SMS_BACKEND="log")
    done = subprocess.run([LOYALTY, "worker", "--pool=solo"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "LOYALTY_SMS_BACKEND=log" in done.stderr


def test_the_tencent_sdk_never_logs_request_bodies():
    import logging

    import loyalty.care.sms  # noqa: F401 - sets the SDK's level on import

    assert not logging.getLogger("tencentcloud_sdk_common").isEnabledFor(logging.DEBUG)
