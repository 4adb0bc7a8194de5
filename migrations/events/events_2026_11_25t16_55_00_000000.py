"""One live signup per member and event (a partial unique index: cancelled ones don't count),
one answer per scanner nonce and event, and the waitlist's order."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T16:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one live signup per member and event; scanner nonces; waitlist order"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="signup"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("CREATE UNIQUE INDEX signup_one_live_per_member ON signup (event, member) WHERE status <> 'cancelled'")
        await raw.raw("CREATE UNIQUE INDEX scan_one_answer_per_nonce ON scan (event, nonce) WHERE nonce IS NOT NULL")
        await raw.raw("CREATE INDEX signup_queue ON signup (event, status, id)")

    async def run_backwards():
        raw = _table()
        await raw.raw("DROP INDEX signup_queue")
        await raw.raw("DROP INDEX scan_one_answer_per_nonce")
        await raw.raw("DROP INDEX signup_one_live_per_member")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
