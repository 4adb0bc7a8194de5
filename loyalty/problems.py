"""The one error mapper: every failure leaves the app as RFC 9457 problem details.

`type` is a stable URI reference per failure (`/problems/<slug>`), `title` is in the caller's
language (Accept-Language: zh-CN or en), validation failures name the field and the reason.
Unexpected errors are logged with a traceback and answered with a 500 that leaks nothing;
a database that cannot be reached for the moment is a 503 with `Retry-After`, logged as a warning.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from loyalty import db
from loyalty.errors import DomainError
from loyalty.labels import pick_language

log = logging.getLogger("loyalty.errors")

PROBLEM_JSON = "application/problem+json"
# A PostgreSQL restart or fail-over takes seconds; a till retrying sooner only finds it still down.
DATABASE_RETRY_AFTER_SECONDS = 2

_HTTP_TITLES: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "The request is malformed", "请求格式错误"),
    401: ("not-authenticated", "Please log in", "请先登录"),
    403: ("forbidden", "Your role does not allow this", "您的角色无权执行此操作"),
    404: ("not-found", "Not found", "未找到"),
    405: ("method-not-allowed", "This method is not allowed here", "不支持该请求方法"),
    413: ("payload-too-large", "The request body is too large", "请求内容过大"),
    415: ("unsupported-media-type", "Unsupported content type", "不支持的内容类型"),
    429: ("too-many-requests", "Too many requests", "请求过于频繁"),
    500: ("internal-error", "Something went wrong on our side", "服务器内部错误"),
    503: ("service-unavailable", "The service is briefly unavailable", "服务暂时不可用"),
}

# msgspec/Litestar say where a value failed as "$.field" or "$.items[0].name", and name
# unknown or missing fields as "... field `name`".
_JSON_PATH = re.compile(r"`\$\.([^`]+)`")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")
# Litestar's words for a header, query, path or cookie parameter that was not sent at all.
_MISSING_PARAMETER = re.compile(r"Missing required (header|query|path|cookie) parameter '([^']+)'")
# msgspec's words for a value of the wrong JSON type: "Expected `int | null`, got `str`".
_WRONG_TYPE = re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$")
# msgspec's words for a bound ("Expected `int` <= 200", "Expected `str` of length <= 32").
_BOUND = re.compile(r"^Expected `(?P<type>[a-z]+)`(?P<length> of length)? (?P<op><=|>=|<|>) (?P<limit>-?\d+)$")
_BOUND_WORDS = {"<=": "at most", ">=": "at least", "<": "less than", ">": "more than"}
_LENGTH_UNITS = {"str": "characters", "array": "items", "object": "entries", "bytes": "bytes"}
# msgspec's fixed sentences, in the words a till developer reads.
_FIXED_REASONS = {
    "Invalid RFC3339 encoded date": "a date is written YYYY-MM-DD, e.g. 2026-12-07",
    "Invalid RFC3339 encoded datetime": "a time is written as RFC 3339, e.g. 2026-12-07T08:00:00Z",
    "Invalid RFC3339 encoded time": "a time of day is written HH:MM:SS, e.g. 08:00:00",
    "Integer value out of range": "the number is too large",
    "Invalid base64 encoded string": "expected base64 text",
    "Invalid UUID": "expected a UUID",
}
# The largest integer the database holds (a signed 64-bit column, PostgreSQL BIGINT and SQLite INTEGER).
DATABASE_INT_MAX = 2**63 - 1
_TYPE_WORDS = {
    "int": "an integer", "float": "a number", "str": "a string", "bool": "true or false", "null": "null",
    "object": "an object", "array": "an array", "bytes": "base64 text",
}
SESSION_COOKIE = "ocs"  # loyalty.app's cookie session
# Where a value was sent, as a client names it (Litestar gives its ParamType enum, or "body").
SOURCES = ("body", "header", "query", "path", "cookie")


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    headers = dict(headers or {})
    if status == 401 and not any(name.lower() == "www-authenticate" for name in headers):
        headers["WWW-Authenticate"] = challenge(request)
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def challenge(request: Request[Any, Any, Any]) -> str:
    """The `WWW-Authenticate` a 401 must carry (RFC 9110 §11.6.1): how to authenticate here.

    Partner routes take a bearer key (RFC 6750): `error="invalid_token"` when a key was sent
    but does not authenticate, no error code when none was sent. Member and staff routes use
    a cookie session, which has no registered scheme; the challenge uses the `Cookie` scheme
    of draft-broyer-http-cookie-auth (never an RFC), naming where to log in and the cookie.
    Browsers ask for a password only for Basic, Digest, Negotiate and NTLM, so an unknown
    scheme opens no dialog, and a client reading the header learns how to get a session."""
    path = request.url.path
    if path.startswith("/partner/"):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return 'Bearer realm="partner", error="invalid_token"'
        return 'Bearer realm="partner"'
    if path.startswith(("/api/v1/staff", "/api/v1/auth/staff-sessions")):
        return f'Cookie realm="staff", form-action="/api/v1/auth/staff-sessions", cookie-name="{SESSION_COOKIE}"'
    return f'Cookie realm="member", form-action="/api/v1/auth/sessions", cookie-name="{SESSION_COOKIE}"'


def _language(request: Request[Any, Any, Any]) -> str:
    return pick_language(request.headers.get("accept-language"), default="en")


def domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    extra: dict[str, Any] = dict(error.extra)
    if error.field:
        extra["errors"] = [{"field": error.field, "reason": error.detail, **({"source": error.source} if error.source else {})}]
    return _problem(
        request, error.status, error.type, error.title(_language(request)), error.detail, headers=error.headers, **extra
    )


def _plain_reason(message: str) -> str:
    """msgspec's reason in words a till developer reads without knowing Python's type names:
    "Expected `int`, got `str`" → "expected an integer, got a string", "Expected `int` <= 200" →
    "must be at most 200", "Invalid RFC3339 encoded date" → "a date is written YYYY-MM-DD"."""
    if message in _FIXED_REASONS:
        return _FIXED_REASONS[message]
    bound = _BOUND.match(message)
    if bound:
        words = f"must be {_BOUND_WORDS[bound.group('op')]} {bound.group('limit')}"
        if bound.group("length"):
            words += f" {_LENGTH_UNITS.get(bound.group('type'), 'long')}"
        return words
    wrong = _WRONG_TYPE.match(message)
    if not wrong:
        return message
    expected = " or ".join(_TYPE_WORDS.get(name.strip(), f"`{name.strip()}`") for name in wrong.group(1).split("|"))
    return f"expected {expected}, got {_TYPE_WORDS.get(wrong.group(2), wrong.group(2))}"


def _source(value: Any) -> str | None:
    """A plain source word: Litestar's ParamType is an Enum whose str() is "ParamType.HEADER"."""
    value = getattr(value, "value", value)
    return value if value in SOURCES else None


