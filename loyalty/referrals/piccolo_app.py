from pathlib import Path

from piccolo.conf.apps import AppConfig

from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, ReferralAttempt, RewardRule

APP_CONFIG = AppConfig(
    app_name="referrals",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "referrals"),
    table_classes=[Lead, LeadStageChange, OfficeVisit, RewardRule, ReferralAttempt],
    migration_dependencies=["loyalty.members.piccolo_app", "loyalty.rewards.piccolo_app"],
    commands=[],
)
