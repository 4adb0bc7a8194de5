from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.identity.tables import LoginCode, StaffAccount, StaffLoginFailure, WechatBinding

APP_CONFIG = AppConfig(
    app_name="identity",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "identity"),
    table_classes=[LoginCode, StaffAccount, StaffLoginFailure, WechatBinding],
    migration_dependencies=["piccolo.apps.user.piccolo_app", "loyalty.members.piccolo_app"],
    commands=[],
)
