from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.care.tables import (
    BlockedAddress, Broadcast, Case, CaseMessage, CasePhoto, ChannelChoice, DeliveryAttempt, OptOut, OutboxMessage, ReturnVisit,
    Survey, Repair, GroupWarning, ImprovementAction,
)

APP_CONFIG = AppConfig(
    app_name="care",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "care"),
    table_classes=[OutboxMessage, OptOut, Case, CaseMessage, CasePhoto, Survey, DeliveryAttempt, BlockedAddress, ChannelChoice,
                   Broadcast, ReturnVisit, Repair, GroupWarning, ImprovementAction],
    migration_dependencies=["loyalty.members.piccolo_app"],
    commands=[],
)
