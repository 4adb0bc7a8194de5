"""Unique indexes Piccolo cannot yet declare portably: one unit per project address, one
ownership row per member and unit (so an import upserts instead of duplicating)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:12:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique unit address and member-unit ownership"


def _raw_table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="unit"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_indexes():
        _Raw = _raw_table()
        await _Raw.raw(
            "CREATE UNIQUE INDEX unit_address_unique ON unit (project, phase, building, room)"
        )
        await _Raw.raw("CREATE UNIQUE INDEX ownership_member_unit_unique ON ownership (member, unit)")

    async def drop_indexes():
        _Raw = _raw_table()
        await _Raw.raw("DROP INDEX unit_address_unique")
        await _Raw.raw("DROP INDEX ownership_member_unit_unique")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
