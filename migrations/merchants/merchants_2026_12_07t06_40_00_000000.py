"""The database refuses impossible merchant rules and sales: an earn rate beyond 100 points per CNY, discounts outside 0.01%-100%, negative caps or amounts, a discount above the sale."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from loyalty.db_checks import add_checks, drop_checks, one_of

ID = "2026-12-07T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "merchants, discounts and sales refuse impossible values"

CHECKS = {
    "merchant": {
        "merchant_points_per_cny_range": "{points_per_cny} BETWEEN 0 AND 100",
        "merchant_status_known": one_of("status", ("active", "suspended")),
    },
    "discount_schedule": {
        "discount_schedule_tier_known": one_of("tier", ("platinum", "gold", "silver", "blue")),
        "discount_schedule_percent_range": "{percent_bp} BETWEEN 1 AND 10000",
        "discount_schedule_cap_range": "{cap_fen} >= 0",
    },
    "sale": {
        "sale_amounts_range": "{gross_fen} >= 0 AND {discount_fen} >= 0 AND {discount_fen} <= {gross_fen} "
        "AND {points_redeemed} >= 0 AND {points_value_fen} >= 0 AND {points_earned} >= 0 AND {reversed_fen} >= 0",
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="merchants", description=DESCRIPTION)

    async def run():
        for tablename, checks in CHECKS.items():
            await add_checks(tablename, checks)

    async def run_backwards():
        for tablename, checks in CHECKS.items():
            await drop_checks(tablename, checks)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
