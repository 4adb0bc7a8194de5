"""Make the generated OpenAPI document a contract a client can code against.

Our one error mapper (`loyalty.problems`) answers every failure as `application/problem+json`
with a stable `type`. This module
- keeps the registry of problem types: every `DomainError` subclass (`loyalty.errors` and the
  per-context ones) and the answers `loyalty.problems` makes itself, each documented once under
  `components.schemas.ProblemType` and the document's `x-problem-types` (status, titles,
  meaning, the extra fields its body carries);
- lets each route handler declare, next to it, which domain errors its service may raise
  (`@raises(...)`); the answers every route gives because of how it is reached (its guard, its
  parameters and body) are added from the route itself;
- writes, per operation: who may call it (security requirement and words), each error status
  with its possible `type`s (`x-problem-types`, and one example body each), and the response
  headers it sets (RateLimit-*, Retry-After, Idempotent-Replayed, Location, WWW-Authenticate).

`tests/test_openapi_contract.py` (and the recorder in `tests/conftest.py`, which fails a test
whose request was answered with a problem type its operation does not list) keep it honest.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # its cache is shared: see document_app
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Example, OpenAPI, OpenAPIHeader, OpenAPIResponse, Operation, Reference, Schema
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

from loyalty.i18n import Message, _, translate
from loyalty.errors import DomainError
from loyalty.problems import _HTTP_TITLES, PROBLEM_JSON, SOURCES

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# The registry of problem types
# ---------------------------------------------------------------------------------------------

# Fields a problem body carries besides type/title/status/detail/instance/errors, by type.
# tests/test_openapi_contract.py reads every `raise SomeError(..., name=...)` in the code and
# fails if a name is missing here.
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "forbidden": {"role": "the caller's staff role"},
    "login-code-invalid": {"attempts_left": "wrong codes still allowed before the code is void"},
    "too-many-attempts": {"retry_after": "seconds to wait (also the Retry-After header)"},
    "login-codes-limited": {"retry_after": "seconds to wait (also the Retry-After header)"},
    "bad-keys-limited": {"retry_after": "seconds to wait (also the Retry-After header)"},
    "staff-login-locked": {"retry_after": "seconds to wait (also the Retry-After header)"},
    "rate-limited": {"retry_after": "seconds to wait (also the Retry-After header)"},
    "referral-daily-cap": {"limit": "referrals allowed per day", "retry_after": "seconds until tomorrow (Beijing time)"},
    "service-unavailable": {"retry_after": "seconds to wait before retrying (also the Retry-After header)"},
    "import-rejected": {"errors": "the bad rows: `row`, `column`, `reason` (nothing was imported)"},
    "upload-too-large": {"limit": "the largest file accepted, in bytes"},
    "too-many-rows": {"limit": "the most rows one upload may carry"},
    "cell-too-long": {"limit": "the longest cell accepted, in characters"},
    "insufficient-points": {"available": "points the member can spend now"},
    "nothing-to-reverse": {"left": "points (or fen) still reversible"},
    "reversal-exceeds-sale": {"left_fen": "gross fen of the sale not yet reversed"},
    "discount-exceeds-schedule": {"allowed_fen": "the largest discount in fen this member's tier allows here"},
    "referral-duplicate": {
        "lead_id": "the lead you registered before",
        "protected_until": "the day (ISO date) your protection of that referral ends",
    },
    "referral-protected": {"protected_until": "the day (ISO date) the other owner's protection ends"},
    "adjustment-too-large": {"limit": "the most points one adjustment may move"},
    "adjustment-already-decided": {"status_now": "the request's status: approved or rejected"},
    "already-erased": {"erased_at": "when the member's data was erased (ISO date-time)"},
    "already-signed-up": {"event_id": "the event"},
    "event-full": {"event_id": "the event", "waitlist": "true when the waitlist is open for it",
                   "seats_left": "seats still free (fewer than the party)", "party_size": "seats the signup asked for"},
    "event-cancelled": {"reason": "why it was called off"},
    "event-not-eligible": {"rule": "the rule you do not meet: tier or stage", "allowed": "the tiers or stages that may join"},
    "signup-not-open-yet": {"opens_at": "when sign-up opens (ISO date-time)", "reason": "the rule, in words"},
    "signup-closed": {"closed_at": "when sign-up closed (ISO date-time)", "reason": "the rule, in words"},
    "signup-not-cancellable": {"status_now": "the signup's status (see SignupView.status)"},
    "cancel-deadline-passed": {"deadline": "the cancellation deadline (ISO date-time)"},
    "party-too-large": {"limit": "the most people one signup may bring"},
    "reward-out-of-stock": {"reward_id": "the reward", "needed": "gifts a grant needed", "left": "what was left in stock"},
    "reward-not-eligible": {"rule": "the rule you do not meet: tier, stage or project",
                            "allowed": "the tiers, stages or project ids it is for"},
    "reward-not-on-offer": {"reason": "withdrawn, not_started or ended", "starts_on": "its first day (ISO date)",
                            "ends_on": "its last day (ISO date)"},
    "redemption-limit-reached": {"limit": "redemptions of this reward one owner may hold"},
    "redemption-closed": {"status_now": "the redemption's status (see RedemptionView.status)"},
    "broadcast-closed": {"status_now": "the message's status (see BroadcastView.status)"},
    "redemption-already-picked-up": {"picked_up_at": "when it was handed over (ISO date-time)"},
    "redemption-expired": {"expired_at": "when the reservation ended (ISO date-time)"},
    "reward-event-full": {"event_id": "the event whose seats are all taken"},
    "voucher-already-used": {"used_at": "when the voucher was used (ISO date-time)"},
    "voucher-expired": {"expired_at": "the end of its validity (ISO date-time)"},
    "voucher-cancelled": {"cancelled_at": "when the owner gave it back (ISO date-time)"},
}

# Answers `loyalty.problems` and the edge make without a DomainError: (status, title, meaning).
_OTHER_PROBLEMS: dict[str, tuple[int, Message, str]] = {
    "validation-error": (400, _("A field failed validation"),
                         "A parameter or body field has the wrong type, is missing, or is out of its range; "
                         "`errors[]` names each (`field`, `reason`)."),
    "value-out-of-range": (400, _("A value is out of range or has invalid characters"),
                           "A number beyond what the database holds, or a text with a NUL character."),
    "cross-origin-refused": (403, _("Requests from another site are refused"),
                             "A browser write from another origin (the session cookie is not accepted cross-site)."),
    "http-error": (400, _("Request failed"), "Any other HTTP-level refusal; `status` says which."),
}
_HTTP_MEANINGS = {
    "bad-request": "The body is not JSON (or not the content type the route reads).",
    "not-authenticated": "No session (log in), the session ended, or no/an unusable API key.",
    "forbidden": "Logged in, but this role may not do this.",
    "not-found": "No such thing, or not yours (the ids of others are not revealed).",
    "method-not-allowed": "This path does not take this method (see Allow).",
    "payload-too-large": "The request body is over the limit.",
    "unsupported-media-type": "The Content-Type is not one this route reads.",
    "too-many-requests": "Too many requests (see Retry-After).",
    "internal-error": "A bug on our side: logged with a traceback; nothing leaks. Not listed per operation.",
    "service-unavailable": "The database is briefly unreachable: retry after Retry-After seconds (a write with the "
                           "same Idempotency-Key is safe to retry).",
}


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title_en: str
    title_zh: str
    meaning: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"


def _subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _meaning(cls: type[DomainError]) -> str:
    doc = inspect.getdoc(cls) if cls.__doc__ else None
    return " ".join((doc or translate(cls.title, "en")).split("\n\n")[0].split())


def error_classes() -> list[type[DomainError]]:
    """Every concrete DomainError: one that names its own `type` (bases such as RetryLater or
    CodeError only share behaviour). Import the app first: the per-context errors are defined
    by the modules it imports."""
    return [cls for cls in _subclasses(DomainError) if "type" in cls.__dict__]


def problem_types() -> dict[str, ProblemType]:
    """slug → ProblemType, for every problem the app can answer."""
    registry: dict[str, ProblemType] = {}
    def both(title: Message) -> tuple[str, str]:
        return translate(title, "en"), translate(title, "zh-CN")

    for status, (slug, title) in _HTTP_TITLES.items():
        registry[slug] = ProblemType(slug, status, *both(title), _HTTP_MEANINGS.get(slug, translate(title, "en")))
    for slug, (status, title, meaning) in _OTHER_PROBLEMS.items():
        registry[slug] = ProblemType(slug, status, *both(title), meaning)
    for cls in error_classes():
        registry[cls.type] = ProblemType(cls.type, cls.status, *both(cls.title), _meaning(cls))
    return {
        slug: ProblemType(p.slug, p.status, p.title_en, p.title_zh, p.meaning, EXTRA_FIELDS.get(slug, {}))
        for slug, p in sorted(registry.items())
    }


def checked_enum(values: Iterable[str], description: str, example: str) -> msgspec.Meta:
    """The schema of a request `str` field whose allowed values the service checks: documented
    as an enum of `values`, but decoded as any text, so an unknown value keeps its answer (422
    `invalid-field` naming the field, from the service) instead of becoming a 400 decode failure.
    Litestar copies `extra_json_schema["extra"]` onto the field's schema."""
    return msgspec.Meta(description=description, examples=[example],
                        extra_json_schema={"extra": {"enum": list(values)}})


