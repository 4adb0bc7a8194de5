from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.cards.tables import Card, TierAssignment, TierChange, TierCriterion, TypedCode

APP_CONFIG = AppConfig(
    app_name="cards",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "cards"),
    table_classes=[Card, TierCriterion, TierAssignment, TierChange, TypedCode],
    migration_dependencies=["loyalty.members.piccolo_app"],
    commands=[],
)
