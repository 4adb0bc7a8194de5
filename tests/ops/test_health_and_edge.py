"""/health, /ready, and what the edge adds to every answer: request ids, security headers,
the access log, and the refusal of state-changing requests from other sites (CSRF)."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from loyalty import db
from loyalty.app import create_app
from loyalty.ops.logs import configure_logging

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


async def test_health_says_the_process_is_alive(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_checks_the_database_and_the_broker(database, settings, redis_url):
    app = create_app(settings.with_overrides(broker_url=redis_url), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://club.test") as http:
        response = await http.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready", "database": database.kind, "database_status": "ok", "broker_status": "ok",
    }


async def test_ready_is_503_with_retry_after_naming_an_unreachable_broker(database, settings):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    app = create_app(settings.with_overrides(broker_url="redis://127.0.0.1:1/0"), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://club.test") as http:
        response = await http.get("/ready")
        english = await http.get("/ready", headers={"Accept-Language": "en"})
        alive = await http.get("/health")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["broker_status"] == "unreachable" and body["database_status"] == "ok"
    assert body["title"] == "服务未就绪：无法连接消息队列"
    assert english.json()["title"] == "Not ready: the broker is unreachable"
    assert alive.status_code == 200  # alive, only not ready


@pytest.mark.filterwarnings("ignore:.*Unable to connect to database")  # Piccolo's own warning: the point here
async def test_ready_is_503_when_the_database_is_unreachable(database, settings):
    bound = db.engine()
    try:
        app = create_app(settings.with_overrides(database_url="postgresql://postgres@127.0.0.1:1/nowhere"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://club.test") as http:
            response = await http.get("/ready")
    finally:
        db.bind(bound)
    assert response.status_code == 503
    assert response.json()["database_status"] == "unreachable"


@pytest.mark.parametrize(
    "path", ["/", "/staff", "/api/v1/projects", "/no-such-page", "/schema/openapi.json", "/schema", "/schema/swagger", "/schema/redoc"]
)
async def test_every_answer_has_the_security_headers(client, path):
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP here: no HSTS
    if path in ("/", "/staff", "/schema", "/schema/swagger", "/schema/redoc"):
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
        # Redoc alone may write <style> elements and start its search worker from a blob: URL.
        assert policy.count("unsafe") == (1 if path == "/schema/redoc" else 0)
        assert ("style-src 'self' 'unsafe-inline'; worker-src blob:;" in policy) == (path == "/schema/redoc")
        camera = "camera=(self)" if path == "/staff" else "camera=()"
        assert camera in response.headers["permissions-policy"]


async def test_hsts_is_sent_behind_tls(database, settings):
    app = create_app(settings.with_overrides(secure_cookies=True), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://club.test") as http:
        response = await http.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_a_request_id_is_made_or_kept_and_sent_back(client):
    made = await client.get("/health")
    kept = await client.get("/health", headers={"X-Request-ID": "till-7.scan-42"})
    refused = await client.get("/health", headers={"X-Request-ID": "a b\nc" + "x" * 80})
    assert len(made.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "till-7.scan-42"
    assert refused.headers["x-request-id"] != "a b\nc" and len(refused.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    "headers",
    [CROSS_SITE, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}],
    ids=["cross-site", "same-site", "origin-only", "opaque-origin"],
)
async def test_a_state_changing_request_from_another_site_is_refused(client, headers):
    response = await client.post(
        "/api/v1/auth/staff-sessions", json={"username": "admin", "password": "whatever-it-is"},
        headers={**headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "/problems/cross-origin-refused"
    assert body["title"] == "拒绝来自其他网站的请求"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {"Origin": "http://club.test"}],
    ids=["no-browser", "same-origin", "typed-url", "same-origin-header"],
)
async def test_our_own_pages_and_non_browser_callers_pass(database, settings, headers):
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://club.test") as http:
        response = await http.post(
            "/api/v1/auth/staff-sessions", json={"username": "nobody", "password": "whatever-it-is"}, headers=headers
        )
    assert response.status_code == 401  # reached the handler: wrong credentials, not refused


async def test_reading_across_sites_and_the_partner_api_are_not_refused(client):
    page = await client.get("/api/v1/projects", headers=CROSS_SITE)
    till = await client.post("/partner/v1/sales", json={}, headers=CROSS_SITE)
    assert page.status_code == 200
    assert till.status_code == 401  # the key is judged, not the origin: tills are not browsers


async def test_the_access_log_is_one_json_line_per_request_with_its_id_and_no_query(client, monkeypatch):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("json")
    try:
        response = await client.get("/api/v1/projects?secret=s3cr3t", headers={"X-Request-ID": "req-1"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "loyalty.access"]
    assert response.status_code == 200
    assert access == [
        {
            "time": access[0]["time"], "level": "INFO", "logger": "loyalty.access",
            "message": "GET /api/v1/projects 200", "request_id": "req-1", "method": "GET",
            "path": "/api/v1/projects", "status": 200, "duration_ms": access[0]["duration_ms"], "client": "127.0.0.1",
        }
    ]
    assert "s3cr3t" not in stream.getvalue()
