"""The one error mapper (loyalty/problems.py): every failure is RFC 9457 problem details."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import httpx
import pytest
from litestar import Litestar, get
from piccolo.apps.user.tables import BaseUser

from loyalty.problems import EXCEPTION_HANDLERS
from loyalty.i18n.fields import field_label
from tests.i18n_words import foreign_words
from tests.identity.builders import add_member, add_staff, log_in_staff

PROBLEM_JSON = "application/problem+json"
LOGIN_CODES = "/api/v1/auth/login-codes"
JSON = {"content-type": "application/json"}

# (name, method, path, request keyword arguments, expected status)
FOUR_XX = [
    ("malformed-json", "POST", LOGIN_CODES, {"content": b'{"phone": ', "headers": JSON}, 400),
    ("wrong-type", "POST", LOGIN_CODES, {"json": {"phone": 13800138000}}, 400),
    ("missing-field", "POST", LOGIN_CODES, {"json": {}}, 400),
    ("unknown-field", "POST", LOGIN_CODES, {"json": {"phone": "13800138000", "name": "x"}}, 400),
    ("empty-body", "POST", LOGIN_CODES, {}, 400),
    ("json-not-an-object", "POST", LOGIN_CODES, {"json": ["13800138000"]}, 400),
    ("invalid-phone", "POST", LOGIN_CODES, {"json": {"phone": "1234567"}}, 422),
    ("not-logged-in", "GET", "/api/v1/me", {}, 401),
    ("no-code-requested", "POST", "/api/v1/auth/sessions", {"json": {"phone": "13800138000", "code": "123456"}}, 401),
    ("unknown-route", "GET", "/api/v1/no-such-thing", {}, 404),
    ("unknown-static-file", "GET", "/static/apidocs/no-such-file.js", {}, 404),
    ("wrong-method", "PUT", LOGIN_CODES, {"json": {"phone": "13800138000"}}, 405),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [case[1:] for case in FOUR_XX], ids=[case[0] for case in FOUR_XX])
async def test_every_4xx_is_a_problem_with_type_title_status_detail_and_instance(client, method, path, kwargs, status):
    response = await client.request(method, path, **kwargs)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].startswith("/problems/") and len(body["type"]) > len("/problems/")
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == path


async def test_malformed_json_is_a_400_bad_request_not_a_500(client):
    response = await client.post(LOGIN_CODES, content=b"{not json", headers={**JSON, "accept-language": "en"})
    chinese = await client.post(LOGIN_CODES, content=b"{not json", headers=JSON)

    assert response.status_code == chinese.status_code == 400
    assert response.json()["type"] == "/problems/bad-request"
    assert response.json()["detail"] == "The body is not valid JSON"
    assert chinese.json()["detail"] == "请求内容不是有效的 JSON"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": 13800138000}, "phone"),
        ({"phone": None}, "phone"),
        ({"phone": "13800138000", "code": 123456}, "code"),
        ({"phone": "13800138000", "code": "1" * 13}, "code"),
    ],
    ids=["int-phone", "null-phone", "int-code", "too-long-code"],
)
async def test_a_value_of_the_wrong_type_or_shape_is_a_400_naming_the_field(client, payload, field):
    path = "/api/v1/auth/sessions" if "code" in payload else LOGIN_CODES

    response = await client.post(path, json=payload)

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert [error["field"] for error in body["errors"]] == [field]
    assert body["errors"][0]["reason"]
    assert field_label(field, "zh-CN") in body["detail"]  # named in words; `errors[].field` keeps the identifier


async def test_a_missing_field_is_a_400_naming_the_field(client):
    response = await client.post("/api/v1/auth/sessions", json={"phone": "13800138000"})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["code"]


async def test_an_unknown_field_is_a_400_naming_the_field(client):
    response = await client.post(LOGIN_CODES, json={"phone": "13800138000", "member_id": 1})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["member_id"]


async def test_a_bad_query_parameter_is_a_400_naming_the_parameter(client, monkeypatch):
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)  # fast hashing, as in tests/identity
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    response = await client.get("/api/v1/staff/members", params={"limit": "0"})

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == ["limit"]


async def test_a_value_the_rules_refuse_is_a_422_naming_the_field(client):
    response = await client.post(LOGIN_CODES, json={"phone": "1234567"}, headers={"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-field"
    assert response.json()["errors"] == [{"field": "phone", "reason": "'1234567' is not a valid phone number"}]


async def test_an_unknown_route_is_a_404_problem(client):
    response = await client.get("/api/v1/members-that-do-not-exist")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/not-found"


async def test_an_unknown_member_id_is_a_404_problem_for_staff(client, monkeypatch):
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")

    response = await client.get("/api/v1/staff/members/999999")

    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    assert "999999" in response.json()["detail"]


async def test_a_wrong_method_is_a_405_problem(client):
    response = await client.get(LOGIN_CODES)

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/method-not-allowed"


async def test_a_405_problem_keeps_the_allow_header_listing_the_allowed_methods(client):
    """RFC 9110 §15.5.6: a 405 MUST carry Allow. Litestar puts it on the exception; the
    mapper must not drop the exception's headers."""
    response = await client.delete(LOGIN_CODES)

    assert response.status_code == 405
    assert "POST" in response.headers.get("allow", "")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "chinese", "english"),
    [
        ("GET", "/api/v1/no-such-thing", {}, "未找到", "Not found"),
        ("GET", LOGIN_CODES, {}, "不支持该请求方法", "This method is not allowed here"),
        ("POST", LOGIN_CODES, {"content": b"{", "headers": JSON}, "请求格式错误", "The request is malformed"),
        ("POST", LOGIN_CODES, {"json": {"phone": 1}}, "请求字段校验失败", "A field failed validation"),
        ("POST", LOGIN_CODES, {"json": {"phone": "1234567"}}, "字段取值无效", "A field has an invalid value"),
        ("GET", "/api/v1/me", {}, "请先登录", "Please log in"),
        ("POST", "/api/v1/auth/sessions", {"json": {"phone": "13800138000", "code": "123456"}}, "验证码错误", "The login code is wrong"),
    ],
    ids=["404", "405", "malformed", "validation", "domain-422", "domain-401", "login-code"],
)
async def test_accept_language_chooses_the_title_and_chinese_is_the_default(client, method, path, kwargs, chinese, english):
    kwargs_zh = {**kwargs, "headers": {**kwargs.get("headers", {}), "accept-language": "zh-CN,zh;q=0.9"}}
    kwargs_en = {**kwargs, "headers": {**kwargs.get("headers", {}), "accept-language": "en-US"}}

    in_chinese = await client.request(method, path, **kwargs_zh)
    in_english = await client.request(method, path, **kwargs_en)
    by_default = await client.request(method, path, **kwargs)

    assert in_chinese.json()["title"] == chinese
    assert in_english.json()["title"] == english
    assert by_default.json()["title"] == chinese
    assert in_chinese.json()["type"] == in_english.json()["type"]
    # The detail is the reader's language too, not English under a Chinese title.
    assert not foreign_words(in_chinese.json()["detail"], "zh-CN", allowed=("phone",))


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing():
    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at db-primary.internal")

    app = Litestar(route_handlers=[boom], exception_handlers=EXCEPTION_HANDLERS, debug=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        response = await http.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/internal-error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


async def _refused_connection() -> Exception:
    """What asyncpg raises when nothing listens on the database's port (a stopped server)."""
    from tests.stripe_server import free_port

    try:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/loyalty", timeout=2)
    except OSError as error:
        return error
    raise AssertionError("something listens on a free port")


UNREACHABLE = [
    ("starting-up", lambda: asyncpg.CannotConnectNowError("the database system is starting up")),
    ("shutting-down", lambda: asyncpg.AdminShutdownError("terminating connection due to administrator command")),
    ("connection-lost", lambda: asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    ("connection-closed", lambda: asyncpg.InterfaceError("cannot call Transaction.rollback(): the underlying connection is closed")),
    ("sqlite-locked", lambda: sqlite3.OperationalError("database is locked")),
    ("refused", _refused_connection),
]


@pytest.mark.parametrize("make_error", [case[1] for case in UNREACHABLE], ids=[case[0] for case in UNREACHABLE])
async def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after_not_a_500(make_error):
    error = make_error()
    error = await error if asyncio.iscoroutine(error) else error

    @get("/sales")
    async def sales() -> None:
        raise error

    app = Litestar(route_handlers=[sales], exception_handlers=EXCEPTION_HANDLERS, debug=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        english = await http.get("/sales", headers={"Accept-Language": "en"})
        chinese = await http.get("/sales")  # zh-CN is the default

    assert english.status_code == chinese.status_code == 503, english.text
    assert english.headers["content-type"] == PROBLEM_JSON
    assert int(english.headers["retry-after"]) >= 1
    body = english.json()
    assert body["type"] == "/problems/service-unavailable" and body["status"] == 503 and body["instance"] == "/sales"
    assert (body["title"], chinese.json()["title"]) == ("The service is briefly unavailable", "服务暂时不可用")
    assert "127.0.0.1" not in english.text and "Errno" not in english.text


async def test_an_os_error_that_is_not_the_database_is_still_a_500():
    @get("/boom")
    async def boom() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('10.0.0.9', 25)")  # e.g. a mail server

    app = Litestar(route_handlers=[boom], exception_handlers=EXCEPTION_HANDLERS, debug=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        response = await http.get("/boom")

    assert response.status_code == 500 and "retry-after" not in response.headers


async def test_a_problem_for_a_member_who_exists_looks_like_one_for_a_stranger(client):
    """The wrong-code answer must not reveal whether the phone belongs to an owner."""
    await add_member()

    member = await client.post("/api/v1/auth/sessions", json={"phone": "13800138000", "code": "123456"})
    stranger = await client.post("/api/v1/auth/sessions", json={"phone": "13700137000", "code": "123456"})

    assert member.status_code == stranger.status_code == 401
    assert {k: v for k, v in member.json().items() if k != "instance"} == {
        k: v for k, v in stranger.json().items() if k != "instance"
    }


# --- bounded JSON nesting (loyalty/json_bodies.py) -------------------------------------------

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["arrays", "objects"])
async def test_a_100000_deep_json_body_is_a_400_problem_on_member_staff_and_partner_routes(client, monkeypatch, body):
    from tests.partner_api.builders import bearer, shop

    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    till = await shop()
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    routes = {
        "member": ("/api/v1/auth/login-codes", {}),
        "staff": ("/api/v1/staff/events", {}),
        "partner": ("/partner/v1/sales", {**bearer(till.key), "Idempotency-Key": "deep-1"}),
    }

    for face, (path, headers) in routes.items():
        response = await client.post(path, content=body, headers={**JSON, **headers, "Accept-Language": "zh-CN"})

        assert response.status_code == 400, (face, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert problem["type"] == "/problems/body-too-deep", (face, problem)
        assert problem["title"] == "JSON 请求内容嵌套层级过深"
        assert problem["instance"] == path


async def test_json_nested_to_the_limit_is_still_read_as_usual(client):
    from loyalty.json_bodies import MAX_JSON_DEPTH

    within = b'{"phone": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    beyond = b'{"phone": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"

    refused_by_schema = await client.post(LOGIN_CODES, content=within, headers=JSON)
    refused_by_depth = await client.post(LOGIN_CODES, content=beyond, headers={**JSON, "Accept-Language": "en"})

    assert refused_by_schema.json()["type"] == "/problems/validation-error"  # decoded, then the field refused
    assert refused_by_depth.json()["type"] == "/problems/body-too-deep"
    assert refused_by_depth.json()["title"] == "The JSON body is nested too deeply"


@pytest.mark.parametrize(
    ("text", "deeper_than_3"),
    [
        (b'{"a": [1, {"b": 2}]}', False),  # three levels
        (b'{"a": [1, {"b": []}]}', True),  # four
        (b'{"a": [[[[]]]]}', True),
        (b'["[[[[[[", "{{{{{{{"]', False),  # brackets in text do not nest
        (b'["\\"[[[[[[", "]]]]]]]]"]', False),  # nor behind an escaped quote
        (b"[[],[],[],[],[],[],[]]", False),  # many brackets, shallow
        (b"[[[[", True),  # unbalanced: refused either way
    ],
)
def test_nesting_depth_counts_arrays_and_objects_but_not_brackets_in_strings(text, deeper_than_3):
    from loyalty.json_bodies import nested_deeper_than

    assert nested_deeper_than(text, 3) is deeper_than_3
