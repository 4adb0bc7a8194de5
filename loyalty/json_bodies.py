"""Bounded JSON nesting for every JSON body the app reads (member, staff and partner routes).

msgspec, like every recursive decoder, meets a body of 100,000 nested `[` with Python's
RecursionError, which no handler expects: a 500 for one malformed request. Our deepest real
body is three levels; a body nested deeper than `MAX_JSON_DEPTH` is refused with a 400 problem
before it is decoded. The check sits in the one place Litestar decodes a JSON body
(`Request.json()`), so a new route cannot forget it.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.types import Empty

from loyalty.errors import BodyTooDeep

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


class BoundedJsonRequest(Request[Any, Any, Any]):
    """Litestar's request, refusing a too-deeply nested JSON body before decoding it."""

    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:
            if nested_deeper_than(await self.body()):
                raise BodyTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", field="body")
        return await super().json()
