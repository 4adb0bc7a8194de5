"""Scans made offline at the door: which device made each one and what it told the person at the
door, so the server can say when two offline doors both let the same ticket in (a conflict)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offline scans: device and the answer given offline"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="scan"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("ALTER TABLE scan ADD COLUMN device VARCHAR(64) NOT NULL DEFAULT ''")
        await raw.raw("ALTER TABLE scan ADD COLUMN offline_result VARCHAR(24) NOT NULL DEFAULT ''")
        # The staff's list of conflicts reads only the few scans an offline door let in.
        await raw.raw("CREATE INDEX scan_offline_admissions ON scan (event, offline_result)")

    async def run_backwards():
        raw = _table()
        await raw.raw("DROP INDEX scan_offline_admissions")
        await raw.raw("ALTER TABLE scan DROP COLUMN offline_result")
        await raw.raw("ALTER TABLE scan DROP COLUMN device")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
