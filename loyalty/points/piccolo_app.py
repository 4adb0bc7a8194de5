from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.points.tables import LedgerEntry, LotDraw, PointsAccount, PointsAdjustmentRequest, PointsLot

APP_CONFIG = AppConfig(
    app_name="points",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "points"),
    table_classes=[PointsAccount, LedgerEntry, PointsLot, LotDraw, PointsAdjustmentRequest],
    migration_dependencies=["loyalty.members.piccolo_app"],
    commands=[],
)
