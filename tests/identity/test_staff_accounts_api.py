"""`/api/v1/staff/accounts`: admins list, add, re-role, switch off and reset staff accounts
(loyalty.identity.service: the last active administrator stays, sessions end at once, every
change audited in its transaction)."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from loyalty.app import create_app
from loyalty.audit.service import entries_for
from loyalty.identity.tables import StaffAccount
from tests.identity.builders import STAFF_PASSWORD, add_staff, log_in_staff

URL = "/api/v1/staff/accounts"
PROBLEM_JSON = "application/problem+json"


@contextlib.asynccontextmanager
async def another_browser(database, settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second person's browser: its own cookies, the same app and database."""
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def problem(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == f"/problems/{kind}"
    return body


async def test_an_admin_lists_every_account_with_its_role_whether_active_and_the_last_login(client, database):
    boss = await add_staff("boss", "admin")
    seller = await add_staff("seller", "sales")
    await log_in_staff(client, "boss")

    response = await client.get(URL)

    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()}
    assert set(rows) == {"boss", "seller"}
    assert rows["boss"]["id"] == boss.id and rows["boss"]["role"] == "admin" and rows["boss"]["active"] is True
    assert rows["boss"]["last_login"] is not None  # logged in just now
    assert rows["seller"] == {**rows["seller"], "id": seller.id, "role": "sales", "display_name": "Seller", "last_login": None}
    assert "password" not in str(response.json())


@pytest.mark.parametrize("role", ["sales", "event_staff", "service"])
async def test_a_staff_member_who_is_not_an_admin_may_not_touch_accounts(client, database, role):
    await add_staff("boss", "admin")
    await add_staff("someone", role)
    target = await add_staff("target", "sales")
    await log_in_staff(client, "someone")

    refused = [
        await client.get(URL),
        await client.post(URL, json={"username": "newbie", "role": "admin"}),
        await client.put(f"{URL}/{target.id}/role", json={"role": "admin"}),
        await client.post(f"{URL}/{target.id}/deactivation"),
        await client.post(f"{URL}/{target.id}/password", json={}),
    ]

    for response in refused:
        assert problem(response, 403, "forbidden")["role"] == role
    assert not await BaseUser.exists().where(BaseUser.username == "newbie")
    account = await StaffAccount.select(StaffAccount.role, StaffAccount.active).where(StaffAccount.id == target.id).first()
    assert account == {"role": "sales", "active": True}


async def test_a_new_account_without_a_password_gets_a_one_time_password_shown_once_and_stored_hashed(
    client, database, settings
):
    boss = await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    created = await client.post(URL, json={"username": "li.wei", "display_name": "李伟", "role": "service"})

    assert created.status_code == 201, created.text
    body = created.json()
    password = body["one_time_password"]
    assert len(password) >= 10
    assert (body["username"], body["display_name"], body["role"], body["active"]) == ("li.wei", "李伟", "service", True)
    stored = await BaseUser.select(BaseUser.password).where(BaseUser.username == "li.wei").first()
    assert password not in stored["password"] and stored["password"].startswith("pbkdf2_sha256$")
    listed = (await client.get(URL)).json()
    assert all("one_time_password" not in row for row in listed)  # shown that once, never again
    async with another_browser(database, settings) as theirs:
        await log_in_staff(theirs, "li.wei", password)
        assert (await theirs.get("/api/v1/staff/me")).json()["role"] == "service"
    [entry] = await entries_for("staff_account", body["id"])
    assert (entry["action"], entry["actor_id"], entry["data"]) == ("staff.create", boss.id, {"username": "li.wei", "role": "service"})
    assert password not in str(entry)


async def test_a_new_account_with_the_admins_password_logs_in_with_it(client, database, settings):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    created = await client.post(URL, json={"username": "zhao", "role": "sales", "password": "a-first-password"})

    assert created.status_code == 201 and created.json()["one_time_password"] is None
    async with another_browser(database, settings) as theirs:
        await log_in_staff(theirs, "zhao", "a-first-password")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "zhao", "role": "sales", "password": "short"}, "password"),
        ({"username": "zhao", "role": "boss"}, "role"),
        ({"username": "seller", "role": "sales"}, "username"),  # taken
        ({"username": "has space", "role": "sales"}, "username"),
    ],
)
async def test_a_new_account_is_refused_naming_the_field_and_nothing_is_made(client, database, body, field):
    await add_staff("boss", "admin")
    await add_staff("seller", "sales")
    await log_in_staff(client, "boss")

    response = await client.post(URL, json=body)

    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await StaffAccount.count() == 2