# ---------------------------------------------------------------------------------------------
# What a route declares
# ---------------------------------------------------------------------------------------------

Problem = type[DomainError] | str


def raises(*problems: Problem) -> Callable[[T], T]:
    """Declare, next to a route handler, the domain errors its service may raise (classes, or
    slugs of `loyalty.problems` answers). Put it above or below the route decorator."""

    def mark(target: T) -> T:
        fn = target.fn if isinstance(target, HTTPRouteHandler) else target
        setattr(fn, "__problems__", tuple(getattr(fn, "__problems__", ())) + problems)
        return target

    return mark


def declared_problems(handler: HTTPRouteHandler) -> set[str]:
    return {p if isinstance(p, str) else p.type for p in getattr(handler.fn, "__problems__", ())}


# Who may call: the guard a route sits behind.
MEMBER, STAFF, PARTNER, PUBLIC = "member", "staff", "partner", "public"
PARTNER_LIMITS = ("rate-limited", "bad-keys-limited")
# Bodies and parameters are checked by the framework before the handler runs (a string holding a
# control character is an invalid-field, loyalty/json_bodies.py).
BODY_PROBLEMS = ("validation-error", "bad-request", "body-too-deep", "value-out-of-range", "payload-too-large", "invalid-field")
NO_DATABASE = {"health"}  # operations that answer without the database


