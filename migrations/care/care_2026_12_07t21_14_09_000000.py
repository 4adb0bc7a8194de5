"""A return visit is created once per (member, kind, source): the visits job and a second copy
of it running at the same time insert with ON CONFLICT DO NOTHING against this index. A
subscribed lead's visit has no member yet, and NULLs never collide in a unique index, so the
member is compared as COALESCE(member, 0) (expression indexes work on SQLite and PostgreSQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T21:14:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "return visits: once per member, kind and source; the open-and-due index"

INDEXES = [
    ("return_visit_once", "CREATE UNIQUE INDEX return_visit_once ON return_visit (kind, source, (COALESCE(member, 0)))"),
    ("return_visit_open_due", "CREATE INDEX return_visit_open_due ON return_visit (status, due_at)"),
]


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="return_visit"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="care", description=DESCRIPTION)

    async def run():
        raw = _table()
        for _, statement in INDEXES:
            await raw.raw(statement)

    async def run_backwards():
        raw = _table()
        for name, _ in reversed(INDEXES):
            await raw.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
