"""Start-up: the app and `loyalty serve` refuse an unmigrated database or a missing secret,
and start once `loyalty migrate` has run."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from litestar.testing import TestClient

from loyalty import db
from loyalty.app import create_app
from loyalty.errors import NotMigrated
from loyalty.settings import load_settings
from tests.sms_server import SERVER_SMS_ENV
from tests.conftest import TEST_SECRET

LOYALTY = Path(sys.executable).parent / "loyalty"


@pytest.fixture
def keep_engine() -> Iterator[None]:
    """create_app and the migration helpers rebind the process-wide engine; put it back."""
    before = db.engine()
    yield
    db.bind(before)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.sqlite'}"


def cli_env(**values: str) -> dict[str, str]:
    """This process's environment without any LOYALTY_* setting, plus `values`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOYALTY_")}
    environment.update(values)
    return environment


def run_cli(*args: str, cwd: Path, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOYALTY), *args], cwd=cwd, env=cli_env(**values), capture_output=True, text=True, timeout=120
    )


def not_migrated_in(error: BaseException) -> NotMigrated | None:
    """The NotMigrated inside `error` (the lifespan raises it inside an exception group)."""
    if isinstance(error, NotMigrated):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = not_migrated_in(inner)
        if found:
            return found
    return None


def test_the_app_refuses_to_start_on_an_unmigrated_database_and_says_to_run_loyalty_migrate(keep_engine, sqlite_url):
    app = create_app(load_settings({"LOYALTY_DATABASE_URL": sqlite_url, "LOYALTY_SECRET_KEY": TEST_SECRET}))

    with pytest.raises(BaseException) as refused:
        with TestClient(app):
            pass

    error = not_migrated_in(refused.value)
    assert error is not None, repr(refused.value)
    assert "Run `loyalty migrate` first" in str(error)
    assert error.pending


def test_the_app_starts_and_is_healthy_once_loyalty_migrate_has_run(keep_engine, sqlite_url, tmp_path):
    migrated = run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url)
    assert migrated.returncode == 0, migrated.stderr

    app = create_app(load_settings({"LOYALTY_DATABASE_URL": sqlite_url, "LOYALTY_SECRET_KEY": TEST_SECRET}))
    with TestClient(app) as http:
        health = http.get("/health")

    assert health.status_code == 200
    assert health.json()["status"] == "ok"


async def test_check_migrated_lists_every_pending_migration_of_a_fresh_database(keep_engine, sqlite_url):
    db.bind(db.engine_from_url(sqlite_url))

    with pytest.raises(NotMigrated) as refused:
        await db.check_migrated()
    pending = await db.pending_migrations()
    await db.migrate()

    assert refused.value.pending == pending and len(pending) >= 4
    assert await db.pending_migrations() == []
    await db.check_migrated()


def test_loyalty_migrate_needs_no_secret_key_and_a_second_run_changes_nothing(sqlite_url, tmp_path):
    english = {"LC_ALL": "", "LC_MESSAGES": "en_US.UTF-8"}  # the CLI's locale (loyalty.i18n.environment_locale)
    first = run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url, **english)
    second = run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url, LC_ALL="", LC_MESSAGES="", LANG="C.UTF-8")

    assert first.returncode == 0, first.stderr
    assert re.search(r"\d+ migrations applied to sqlite", first.stderr), first.stderr
    assert second.returncode == 0, second.stderr
    assert "数据库已是最新。" in second.stderr  # a server's locale names no language: Chinese


def test_loyalty_serve_on_an_unmigrated_database_exits_non_zero_saying_to_run_loyalty_migrate(sqlite_url, tmp_path):
    result = run_cli("serve", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url, LOYALTY_SECRET_KEY=TEST_SECRET, **SERVER_SMS_ENV)

    assert result.returncode != 0
    assert "loyalty migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_loyalty_serve_without_a_secret_key_exits_non_zero_naming_loyalty_secret_key(sqlite_url, tmp_path):
    migrated = run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url)
    assert migrated.returncode == 0, migrated.stderr

    result = run_cli("serve", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url)

    assert result.returncode != 0
    assert "LOYALTY_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_loyalty_serve_on_a_migrated_database_with_a_secret_key_starts_serving(sqlite_url, tmp_path):
    migrated = run_cli("migrate", cwd=tmp_path, LOYALTY_DATABASE_URL=sqlite_url)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()

    server = await asyncio.create_subprocess_exec(
        str(LOYALTY), "serve", "--port", str(port),
        cwd=tmp_path,
        env=cli_env(LOYALTY_DATABASE_URL=sqlite_url, LOYALTY_SECRET_KEY=TEST_SECRET, **SERVER_SMS_ENV),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[str] = []
    try:
        async def until_serving() -> bool:
            assert server.stderr is not None
            while line := (await server.stderr.readline()).decode():
                seen.append(line)
                if "Uvicorn running on" in line:
                    return True
            return False

        assert await asyncio.wait_for(until_serving(), timeout=60), "".join(seen)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = (await asyncio.wait_for(reader.read(), timeout=30)).decode()
        writer.close()
    finally:
        if server.returncode is None:
            server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)

    assert answer.startswith("HTTP/1.1 200"), answer
    assert '"status":"ok"' in answer
