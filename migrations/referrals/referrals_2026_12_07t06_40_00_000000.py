"""The database refuses lead stages that do not exist and reward rules that would mint points: at most 100,000 points a reward."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from loyalty.db_checks import add_checks, drop_checks, one_of

ID = "2026-12-07T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lead stages are known ones; rewards are 0 to 100,000 points"

CHECKS = {
    "lead": {
        "lead_stage_known": one_of("stage", ("registered", "visited", "subscribed", "signed", "cancelled")),
    },
    "reward_rule": {
        "reward_rule_points_range": "{points} BETWEEN 0 AND 100000",
        "reward_rule_vesting_days_range": "{vesting_days} >= 0",
        "reward_rule_stage_known": one_of("stage", ("registered", "visited", "subscribed", "signed")),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run():
        for tablename, checks in CHECKS.items():
            await add_checks(tablename, checks)

    async def run_backwards():
        for tablename, checks in CHECKS.items():
            await drop_checks(tablename, checks)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
