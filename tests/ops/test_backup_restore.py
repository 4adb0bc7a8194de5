"""The README's backup and restore lines, run as written against the test database: the
restored copy has every row, is migrated, and its books balance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from loyalty import db
from loyalty.points import service as points
from tests.members_builders import import_rows

ROOT = Path(__file__).resolve().parents[2]


def readme_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Backup and restore", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()]


async def _counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return {row["tablename"]: await connection.fetchval(f'SELECT count(*) FROM "{row["tablename"]}"') for row in tables}
    finally:
        await connection.close()


@pytest.mark.postgres_only
async def test_the_readme_backup_and_restore_lines_give_a_whole_copy(database, tmp_path):
    await import_rows(tmp_path, [
        {"phone": "13800138001", "name": "李四", "contract_date": "2020-01-01", "delivery_date": "2021-01-01"},
        {"phone": "13800138002", "name": "王五", "contract_date": "2025-03-01"},
    ])
    member = (await db.fetch("SELECT id FROM member ORDER BY id LIMIT 1"))[0]["id"]
    await points.earn(member, 5000, key="backup-seed", source_kind="test")
    await points.redeem(member, 1200, key="backup-spend", source_kind="test")

    source = database.settings().database_url
    parts = urlsplit(source)
    restored = urlunsplit(parts._replace(path=f"{parts.path}_restored"))
    name = restored.rsplit("/", 1)[1]
    admin = urlunsplit(parts._replace(path="/postgres"))
    await _drop(admin, name)

    lines = readme_lines()
    assert lines[0].startswith("export BACKUP=") and len(lines) == 5
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": source,
        "BACKUP": str(tmp_path / "owner-club.dump"),
        "RESTORED": restored,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        # A server's usual locale, naming no language: the CLI reports in Chinese.
        "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8",
    }
    try:
        for line in lines[1:]:  # the first line only sets the example values replaced above
            done = subprocess.run(["bash", "-c", line], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "所有会员的积分流水与余额一致" in done.stdout + done.stderr  # audit-ledger found no drift

        before, after = await _counts(source), await _counts(restored)
        assert after == before and before["ledger_entry"] >= 2 and before["member"] == 2
        connection = await asyncpg.connect(restored)
        try:
            applied = await connection.fetchval("SELECT count(*) FROM migration")
            balance = await connection.fetchval("SELECT sum(available_delta) FROM ledger_entry")
        finally:
            await connection.close()
        assert applied == before["migration"] and applied > 0
        assert balance == 5000 - 1200
    finally:
        await _drop(admin, name)


async def _drop(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
