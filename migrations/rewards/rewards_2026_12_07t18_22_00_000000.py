"""One redemption per member and Idempotency-Key (a retried redemption, or a grant applied
again, finds the first), and the counter's list by status and expiry."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T18:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one redemption per member and key; the counter's order"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="redemption"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rewards", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("CREATE UNIQUE INDEX redemption_one_per_key ON redemption (member, idempotency_key)")
        await raw.raw("CREATE INDEX redemption_due ON redemption (status, expires_at)")

    async def run_backwards():
        raw = _table()
        await raw.raw("DROP INDEX redemption_due")
        await raw.raw("DROP INDEX redemption_one_per_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