def credential(handler: HTTPRouteHandler) -> str:
    names = {getattr(guard, "__name__", "") for guard in handler.resolve_guards()}
    if "requires_staff_role" in names:
        return STAFF
    if "requires_api_key" in names:
        return PARTNER
    if "requires_member" in names:
        return MEMBER
    return PUBLIC


def staff_roles(handler: HTTPRouteHandler) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*handler.opt.get("roles", ()), "admin")))  # admin may do everything, listed once


def operation_problems(handler: HTTPRouteHandler, operation: Operation) -> set[str]:
    """The problem types an operation can answer: those its handler declares, and those that
    follow from its guard, parameters and body."""
    found = declared_problems(handler)
    for guard in handler.resolve_guards():  # a guard may declare its own (`@raises` on the guard function)
        found.update(p if isinstance(p, str) else p.type for p in getattr(guard, "__problems__", ()))
    who = credential(handler)
    if who in (MEMBER, STAFF, PARTNER):
        found.add("not-authenticated")
    if who == STAFF:
        found.add("forbidden")
    if who == PARTNER:
        found.update(PARTNER_LIMITS)
        found.add("merchant-suspended")
    params = operation.parameters or []
    if params or operation.request_body is not None:
        # Any value the database is handed may be beyond its range (an id past int32 on
        # PostgreSQL) or hold a character it refuses (NUL): a 400, whichever parameter.
        found.update(("validation-error", "value-out-of-range"))
    if any(getattr(p, "param_in", None) == "path" for p in params):
        found.add("not-found")
    if operation.request_body is not None and handler.http_methods & {"POST", "PUT", "PATCH"}:
        found.update(BODY_PROBLEMS)
    if operation.operation_id not in NO_DATABASE:
        found.add("service-unavailable")
    return found


