"""One grant per standing rule and occasion (two runs of the rules' job at once find the same
one), and a redemption's gifts found by their grant."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one grant per rule and occasion"


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="reward_grant"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rewards", description=DESCRIPTION)

    async def run():
        await _table().raw("CREATE UNIQUE INDEX reward_grant_one_per_occasion ON reward_grant (rule, occasion_key)")

    async def run_backwards():
        await _table().raw("DROP INDEX reward_grant_one_per_occasion")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
