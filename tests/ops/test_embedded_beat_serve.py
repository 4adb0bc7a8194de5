"""The embedded beat as the README's first command runs it: `loyalty serve --demo --workers 2`
(SQLite, no broker) in a temporary folder. Both web processes run the scheduler; a run that is
due when they start, and the next minute's run, which both wake for at the same moment, are
each run by one of them, once. (It waits for that next minute: up to a minute.)"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import pytest

from loyalty import clock, db
from loyalty.ops.embedded_beat import EmbeddedBeat
from tests.test_app_start import LOYALTY, cli_env, free_port, run_cli

STARTS = re.compile(r"periodic job (\S+) \(\S+\) starts, due at (\S+) \(holder (\S+)\)")
STARTED = re.compile(r"embedded beat started: \d+ periodic jobs, no broker \(holder (\S+)\)")
STOPPED = re.compile(r"embedded beat stopped \(holder (\S+)\)")
MINUTELY = ("release-unpaid-seats", "dispatch-outbox")


@pytest.fixture
def keep_engine() -> Iterator[None]:
    before = db.engine()
    yield
    db.bind(before)


def _ran_once_each(database: Path) -> bool:
    """Every minutely job has run and finished (a read-only look, as another process)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        rows = connection.execute(
            "SELECT name, runs, leased_until FROM periodic_job WHERE name IN (?, ?)", MINUTELY
        ).fetchall()
    return len(rows) == len(MINUTELY) and all(runs >= 1 and leased is None for _, runs, leased in rows)


async def _until(server: subprocess.Popen[bytes], log_path: Path, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 150
    while not done():
        assert server.poll() is None, f"loyalty serve exited:\n{log_path.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"the minutely jobs did not run:\n{log_path.read_text()[-3000:]}"
        await asyncio.sleep(0.2)


async def test_serve_demo_with_two_workers_runs_a_due_minutely_job_once_not_once_per_process(keep_engine, tmp_path):
    migrated = run_cli("migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    database = tmp_path / "loyalty.sqlite"
    # The schedule as a server stopped two minutes ago left it: the minutely jobs are due now.
    db.bind(db.engine_from_url(f"sqlite:///{database}"))
    await EmbeddedBeat(holder="earlier-server")._plan(clock.now() - timedelta(minutes=2))

    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(LOYALTY), "serve", "--demo", "--workers", "2", "--port", str(free_port())],
            cwd=tmp_path, env=cli_env(LOYALTY_LOG_FORMAT="text"),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        # 1. Both processes start (one after the other) and find the minutely jobs overdue.
        await _until(server, log_path, lambda: _ran_once_each(database) and len(STARTED.findall(log_path.read_text())) == 2)
        both_up = clock.now()
        # 2. The next minute begins while both are up: both wake for it at the same moment.
        await _until(server, log_path, lambda: _ran_once_each(database) and any(
            name == "release-unpaid-seats" and datetime.fromisoformat(due_at) > both_up
            for name, due_at, _ in STARTS.findall(log_path.read_text())
        ))
    finally:
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
            await asyncio.to_thread(server.wait, 15)
    output = log_path.read_text()

    holders = STARTED.findall(output)
    assert len(set(holders)) == 2, output[-3000:]  # both web processes ran the scheduler
    starts = [(name, due_at) for name, due_at, _ in STARTS.findall(output)]
    twice = [run for run, count in Counter(starts).items() if count > 1]
    assert twice == [], f"runs started by both processes: {twice}\n{output[-3000:]}"
    for name in MINUTELY:
        assert any(started == name for started, _ in starts), output[-3000:]
    with sqlite3.connect(database) as connection:
        runs = dict(connection.execute("SELECT name, runs FROM periodic_job").fetchall())
    assert {name: runs[name] for name in MINUTELY} == {
        name: sum(1 for started, _ in starts if started == name) for name in MINUTELY
    }
    assert sorted(STOPPED.findall(output)) == sorted(holders), output[-3000:]  # each stopped cleanly


@pytest.mark.parametrize("broker", [False, True], ids=["no broker", "broker"])
def test_the_app_runs_the_beat_itself_only_when_there_is_no_broker(keep_engine, tmp_path, caplog, broker):
    from litestar.testing import TestClient

    from loyalty.app import create_app
    from loyalty.settings import load_settings
    from tests.conftest import REDIS_URL, TEST_SECRET

    url = f"sqlite:///{tmp_path / 'loyalty.sqlite'}"
    assert run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=url).returncode == 0
    environment = {"LOYALTY_DATABASE_URL": url, "LOYALTY_SECRET_KEY": TEST_SECRET}
    if broker:  # `loyalty beat` runs the schedule; nothing is sent to the broker here
        environment["LOYALTY_BROKER_URL"] = REDIS_URL
    app = create_app(load_settings(environment))

    with caplog.at_level(logging.INFO, logger="loyalty.embedded_beat"), TestClient(app) as http:
        assert http.get("/health").status_code == 200
    with sqlite3.connect(tmp_path / "loyalty.sqlite") as connection:
        planned = connection.execute("SELECT count(*) FROM periodic_job").fetchone()[0]
    messages = [record.getMessage() for record in caplog.records]

    if broker:
        assert planned == 0 and not any("embedded beat" in message for message in messages)
    else:
        assert any(message.startswith("embedded beat started") for message in messages)
        assert any(message.startswith("embedded beat stopped") for message in messages)
