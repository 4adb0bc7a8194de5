"""A broadcast's delivery stats count its outbox rows, found by their template
(`broadcast:<id>`): an index on the template, so the Messages page's list does not scan the
whole outbox."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T21:16:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox rows by template (a broadcast's delivery stats)"

INDEXES = [
    ("outbox_by_template", "CREATE INDEX outbox_by_template ON outbox_message (template)"),
]


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="outbox_message"):
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
