from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, MerchantEarnDay, Sale, SaleReversal, Store

APP_CONFIG = AppConfig(
    app_name="merchants",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "merchants"),
    table_classes=[Merchant, Store, DiscountSchedule, ApiKey, Sale, SaleReversal, MerchantEarnDay],
    migration_dependencies=["loyalty.members.piccolo_app"],
    commands=[],
)
