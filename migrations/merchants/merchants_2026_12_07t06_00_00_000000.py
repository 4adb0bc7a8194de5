"""Uniques Piccolo cannot declare portably: a dynamic code pays for one sale at most (card,
step, nonce; static-code sales have NULLs, which never collide), and one earn counter per
merchant and day."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one sale per dynamic code; one earn counter per merchant and day"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="sale"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="merchants", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw(
            "CREATE UNIQUE INDEX sale_dynamic_code_unique ON sale (card, code_step, code_nonce) WHERE code_step IS NOT NULL"
        )
        await raw.raw("CREATE UNIQUE INDEX merchant_earn_day_unique ON merchant_earn_day (merchant, day)")

    async def run_backwards():
        raw = _table()
        for index in ("sale_dynamic_code_unique", "merchant_earn_day_unique"):
            await raw.raw(f"DROP INDEX {index}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
