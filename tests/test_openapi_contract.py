"""The OpenAPI document as a contract (loyalty/openapi_contract.py).

Checked here, on the document the app serves: every operation says what it does, who may call
it and which problem types each error status can carry; every problem type the code can raise
is documented once, with the extra fields its body carries; status-like fields are enums that
hold every value the code writes; examples are real-looking values; headers clients rely on are
declared. The other half of the drift check is in tests/conftest.py: every problem any test
makes the app answer must be listed for the operation that answered it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from loyalty import db
from loyalty.app import create_app
from loyalty.cards.codes import CARD_CODE_KINDS
from loyalty.cards.tables import CARD_STATUSES, CRITERION_KINDS, TIERS, WHY_KINDS
from loyalty.care.cases import CLOCK_NAMES, CLOCK_STATES
from loyalty.care.outbox import OPTIONAL_KINDS
from loyalty.care.tables import AUTHORS, CASE_KINDS, CASE_STATUSES, SURVEY_KINDS
from loyalty.dashboards.service import LIABILITY_KINDS
from loyalty.events.tables import EVENT_STATUSES, SIGNUP_STATUSES
from loyalty.i18n.enums import ENUMS
from loyalty.members.stages import STAGES
from loyalty.members.tables import GENDERS, IMPORT_STATUSES, OWNERSHIP_STATUSES
from loyalty.openapi_contract import EXTRA_FIELDS, _handlers, error_classes, problem_types
from loyalty.points.approvals import STATUSES as ADJUSTMENT_STATUSES
from loyalty.points.tables import ENTRY_KINDS, SOURCE_KINDS
from loyalty.settings import LANGUAGES, load_settings
from tests.conftest import TEST_SECRET, undocumented_problem

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    bound = db.engine()  # building an app binds an engine: give the bound one back
    settings = load_settings({"LOYALTY_DATABASE_URL": "sqlite:///unused.sqlite", "LOYALTY_SECRET_KEY": TEST_SECRET})
    try:
        yield create_app(settings, engine=bound)
    finally:
        db.bind(bound)


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return app.openapi_schema.to_schema()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_names_both_apis(document: dict[str, Any]) -> None:
    text = document["info"]["description"]
    for face in ("/api/v1", "/api/v1/staff", "/partner/v1"):
        assert f"`{face}`" in text
    assert "Member API" not in document["info"]["title"]


def test_every_operation_has_summary_description_and_id(document: dict[str, Any]) -> None:
    seen: set[str] = set()
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert operation.get("operationId"), where
        assert operation["operationId"] not in seen, where
        seen.add(operation["operationId"])
        assert operation.get("summary"), where
        assert operation.get("description", "").strip() not in ("", operation["summary"]), where
        assert "Who may call" in operation["description"], where
        assert "Route Decorator" not in operation["description"], where  # Litestar's fallback says nothing


CONTEXTS_DESCRIBED = ("cards", "care", "members", "points", "dashboards")


def test_operations_of_the_described_contexts_say_more_than_their_summary(app: Any, document: dict[str, Any]) -> None:
    """Their handlers carry a description (what it does, for which page or role) besides the summary."""
    for path, method, handler in _handlers(app):
        package, _, rest = handler.fn.__module__.partition(".")
        if package == "loyalty" and rest.split(".")[0] in CONTEXTS_DESCRIBED:
            operation = document["paths"][path][method]
            first = operation["description"].split("\n\n")[0]
            assert first.rstrip(".") != operation["summary"].rstrip("."), f"{method.upper()} {path}: only a summary"


def test_every_operation_says_who_may_call_it(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"]["in"] == "cookie" and schemes["partnerKey"]["scheme"] == "bearer"
    for path, method, operation in operations(document):
        security = operation.get("security")
        if path.startswith("/partner/v1"):
            assert security == [{"partnerKey": []}], path
        elif path.startswith("/api/v1/staff"):
            assert security == [{"session": []}], path
            assert "admin" in operation["x-roles"] and len(set(operation["x-roles"])) == len(operation["x-roles"]), path
            assert all(f"`{role}`" in operation["description"] for role in operation["x-roles"]), path


def test_each_error_status_lists_exactly_its_problem_types(document: dict[str, Any]) -> None:
    registry = document["x-problem-types"]
    for path, method, operation in operations(document):
        listed = operation["x-problem-types"]
        assert listed == sorted(set(listed)), path
        by_status: dict[str, set[str]] = {}
        for uri in listed:
            assert uri in registry, f"{path}: {uri} is not documented"
            by_status.setdefault(str(registry[uri]["status"]), set()).add(uri)
        errors = {status for status in operation["responses"] if status[0] in "45"}
        assert errors == set(by_status), f"{method.upper()} {path}: {errors} ≠ {set(by_status)}"
        for status, uris in by_status.items():
            answer = operation["responses"][status]
            examples = answer["content"]["application/problem+json"]["examples"]
            assert {example["value"]["type"] for example in examples.values()} == uris, path
            assert all(uri.removeprefix("/problems/") in answer["description"] for uri in uris), path


def test_health_answers_no_refusals(document: dict[str, Any]) -> None:
    health = document["paths"]["/health"]["get"]
    assert set(health["responses"]) == {"200"}
    assert health["x-problem-types"] == []
    assert {"401", "403", "409", "422"}.isdisjoint(document["paths"]["/api/v1/code-keys"]["get"]["responses"])


def test_the_partner_api_lists_its_real_refusals(document: dict[str, Any]) -> None:
    sale = document["paths"]["/partner/v1/sales"]["post"]["x-problem-types"]
    for slug in ("code-malformed", "code-bad-signature", "code-unknown-key", "code-expired", "code-already-used",
                 "code-cannot-pay", "card-replaced", "card-suspended", "discount-exceeds-schedule",
                 "points-exceed-payable", "insufficient-points", "store-not-found", "idempotency-conflict",
                 "rate-limited", "bad-keys-limited", "not-authenticated", "merchant-suspended", "validation-error"):
        assert f"/problems/{slug}" in sale, slug
    assert "/problems/reversal-exceeds-sale" in document["paths"]["/partner/v1/sales/{sale_id}/reversals"]["post"][
        "x-problem-types"]
    signup = document["paths"]["/api/v1/events/{event_id}/signups"]["post"]["x-problem-types"]
    assert {"/problems/event-full", "/problems/already-signed-up"} <= set(signup)
    cancel = document["paths"]["/api/v1/me/signups/{signup_id}/cancellation"]["post"]["x-problem-types"]
    assert "/problems/signup-not-cancellable" in cancel


def test_every_problem_type_is_documented_once(document: dict[str, Any]) -> None:
    slugs = [cls.type for cls in error_classes()]
    assert len(slugs) == len(set(slugs)), "two errors share a type"
    enum = document["components"]["schemas"]["ProblemType"]["enum"]
    for slug in slugs:
        assert f"/problems/{slug}" in enum
        entry = document["x-problem-types"][f"/problems/{slug}"]
        assert entry["title_en"] and entry["title_zh"] and entry["meaning"] and entry["status"] >= 400
    details = document["components"]["schemas"]["ProblemDetails"]
    assert details["properties"]["type"] == {"$ref": "#/components/schemas/ProblemType"}
    for field in ("allowed_fen", "available", "left_fen", "retry_after"):
        assert field in details["properties"], field


def _raised_keywords() -> dict[str, set[str]]:
    """`raise SomeError(..., name=value)` anywhere in the code: the extra fields each error carries."""
    by_class = {cls.__name__: cls.type for cls in error_classes()}
    found: dict[str, set[str]] = {}
    for source in [*(ROOT / "loyalty").rglob("*.py"), *(ROOT / "partner_api").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in by_class:
                    found.setdefault(by_class[name], set()).update(
                        k.arg for k in node.keywords if k.arg and k.arg not in ("field", "source", "headers")
                    )
    return found


def test_every_extra_field_a_problem_carries_is_documented() -> None:
    registry = problem_types()
    for slug, names in _raised_keywords().items():
        missing = names - set(EXTRA_FIELDS.get(slug, {}))
        assert not missing, f"/problems/{slug} carries {sorted(missing)}: describe them in EXTRA_FIELDS"
        assert set(registry[slug].fields) >= names


def _enum(document: dict[str, Any], schema: str, field: str) -> list[Any]:
    prop = document["components"]["schemas"][schema]["properties"][field]
    for option in [prop, *prop.get("oneOf", [])]:  # on the field, or on one arm of its union
        if "enum" in option:
            return option["enum"]
    raise AssertionError(f"{schema}.{field} is not an enum: {prop}")


def test_status_fields_are_enums_holding_every_value_the_code_writes(document: dict[str, Any]) -> None:
    def labelled(enum: str) -> set[str]:
        return set(ENUMS[enum])

    tiers = labelled("tier")
    for schema in ("Verified", "SaleView"):
        assert set(_enum(document, schema, "tier")) == tiers
    for schema in ("SignupView", "StaffSignupView", "MySignupRef"):
        assert set(_enum(document, schema, "status")) == set(SIGNUP_STATUSES)
    for schema in ("SignupView", "StaffSignupView"):
        assert {"", "pending", "succeeded", "failed"} <= set(_enum(document, schema, "refund_status"))
    assert set(_enum(document, "CheckinView", "result")) == labelled("checkin_result")
    assert "opens" in document["components"]["schemas"]["CheckinView"]["properties"]["result"]["description"]
    assert set(_enum(document, "Verified", "code_kind")) == {"static", "dynamic"}
    assert set(_enum(document, "EventView", "status")) >= {"draft", "published"}
    assert set(_enum(document, "EventView", "kind")) == labelled("event_kind")
    assert set(_enum(document, "PaymentView", "status")) >= {"requires_payment", "succeeded", "failed", "cancelled"}


def _written(sources: list[str], column: str, table: str | None = None) -> set[str]:
    """The string constants the code writes to `column`: keyword arguments `column=...` (to a
    call of `table` only, when given), Piccolo updates `{table.column: ...}`, assignments
    `column = ...` and parameter defaults `column=...`; every string constant in the written expression counts (both arms of a
    conditional, say). Values written in raw SQL are not seen."""
    found: set[str] = set()

    def strings(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else set()
        if isinstance(node, (ast.Subscript, ast.Call)):  # original["source_kind"], f(x): read, not literals
            return set()
        return {value for child in ast.iter_child_nodes(node) for value in strings(child)}

    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if table is None or callee == table:
                    found.update(v for k in node.keywords if k.arg == column for v in strings(k.value))
            elif isinstance(node, ast.Dict) and table is not None:
                for key, value in zip(node.keys, node.values):
                    if (isinstance(key, ast.Attribute) and key.attr == column
                            and getattr(key.value, "id", None) == table and value is not None):
                        found.update(strings(value))
            elif isinstance(node, ast.Assign) and table is None:
                if any(getattr(target, "id", None) == column for target in node.targets):
                    found.update(strings(node.value))
            elif isinstance(node, ast.arguments) and table is None:  # def f(*, source_kind="erasure")
                positional = [*node.posonlyargs, *node.args]
                pairs = [*zip(positional[len(positional) - len(node.defaults):], node.defaults),
                         *zip(node.kwonlyargs, node.kw_defaults)]
                found.update(v for arg, default in pairs if arg.arg == column and default is not None
                             for v in strings(default))
    return found


def _code(*contexts: str) -> list[str]:
    return [path.read_text(encoding="utf-8") for context in contexts for path in (ROOT / "loyalty" / context).rglob("*.py")]


# (schema, field, the values the schema must hold: the constants the code writes from)
CONTEXT_ENUMS = [
    ("CardView", "status", CARD_STATUSES), ("CardView", "why_kind", WHY_KINDS),
    *((schema, "tier", TIERS) for schema in ("CardView", "TierProgress", "CodeCheckResult", "TierRule",
                                              "TierAssignmentRequest", "TierRuleChange")),
    *((schema, "kind", CRITERION_KINDS) for schema in ("CriterionProgress", "TierRule", "TierRuleChange")),
    ("CodeCheckResult", "kind", CARD_CODE_KINDS),
    *((schema, "kind", CASE_KINDS) for schema in ("CaseView", "CaseCreate", "StaffCaseCreate")),
    ("CaseView", "status", CASE_STATUSES), ("CaseView", "opened_by", AUTHORS), ("CaseMessageView", "author_kind", AUTHORS),
    ("ClockView", "name", CLOCK_NAMES), ("ClockView", "state", CLOCK_STATES), ("SurveyView", "kind", SURVEY_KINDS),
    ("OwnedUnit", "status", OWNERSHIP_STATUSES), ("MemberProfile", "stage", STAGES), ("MemberSummary", "stage", STAGES),
    ("MemberProfile", "gender", GENDERS), ("MemberProfile", "language", LANGUAGES),
    ("ProfileUpdate", "gender", GENDERS), ("ProfileUpdate", "language", LANGUAGES),
    ("OwnerImportSummary", "status", IMPORT_STATUSES), ("OwnerImportView", "status", IMPORT_STATUSES),
    ("PointsEntry", "kind", ENTRY_KINDS), ("PointsEntry", "source_kind", SOURCE_KINDS),
    ("AdjustmentRequestView", "status", ADJUSTMENT_STATUSES),
    ("EventRowView", "status", ("", *EVENT_STATUSES)), ("LiabilityRowView", "kind", LIABILITY_KINDS),
]


def test_context_status_fields_are_enums_of_their_constants_with_words_and_examples(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for schema, field, values in CONTEXT_ENUMS:
        assert _enum(document, schema, field) == list(values), f"{schema}.{field}"
        prop = schemas[schema]["properties"][field]
        assert prop.get("description") and prop.get("examples"), f"{schema}.{field} needs a description and an example"
        assert set(prop["examples"]) <= set(values), f"{schema}.{field}"
    opt_outs = schemas["Preferences"]["properties"]["opt_outs"]
    assert opt_outs["items"]["enum"] == list(OPTIONAL_KINDS) and "login codes" in opt_outs["description"].lower()
    parameters = {(path, p["name"]): p for path, _, op in operations(document) for p in op.get("parameters", [])}
    assert parameters["/api/v1/staff/members", "stage"]["schema"]["enum"] == list(STAGES)
    assert parameters["/api/v1/staff/cases", "status"]["schema"]["enum"] == list(CASE_STATUSES)
    assert parameters["/api/v1/staff/points/adjustment-requests", "status"]["schema"]["enum"] == list(ADJUSTMENT_STATUSES)


def test_context_enums_hold_every_value_the_code_writes() -> None:
    """Read from the code, not listed here: a new `source_kind="gift"` (or a case status, a
    card status...) written anywhere fails until its constant, and so the schema, has it."""
    everywhere = _code(".")
    written = {
        "source_kind": (_written(everywhere, "source_kind"), SOURCE_KINDS),
        "author_kind": (_written(_code("care"), "author_kind"), AUTHORS),
        "opened_by": (_written(_code("care"), "opened_by"), AUTHORS),
        "Case.status": (_written(everywhere, "status", "Case"), CASE_STATUSES),
        "Card.status": (_written(everywhere, "status", "Card"), CARD_STATUSES),
        "why_kind": (_written(_code("cards"), "why_kind"), WHY_KINDS),
        "LedgerEntry.kind": (_written(_code("points"), "kind", "_write"), ENTRY_KINDS),  # every entry goes through _write
        "Ownership.status": (_written(everywhere, "status", "Ownership"), OWNERSHIP_STATUSES),
        "OwnerImport.status": (_written(everywhere, "status", "OwnerImport"), IMPORT_STATUSES),
        "PointsAdjustmentRequest.status": (_written(everywhere, "status", "PointsAdjustmentRequest"), ADJUSTMENT_STATUSES),
    }
    for name, (values, allowed) in written.items():
        assert values, f"the scan found no value written to {name}: is it still written that way?"
        assert values <= set(allowed), f"{name}: the code writes {sorted(values - set(allowed))}, not in the schema"
    assert written["source_kind"][0] == set(SOURCE_KINDS)
    assert {"resolved", "followed_up", "in_progress"} <= written["Case.status"][0]


def test_the_written_values_scan_sees_a_new_value() -> None:
    source = 'await points.earn(1, 5, key="k", source_kind="gift")\nawait Case.update({Case.status: "reopened"})\n'
    assert _written([source], "source_kind") - set(SOURCE_KINDS) == {"gift"}
    assert _written([source], "status", "Case") - set(CASE_STATUSES) == {"reopened"}


RANDOM = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])[A-Za-z]{12,}$")  # what Litestar's example factory writes
YEAR_FIRST = re.compile(r"^(\d{4})-\d{2}")  # a month, a date or a time
STATUS_LIKE = ("status", "stage", "role", "tier", "kind", "type", "state", "result")
# Fields with a status-like name that hold free text (what staff wrote), not one of a set of values.
FREE_TEXT = {("CaseView", "result"), ("StaffCaseView", "result"), ("Resolution", "result"),
             ("ImprovementActionDone", "result"), ("ImprovementActionView", "result")}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _examples(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every example in the document: schema `examples` lists, `example` values, and the
    `examples` maps of parameters and media types (their `value`s)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples" and isinstance(value, list):
                yield from ((where, v) for v in value)
            elif key == "examples" and isinstance(value, dict):
                yield from ((f"{where}/examples/{name}", e.get("value")) for name, e in value.items() if isinstance(e, dict))
            elif key == "example":
                yield where, value
            yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _examples(value, where)


def invented_examples(document: dict[str, Any]) -> list[str]:
    """Examples that look made up by a generator: mixed-case letter soup anywhere inside an
    example (a store code in a settlement line, say), or a date in a year no one will see."""
    faults = []
    for where, example in _examples(document):
        for text in _strings(example):
            year = YEAR_FIRST.match(text)
            if RANDOM.match(text) or (year and not 2000 <= int(year.group(1)) <= 2199):
                faults.append(f"{where}: {text!r}")
    return faults


def _is_string(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "string" or any(option.get("type") == "string" for option in prop.get("oneOf", []))


def _has_enum(prop: dict[str, Any]) -> bool:
    return "enum" in prop or "const" in prop or any("enum" in o or "const" in o for o in prop.get("oneOf", []))


def status_fields_without_enum(document: dict[str, Any]) -> list[str]:
    """A text field named like a status (`status`, `refund_status`, `stage`, `role`, ...) holds
    one of a set of values a client branches on: the schema must list them."""
    faults = []
    for name, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            status_like = field in STATUS_LIKE or field.endswith(tuple(f"_{word}" for word in STATUS_LIKE))
            if status_like and _is_string(prop) and not _has_enum(prop) and (name, field) not in FREE_TEXT:
                faults.append(f"{name}.{field}")
    return faults


def _schemas_used_under(document: dict[str, Any], prefix: str) -> set[str]:
    schemas = document["components"]["schemas"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    name = value.rsplit("/", 1)[-1]
                    if name in schemas and name not in found:
                        found.add(name)
                        walk(schemas[name])
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk([item for path, item in document["paths"].items() if path.startswith(prefix)])
    return found


def strings_without_example(document: dict[str, Any], prefix: str) -> list[str]:
    """Text fields (and text parameters) of the operations under `prefix` with no example."""
    schemas = document["components"]["schemas"]
    faults = [
        f"{name}.{field}"
        for name in sorted(_schemas_used_under(document, prefix))
        for field, prop in schemas[name].get("properties", {}).items()
        if _is_string(prop) and not prop.get("examples") and not _has_enum(prop)
    ]
    for path, method, operation in operations(document):
        for parameter in operation.get("parameters", []) if path.startswith(prefix) else []:
            schema = parameter.get("schema", {})
            if _is_string(schema) and not (schema.get("examples") or parameter.get("examples") or _has_enum(schema)):
                faults.append(f"{method.upper()} {path} {parameter['name']}")
    return faults


def test_examples_are_realistic(document: dict[str, Any]) -> None:
    assert invented_examples(document) == []
    props = document["components"]["schemas"]
    assert props["Settlement"]["properties"]["month"]["examples"] == ["2026-12"]
    assert props["Settlement"]["properties"]["month"]["pattern"] == r"^\d{4}-(0[1-9]|1[0-2])$"
    assert props["Verified"]["properties"]["member_name"]["examples"] == ["张*"]
    assert props["SaleCreate"]["properties"]["code"]["examples"][0].startswith("OC1.")


def test_every_text_field_of_the_partner_api_has_an_example(document: dict[str, Any]) -> None:
    assert strings_without_example(document, "/partner/") == []


def test_the_settlement_month_parameter_has_its_pattern_and_an_example(document: dict[str, Any]) -> None:
    (month,) = document["paths"]["/partner/v1/settlements/{month}"]["get"]["parameters"]
    assert month["name"] == "month" and month["in"] == "path"
    pattern = re.compile(month["schema"]["pattern"])
    assert pattern.match("2026-11") and pattern.match("2026-11.csv")
    assert not pattern.match("2026-13") and not pattern.match("2026-1")
    assert "2026-11" in [example["value"] for example in month["examples"].values()]


def test_every_status_like_field_is_an_enum(document: dict[str, Any]) -> None:
    assert status_fields_without_enum(document) == []
    schemas = document["components"]["schemas"]
    from loyalty.cards.tables import TIERS
    from loyalty.events.rules import WHY_NOT_TYPES
    from loyalty.identity.tables import ROLES
    from loyalty.referrals.tables import LEAD_STAGES

    for schema, field, values in (("LeadView", "stage", LEAD_STAGES), ("LeadMove", "stage", LEAD_STAGES),
                                  ("StaffSession", "role", ROLES), ("DiscountCreate", "tier", TIERS),
                                  ("WhyNot", "type", WHY_NOT_TYPES)):
        assert schemas[schema]["properties"][field]["enum"] == list(values), f"{schema}.{field}"


def test_the_example_and_enum_checks_catch_what_a_reviewer_found() -> None:
    """The checks above, on the faults they exist for: Litestar's invented settlement example and
    status fields that are plain text."""
    line = {"store_code": "QIBShDtFfOfiPXwvmoGj", "store_name": "静安店", "sales": 3}
    invented = {
        "paths": {},
        "components": {"schemas": {
            "Settlement": {"properties": {"month": {"type": "string", "examples": ["2026-12"]}},
                           "examples": [{"month": "6790-08", "lines": [line]}]},
            "SettlementLineView": {"properties": {"store_code": {"type": "string", "examples": ["SH-01"]}}},
        }},
    }
    assert invented_examples(invented) == [
        "/components/schemas/Settlement: '6790-08'", "/components/schemas/Settlement: 'QIBShDtFfOfiPXwvmoGj'",
    ]
    parameter = {"paths": {"/p/{month}": {"get": {"parameters": [
        {"name": "month", "in": "path", "examples": {"m": {"value": "aBcDeFgHiJkLmNoPqRsT"}}}]}}}}
    assert invented_examples(parameter) == ["/paths//p/{month}/get/parameters/examples/m: 'aBcDeFgHiJkLmNoPqRsT'"]

    plain = {"components": {"schemas": {
        "LeadView": {"properties": {"stage": {"type": "string"}, "name": {"type": "string"}}},
        "StaffSession": {"properties": {"role": {"type": "string"}}},
        "SaleView": {"properties": {"refund_status": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                                    "tier": {"type": "string", "enum": ["gold"]}}},
        "CaseView": {"properties": {"result": {"type": "string"}}},
    }}}
    assert status_fields_without_enum(plain) == ["LeadView.stage", "StaffSession.role", "SaleView.refund_status"]

    partner = {"paths": {"/partner/v1/settlements/{month}": {"get": {
        "parameters": [{"name": "month", "in": "path", "schema": {"type": "string"}}],
        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Line"}}}}},
    }}}, "components": {"schemas": {"Line": {"properties": {"store_code": {"type": "string"}, "n": {"type": "integer"}}}}}}
    assert strings_without_example(partner, "/partner/") == ["Line.store_code", "GET /partner/v1/settlements/{month} month"]


def test_units_and_rules_a_till_needs_are_written(document: dict[str, Any]) -> None:
    props = document["components"]["schemas"]
    assert "basis points" in props["Discount"]["properties"]["percent_bp"]["description"]
    assert "1 CNY" in props["Verified"]["properties"]["points_per_cny"]["description"]
    assert "merchant-wide" in str(props["SaleCreate"]["properties"]["store"])
    amount = str(props["ReversalCreate"]["properties"]["amount_fen"])
    assert "gross" in amount.lower() and "'minimum': 1" in amount
    statement = document["paths"]["/partner/v1/settlements/{month}"]["get"]
    assert "net of the reversals" in statement["description"]
    assert set(statement["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    sale = document["paths"]["/partner/v1/sales"]["post"]["description"]
    assert "per merchant" in sale and "not stored" in sale
    nonce = props["CheckinRequest"]["properties"]["nonce"]
    assert "retry" in str(nonce)
    assert all(props["DoorCountView"]["properties"][f].get("description") for f in ("expected", "people_in", "people_expected"))


def test_headers_clients_rely_on_are_declared(document: dict[str, Any]) -> None:
    sale = document["paths"]["/partner/v1/sales"]["post"]["responses"]
    assert "Location" in sale["201"]["headers"]
    assert "Idempotent-Replayed" in sale["200"]["headers"]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} <= set(sale["429"]["headers"])
    assert sale["401"]["headers"]["WWW-Authenticate"]["schema"]["enum"] == ["Bearer"]
    assert "Location" in document["paths"]["/partner/v1/sales/{sale_id}/reversals"]["post"]["responses"]["201"]["headers"]
    login = document["paths"]["/api/v1/auth/login-codes"]["post"]["responses"]["429"]
    assert "Retry-After" in login["headers"]


def test_the_stripe_webhook_body_is_documented(document: dict[str, Any]) -> None:
    webhook = document["paths"]["/api/v1/payments/stripe/webhook"]["post"]
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"id", "type", "data"}
    assert [p["name"] for p in webhook["parameters"]] == ["Stripe-Signature"]


def test_the_case_photo_upload_documents_its_body_the_raw_image(document: dict[str, Any]) -> None:
    upload = document["paths"]["/api/v1/me/cases/{case_id}/photos"]["post"]
    body = upload["requestBody"]
    assert body["required"] is True and "5 MB" in body["description"]
    assert set(body["content"]) == {"image/jpeg", "image/png", "image/webp"}
    for media in body["content"].values():
        assert media["schema"] == {"type": "string", "format": "binary"}
    assert "case-closed" in str(upload["responses"]["409"])


def test_the_verify_answer_says_why_a_code_cannot_pay(document: dict[str, Any]) -> None:
    reason = document["components"]["schemas"]["Verified"]["properties"]["code_cannot_pay_reason"]
    assert {"code-cannot-pay", "code-already-used"} <= set(str(reason).replace("'", " ").split())


def test_the_drift_check_sees_an_unlisted_problem(app: Any) -> None:
    """The conftest recorder: a listed type passes, an unlisted one is named, paths outside the
    document are not judged."""
    def request(path: str, method: str = "POST") -> SimpleNamespace:
        return SimpleNamespace(scope={"path_template": path, "app": app, "method": method})

    assert undocumented_problem(request("/partner/v1/sales"), "insufficient-points") is None
    why = undocumented_problem(request("/partner/v1/sales"), "survey-answered")
    assert why is not None and "createSale" in why and "survey-answered" in why
    assert undocumented_problem(request("/health", "GET"), "forbidden") is not None
    assert undocumented_problem(request("/admin/api/tables"), "forbidden") is None
    assert undocumented_problem(request("/partner/v1/sales"), "internal-error") is None