# ---------------------------------------------------------------------------------------------
# Writing the document
# ---------------------------------------------------------------------------------------------

STATUS_WORDS = {
    400: "The request is malformed or a field failed validation (`errors[]` names the field)",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found (or not yours: ids of others are not revealed)",
    409: "Conflict with the current state",
    413: "Too large",
    422: "A rule refused it; `type` says which",
    429: "Too many requests; wait Retry-After seconds",
    502: "The payment provider failed; try again",
    503: "Briefly unavailable; retry after Retry-After seconds",
}
WHO_WORDS = {
    PUBLIC: "**Who may call / 调用方:** anyone; no credential. 无需登录。",
    MEMBER: "**Who may call / 调用方:** a logged-in member: the session cookie `ocs` from `POST /api/v1/auth/sessions`. "
            "业主登录会话。",
    PARTNER: "**Who may call / 调用方:** an alliance merchant's till: `Authorization: Bearer ocm_live_…` (a merchant-wide "
             "or a store key, issued by staff). 联盟商户 API 密钥。",
}
PROBLEM_FIELDS_DOC = "Besides these, a problem's body may carry the fields its type lists in `x-problem-types`."

_INT = Schema(type=OpenAPIType.INTEGER)
HEADERS = {
    "RateLimit-Limit": OpenAPIHeader(schema=_INT, description="requests allowed per window for this API key"),
    "RateLimit-Remaining": OpenAPIHeader(schema=_INT, description="requests left in this window"),
    "RateLimit-Reset": OpenAPIHeader(schema=_INT, description="seconds until the window ends"),
    "Retry-After": OpenAPIHeader(schema=_INT, description="seconds to wait before trying again", required=True),
    "Idempotent-Replayed": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]), required=True,
        description="`true`: this is the stored answer to the first request with this Idempotency-Key and body",
    ),
    "Location": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True,
                              description="the URL of what was created"),
    "WWW-Authenticate": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING, enum=["Bearer"]), required=True,
                                      description="how to authenticate: a Bearer API key"),
}
RATE_HEADERS = {name: HEADERS[name] for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}
CREATED_AT = {"createSale": "/partner/v1/sales/{id}", "reverseSale": "/partner/v1/sales/{sale_id}/reversals/{id}"}
REPLAYED_WRITES = (*CREATED_AT, "useVoucher")  # useVoucher's 201 has no Location: its resource is named by the code


def problem_schema(registry: dict[str, ProblemType]) -> Schema:
    extra = sorted({name for p in registry.values() for name in p.fields if name != "errors"})
    carried_by = {name: sorted(p.slug for p in registry.values() if name in p.fields) for name in extra}
    properties: dict[str, Schema | Reference] = {
        "type": Reference(ref="#/components/schemas/ProblemType"),
        "title": Schema(type=OpenAPIType.STRING, description="in the caller's language (Accept-Language: zh-CN or en)",
                        examples=["A field failed validation", "请求字段校验失败"]),
        "status": Schema(type=OpenAPIType.INTEGER, description="the HTTP status, repeated", examples=[400]),
        "detail": Schema(type=OpenAPIType.STRING, description="what exactly was wrong, for a person",
                         examples=["gross_fen: must be at most 100000000000"]),
        "instance": Schema(type=OpenAPIType.STRING, description="the request path", examples=["/partner/v1/sales"]),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="the fields at fault (validation, Idempotency-Key) or the rows of a rejected import",
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "field": Schema(type=OpenAPIType.STRING, description="a body field (`gross_fen`, `items[0].name`), "
                                    "a parameter or header (`Idempotency-Key`), or `body`", examples=["gross_fen"]),
                    "reason": Schema(type=OpenAPIType.STRING, description="why, in plain words",
                                     examples=["must be at most 100000000000"]),
                    "source": Schema(type=OpenAPIType.STRING, enum=list(SOURCES), examples=["body"],
                                     description="where the field is: body, query, path, header or cookie"),
                },
            ),
        ),
    }
    for name in extra:
        properties[name] = Schema(description=f"only in a problem of type {', '.join(carried_by[name])}: "
                                  + "; ".join(registry[s].fields[name] for s in carried_by[name][:1]))
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail"],
        properties=properties,
        description="RFC 9457 problem details. Branch on `type`; `title` is for people. " + PROBLEM_FIELDS_DOC,
    )


