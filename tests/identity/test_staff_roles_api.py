"""Staff login over HTTP and the one role guard on /api/v1/staff (loyalty.identity.guards)."""

from __future__ import annotations

import httpx
import pytest

from loyalty import jobs
from loyalty.app import create_app
from loyalty.identity.guards import requires_staff_role
from loyalty.identity.tables import ROLES, StaffAccount
from loyalty.members.tables import Member
from tests.identity.builders import STAFF_PASSWORD, add_member, add_staff, log_in_member, log_in_staff

PROBLEM_JSON = "application/problem+json"
OWNER_CSV = (
    "project_code,project_name,building,room,name,phone,contract_date\n"
    "GV,Garden View,3,1201,Zhao Lei,13900139000,2021-05-01\n"
).encode()


def litestar_made(handler) -> bool:
    """Litestar adds an OPTIONS handler to every path itself (the guard still covers it)."""
    return handler.http_methods == {"OPTIONS"} and handler.handler_name == "options_handler"


def staff_routes(app) -> list[tuple[str, object]]:
    """(path, handler) for every handler declared under /api/v1/staff."""
    return [
        (route.path, handler)
        for route in app.routes
        if route.path == "/api/v1/staff" or route.path.startswith("/api/v1/staff/")
        for handler in getattr(route, "route_handlers", [])
        if not litestar_made(handler)
    ]


async def import_owners(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/v1/staff/owner-imports", files={"data": ("owners.csv", OWNER_CSV, "text/csv")})


async def test_every_staff_route_declares_known_roles_and_sits_behind_the_role_guard(database, settings):
    app = create_app(settings, engine=database.engine)
    routes = staff_routes(app)

    assert len(routes) >= 4
    assert {path for path, _ in routes} >= {
        "/api/v1/staff/me",
        "/api/v1/staff/members",
        "/api/v1/staff/members/{member_id:int}",
        "/api/v1/staff/owner-imports",
    }
    undeclared = [path for path, handler in routes if "roles" not in handler.opt]
    assert undeclared == []
    unknown = [(path, handler.opt["roles"]) for path, handler in routes if not set(handler.opt["roles"]) <= set(ROLES)]
    assert unknown == []
    unguarded = [path for path, handler in routes if requires_staff_role not in handler.resolve_guards()]
    assert unguarded == []


async def test_a_staff_member_logs_in_and_sees_their_role(client, database):
    staff = await add_staff("li.wei", "event_staff")

    login = await log_in_staff(client, "li.wei")
    me = await client.get("/api/v1/staff/me")

    assert login.json()["staff_id"] == staff.id
    assert me.status_code == 200
    assert me.json() == {"staff_id": staff.id, "username": "li.wei", "role": "event_staff", "display_name": "Li.Wei"}


async def test_a_wrong_staff_password_is_401_problem_and_opens_nothing(client, database):
    await add_staff("li.wei", "admin")

    response = await client.post("/api/v1/auth/staff-sessions", json={"username": "li.wei", "password": "guess"})

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/staff-login-failed"
    assert (await client.get("/api/v1/staff/me")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/staff/me"),
        ("GET", "/api/v1/staff/members"),
        ("GET", "/api/v1/staff/members/1"),
        ("POST", "/api/v1/staff/owner-imports"),
    ],
)
async def test_anonymous_callers_get_401_on_every_staff_route(client, database, method, path):
    response = await client.request(method, path)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/not-authenticated"


async def test_a_member_session_does_not_open_staff_routes(client, database):
    await add_member()
    await log_in_member(client)

    assert (await client.get("/api/v1/staff/members")).status_code == 401


async def test_a_sales_user_gets_403_on_the_admin_only_owner_import_and_nothing_is_imported(client, database):
    await add_staff("seller", "sales")
    await log_in_staff(client, "seller")

    response = await import_owners(client)

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/forbidden"
    assert response.json()["role"] == "sales"
    assert await Member.count() == 0


async def test_an_admin_may_import_owners(client, database):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    response = await import_owners(client)

    assert response.status_code == 202, response.text
    await jobs.settle()  # the import runs in the background (no broker: a task of this process)
    progress = (await client.get(response.headers["location"])).json()
    assert (progress["status"], progress["summary"]["members_created"]) == ("done", 1)
    assert await Member.count() == 1


@pytest.mark.parametrize("path", ["/api/v1/staff/members", "/api/v1/staff/members/{id}"])
async def test_event_staff_get_403_on_the_owner_database(client, database, path):
    member_id = await add_member()
    await add_staff("host", "event_staff")
    await log_in_staff(client, "host")

    response = await client.get(path.format(id=member_id))

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert "您当前的角色是「活动工作人员」" in response.json()["detail"]  # the role in words, in Chinese by default


@pytest.mark.parametrize("role", ["service", "sales", "admin"])
async def test_service_sales_and_admin_may_search_and_open_members(client, database, role):
    member_id = await add_member()
    await add_staff("someone", role)
    await log_in_staff(client, "someone")

    listing = await client.get("/api/v1/staff/members", params={"search": "8000"})
    one = await client.get(f"/api/v1/staff/members/{member_id}")

    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [member_id]
    assert one.status_code == 200
    assert one.json()["name"] == "王芳"


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_may_see_who_it_is(client, database, role):
    await add_staff("someone", role)
    await log_in_staff(client, "someone")

    response = await client.get("/api/v1/staff/me")

    assert response.status_code == 200
    assert response.json()["role"] == role


async def test_a_staff_session_ends_when_the_account_is_switched_off(client, database):
    staff = await add_staff("seller", "sales")
    await log_in_staff(client, "seller")
    assert (await client.get("/api/v1/staff/members")).status_code == 200

    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == staff.id)

    assert (await client.get("/api/v1/staff/members")).status_code == 401


async def test_logging_out_ends_the_staff_session(client, database):
    await add_staff("seller", "sales")
    await log_in_staff(client, "seller")

    await client.delete("/api/v1/auth/sessions/current")

    assert (await client.get("/api/v1/staff/me")).status_code == 401


async def test_staff_logout_also_ends_a_copy_of_the_cookie(client, database):
    await add_staff("seller", "sales")
    await log_in_staff(client, "seller")
    copied = client.cookies["ocs"]

    assert (await client.delete("/api/v1/auth/staff-sessions/current")).status_code == 204
    client.cookies.set("ocs", copied)

    assert (await client.get("/api/v1/staff/me")).status_code == 401
    client.cookies.clear()
    await log_in_staff(client, "seller")
    assert (await client.get("/api/v1/staff/me")).status_code == 200


async def test_staff_login_rejects_a_password_the_hasher_would_refuse_with_401_not_500(client, database):
    await add_staff("seller", "sales")

    response = await client.post(
        "/api/v1/auth/staff-sessions", json={"username": "seller", "password": STAFF_PASSWORD + "x" * 150}
    )

    assert response.status_code == 401
    assert response.json()["type"] == "/problems/staff-login-failed"
