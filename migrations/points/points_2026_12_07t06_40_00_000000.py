"""The database refuses ledger entries and lots of kinds or statuses that do not exist."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from loyalty.db_checks import add_checks, drop_checks, one_of

ID = "2026-12-07T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger kinds and lot statuses are known ones"

CHECKS = {
    "ledger_entry": {
        "ledger_entry_kind_known": one_of("kind", ("earn", "redeem", "expire", "adjust", "reverse", "vest", "void")),
    },
    "points_lot": {
        "points_lot_status_known": one_of("status", ("pending", "available", "expired", "void")),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="points", description=DESCRIPTION)

    async def run():
        for tablename, checks in CHECKS.items():
            await add_checks(tablename, checks)

    async def run_backwards():
        for tablename, checks in CHECKS.items():
            await drop_checks(tablename, checks)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
