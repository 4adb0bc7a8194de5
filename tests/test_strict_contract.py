"""The strict, canonical contract across the whole app (the partner API's own cases are in
tests/partner_api/test_strict_contract.py): every JSON body is checked strictly against its
declared type, dates are `YYYY-MM-DD` (malformed → 400, well-formed but refused → 422) on
every report, every 401 carries a WWW-Authenticate challenge, and every answer names its
charset at most once."""

from __future__ import annotations

from datetime import date
from typing import Iterator

import msgspec
import pytest
from litestar.routes import HTTPRoute
from piccolo.apps.user.tables import BaseUser

from loyalty.app import create_app
from loyalty.json_bodies import BoundedJsonRequest, declared_body_type
from tests.identity.builders import STAFF_PASSWORD, add_member, add_staff, log_in_staff

MEMBER_CHALLENGE = 'Cookie realm="member", form-action="/api/v1/auth/sessions", cookie-name="ocs"'
STAFF_CHALLENGE = 'Cookie realm="staff", form-action="/api/v1/auth/staff-sessions", cookie-name="ocs"'


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


def json_routes(app) -> list[tuple[str, object]]:
    return [
        (route.path, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "data" in handler.parsed_fn_signature.parameters
    ]


def test_every_route_taking_a_json_body_declares_a_struct_the_strict_check_can_hold_it_to(settings):
    app = create_app(settings)
    routes = json_routes(app)

    assert app.request_class is BoundedJsonRequest
    assert len(routes) > 30
    for path, handler in routes:
        declared = handler.parsed_fn_signature.parameters["data"].annotation
        assert isinstance(declared, type) and issubclass(declared, msgspec.Struct), (path, declared)


async def test_a_staff_points_adjustment_given_as_text_or_a_float_is_a_400_naming_points(client, database):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    member = await add_member()
    path = f"/api/v1/staff/members/{member}/points/adjustments"

    answers = [
        await client.post(path, content=body, headers={"Content-Type": "application/json", "Accept-Language": "en"})
        for body in (
            b'{"points": "500", "reason": "goodwill", "idempotency_key": "adjust-0001"}',
            b'{"points": 500.0, "reason": "goodwill", "idempotency_key": "adjust-0002"}',
            b'{"points": 5e2, "reason": "goodwill", "idempotency_key": "adjust-0003"}',
        )
    ]

    for answer, got in zip(answers, ("a string", "a number", "a number")):
        assert answer.status_code == 400, answer.text
        assert answer.json()["errors"] == [{"field": "points", "reason": f"expected an integer, got {got}", "source": "body"}]


async def test_a_member_body_with_text_for_a_boolean_or_a_number_is_refused(client, database):
    """Lax mode would read "true" as true and "2" as 2; a member's own API refuses both."""
    headers = {"Content-Type": "application/json"}
    answer = await client.post("/api/v1/auth/login-codes", content=b'{"phone": 13800138000}', headers={**headers, "Accept-Language": "en"})
    chinese = await client.post("/api/v1/auth/login-codes", content=b'{"phone": 13800138000}', headers=headers)

    assert answer.status_code == chinese.status_code == 400
    assert answer.json()["errors"] == [{"field": "phone", "reason": "expected a string, got an integer", "source": "body"}]
    assert chinese.json()["errors"] == [{"field": "phone", "reason": "应为字符串，实际为整数", "source": "body"}]


# --- dates on every report ---------------------------------------------------------------------


def date_routes(app) -> list[str]:
    """Every GET route with a `start` date query parameter (the reports and their CSVs)."""
    return sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "{" not in route.path and not route.path.startswith("/partner/")
        for handler in route.route_handlers
        if "GET" in handler.http_methods
        and (start := handler.parsed_fn_signature.parameters.get("start")) is not None
        and date in (start.annotation, *getattr(start, "inner_types", ()))
    )


async def test_every_report_answers_a_malformed_date_400_and_a_refused_one_422_naming_the_field(client, settings, database):
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    paths = date_routes(create_app(settings, engine=database.engine))
    assert len(paths) >= 8, paths  # dashboards (JSON and CSV), KPIs, the referral funnel

    for path in paths:
        malformed = await client.get(path, params={"start": "2026-1-01", "end": "2026-12-31"}, headers={"Accept-Language": "en"})
        refused = await client.get(path, params={"start": "1999-12-31", "end": "2026-12-31"})
        backwards = await client.get(path, params={"start": "2026-12-31", "end": "2026-01-01"})

        assert (malformed.status_code, malformed.json()["type"]) == (400, "/problems/validation-error"), (path, malformed.text)
        assert malformed.json()["errors"] == [
            {"field": "start", "reason": "a date is written YYYY-MM-DD, e.g. 2026-12-07", "source": "query"}
        ], path
        assert (refused.status_code, refused.json()["type"]) == (422, "/problems/invalid-field"), (path, refused.text)
        assert refused.json()["errors"][0]["field"] == "start", path
        assert (backwards.status_code, backwards.json()["type"]) == (422, "/problems/invalid-field"), (path, backwards.text)
        assert backwards.json()["errors"][0]["field"] == "end", path


# --- 401 ---------------------------------------------------------------------------------------


async def test_every_member_and_staff_401_carries_a_cookie_session_challenge(client, database):
    await add_staff("boss", "admin")

    answers = {
        "member route": (await client.get("/api/v1/me"), MEMBER_CHALLENGE),
        "member login": (
            await client.post("/api/v1/auth/sessions", json={"phone": "13800138000", "code": "123456"}), MEMBER_CHALLENGE
        ),
        "staff route": (await client.get("/api/v1/staff/dashboards/tiers"), STAFF_CHALLENGE),
        "staff login": (
            await client.post("/api/v1/auth/staff-sessions", json={"username": "boss", "password": STAFF_PASSWORD + "x"}),
            STAFF_CHALLENGE,
        ),
    }

    for name, (answer, challenge) in answers.items():
        assert answer.status_code == 401, (name, answer.text)
        assert answer.headers["WWW-Authenticate"] == challenge, name


# --- one charset -------------------------------------------------------------------------------


def test_the_edge_names_a_charset_once_whatever_a_handler_wrote():
    from loyalty.ops.edge import one_charset

    headers = [(b"content-type", b"text/calendar; charset=utf-8; charset=utf-8"), (b"x-a", b"charset=1; charset=2")]
    assert one_charset(headers) == [(b"content-type", b"text/calendar; charset=utf-8"), (b"x-a", b"charset=1; charset=2")]
    assert one_charset([(b"content-type", b"text/csv; charset=utf-8")]) == [(b"content-type", b"text/csv; charset=utf-8")]


async def test_no_answer_names_its_charset_twice(client, settings, database):
    """Litestar appends "; charset=utf-8" to every text/* media type itself: a handler that
    wrote it too sent it twice. Walks every GET route without path parameters, as an admin."""
    await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    app = create_app(settings, engine=database.engine)
    paths = sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "{" not in route.path and "GET" in route.methods
    )
    assert {"/", "/staff", "/api/v1/staff/dashboards/tiers.csv"} <= set(paths)

    seen = {}
    for path in paths:
        answer = await client.get(path, params={"start": "2026-01-01", "end": "2026-12-31"})
        seen[path] = answer.headers.get("content-type", "")
    for path, content_type in seen.items():
        assert content_type.count("charset") <= 1, (path, content_type)
        if content_type.startswith("text/"):
            assert content_type.endswith("; charset=utf-8"), (path, content_type)
    assert seen["/"] == seen["/staff"] == "text/html; charset=utf-8"
