"""/admin in the staff member's locale, as far as piccolo-admin lets it be.

piccolo-admin takes these words when it is built: its own interface's translation (it ships
Simplified Chinese), its site name and the menu groups. So admin_ui.admin builds one admin per
role and locale, offering only that locale's translation (its language picker would otherwise
keep a language in the browser that our labels do not follow).

It takes no label for a column: its pages name a column by the `title` pydantic derives from the
column's name ("fee_platinum_fen" → "Fee Platinum Fen"), read from the table's schema
(`/api/tables/<table>/schema/`). `relabel_schema` puts our words there instead, and the table's
name in the schema's `help_text`, which piccolo-admin shows beside the table's heading. The
heading and the sidebar themselves print the table's slug (`lead_stage_change`): piccolo-admin's
compiled pages give no way to name a table."""

from __future__ import annotations

import json
import re
from typing import Any

from piccolo_admin.translations.data import ENGLISH, SIMPLIFIED_CHINESE
from starlette.requests import HTTPConnection
from starlette.types import Message, Receive, Scope, Send

from admin_ui.labels import column_label, table_label
from loyalty.i18n import _, request_locale, translate

SITE_NAME = _("Owner Club")
PICCOLO_TRANSLATIONS = {"zh-CN": SIMPLIFIED_CHINESE, "en": ENGLISH}
_SCHEMA_PATH = re.compile(r"^/api/tables/([a-z0-9_]+)/schema/?$")


def admin_locale(scope: Scope) -> str:
    """The locale of an /admin request: the `lang` cookie, Accept-Language, zh-CN (the same order
    as every page and problem)."""
    return request_locale(HTTPConnection(scope))


def admin_options(locale: str) -> dict[str, Any]:
    """create_admin's words for one locale."""
    return dict(
        site_name=translate(SITE_NAME, locale), default_language_code=PICCOLO_TRANSLATIONS[locale].language_code,
        translations=[PICCOLO_TRANSLATIONS[locale]],
    )


def schema_table(method: str, path: str) -> str | None:
    """The table whose schema a request under /admin asks for, if it asks for one."""
    found = _SCHEMA_PATH.match(path) if method == "GET" else None
    return found.group(1) if found else None


def relabel_schema(schema: dict[str, Any], table: str, locale: str) -> dict[str, Any]:
    for name, field in (schema.get("properties") or {}).items():
        label = column_label(table, name, locale)
        if label and isinstance(field, dict):
            field["title"] = label
    name = table_label(table, locale)
    if name and isinstance(schema.get("extra"), dict):
        schema["extra"]["help_text"] = name
    return schema


async def send_relabelled_schema(app: Any, scope: Scope, receive: Receive, send: Send, table: str, locale: str) -> None:
    """Runs piccolo-admin's schema endpoint and hands on its answer with our labels; any other
    answer (a 404 for a table this role has not) goes on as it came."""
    start: list[Message] = []
    body = bytearray()

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, capture)
    if not start:
        return
    data = bytes(body)
    if start[0]["status"] == 200:
        try:
            data = json.dumps(relabel_schema(json.loads(data), table, locale), ensure_ascii=False).encode()
        except ValueError:
            # Not JSON after all (piccolo-admin answered with something else under a 200):
            # passed on as it came rather than broken; there are no words of ours in it.
            pass
    headers = [(key, value) for key, value in start[0].get("headers", []) if key.lower() != b"content-length"]
    await send({**start[0], "headers": [*headers, (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
