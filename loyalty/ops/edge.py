"""The edge every request passes, outside routing (so 404s and /admin get it too):

- a request id (kept from `X-Request-ID` when sane, else new) in the log context and the answer;
- one access-log line per request: method, path (never the query string), status, duration;
- security headers on every answer, and a strict Content-Security-Policy on our own pages;
- cross-origin refusal of state-changing requests.

Cross-origin refusal is our CSRF protection: staff and owners are authenticated by a session
cookie, so a page on another site must not be able to make their browser post to us. Browsers
say where a request comes from (`Sec-Fetch-Site`, and `Origin` on every cross-origin POST); a
POST, PUT, PATCH or DELETE that a browser marks as coming from another origin is refused with
403 before any handler runs. Requests with neither header are not from a browser page, so they
can carry no victim's cookie (curl, tills, Stripe). This is the approach of OWASP's "verifying
origin with standard headers" and of Go's `http.CrossOriginProtection`; with it no form or
script needs a token, and the cookie is SameSite=Lax as a second line. The partner API (keys,
no cookies), Stripe's webhook (signed) and one-click unsubscribe (a signed link) are exempt.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from loyalty.i18n import DEFAULT_LOCALE, Message, _, negotiate, translate
from loyalty.ops.client_address import client_address
from loyalty.ops.logs import REQUEST_ID, sane_request_id
from loyalty.settings import Settings

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
access_log = logging.getLogger("loyalty.access")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The unsubscribe link's one-click POST (RFC 8058) comes from a mail client (Origin: its web
# mail, or null): its signed token is the proof, and it acts on no cookie's authority.
EXEMPT_PREFIXES = ("/partner/", "/api/v1/payments/stripe/webhook", "/api/v1/unsubscribe/")
_SAME_ORIGIN = (b"same-origin", b"none")  # "none": typed in the address bar, a bookmark

# Our pages load nothing from elsewhere and have no inline script or style.
PAGE_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    b"font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The API documentation (loyalty/apidocs.py) runs its viewers from our own files under the same
# policy, with two exceptions for Redoc only: its styling library (styled-components) writes
# <style> elements at run time, and its search index runs in a Web Worker made from a blob: URL.
# Neither lets a script in; scripts stay 'self' on every page.
REDOC_POLICY = PAGE_POLICY.replace(b"style-src 'self';", b"style-src 'self' 'unsafe-inline'; worker-src blob:;")
assert REDOC_POLICY != PAGE_POLICY
NO_DEVICES = b"camera=(), microphone=(), geolocation=()"
POLICIES = {
    "/": (PAGE_POLICY, NO_DEVICES),
    "/staff": (PAGE_POLICY, b"camera=(self), microphone=(), geolocation=()"),
    "/schema": (PAGE_POLICY, NO_DEVICES),  # Litestar serves the first viewer, Swagger UI, here too
    "/schema/swagger": (PAGE_POLICY, NO_DEVICES),
    "/schema/redoc": (REDOC_POLICY, NO_DEVICES),
}


STRIPE_JS_ORIGIN = "https://js.stripe.com"
# Stripe's own list for Stripe.js and its Payment Element: its script and frames from
# js.stripe.com, 3-D Secure and redirect frames from hooks.stripe.com, calls to api.stripe.com.
STRIPE_FRAMES = ("https://js.stripe.com", "https://hooks.stripe.com")
STRIPE_API_ORIGIN = "https://api.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def owner_page_policy(settings: Settings) -> bytes:
    """The owner page's policy: ours, plus exactly what Stripe.js needs where owners pay in the
    browser. A stand-in Stripe.js (tests: localstripe's, on loopback) is served by the fake
    Stripe itself and talks to it, so its origin is the script, frame and API origin at once."""
    if not settings.stripe_in_browser:
        return PAGE_POLICY
    js = _origin(settings.stripe_js_url)
    frames, api = (STRIPE_FRAMES, STRIPE_API_ORIGIN) if js == STRIPE_JS_ORIGIN else ((js,), js)
    policy = PAGE_POLICY.decode().replace("script-src 'self';", f"script-src 'self' {js};").replace(
        "connect-src 'self';", f"connect-src 'self' {api}; frame-src {' '.join(frames)};"
    )
    return policy.encode()


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(scope.get("headers") or ())


def cross_origin(scope: dict[str, Any]) -> Message | None:
    """Why this request must be refused as cross-origin, or None."""
    if scope["method"] not in UNSAFE_METHODS or scope["path"].startswith(EXEMPT_PREFIXES):
        return None
    headers = _headers(scope)
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return None if site in _SAME_ORIGIN else _("the request came from another site (Sec-Fetch-Site: {site})", site=site.decode(errors="replace"))
    origin = headers.get(b"origin")
    if origin is None:
        return None
    host = headers.get(b"host", b"").decode(errors="replace")
    if origin == b"null" or urlsplit(origin.decode(errors="replace")).netloc != host:
        return _("the request came from {origin}, not from this site ({host})", origin=origin.decode(errors="replace"), host=host)
    return None


def _refusal(scope: dict[str, Any], why: Message, request_id: str) -> tuple[dict[str, Any], bytes]:
    # Before the application: no session or cookie parsing here, so the header decides.
    locale = negotiate(_headers(scope).get(b"accept-language", b"").decode(errors="replace")) or DEFAULT_LOCALE
    body = {
        "type": "/problems/cross-origin-refused",
        "title": translate(_("Requests from another site are refused"), locale),
        "status": 403,
        "detail": translate(_("{why}; state-changing requests must come from this site's own pages", why=why), locale),
        "instance": scope["path"],
    }
    start = {
        "type": "http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"application/problem+json"), (b"x-request-id", request_id.encode())],
    }
    return start, json.dumps(body, ensure_ascii=False).encode()


def one_charset(headers: Any) -> list[tuple[bytes, bytes]]:
    """The headers with a Content-Type naming its charset once: Litestar appends
    "; charset=utf-8" to every text/* media type, also to one that already names it."""
    fixed = []
    for name, value in headers:
        if name.lower() == b"content-type" and value.lower().count(b"charset=") > 1:
            kept, *params = [part.strip() for part in value.split(b";")]
            seen = False
            for param in params:
                is_charset = param.lower().startswith(b"charset=")
                if not (is_charset and seen):
                    kept += b"; " + param
                seen = seen or is_charset
            value = kept
        fixed.append((name, value))
    return fixed


class Edge:
    """Wraps the Litestar app's ASGI handler (see loyalty.app.create_app)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        hsts = settings.secure_cookies
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:  # only behind TLS (LOYALTY_SECURE_COOKIES=true says it is)
            common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.common = common
        policies = {**POLICIES, "/": (owner_page_policy(settings), POLICIES["/"][1])}
        self.pages = {path: [(b"content-security-policy", policy), (b"permissions-policy", permissions)]
                      for path, (policy, permissions) in policies.items()}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(_headers(scope).get(b"x-request-id", b"").decode(errors="replace")) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0
        extra = self.common + [(b"x-request-id", request_id.encode())] + self.pages.get(scope["path"].rstrip("/") or "/", [])

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*one_charset(message.get("headers", ())), *extra]}
            await send(message)

        try:
            why = cross_origin(scope)
            if why is not None:
                start, body = _refusal(scope, why, request_id)
                await send_with_headers({**start, "headers": start["headers"][:1]})
                await send({"type": "http.response.body", "body": body})
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client_address(scope, self.settings),
                },
            )
            REQUEST_ID.reset(token)
