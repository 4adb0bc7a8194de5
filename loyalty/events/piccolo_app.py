from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.events.tables import DoorDeviceToken, Event, Payment, Program, Scan, Signup, StripeEvent

APP_CONFIG = AppConfig(
    app_name="events",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "events"),
    table_classes=[Program, Event, Payment, Signup, StripeEvent, Scan, DoorDeviceToken],
    migration_dependencies=["loyalty.members.piccolo_app"],
    commands=[],
)
