from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.rewards.tables import Redemption, Reward, RewardGrant, RewardGrantRule, RewardPicture

APP_CONFIG = AppConfig(
    app_name="rewards",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "rewards"),
    table_classes=[Reward, RewardGrantRule, RewardGrant, Redemption, RewardPicture],
    migration_dependencies=["loyalty.members.piccolo_app", "loyalty.merchants.piccolo_app", "loyalty.events.piccolo_app"],
    commands=[],
)