def problem_type_schema(registry: dict[str, ProblemType]) -> Schema:
    lines = [f"- `{p.uri}` ({p.status}): {p.meaning}" + (
        " Carries " + ", ".join(f"`{k}` ({v})" for k, v in p.fields.items()) + "." if p.fields else ""
    ) for p in registry.values()]
    return Schema(
        type=OpenAPIType.STRING,
        enum=[p.uri for p in registry.values()],
        description="A stable reference per failure / 每种错误的稳定标识:\n" + "\n".join(lines),
    )


def _example(problem: ProblemType, path: str) -> Example:
    value: dict[str, Any] = {"type": problem.uri, "title": problem.title_en, "status": problem.status,
                             "detail": problem.title_en, "instance": path}
    return Example(summary=f"{problem.title_en} / {problem.title_zh}", value=value)


def _problem_answer(status: int, slugs: list[str], registry: dict[str, ProblemType], path: str,
                    headers: dict[str, OpenAPIHeader]) -> OpenAPIResponse:
    listed = ", ".join(f"`{slug}`" for slug in slugs)
    answer = OpenAPIResponse(
        description=f"{STATUS_WORDS.get(status, 'Refused')}. Problem types: {listed}",
        content={PROBLEM_JSON: MediaType(
            schema=Reference(ref="#/components/schemas/ProblemDetails"),
            examples={slug: _example(registry[slug], path) for slug in slugs},
        )},
        headers=headers or None,
    )
    return answer


def _who(handler: HTTPRouteHandler) -> str:
    who = credential(handler)
    if who != STAFF:
        return WHO_WORDS[who]
    roles = ", ".join(f"`{role}`" for role in staff_roles(handler))
    return (f"**Who may call / 调用方:** staff with the session cookie `ocs` from `POST /api/v1/auth/staff-sessions`, "
            f"role {roles}. 工作人员登录会话，角色：{roles}。")


