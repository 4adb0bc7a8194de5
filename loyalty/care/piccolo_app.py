from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.care.tables import OutboxMessage

APP_CONFIG = AppConfig(
    app_name="care",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "care"),
    table_classes=[OutboxMessage],
    migration_dependencies=[],
    commands=[],
)
