"""Door scanner hardening: each scan keeps its code's hash (a reused nonce with another code is
refused, not replayed) and whether staff must look at it (`conflict`: admitted / turned_away);
a phone set up from a QR has a session row that expires with the event day and can be ended."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T15:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scan conflict kind and code hash; door device session expiry and revocation"


def _raw() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="scan"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        raw = _raw()
        await raw.raw("ALTER TABLE scan ADD COLUMN conflict VARCHAR(16) NOT NULL DEFAULT ''")
        await raw.raw("ALTER TABLE scan ADD COLUMN code_hash VARCHAR(64) NOT NULL DEFAULT ''")
        await raw.raw("UPDATE scan SET conflict = 'admitted' WHERE offline_result = 'checked_in' AND result <> 'checked_in'")
        await raw.raw("CREATE INDEX scan_conflicts ON scan (event, conflict)")
        await raw.raw("ALTER TABLE door_device_token ADD COLUMN session_expires_at TIMESTAMPTZ NULL")
        await raw.raw("ALTER TABLE door_device_token ADD COLUMN revoked_at TIMESTAMPTZ NULL")

    async def run_backwards():
        raw = _raw()
        await raw.raw("ALTER TABLE door_device_token DROP COLUMN revoked_at")
        await raw.raw("ALTER TABLE door_device_token DROP COLUMN session_expires_at")
        await raw.raw("DROP INDEX scan_conflicts")
        await raw.raw("ALTER TABLE scan DROP COLUMN code_hash")
        await raw.raw("ALTER TABLE scan DROP COLUMN conflict")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