def _handlers(app: Litestar) -> Iterable[tuple[str, str, HTTPRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.resolve_include_in_schema():
                    for method in handler.http_methods:
                        yield route.path_format, method.lower(), handler


class _Extended:
    """Mixed into a spec object to write OpenAPI `x-` extensions, which Litestar's spec
    dataclasses have no field for."""

    def to_schema(self) -> dict[str, Any]:
        result: dict[str, Any] = super().to_schema()  # type: ignore[misc]
        result.update(self.__dict__.get("_extensions", {}))
        return result


def set_extensions(spec: Any, extensions: dict[str, Any]) -> None:
    if not isinstance(spec, _Extended):
        spec.__class__ = type(type(spec).__name__, (_Extended, type(spec)), {})
    spec.__dict__["_extensions"] = {**spec.__dict__.get("_extensions", {}), **extensions}


_DOCUMENTED: dict[tuple[object, ...], OpenAPI] = {}


def document_app(app: Litestar) -> None:
    """Give `app` the OpenAPI document described above. Building it takes most of the time of
    making an app, and every app of a process has the same routes (tests make hundreds), so it
    is built once per set of routes and shared."""
    key = tuple(sorted((route.path, tuple(sorted(getattr(route, "methods", ()) or ()))) for route in app.routes))
    plugin = app.plugins.get(OpenAPIPlugin)
    if key in _DOCUMENTED:
        plugin._openapi = _DOCUMENTED[key]  # the plugin's cache of its built document
        return
    document_contract(app, app.openapi_schema)
    _DOCUMENTED[key] = app.openapi_schema


def document_contract(app: Litestar, schema: OpenAPI) -> None:
    registry = problem_types()
    assert schema.components is not None
    schema.components.schemas = {
        **(schema.components.schemas or {}),
        "ProblemDetails": problem_schema(registry),
        "ProblemType": problem_type_schema(registry),
    }
    set_extensions(schema, {
        "x-problem-types": {
            p.uri: {"status": p.status, "title_en": p.title_en, "title_zh": p.title_zh, "meaning": p.meaning,
                    "fields": p.fields}
            for p in registry.values()
        },
    })
    for path, method, handler in _handlers(app):
        item = (schema.paths or {}).get(path)
        operation = getattr(item, method, None) if item is not None else None
        if operation is not None:
            document_operation(path, handler, operation, registry)


def document_operation(path: str, handler: HTTPRouteHandler, operation: Operation,
                       registry: dict[str, ProblemType]) -> None:
    who = credential(handler)
    problems = sorted(operation_problems(handler, operation))
    unknown = [slug for slug in problems if slug not in registry]
    if unknown:
        raise ValueError(f"{operation.operation_id} declares unknown problem types {unknown}")
    responses = dict(operation.responses or {})
    for status in sorted({registry[slug].status for slug in problems}):
        slugs = [slug for slug in problems if registry[slug].status == status]
        headers: dict[str, OpenAPIHeader] = {}
        if status in (429, 503):
            headers["Retry-After"] = HEADERS["Retry-After"]
        if who == PARTNER and status == 429 and "rate-limited" in slugs:
            headers.update(RATE_HEADERS)
        if who == PARTNER and status == 401:
            headers["WWW-Authenticate"] = HEADERS["WWW-Authenticate"]
        responses[str(status)] = _problem_answer(status, slugs, registry, path, headers)
    for status, answer in list(responses.items()):
        if not status.startswith("2") or not isinstance(answer, OpenAPIResponse):
            continue
        headers = dict(answer.headers or {})
        if who == PARTNER:
            headers.update(RATE_HEADERS)  # counted in the shared store: see partner_api/auth.py
        if status == "201" and operation.operation_id in CREATED_AT:
            headers["Location"] = HEADERS["Location"]
        answer.headers = headers or None
    if operation.operation_id in REPLAYED_WRITES and isinstance(responses.get("201"), OpenAPIResponse):
        created = responses["201"]
        assert isinstance(created, OpenAPIResponse)
        responses["200"] = OpenAPIResponse(
            description="The first answer, replayed for a retry with the same Idempotency-Key and body",
            content=created.content,
            headers={**RATE_HEADERS, "Idempotent-Replayed": HEADERS["Idempotent-Replayed"]},
        )
    if operation.operation_id == "getSettlement" and isinstance(responses.get("200"), OpenAPIResponse):
        statement = responses["200"]
        assert isinstance(statement, OpenAPIResponse)
        statement.content = {
            **(statement.content or {}),
            "text/csv": MediaType(schema=Schema(type=OpenAPIType.STRING,
                                                description="for a month written YYYY-MM.csv (UTF-8 with BOM)")),
        }
    operation.responses = responses
    if who == PUBLIC:
        operation.security = [] if operation.security is None else operation.security
    elif who in (MEMBER, STAFF):
        operation.security = [{"session": []}]
    else:
        operation.security = [{"partnerKey": []}]
    extensions = {"x-problem-types": [registry[slug].uri for slug in problems]}
    if who == STAFF:
        extensions["x-roles"] = list(staff_roles(handler))
    set_extensions(operation, extensions)
    text = operation.description or inspect.getdoc(handler.fn) or ""
    if text.strip() == (inspect.getdoc(type(handler)) or "").strip():
        # Litestar falls back to the decorator class's own docstring ("GET Route Decorator. ...")
        # when a handler has neither a description nor a docstring: that says nothing.
        text = ""
    operation.description = "\n\n".join(
        part for part in (text.strip() or (operation.summary or "").strip() + ".", _who(handler),
                          "**Problems / 错误类型:** " + ", ".join(f"`{slug}`" for slug in problems) + ".")
        if part
    )
