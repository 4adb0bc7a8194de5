"""Uniques Piccolo cannot declare portably: one sale per merchant idempotency key, one
reversal per sale key, one store code per merchant."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique idempotency keys for sales and reversals; store codes"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="sale"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="merchants", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("CREATE UNIQUE INDEX sale_merchant_key_unique ON sale (merchant, idempotency_key)")
        await raw.raw("CREATE UNIQUE INDEX sale_reversal_key_unique ON sale_reversal (merchant, idempotency_key)")
        await raw.raw("CREATE UNIQUE INDEX store_merchant_code_unique ON store (merchant, code)")

    async def run_backwards():
        raw = _table()
        for index in ("sale_merchant_key_unique", "sale_reversal_key_unique", "store_merchant_code_unique"):
            await raw.raw(f"DROP INDEX {index}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
