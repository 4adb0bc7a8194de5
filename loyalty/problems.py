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
from loyalty.i18n import Message, _, _n, request_locale, translate
from loyalty.i18n.fields import field_label

log = logging.getLogger("loyalty.errors")

PROBLEM_JSON = "application/problem+json"
# A PostgreSQL restart or fail-over takes seconds; a till retrying sooner only finds it still down.
DATABASE_RETRY_AFTER_SECONDS = 2

_HTTP_TITLES: dict[int, tuple[str, Message]] = {
    400: ("bad-request", _("The request is malformed")),
    401: ("not-authenticated", _("Please log in")),
    403: ("forbidden", _("Your role does not allow this")),
    404: ("not-found", _("Not found")),
    405: ("method-not-allowed", _("This method is not allowed here")),
    413: ("payload-too-large", _("The request body is too large")),
    415: ("unsupported-media-type", _("Unsupported content type")),
    429: ("too-many-requests", _("Too many requests")),
    500: ("internal-error", _("Something went wrong on our side")),
    503: ("service-unavailable", _("The service is briefly unavailable")),
}
_HTTP_FALLBACK = ("http-error", _("Request failed"))
# Litestar's own sentences for the HTTP errors it raises, in words a reader can take in their locale.
_HTTP_DETAILS: dict[int, Message] = {
    401: _("Please log in"),
    403: _("Your role does not allow this"),
    404: _("There is nothing at this address"),
    405: _("This method is not allowed here"),
    413: _("The request body is too large"),
    415: _("Unsupported content type"),
    429: _("Too many requests; please wait and try again"),
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
_BOUND_REASONS = {
    "<=": _("must be at most {limit}"), ">=": _("must be at least {limit}"),
    "<": _("must be less than {limit}"), ">": _("must be more than {limit}"),
}
_LENGTH_REASONS = {
    ("str", "<="): _n("must be at most {limit} character long", "must be at most {limit} characters long", 0),
    ("str", ">="): _n("must be at least {limit} character long", "must be at least {limit} characters long", 0),
    ("array", "<="): _n("must have at most {limit} item", "must have at most {limit} items", 0),
    ("array", ">="): _n("must have at least {limit} item", "must have at least {limit} items", 0),
    ("object", "<="): _n("must have at most {limit} entry", "must have at most {limit} entries", 0),
    ("object", ">="): _n("must have at least {limit} entry", "must have at least {limit} entries", 0),
}
# msgspec's fixed sentences, in the words a till developer reads.
_FIXED_REASONS = {
    "Invalid RFC3339 encoded date": _("a date is written YYYY-MM-DD, e.g. 2026-12-07"),
    "Invalid RFC3339 encoded datetime": _("a time is written as RFC 3339, e.g. 2026-12-07T08:00:00Z"),
    "Invalid RFC3339 encoded time": _("a time of day is written HH:MM:SS, e.g. 08:00:00"),
    "Integer value out of range": _("the number is too large"),
    "Invalid base64 encoded string": _("expected base64 text"),
    "Invalid UUID": _("expected a UUID"),
    "Object missing required field": _("this field is required"),
    "Object contains unknown field": _("this field is not known here"),
}
_MISSING_FIELD = re.compile(r"^Object missing required field `[^`]+`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `[^`]+`$")
_INVALID_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_PATTERN = re.compile(r"^Expected `str` matching regex `(?P<regex>.+)`$")
# The largest integer the database holds (a signed 64-bit column, PostgreSQL BIGINT and SQLite INTEGER).
DATABASE_INT_MAX = 2**63 - 1
_TYPE_WORDS = {
    "int": _("an integer"), "float": _("a number"), "str": _("a string"), "bool": _("true or false"), "null": _("null"),
    "object": _("an object"), "array": _("an array"), "bytes": _("base64 text"),
    "date": _("a date (YYYY-MM-DD)"), "datetime": _("a time (RFC 3339)"), "time": _("a time of day (HH:MM:SS)"),
    "uuid": _("a UUID"), "decimal": _("a decimal number"),
}
_INVALID_VALUE = _("invalid value")
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


def _locale(request: Request[Any, Any, Any]) -> str:
    return request_locale(request)


def _render_errors(errors: list[dict[str, Any]], locale: str) -> list[dict[str, str]]:
    return [{key: translate(value, locale) for key, value in error.items()} for error in errors]


def _joined(errors: list[dict[str, str]], locale: str, path: str) -> str:
    """One sentence naming every field and its reason, for readers who show only `detail`."""
    parts = [
        translate(_("{field}: {reason}", field=field_label(e["field"], locale, path), reason=e["reason"]), locale)
        for e in errors
    ]
    return translate(_("; "), locale).join(parts)


def domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    locale = _locale(request)
    extra: dict[str, Any] = dict(error.extra)
    detail = error.detail_in(locale)
    if error.field:
        extra["errors"] = [{"field": error.field, "reason": detail, **({"source": error.source} if error.source else {})}]
    return _problem(request, error.status, error.type, error.title_in(locale), detail, headers=error.headers, **extra)


def _plain_reason(message: str) -> Message:
    """msgspec's reason in words a reader takes without knowing Python's type names:
    "Expected `int`, got `str`" → "expected an integer, got a string", "Expected `int` <= 200" →
    "must be at most 200", "Invalid RFC3339 encoded date" → "a date is written YYYY-MM-DD".
    A sentence msgspec may add later and we do not know yet reads "invalid value"."""
    if message in _FIXED_REASONS:
        return _FIXED_REASONS[message]
    if _MISSING_FIELD.match(message):
        return _FIXED_REASONS["Object missing required field"]
    if _UNKNOWN_FIELD.match(message):
        return _FIXED_REASONS["Object contains unknown field"]
    bound = _BOUND.match(message)
    if bound:
        op, limit = bound.group("op"), int(bound.group("limit"))
        if bound.group("length") and (bound.group("type"), op) in _LENGTH_REASONS:
            counted = _LENGTH_REASONS[(bound.group("type"), op)]
            return Message(counted.msgid, counted.plural, limit, values={"limit": limit})
        return _BOUND_REASONS[op].format(limit=limit)
    enum = _INVALID_ENUM.match(message)
    if enum:
        return _("{value} is not one of the allowed values", value=enum.group("value"))
    if _PATTERN.match(message):
        return _("is not written in the expected form")
    wrong = _WRONG_TYPE.match(message)
    if not wrong:
        log.info("a validation message with no words of ours yet: %r", message)
        return _INVALID_VALUE
    names = [name.strip() for name in wrong.group(1).split("|")]
    # A type msgspec may name that we have no words for yet is shown as the identifier it is.
    expected = [_TYPE_WORDS.get(name, f"`{name}`") for name in names]
    got = _TYPE_WORDS.get(wrong.group(2), f"`{wrong.group(2)}`")
    if len(expected) == 1:
        return _("expected {expected}, got {got}", expected=expected[0], got=got)
    return _("expected {first} or {second}, got {got}", first=expected[0], second=expected[1], got=got)


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


def _field_errors(request: Request[Any, Any, Any], extra: Any) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        field = item.get("key")
        source = _source(item.get("source"))
        if not field or field == "data":  # "data" is Litestar's name for the whole body
            match = _JSON_PATH.search(message) or _NAMED_FIELD.search(message)
            field, source = (match.group(1) if match else "body"), "body"
        raw = _JSON_PATH.sub("", message).removesuffix(" - at ").rstrip(" -").strip()
        reason: Message = _plain_reason(raw) if raw else _INVALID_VALUE
        if raw.strip("'\"") == "data":  # Litestar's words for a missing body
            field, reason = "body", _("a JSON body is required")
        error: dict[str, Any] = {"field": _public_name(request, str(field), source), "reason": reason}
        if source:
            error["source"] = source
        errors.append(error)
    return errors


def _missing_parameter(detail: str) -> list[dict[str, Any]]:
    """Litestar reports a required header or query parameter that was not sent with no field
    at all ("Missing required header parameter 'Idempotency-Key' for path ..."): name it."""
    missing = _MISSING_PARAMETER.search(detail)
    if not missing:
        return []
    source, name = missing.groups()
    reasons = {
        "header": _("this header is required"), "query": _("this query parameter is required"),
        "path": _("this path parameter is required"), "cookie": _("this cookie is required"),
    }
    return [{"field": name, "reason": reasons[source], "source": source}]


def validation_error(request: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    locale = _locale(request)
    found = _field_errors(request, error.extra) or _missing_parameter(str(error.detail))
    if not found:
        log.info("a validation failure with no field: %s", error.detail)
        found = [{"field": "body", "reason": _("the request could not be read"), "source": "body"}]
    errors = _render_errors(found, locale)
    return _problem(
        request, 400, "validation-error", translate(_("A field failed validation"), locale),
        _joined(errors, locale, request.url.path), errors=errors,
    )


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    locale = _locale(request)
    slug, title = _HTTP_TITLES.get(error.status_code, _HTTP_FALLBACK)
    detail = _HTTP_DETAILS.get(error.status_code, title)
    if error.status_code == 400 and str(error.detail).startswith("JSON is malformed"):
        detail = _("The body is not valid JSON")
    # Keep what Litestar says in headers (Allow on a 405, WWW-Authenticate, Retry-After).
    return _problem(
        request, error.status_code, slug, translate(title, locale), translate(detail, locale),
        headers=dict(error.headers or {}),
    )


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


def _out_of_range_fields(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """The path and query parameters whose number the database cannot hold: the usual cause of
    the database's refusal (an id or cursor typed or generated wrong), named so the caller
    need not guess. A body's numbers carry their own bounds and never get this far."""
    found: list[dict[str, Any]] = []
    for source, values in (("path", dict(request.path_params)), ("query", dict(request.query_params))):
        for name, value in values.items():
            if _too_large(value):
                reason = _("must be between {low} and {high}", low=-DATABASE_INT_MAX - 1, high=DATABASE_INT_MAX)
                found.append({"field": name, "reason": reason, "source": source})
    return found


def out_of_range(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A value the database cannot hold (an id beyond its integer range, text with a NUL
    character) is the caller's mistake: 400, not a 500. The transaction has rolled back."""
    locale = _locale(request)
    errors = _render_errors(_out_of_range_fields(request), locale)
    detail = _joined(errors, locale, request.url.path) if errors else translate(
        _("a number is too large, a date is out of range, or a text contains a NUL character"), locale
    )
    title = translate(_("A value is out of range or has invalid characters"), locale)
    return _problem(request, 400, "value-out-of-range", title, detail, errors=errors or None)


def database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The database went away for a moment (a restart, a fail-over, a lost connection): the
    caller may retry, so 503 with Retry-After, and a warning rather than a traceback. Nothing
    is half-done: the transaction rolled back, or, when only the answer to its COMMIT was lost,
    the retry with the same Idempotency-Key finds the write and replays it."""
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
    locale = _locale(request)
    slug, title = _HTTP_TITLES[503]
    detail = _("The database is briefly unreachable; please retry (a write with the same Idempotency-Key).")
    return _problem(
        request, 503, slug, translate(title, locale), translate(detail, locale), retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if db.is_unavailable(error):
        return database_unavailable(request, error)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    locale = _locale(request)
    slug, title = _HTTP_TITLES[500]
    detail = _("The error was logged; please try again later.")
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, slug, translate(title, locale), translate(detail, locale))


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
