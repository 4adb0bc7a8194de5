"""An API key's hash is a secret column: Piccolo's CRUD (piccolo-admin) leaves it out of every
answer. Nothing changes in the database."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-12-07T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api_key.key_hash is secret"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="merchants", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="ApiKey",
        tablename="api_key",
        column_name="key_hash",
        db_column_name="key_hash",
        params={"secret": True},
        old_params={"secret": False},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )
    return manager
