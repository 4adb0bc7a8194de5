"""Staff accounts: loyalty.identity.service.create_staff / staff_login / get_staff."""

from __future__ import annotations

import pytest
from piccolo.apps.user.tables import BaseUser

from loyalty.errors import InvalidField, NotAuthenticated, StaffLoginFailed
from loyalty.identity import service
from loyalty.identity.tables import ROLES, StaffAccount
from tests.identity.builders import STAFF_PASSWORD, add_staff


@pytest.mark.parametrize("role", ROLES)
async def test_a_created_staff_member_logs_in_with_their_password_and_has_their_role(database, role):
    created = await service.create_staff("li.wei", STAFF_PASSWORD, role, display_name="Li Wei")

    logged_in = await service.staff_login("li.wei", STAFF_PASSWORD)

    assert logged_in == created
    assert (logged_in.username, logged_in.role, logged_in.display_name) == ("li.wei", role, "Li Wei")
    assert await service.get_staff(created.id) == created


async def test_the_password_is_stored_hashed_not_in_clear(database):
    await add_staff("li.wei", "sales")

    stored = await BaseUser.select(BaseUser.password).where(BaseUser.username == "li.wei").first()

    assert STAFF_PASSWORD not in stored["password"]
    assert stored["password"].startswith("pbkdf2_sha256$")


async def test_every_staff_role_may_open_the_admin_and_only_admins_are_superusers(database):
    """piccolo-admin lets in `admin` users; admin_ui/admin.py shows each role its own tables."""
    await add_staff("boss", "admin")
    await add_staff("seller", "sales")

    rights = {
        row["username"]: (row["admin"], row["superuser"])
        for row in await BaseUser.select(BaseUser.username, BaseUser.admin, BaseUser.superuser)
    }

    assert rights == {"boss": (True, True), "seller": (True, False)}


async def test_staff_without_email_can_be_created_side_by_side(database):
    first = await add_staff("a.staff", "sales")
    second = await add_staff("b.staff", "service")

    assert first.id != second.id
    assert await StaffAccount.count() == 2


@pytest.mark.parametrize(
    ("username", "password"),
    [("li.wei", "not the password"), ("nobody", STAFF_PASSWORD), ("li.wei", "")],
    ids=["wrong-password", "unknown-user", "empty-password"],
)
async def test_a_wrong_username_or_password_is_refused(database, username, password):
    await add_staff("li.wei", "sales")

    with pytest.raises(StaffLoginFailed):
        await service.staff_login(username, password)


async def test_an_unknown_role_is_refused_naming_the_role_field(database):
    with pytest.raises(InvalidField) as refused:
        await service.create_staff("li.wei", STAFF_PASSWORD, "janitor")

    assert refused.value.field == "role"
    assert await StaffAccount.count() == 0


async def test_a_password_shorter_than_ten_characters_is_refused(database):
    with pytest.raises(InvalidField) as refused:
        await service.create_staff("li.wei", "123456789", "sales")

    assert refused.value.field == "password"
    assert await BaseUser.count() == 0


async def test_a_password_longer_than_the_hasher_accepts_is_refused_as_an_invalid_field(database):
    """Piccolo refuses passwords over 128 characters with a bare ValueError; the service must
    turn that into the typed error, or `loyalty create-staff` and the API crash with a 500."""
    with pytest.raises(InvalidField) as refused:
        await service.create_staff("li.wei", "x" * 129, "sales")

    assert refused.value.field == "password"
    assert await BaseUser.count() == 0


async def test_a_username_can_be_taken_only_once(database):
    await add_staff("li.wei", "sales")

    with pytest.raises(InvalidField) as refused:
        await service.create_staff("li.wei", STAFF_PASSWORD, "admin")

    assert refused.value.field == "username"
    assert await StaffAccount.count() == 1


async def test_a_switched_off_staff_account_can_neither_log_in_nor_keep_its_session(database):
    staff = await add_staff("li.wei", "sales")

    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == staff.id)

    with pytest.raises(StaffLoginFailed):
        await service.staff_login("li.wei", STAFF_PASSWORD)
    with pytest.raises(NotAuthenticated):
        await service.get_staff(staff.id)


async def test_a_switched_off_login_ends_the_staff_session(database):
    staff = await add_staff("li.wei", "sales")

    await BaseUser.update({BaseUser.active: False}).where(BaseUser.username == "li.wei")

    with pytest.raises(NotAuthenticated):
        await service.get_staff(staff.id)


async def test_an_unknown_staff_id_has_no_session(database):
    with pytest.raises(NotAuthenticated):
        await service.get_staff(4242)
