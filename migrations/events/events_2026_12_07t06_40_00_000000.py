"""The database refuses impossible events and signups: negative capacities, seats or fees, attendance points beyond 100,000 (the service's ceiling), kinds and statuses that do not exist. /admin once let event staff store a billion attendance points."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from loyalty.db_checks import add_checks, drop_checks, one_of

ID = "2026-12-07T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events and signups refuse impossible values"

CHECKS = {
    "event": {
        "event_capacity_range": "{capacity} >= 0",
        "event_seats_taken_range": "{seats_taken} >= 0",
        "event_party_size_limit_range": "{party_size_limit} >= 1",
        "event_fees_range": "{fee_platinum_fen} >= 0 AND {fee_gold_fen} >= 0 AND {fee_silver_fen} >= 0 AND {fee_blue_fen} >= 0",
        "event_attendance_points_range": "{attendance_points} BETWEEN 0 AND 100000",
        "event_kind_known": one_of("kind", ("club_activity", "owner_meetup", "festival_gathering", "site_open_day", "decoration_seminar", "other")),
        "event_status_known": one_of("status", ("draft", "published", "cancelled")),
    },
    "signup": {
        "signup_party_size_range": "{party_size} >= 1",
        "signup_amounts_range": "{fee_fen} >= 0 AND {refund_fen} >= 0 AND {refund_fen} <= {fee_fen}",
        "signup_status_known": one_of("status", ("pending_payment", "confirmed", "waitlisted", "cancelled", "attended", "no_show")),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        for tablename, checks in CHECKS.items():
            await add_checks(tablename, checks)

    async def run_backwards():
        for tablename, checks in CHECKS.items():
            await drop_checks(tablename, checks)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
