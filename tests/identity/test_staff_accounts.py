"""Staff accounts: loyalty.identity.service.create_staff / staff_login / get_staff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
import time_machine
from piccolo.apps.user.tables import BaseUser

from loyalty.app import create_app
from loyalty.settings import Settings

from loyalty.errors import InvalidField, NotAuthenticated, StaffLoginFailed, StaffLoginLocked
from loyalty.identity import service
from loyalty.identity.tables import ROLES, StaffAccount
from tests.identity.builders import STAFF_PASSWORD, add_staff

DESK = "192.0.2.10"  # the staff member's own desk
STRANGER = "198.51.100.66"  # someone guessing passwords from elsewhere


@pytest.mark.parametrize("role", ROLES)
async def test_a_created_staff_member_logs_in_with_their_password_and_has_their_role(database, role):
    created = await service.create_staff("li.wei", STAFF_PASSWORD, role, display_name="Li Wei")

    logged_in = await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)

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
        await service.staff_login(username, password, client_address=DESK)


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
        await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)
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


async def _guess_wrong(username: str, times: int, address: str = DESK) -> None:
    for _ in range(times):
        with pytest.raises(StaffLoginFailed):
            await service.staff_login(username, "not the password", client_address=address)


async def test_after_ten_wrong_passwords_even_the_right_one_waits_out_the_window(database):
    await add_staff("li.wei", "sales")
    with time_machine.travel(T0, tick=False) as traveller:
        await _guess_wrong("li.wei", GUESS_LIMIT - 1)
        traveller.shift(timedelta(minutes=5))
        await _guess_wrong("li.wei", 1)

        with pytest.raises(StaffLoginLocked) as locked:
            await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)
        # The first failure leaves the 15-minute window 10 minutes from now.
        assert locked.value.retry_after == 10 * 60 + 1
        assert locked.value.status == 429

        traveller.shift(timedelta(seconds=locked.value.retry_after))
        assert (await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)).username == "li.wei"


async def test_a_successful_login_clears_the_count_and_other_logins_are_not_affected(database):
    await add_staff("li.wei", "sales")
    await add_staff("wang.fang", "service")
    await _guess_wrong("li.wei", GUESS_LIMIT - 1)
    await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)
    await _guess_wrong("li.wei", GUESS_LIMIT - 1)  # counted from zero again: not locked yet
    await _guess_wrong("wang.fang", GUESS_LIMIT)

    assert (await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)).username == "li.wei"
    with pytest.raises(StaffLoginLocked):
        await service.staff_login("wang.fang", STAFF_PASSWORD, client_address=DESK)


async def test_unknown_usernames_are_counted_alike(database):
    await _guess_wrong("nobody", GUESS_LIMIT)
    with pytest.raises(StaffLoginLocked):
        await service.staff_login("nobody", "anything at all", client_address=DESK)


async def test_the_api_answers_a_locked_login_with_429_and_retry_after(client, database):
    await add_staff("li.wei", "sales")
    await _guess_wrong("li.wei", GUESS_LIMIT, address="127.0.0.1")  # the test client's address

    response = await client.post(
        "/api/v1/auth/staff-sessions", json={"username": "li.wei", "password": STAFF_PASSWORD},
        headers={"Accept-Language": "zh-CN"},
    )

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == "/problems/staff-login-locked"
    assert response.json()["title"] == "密码错误次数过多，请稍后再试"


async def test_ten_wrong_passwords_from_one_address_lock_that_address_not_the_staff_member_at_their_desk(database):
    await add_staff("li.wei", "sales")
    with time_machine.travel(T0, tick=False):
        await _guess_wrong("li.wei", GUESS_LIMIT, address=STRANGER)

        with pytest.raises(StaffLoginLocked) as locked:
            await service.staff_login("li.wei", STAFF_PASSWORD, client_address=STRANGER)
        at_desk = await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)
        # The desk's login clears the desk's failures only: the stranger stays locked.
        with pytest.raises(StaffLoginLocked):
            await service.staff_login("li.wei", STAFF_PASSWORD, client_address=STRANGER)

    assert locked.value.status == 429 and locked.value.retry_after == 15 * 60 + 1
    assert at_desk.username == "li.wei"


async def test_guessing_from_many_addresses_locks_the_username_everywhere_past_its_ceiling(database):
    await add_staff("li.wei", "sales")
    settings = Settings()
    ceiling = settings.staff_login_username_max_failures  # 50 within an hour, from any address
    with time_machine.travel(T0, tick=False) as traveller:
        for n in range(ceiling):  # 9 a address, under each address's own limit
            await _guess_wrong("li.wei", 1, address=f"203.0.113.{n // 9}")
            traveller.shift(timedelta(seconds=30))

        with pytest.raises(StaffLoginLocked) as locked:
            await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)
        # The first failure leaves the hour 60 - 25 minutes from now.
        assert locked.value.retry_after == 35 * 60 + 1
        traveller.shift(timedelta(seconds=locked.value.retry_after))
        assert (await service.staff_login("li.wei", STAFF_PASSWORD, client_address=DESK)).username == "li.wei"


async def test_the_api_counts_a_staff_login_against_the_callers_address(database, settings):
    """Over HTTP the address is the caller's (loyalty.ops.client_address): wrong passwords
    from one peer lock that peer, and another peer still logs in."""
    await add_staff("li.wei", "sales")
    app = create_app(settings, engine=database.engine)

    def caller(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url="http://testserver")

    wrong = {"username": "li.wei", "password": "not the password"}
    right = {"username": "li.wei", "password": STAFF_PASSWORD}
    async with caller(STRANGER) as stranger, caller(DESK) as desk:
        guesses = [await stranger.post("/api/v1/auth/staff-sessions", json=wrong) for _ in range(GUESS_LIMIT)]
        stranger_right = await stranger.post("/api/v1/auth/staff-sessions", json=right)
        desk_right = await desk.post("/api/v1/auth/staff-sessions", json=right)

    assert [r.status_code for r in guesses] == [401] * GUESS_LIMIT
    assert (stranger_right.status_code, stranger_right.json()["type"]) == (429, "/problems/staff-login-locked")
    assert int(stranger_right.headers["retry-after"]) > 0
    assert desk_right.status_code == 201