def _public_name(request: Request[Any, Any, Any], key: str, source: str | None) -> str:
    """The name a client sent a parameter under (`Idempotency-Key`), not the handler's Python
    argument name (`idempotency_key`)."""
    if source not in ("header", "query", "cookie"):
        return key
    try:
        definition = request.route_handler.parsed_fn_signature.parameters[key].kwarg_definition
    except (AttributeError, KeyError):
        return key
    # Parameter(header="X") or HeaderParameter(name="X") / QueryParameter(name="x")
    return getattr(definition, source, None) or getattr(definition, "name", None) or key


def _field_errors(request: Request[Any, Any, Any], extra: Any) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        field = item.get("key")
        source = _source(item.get("source"))
        if not field or field == "data":  # "data" is Litestar's name for the whole body
            match = _JSON_PATH.search(message) or _NAMED_FIELD.search(message)
            field, source = (match.group(1) if match else "body"), "body"
        reason = _plain_reason(_JSON_PATH.sub("", message).removesuffix(" - at ").rstrip(" -").strip()) or "invalid value"
        if reason.strip("'\"") == "data":  # Litestar's words for a missing body
            field, reason = "body", "a JSON body is required"
        error = {"field": _public_name(request, str(field), source), "reason": reason}
        if source:
            error["source"] = source
        errors.append(error)
    return errors


