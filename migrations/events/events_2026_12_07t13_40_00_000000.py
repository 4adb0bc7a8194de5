"""Scans made offline at the door: which device made each one and what it told the person at the
door, so the server can say when two offline doors both let the same ticket in (a conflict); and
the one-time codes that set a volunteer's phone up as a door scanner."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-07T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offline scans: device and the answer given offline; door device set-up codes"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="scan"):
        pass

    return _Raw


def _tokens() -> type[Table]:
    class DoorDeviceToken(Table, tablename="door_device_token"):
        token_hash = Varchar(length=64, unique=True)
        staff = Integer()
        event = Integer(index=True)
        gate = Varchar(length=50)
        expires_at = Timestamptz()
        used_at = Timestamptz(null=True, default=None)
        created_at = Timestamptz(default=TimestamptzNow())

    return DoorDeviceToken


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("ALTER TABLE scan ADD COLUMN device VARCHAR(64) NOT NULL DEFAULT ''")
        await raw.raw("ALTER TABLE scan ADD COLUMN offline_result VARCHAR(24) NOT NULL DEFAULT ''")
        # The staff's list of conflicts reads only the few scans an offline door let in.
        await raw.raw("CREATE INDEX scan_offline_admissions ON scan (event, offline_result)")
        await _tokens().create_table().run()  # with its index on event

    async def run_backwards():
        await _tokens().alter().drop_table().run()
        raw = _table()
        await raw.raw("DROP INDEX scan_offline_admissions")
        await raw.raw("ALTER TABLE scan DROP COLUMN offline_result")
        await raw.raw("ALTER TABLE scan DROP COLUMN device")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
