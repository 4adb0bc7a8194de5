"""A voucher code is one redemption's (its hash unique), and a till's Idempotency-Key uses one
voucher (unique as "<merchant>:<key>": a retry finds its first answer, never a second voucher).
Raw indexes: SQLite cannot add a UNIQUE column."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T21:10:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "one redemption per voucher code; one voucher per till key"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="redemption"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rewards", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("CREATE UNIQUE INDEX redemption_voucher_hash ON redemption (voucher_hash)")
        await raw.raw("CREATE UNIQUE INDEX redemption_voucher_used_key ON redemption (voucher_used_key)")

    async def run_backwards():
        raw = _table()
        await raw.raw("DROP INDEX redemption_voucher_used_key")
        await raw.raw("DROP INDEX redemption_voucher_hash")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
