"""Every JSON body the app reads (member, staff and partner routes) is bounded in nesting and
checked strictly against its declared type, here, in the one place Litestar decodes a JSON
body (`Request.json()`), so a new route cannot forget either.

Strict types: Litestar converts a handler's arguments with msgspec in lax mode
(`strict=False`), which query strings need (`?limit=50` is text) but which also takes the
JSON string "12800" or the float 12800.0 / 1e5 for an integer field: a till sending amounts as
text would work by accident, and a float that merely looks integral would be accepted as
money. A body is therefore first converted in strict mode to the type the handler declares
for `data`; a value of the wrong JSON type is a 400 naming the field ("expected an integer,
got a string"). Strict mode still reads dates and datetimes from ISO 8601 text.

Nesting:

msgspec, like every recursive decoder, meets a body of 100,000 nested `[` with Python's
RecursionError, which no handler expects: a 500 for one malformed request. Our deepest real
body is three levels; a body nested deeper than `MAX_JSON_DEPTH` is refused with a 400 problem
before it is decoded. The check sits in the one place Litestar decodes a JSON body
(`Request.json()`), so a new route cannot forget it.

Control characters:

JSON may carry any character escaped, NUL (`"a\u0000b"`) included. PostgreSQL's text cannot
hold NUL (the statement fails), SQLite stores it and every reader after trips on it, and no
person types the other C0 control characters: a string anywhere in a body holding one (tab,
newline and carriage return excepted) is refused with a 422 naming the field, here, before any
handler sees it. So are the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
U+2066–U+2069): invisible too, they make a name read as another on a staff screen
("王\u202e五张" shows as 王张五), the Trojan Source trick; they may arrive as UTF-8 or escaped.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.types import Empty

from loyalty.errors import BodyTooDeep, InvalidField
from loyalty.i18n import _
from loyalty.i18n.fields import field_label
from loyalty.i18n.format import Later

MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = bytes(range(256)).translate(None, b"[]{}")


def nested_deeper_than(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text opens more than `limit` arrays/objects inside one another.

    Done at C speed, never one Python step per character: a body with no more brackets than
    the limit cannot be deeper (nearly every body); otherwise strings are cut out (brackets in
    text do not nest), and innermost pairs are peeled off level by level. Malformed text may
    be reported as too deep; it would be refused as malformed anyway."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _level in range(limit):
        if not brackets:
            return False
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):  # unbalanced: nothing more to peel
            return True
        brackets = peeled
    return bool(brackets)


# msgspec refuses an integer literal it cannot hold while decoding untyped JSON, and says where
# only as "$[...]" (it has not read the key yet): the key is found in the text instead.
_HUGE_INTEGER = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*-?\d{20,}')
_OUT_OF_RANGE = "Integer value out of range"

# "Expected `int`, got `str` - at `$.gross_fen`": the reason, then where.
_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


# Raw C0 control characters are not valid JSON (msgspec refuses them): one can only arrive
# escaped. Bidi controls can also arrive raw, as UTF-8 (E2 80 AA–AE, E2 81 A6–A9).
_MAY_HOLD_CONTROL = re.compile(
    rb"\\u00[01][0-9a-fA-F]|\\u202[a-eA-E]|\\u206[6-9]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]")


def control_character_at(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in decoded JSON (a value or a key) holding a C0 control character other
    than tab, newline and carriage return, or a bidi control: (its path, `title` or
    `items[0].name`; the character)."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        return (path or "body", found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (found := _CONTROL.search(key)):
                return where, found.group()
            if hit := control_character_at(item, where):
                return hit
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if hit := control_character_at(item, f"{path}[{index}]"):
                return hit
    return None


def refuse_control_characters(body: bytes, value: Any) -> None:
    if not _MAY_HOLD_CONTROL.search(body):  # nearly every body: no walk
        return
    hit = control_character_at(value)
    if hit is not None:
        field, character = hit
        code = format(ord(character), "04X")  # U+0000
        raise InvalidField(
            _("{field} contains an invisible control character (U+{code}); remove it", field=Later(field_label, field), code=code),
            field=field, source="body",
        )


def declared_body_type(request: Request[Any, Any, Any]) -> Any:
    """The type the route handler declares for its `data` argument (`JSONBody[SaleCreate]` →
    `SaleCreate`), or None for a handler that takes no body."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    field = parameters.get("data")
    return None if field is None else field.annotation


def check_strictly(value: Any, body_type: Any) -> None:
    """Raise Litestar's ValidationException, as its own body check would, when `value` (the
    decoded JSON) is not exactly `body_type`: no text for a number, no float for an integer."""
    try:
        msgspec.convert(value, body_type, strict=True, str_keys=True)
    except msgspec.ValidationError as error:
        found = _AT_PATH.match(str(error))
        reason, path = (found.group("reason"), found.group("path")) if found else (str(error), None)
        key = path.removeprefix(".") if path else "data"  # "data": the body as a whole
        raise ValidationException(
            detail="Validation failed for the request body", extra=[{"message": reason, "key": key, "source": "body"}]
        ) from None


class BoundedJsonRequest(Request[Any, Any, Any]):
    """Litestar's request, refusing a too-deeply nested JSON body before decoding it, and a body
    that is not strictly of the handler's declared type after."""

    async def json(self) -> Any:
        first = self._json is Empty and self._connection_state.json is Empty
        if first and nested_deeper_than(await self.body()):
            raise BodyTooDeep(_("JSON nested deeper than {limit} levels", limit=MAX_JSON_DEPTH), field="body")
        try:
            value = await super().json()
        except SerializationException as error:
            if not str(error.detail).startswith(_OUT_OF_RANGE):
                raise
            huge = _HUGE_INTEGER.search(await self.body())
            key = huge.group(1).decode("utf-8", "replace") if huge else "data"
            raise ValidationException(
                detail="Validation failed for the request body", extra=[{"message": _OUT_OF_RANGE, "key": key, "source": "body"}]
            ) from None
        if first:
            refuse_control_characters(await self.body(), value)
        body_type = declared_body_type(self) if first else None
        if body_type is not None and value is not None:
            check_strictly(value, body_type)
        return value
