from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.ops.tables import PeriodicJob

APP_CONFIG = AppConfig(
    app_name="ops",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "ops"),
    table_classes=[PeriodicJob],
    migration_dependencies=[],
    commands=[],
)
