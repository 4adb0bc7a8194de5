"""/admin has one staff identity with /staff and the staff API: the application's session.
Deactivating an account, logging out or changing a role acts on /admin at once; /admin has no
login, no password change and no session of its own, serves no secret and answers bad input
with a problem, not a 500."""

from __future__ import annotations

import httpx
from piccolo.apps.user.tables import BaseUser

from loyalty.identity.tables import StaffAccount
from loyalty.merchants import service as merchants
from loyalty.members.tables import Project
from loyalty.merchants.tables import ApiKey
from tests.identity.builders import STAFF_PASSWORD, add_staff, log_in_staff

SALES_TABLES = {"lead", "lead_stage_change", "office_visit", "reward_rule"}


async def test_admin_sends_a_visitor_without_a_staff_session_to_the_staff_login(client: httpx.AsyncClient):
    page = await client.get("/admin/")
    assert (page.status_code, page.headers["location"]) == (303, "/staff?next=/admin/")
    api = await client.get("/admin/api/tables/")
    assert api.status_code == 401 and api.json()["type"] == "/problems/not-authenticated"


async def test_the_staff_login_opens_admin_with_the_roles_tables(client: httpx.AsyncClient):
    await add_staff("sales1", "sales")
    await log_in_staff(client, "sales1")
    assert (await client.get("/admin/")).status_code == 200
    assert set((await client.get("/admin/api/tables/")).json()) == SALES_TABLES
    assert (await client.get("/admin/api/tables/merchant/")).status_code == 404


async def test_admin_has_no_login_form_of_its_own(client: httpx.AsyncClient):
    """The review logged a deactivated account in at /admin/public/login/: that door is gone."""
    staff = await add_staff("gone", "admin")
    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == staff.id)
    client.cookies.set("csrftoken", "t")
    for username in ("gone",):
        answer = await client.post("/admin/public/login/", json={"username": username, "password": STAFF_PASSWORD},
                                   headers={"X-CSRFToken": "t"})
        assert answer.status_code == 403, answer.text
        assert answer.json()["type"] == "/problems/admin-login-on-staff-page"
        assert "ocs" not in answer.cookies and "id" not in answer.cookies
    assert (await client.get("/admin/public/login/")).headers["location"] == "/staff?next=/admin/"


async def test_a_deactivated_staff_account_is_refused_in_admin_at_once(client: httpx.AsyncClient):
    staff = await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    assert (await client.get("/admin/api/tables/")).status_code == 200
    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == staff.id)
    assert (await client.get("/admin/api/tables/")).status_code == 401
    assert (await client.get("/admin/api/tables/staff_account/")).status_code == 401
    assert (await client.get("/api/v1/staff/me")).status_code == 401


async def test_a_deactivated_piccolo_user_is_refused_in_admin_at_once(client: httpx.AsyncClient):
    staff = await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    await BaseUser.update({BaseUser.active: False}).where(BaseUser.username == staff.username)
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_logging_out_of_the_staff_api_ends_the_admin_session_and_its_copies(client: httpx.AsyncClient):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    copy = client.cookies["ocs"]
    assert (await client.delete("/api/v1/auth/staff-sessions/current")).status_code == 204
    client.cookies.set("ocs", copy)
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_logging_out_of_admin_ends_the_staff_session_everywhere(client: httpx.AsyncClient):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    out = await client.post("/admin/public/logout/")
    assert (out.status_code, out.headers["location"]) == (303, "/staff")
    assert (await client.get("/api/v1/staff/me")).status_code == 401
    assert (await client.get("/admin/api/tables/")).status_code == 401


async def test_a_changed_role_changes_the_admin_tables_at_once(client: httpx.AsyncClient):
    staff = await add_staff("ming", "admin")
    await log_in_staff(client, "ming")
    assert "staff_account" in (await client.get("/admin/api/tables/")).json()
    await StaffAccount.update({StaffAccount.role: "sales"}).where(StaffAccount.id == staff.id)
    assert set((await client.get("/admin/api/tables/")).json()) == SALES_TABLES
    assert (await client.get("/admin/api/tables/staff_account/")).status_code == 404


async def test_admin_changes_no_password(client: httpx.AsyncClient):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    client.cookies.set("csrftoken", "t")
    answer = await client.post("/admin/api/change-password/", headers={"X-CSRFToken": "t"}, json={
        "current_password": STAFF_PASSWORD, "new_password": "x", "confirm_new_password": "x"})
    assert answer.status_code == 403, answer.text
    assert await BaseUser.login(username="boss", password=STAFF_PASSWORD) is not None


async def test_admin_never_serves_an_api_keys_hash(client: httpx.AsyncClient):
    shop = await merchants.create_merchant("森林装饰", "decoration")
    _, key_id = await merchants.create_api_key(shop)
    digest = (await ApiKey.select(ApiKey.key_hash).where(ApiKey.id == key_id).first())["key_hash"]
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    for path in ("/admin/api/tables/api_key/", f"/admin/api/tables/api_key/{key_id}/",
                 "/admin/api/tables/api_key/?__visible_fields=key_hash,prefix", "/admin/api/tables/api_key/schema/"):
        answer = await client.get(path)
        assert answer.status_code in (200, 400, 422), (path, answer.status_code)
        assert digest not in answer.text and digest[:16] not in answer.text, (path, answer.text[:300])
    rows = (await client.get("/admin/api/tables/api_key/")).json()["rows"]
    assert rows and all(row.get("key_hash") is None for row in rows)


async def test_an_unknown_ordering_in_admin_is_a_400_naming_the_field(client: httpx.AsyncClient):
    await add_staff("sales1", "sales")
    await log_in_staff(client, "sales1")
    answer = await client.get("/admin/api/tables/lead/", params={"__order": "name;DROP TABLE lead"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "__order"
    assert (await client.get("/admin/api/tables/lead/", params={"__order": "-id"})).status_code == 200


async def test_a_deeply_nested_admin_form_is_a_400_not_a_500(client: httpx.AsyncClient):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    client.cookies.set("csrftoken", "t")
    body = "[" * 100_000 + "]" * 100_000
    answer = await client.post("/admin/api/tables/project/", content=body,
                               headers={"X-CSRFToken": "t", "content-type": "application/json"})
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json()["type"] == "/problems/body-too-deep"
    huge = await client.post("/admin/api/tables/project/", content=b"x" * 2_000_000,
                             headers={"X-CSRFToken": "t", "content-type": "application/json"})
    assert huge.status_code == 413


async def test_an_admin_form_cannot_rewrite_a_rows_id(client: httpx.AsyncClient):
    """The review turned program 1 into program 5 (its events followed) with a 500 and no audit.
    Programs are read-only in /admin now (their staff page keeps them); a project is still written here."""
    project = (await Project.insert(Project(code="HZ-YH", name="云湖")).returning(Project.id))[0]["id"]
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    client.cookies.set("csrftoken", "t")
    moved = await client.patch(f"/admin/api/tables/project/{project}/", json={"id": project + 4}, headers={"X-CSRFToken": "t"})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "id", moved.text
    assert await Project.select(Project.id) == [{"id": project}]
    same = await client.patch(f"/admin/api/tables/project/{project}/", json={"id": project, "name_en": "Yunhu Garden"},
                              headers={"X-CSRFToken": "t"})
    assert same.status_code == 200, same.text


async def test_a_link_to_admin_logout_does_not_log_staff_out(client: httpx.AsyncClient):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    assert (await client.get("/admin/public/logout/")).status_code == 303
    assert (await client.get("/api/v1/staff/me")).status_code == 200
