"""Every staff login may open /admin (piccolo-admin lets in users marked `admin`); what each
sees there is decided by its role (admin_ui/admin.py). Superuser stays for admins only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T17:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff may log in to /admin"


def _table() -> type[Table]:
    class _Raw(Table, tablename="staff_account"):
        pass

    return _Raw


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="identity", description=DESCRIPTION)

    async def run():
        await _table().raw('UPDATE piccolo_user SET admin = {} WHERE id IN (SELECT "user" FROM staff_account)', True)

    manager.add_raw(run)
    return manager
