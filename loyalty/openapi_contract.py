"""Make the generated OpenAPI document say what the app really answers.

Litestar documents its own default error body ({status_code, detail, extra}) for a 400; our one
error mapper (`loyalty.problems`) answers every failure as `application/problem+json`. This
rewrites every error answer to the problem-details schema, lists the refusals every route can
give (401, 403, 404, 409, 422, 429), and adds the two answers a decorator cannot express: a
write replayed under its Idempotency-Key (200) and the settlement as CSV.
"""

from __future__ import annotations

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # its cache is shared: see document_app
from litestar.openapi.spec import OpenAPI
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec import OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

from loyalty.problems import PROBLEM_JSON

ERROR_ANSWERS = {
    "400": "The request is malformed or a field failed validation (`errors` names the field)",
    "401": "Not logged in, or the API key is unknown, revoked or expired",
    "403": "Not allowed for this role or merchant",
    "404": "Not found (or not yours: ids of others are not revealed)",
    "409": "Conflict, e.g. an Idempotency-Key reused with another body",
    "422": "A rule refused it; `type` says which",
    "429": "Too many requests; see Retry-After and RateLimit-*",
}
PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="stable URI reference per failure, e.g. /problems/insufficient-points"),
        "title": Schema(type=OpenAPIType.STRING, description="in the caller's language (Accept-Language)"),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={"field": Schema(type=OpenAPIType.STRING), "reason": Schema(type=OpenAPIType.STRING)},
            ),
        ),
    },
    description="RFC 9457 problem details",
)
REPLAYED_WRITES = ("createSale", "reverseSale")


def _problem_answer(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_JSON: MediaType(schema=Reference(ref="#/components/schemas/ProblemDetails"))},
    )


_DOCUMENTED: dict[tuple[object, ...], OpenAPI] = {}


def document_app(app: Litestar) -> None:
    """Give `app` the OpenAPI document with our problem details. Building it takes most of
    the time of making an app, and every app of a process has the same routes (tests make
    hundreds), so it is built once per set of routes and shared."""
    key = tuple(sorted((route.path, tuple(sorted(getattr(route, "methods", ()) or ()))) for route in app.routes))
    plugin = app.plugins.get(OpenAPIPlugin)
    if key in _DOCUMENTED:
        plugin._openapi = _DOCUMENTED[key]  # the plugin's cache of its built document
        return
    document_problem_details(app.openapi_schema)
    _DOCUMENTED[key] = app.openapi_schema


def document_problem_details(schema: OpenAPI) -> None:
    assert schema.components is not None
    schema.components.schemas = {**(schema.components.schemas or {}), "ProblemDetails": PROBLEM}
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses or {}
            for status, description in ERROR_ANSWERS.items():
                responses[status] = _problem_answer(description)
            if operation.operation_id in REPLAYED_WRITES and "201" in responses:
                created = responses["201"]
                responses["200"] = OpenAPIResponse(
                    description="The first answer, replayed for a retry with the same Idempotency-Key and body "
                    "(header Idempotent-Replayed: true)",
                    content=created.content if isinstance(created, OpenAPIResponse) else None,
                )
            if operation.operation_id == "getSettlement" and isinstance(responses.get("200"), OpenAPIResponse):
                answer = responses["200"]
                answer.content = {
                    **(answer.content or {}),
                    "text/csv": MediaType(schema=Schema(type=OpenAPIType.STRING, description="for a month written YYYY-MM.csv")),
                }
            operation.responses = responses
