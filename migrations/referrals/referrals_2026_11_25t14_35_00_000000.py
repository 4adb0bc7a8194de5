"""The default reward rules of DESIGN.md, as rows staff can change: 200 points to the referrer
at the visit; at signing 5,000 to the referrer (pending 30 days) and 2,000 welcome points to
the new owner."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "default referral reward rules"

DEFAULT_REWARDS = [
    ("visited", "referrer", 200, 0),
    ("signed", "referrer", 5000, 30),
    ("signed", "new_owner", 2000, 0),
]


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="reward_rule"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run():
        raw = _table()
        for stage, beneficiary, points, vesting_days in DEFAULT_REWARDS:
            await raw.raw(
                "INSERT INTO reward_rule (stage, beneficiary, points, vesting_days, active) VALUES ({}, {}, {}, {}, {})",
                stage, beneficiary, points, vesting_days, True,
            )

    async def run_backwards():
        await _table().raw("DELETE FROM reward_rule")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
