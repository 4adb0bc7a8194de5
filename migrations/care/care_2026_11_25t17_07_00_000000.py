"""Once per owner per occasion (the outbox's dedupe key), one opt-out per member and kind, one
survey per owner and subject, and the dispatcher's index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T17:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox dedupe key; opt-outs and surveys unique; dispatch index"

INDEXES = [
    ("outbox_once_per_occasion", "CREATE UNIQUE INDEX outbox_once_per_occasion ON outbox_message (dedupe_key)"),
    ("outbox_due", "CREATE INDEX outbox_due ON outbox_message (status, next_attempt_at)"),
    ("opt_out_once", "CREATE UNIQUE INDEX opt_out_once ON opt_out (member, kind)"),
    ("survey_once", "CREATE UNIQUE INDEX survey_once ON survey (kind, subject_id, member)"),
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