def _missing_parameter(detail: str) -> list[dict[str, str]]:
    """Litestar reports a required header or query parameter that was not sent with no field
    at all ("Missing required header parameter 'Idempotency-Key' for path ..."): name it."""
    missing = _MISSING_PARAMETER.search(detail)
    if not missing:
        return []
    source, name = missing.groups()
    return [{"field": name, "reason": f"the {source} parameter is required", "source": source}]


def validation_error(request: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    errors = _field_errors(request, error.extra) or _missing_parameter(str(error.detail))
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or str(error.detail)
    zh = _language(request).startswith("zh")
    return _problem(
        request,
        400,
        "validation-error",
        "请求字段校验失败" if zh else "A field failed validation",
        detail,
        errors=errors or [{"field": "body", "reason": str(error.detail), "source": "body"}],
    )


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    slug, title_en, title_zh = _HTTP_TITLES.get(error.status_code, ("http-error", "Request failed", "请求失败"))
    title = title_zh if _language(request).startswith("zh") else title_en
    # Keep what Litestar says in headers (Allow on a 405, WWW-Authenticate, Retry-After).
    return _problem(request, error.status_code, slug, title, str(error.detail), headers=dict(error.headers or {}))


def _too_large(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("+-").isdigit():
            return False
        try:
            value = int(value)
        except ValueError:  # more digits than Python converts: certainly too large
            return True
    return isinstance(value, int) and not -DATABASE_INT_MAX - 1 <= value <= DATABASE_INT_MAX


def _out_of_range_fields(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """The path and query parameters whose number the database cannot hold: the usual cause of
    the database's refusal (an id or cursor typed or generated wrong), named so the caller
    need not guess. A body's numbers carry their own bounds and never get this far."""
    found: list[dict[str, str]] = []
    for source, values in (("path", dict(request.path_params)), ("query", dict(request.query_params))):
        for name, value in values.items():
            if _too_large(value):
                reason = f"must be between {-DATABASE_INT_MAX - 1} and {DATABASE_INT_MAX}"
                found.append({"field": name, "reason": reason, "source": source})
    return found


def out_of_range(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A value the database cannot hold (an id beyond its integer range, text with a NUL
    character) is the caller's mistake: 400, not a 500. The transaction has rolled back."""
    zh = _language(request).startswith("zh")
    errors = _out_of_range_fields(request)
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or (
        "a number is too large, a date is out of range, or a text contains a NUL character"
    )
    return _problem(
        request, 400, "value-out-of-range", "取值超出范围或含有无效字符" if zh else "A value is out of range or has invalid characters",
        detail, errors=errors or None,
    )


def database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The database went away for a moment (a restart, a fail-over, a lost connection): the
    caller may retry, so 503 with Retry-After, and a warning rather than a traceback. Nothing
    is half-done: the transaction rolled back, or, when only the answer to its COMMIT was lost,
    the retry with the same Idempotency-Key finds the write and replays it."""
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
    slug, title_en, title_zh = _HTTP_TITLES[503]
    title = title_zh if _language(request).startswith("zh") else title_en
    return _problem(
        request, 503, slug, title, "The database is briefly unreachable; please retry (a write with the same Idempotency-Key).",
        retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if db.is_unavailable(error):
        return database_unavailable(request, error)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    slug, title_en, title_zh = _HTTP_TITLES[500]
    title = title_zh if _language(request).startswith("zh") else title_en
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, slug, title, "The error was logged; please try again later.")


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OverflowError: out_of_range,  # SQLite: "Python int too large to convert"
    Exception: unexpected_error,
}
try:  # PostgreSQL's refusals of out-of-range numbers and of NUL in text
    from asyncpg.exceptions import DataError as _PostgresDataError

    EXCEPTION_HANDLERS[_PostgresDataError] = out_of_range
except ImportError:  # pragma: no cover - asyncpg is a dependency
    pass
