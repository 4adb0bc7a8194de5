"""One current card per member (a partial unique index: replaced cards don't count), and the
default tier rules of DESIGN.md as rows admins can edit."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:23:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "one current card per member; default tier rules"

# (tier, kind, threshold, window_months, position). Stage thresholds are the stage's place in
# prospect, pre_owner, settling, stable, veteran (veteran = 4). Money is fen.
DEFAULT_RULES = [
    ("platinum", "units_owned", 3, None, 1),
    ("platinum", "signed_referrals", 5, 24, 2),
    ("platinum", "contract_value_fen", 1_000_000_000, None, 3),
    ("gold", "units_owned", 2, None, 1),
    ("gold", "signed_referrals", 2, 24, 2),
    ("gold", "stage", 4, None, 3),
    ("silver", "delivered_units", 1, None, 1),
    ("silver", "signed_referrals", 1, 24, 2),
    ("blue", "units_owned", 1, None, 1),
]


def _table() -> type[Table]:
    # Made per run, so it uses the engine bound now (tests migrate SQLite, then PostgreSQL).
    class _Raw(Table, tablename="card"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="cards", description=DESCRIPTION)

    async def run():
        raw = _table()
        await raw.raw("CREATE UNIQUE INDEX card_one_current_per_member ON card (member) WHERE status <> 'replaced'")
        for tier, kind, threshold, window, position in DEFAULT_RULES:
            await raw.raw(
                "INSERT INTO tier_criterion (tier, kind, threshold, window_months, position, active) "
                "VALUES ({}, {}, {}, {}, {}, {})",
                tier, kind, threshold, window, position, True,
            )

    async def run_backwards():
        raw = _table()
        await raw.raw("DROP INDEX card_one_current_per_member")
        await raw.raw("DELETE FROM tier_criterion")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
