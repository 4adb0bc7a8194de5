"""Member login over HTTP (/api/v1/auth/...) and the member's own profile (/api/v1/me)."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import time_machine

from loyalty.app import create_app
from loyalty.members.tables import Member
from tests.conftest import TEST_SECRET
from tests.identity.builders import (
    MEMBER_PHONE,
    STRANGER_PHONE,
    add_member,
    latest_code,
    log_in_member,
    wrong_code,
)

PROBLEM_JSON = "application/problem+json"


async def test_requesting_a_code_answers_202_alike_for_a_member_and_a_stranger(client, member_id):
    for_member = await client.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE})
    for_stranger = await client.post("/api/v1/auth/login-codes", json={"phone": STRANGER_PHONE})

    assert for_member.status_code == for_stranger.status_code == 202
    assert for_member.json() == for_stranger.json()
    assert for_member.json()["sent"] is True
    assert for_member.json()["expires_in_seconds"] == 300


async def test_a_member_logs_in_with_the_code_and_gets_a_session_cookie_that_opens_me(client, member_id):
    await client.post("/api/v1/auth/login-codes", json={"phone": "13800138000"})

    login = await client.post("/api/v1/auth/sessions", json={"phone": "13800138000", "code": await latest_code()})

    assert login.status_code == 201
    assert login.json() == {"member_id": member_id, "name": "王芳"}
    (cookie,) = [c for c in login.headers.get_list("set-cookie") if c.startswith("ocs=")]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["phone"]) == (member_id, MEMBER_PHONE)


async def test_logging_out_ends_the_member_session(client, member_id):
    await log_in_member(client)

    logout = await client.delete("/api/v1/auth/sessions/current")

    assert logout.status_code == 204
    me = await client.get("/api/v1/me")
    assert me.status_code == 401
    assert me.headers["content-type"] == PROBLEM_JSON


async def test_logging_out_also_ends_a_copy_of_the_cookie_and_a_new_login_works(client, database, member_id):
    await log_in_member(client)
    copied = client.cookies["ocs"]

    assert (await client.delete("/api/v1/auth/sessions/current")).status_code == 204
    client.cookies.set("ocs", copied)  # kept by someone else, on another phone
    refused = await client.get("/api/v1/me")
    client.cookies.clear()
    await log_in_member(client)
    again = await client.get("/api/v1/me")

    assert refused.status_code == 401
    assert "您已退出登录" in refused.json()["detail"]  # an owner reads it, in Chinese by default
    assert again.status_code == 200


async def test_me_without_a_session_is_401_problem(client, database):
    response = await client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"


async def test_a_session_cookie_made_with_another_secret_key_is_not_accepted(client, database, member_id):
    other = create_app(database.settings(secret_key=TEST_SECRET[::-1]), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://testserver") as forger:
        await log_in_member(forger, secret=TEST_SECRET[::-1])
        cookie = forger.cookies["ocs"]

    client.cookies.set("ocs", cookie)
    response = await client.get("/api/v1/me")

    assert response.status_code == 401


async def test_a_wrong_code_over_http_is_401_with_attempts_left(client, member_id):
    await client.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE})

    response = await client.post(
        "/api/v1/auth/sessions", json={"phone": MEMBER_PHONE, "code": wrong_code(await latest_code())}
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/login-code-invalid"
    assert response.json()["attempts_left"] == 4
    assert "ocs" not in client.cookies
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_throttled_code_request_is_429_with_retry_after(client, database, member_id):
    # The client fixture's settings have no minimum interval; a second app enforces 60 s.
    app = create_app(database.settings(login_code_min_interval_seconds=60), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        with time_machine.travel(datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc), tick=False):
            first = await http.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE})
            second = await http.post("/api/v1/auth/login-codes", json={"phone": MEMBER_PHONE})

    assert first.status_code == 202
    assert second.status_code == 429
    assert second.headers["content-type"] == PROBLEM_JSON
    assert second.json()["type"] == "/problems/too-many-attempts"
    assert 60 <= int(second.headers["retry-after"]) <= 61


async def test_a_member_changes_birthday_gender_language_and_tags(client, member_id):
    await log_in_member(client)

    response = await client.patch(
        "/api/v1/me", json={"birthday": "1985-06-01", "gender": "female", "language": "en", "tags": ["golf", " tea ", "golf"]}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["birthday"], body["gender"], body["language"], body["tags"]) == ("1985-06-01", "female", "en", ["golf", "tea"])
    stored = await Member.select(Member.birthday, Member.gender, Member.language).where(Member.id == member_id).first()
    assert (str(stored["birthday"]), stored["gender"], stored["language"]) == ("1985-06-01", "female", "en")


async def test_a_member_cannot_change_name_or_phone_and_the_400_names_the_field(client, member_id):
    await log_in_member(client)

    for field, value in (("name", "Someone Else"), ("phone", "+8613900139000")):
        response = await client.patch("/api/v1/me", json={"gender": "male", field: value})

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        assert [error["field"] for error in response.json()["errors"]] == [field]

    stored = await Member.select(Member.name, Member.phone, Member.gender).where(Member.id == member_id).first()
    assert stored == {"name": "王芳", "phone": MEMBER_PHONE, "gender": "unknown"}


async def test_an_invalid_profile_value_is_refused_naming_the_field(client, member_id):
    await log_in_member(client)

    response = await client.patch("/api/v1/me", json={"gender": "robot"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "gender"


async def test_patch_me_without_a_session_is_401_and_changes_nothing(client, member_id):
    response = await client.patch("/api/v1/me", json={"gender": "male"})

    assert response.status_code == 401
    assert (await Member.select(Member.gender).first())["gender"] == "unknown"


async def test_each_member_session_sees_only_its_own_member(client, database, member_id):
    other_id = await add_member(name="Chen Jie", phone="+8613900139000")
    await log_in_member(client, "+8613900139000")

    me = await client.get("/api/v1/me")

    assert me.json()["id"] == other_id != member_id
