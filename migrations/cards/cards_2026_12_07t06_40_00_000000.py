"""The database refuses tiers, card statuses and rule kinds that do not exist."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from loyalty.db_checks import add_checks, drop_checks, one_of

ID = "2026-12-07T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cards and tier rules refuse unknown tiers, statuses and kinds"

CHECKS = {
    "card": {
        "card_tier_known": one_of("tier", ("platinum", "gold", "silver", "blue")),
        "card_status_known": one_of("status", ("active", "suspended", "replaced")),
    },
    "tier_criterion": {
        "tier_criterion_tier_known": one_of("tier", ("platinum", "gold", "silver", "blue")),
        "tier_criterion_kind_known": one_of("kind", ("units_owned", "delivered_units", "contract_value_fen", "stage", "signed_referrals")),
    },
    "tier_assignment": {
        "tier_assignment_tier_known": one_of("tier", ("platinum", "gold", "silver", "blue")),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="cards", description=DESCRIPTION)

    async def run():
        for tablename, checks in CHECKS.items():
            await add_checks(tablename, checks)

    async def run_backwards():
        for tablename, checks in CHECKS.items():
            await drop_checks(tablename, checks)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
