"""Staff accounts: loyalty.identity.service.create_staff / staff_login / get_staff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from piccolo.apps.user.tables import BaseUser

from loyalty.errors import InvalidField, NotAuthenticated, StaffLoginFailed, StaffLoginLocked
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


# --- password guessing --------------------------------------------------------------------------

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
GUESS_LIMIT = 10  # LOYALTY_STAFF_LOGIN_MAX_FAILURES's default, within 15 minutes


async def _guess_wrong(username: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(StaffLoginFailed):
            await service.staff_login(username, "not the password")


async def test_after_ten_wrong_passwords_even_the_right_one_waits_out_the_window(database):
    await add_staff("li.wei", "sales")
    with time_machine.travel(T0, tick=False) as traveller:
        await _guess_wrong("li.wei", GUESS_LIMIT - 1)
        traveller.shift(timedelta(minutes=5))
        await _guess_wrong("li.wei", 1)

        with pytest.raises(StaffLoginLocked) as locked:
            await service.staff_login("li.wei", STAFF_PASSWORD)
        # The first failure leaves the 15-minute window 10 minutes from now.
        assert locked.value.retry_after == 10 * 60 + 1
        assert locked.value.status == 429

        traveller.shift(timedelta(seconds=locked.value.retry_after))
        assert (await service.staff_login("li.wei", STAFF_PASSWORD)).username == "li.wei"


async def test_a_successful_login_clears_the_count_and_other_logins_are_not_affected(database):
    await add_staff("li.wei", "sales")
    await add_staff("wang.fang", "service")
    await _guess_wrong("li.wei", GUESS_LIMIT - 1)
    await service.staff_login("li.wei", STAFF_PASSWORD)
    await _guess_wrong("li.wei", GUESS_LIMIT - 1)  # counted from zero again: not locked yet
    await _guess_wrong("wang.fang", GUESS_LIMIT)

    assert (await service.staff_login("li.wei", STAFF_PASSWORD)).username == "li.wei"
    with pytest.raises(StaffLoginLocked):
        await service.staff_login("wang.fang", STAFF_PASSWORD)


async def test_unknown_usernames_are_counted_alike(database):
    await _guess_wrong("nobody", GUESS_LIMIT)
    with pytest.raises(StaffLoginLocked):
        await service.staff_login("nobody", "anything at all")


async def test_the_api_answers_a_locked_login_with_429_and_retry_after(client, database):
    await add_staff("li.wei", "sales")
    await _guess_wrong("li.wei", GUESS_LIMIT)

    response = await client.post(
        "/api/v1/auth/staff-sessions", json={"username": "li.wei", "password": STAFF_PASSWORD},
        headers={"Accept-Language": "zh-CN"},
    )

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == "/problems/staff-login-locked"
    assert response.json()["title"] == "密码错误次数过多，请稍后再试"
