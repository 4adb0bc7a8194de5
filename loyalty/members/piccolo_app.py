from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.members.tables import Member, OwnerImport, Ownership, Project, Unit

APP_CONFIG = AppConfig(
    app_name="members",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "members"),
    table_classes=[Project, Unit, Member, Ownership, OwnerImport],
    migration_dependencies=[],
    commands=[],
)