async def test_a_role_change_holds_from_the_staff_members_next_request_and_is_audited(client, database, settings):
    boss = await add_staff("boss", "admin")
    other = await add_staff("second.boss", "admin")
    await log_in_staff(client, "boss")
    async with another_browser(database, settings) as theirs:
        await log_in_staff(theirs, "second.boss")
        assert (await theirs.get(URL)).status_code == 200

        changed = await client.put(f"{URL}/{other.id}/role", json={"role": "sales"})

        assert changed.status_code == 200 and changed.json()["role"] == "sales"
        problem(await theirs.get(URL), 403, "forbidden")  # the same session, refused at once
    superuser = await BaseUser.select(BaseUser.superuser).where(BaseUser.username == "second.boss").first()
    assert superuser == {"superuser": False}  # /admin no longer shows them every table
    [entry] = await entries_for("staff_account", other.id)
    assert (entry["action"], entry["actor_id"], entry["data"]) == ("staff.role", boss.id, {"from": "admin", "to": "sales"})


async def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(client, database):
    boss = await add_staff("boss", "admin")
    await add_staff("seller", "sales")
    await log_in_staff(client, "boss")

    demoted = await client.put(f"{URL}/{boss.id}/role", json={"role": "service"})
    deactivated = await client.post(f"{URL}/{boss.id}/deactivation")

    for response in (demoted, deactivated):
        body = problem(response, 409, "last-admin")
        assert "最后一个在职的管理员" in body["detail"]  # in the reader's language (zh-CN by default)
    assert await StaffAccount.select(StaffAccount.role, StaffAccount.active).where(StaffAccount.id == boss.id).first() == {
        "role": "admin", "active": True,
    }
    assert await entries_for("staff_account", boss.id) == []  # nothing changed, nothing recorded
    assert (await client.get(URL)).status_code == 200  # still an admin, still logged in


async def test_of_two_admins_one_may_step_down_and_then_the_other_is_the_last(client, database):
    boss = await add_staff("boss", "admin")
    other = await add_staff("second.boss", "admin")
    await log_in_staff(client, "boss")

    assert (await client.post(f"{URL}/{other.id}/deactivation")).status_code == 200
    # A switched-off admin is no administrator who could still manage staff.
    problem(await client.put(f"{URL}/{boss.id}/role", json={"role": "sales"}), 409, "last-admin")

    promoted = await client.post(URL, json={"username": "third.boss", "role": "admin"})
    assert promoted.status_code == 201
    stepped_down = await client.put(f"{URL}/{boss.id}/role", json={"role": "sales"})
    assert stepped_down.status_code == 200 and stepped_down.json()["role"] == "sales"
    problem(await client.get(URL), 403, "forbidden")  # no longer an admin themselves


async def test_a_deactivated_staff_members_open_session_is_refused_at_once_and_they_cannot_log_in(client, database, settings):
    boss = await add_staff("boss", "admin")
    seller = await add_staff("seller", "sales")
    await log_in_staff(client, "boss")
    async with another_browser(database, settings) as theirs:
        await log_in_staff(theirs, "seller")
        assert (await theirs.get("/api/v1/staff/referrals")).status_code == 200

        switched_off = await client.post(f"{URL}/{seller.id}/deactivation")

        assert switched_off.status_code == 200 and switched_off.json()["active"] is False
        problem(await theirs.get("/api/v1/staff/referrals"), 401, "not-authenticated")
        problem(await theirs.get("/api/v1/staff/me"), 401, "not-authenticated")
        again = await theirs.post("/api/v1/auth/staff-sessions", json={"username": "seller", "password": STAFF_PASSWORD})
        problem(again, 401, "staff-login-failed")
    [entry] = await entries_for("staff_account", seller.id)
    assert (entry["action"], entry["actor_id"]) == ("staff.deactivate", boss.id)
    listed = {row["username"]: row for row in (await client.get(URL)).json()}
    assert listed["seller"]["active"] is False


async def test_a_password_reset_gives_a_one_time_password_and_ends_the_old_sessions(client, database, settings):
    boss = await add_staff("boss", "admin")
    seller = await add_staff("seller", "sales")
    await log_in_staff(client, "boss")
    async with another_browser(database, settings) as theirs:
        await log_in_staff(theirs, "seller")

        reset = await client.post(f"{URL}/{seller.id}/password", json={})

        assert reset.status_code == 200, reset.text
        password = reset.json()["one_time_password"]
        problem(await theirs.get("/api/v1/staff/me"), 401, "not-authenticated")
        old = await theirs.post("/api/v1/auth/staff-sessions", json={"username": "seller", "password": STAFF_PASSWORD})
        problem(old, 401, "staff-login-failed")
        await log_in_staff(theirs, "seller", password)
        assert (await theirs.get("/api/v1/staff/me")).status_code == 200
    [entry] = await entries_for("staff_account", seller.id)
    assert (entry["action"], entry["actor_id"]) == ("staff.password_reset", boss.id)
    assert password not in str(entry)


async def test_an_unknown_account_is_404(client, database):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    problem(await client.post(f"{URL}/9999/deactivation"), 404, "not-found")
    problem(await client.put(f"{URL}/9999/role", json={"role": "sales"}), 404, "not-found")
