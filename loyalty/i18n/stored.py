"""Messages kept in the database as their msgid and values (JSON), to be rendered later in the
locale of whoever reads them: an import report written by a job, read by any staff member.

A stored plain string (a record written before its words were in the catalogues) stays a
plain string: it is shown as it is."""

from __future__ import annotations

import json
from typing import Any

from loyalty.i18n.message import Message

_FIELDS = ("msgid", "plural", "count", "context")


def to_data(message: Message | str) -> dict[str, Any] | str:
    """`message` as JSON-ready data; a value that is a Message is kept as one too."""
    if not isinstance(message, Message):
        return message
    data: dict[str, Any] = {name: getattr(message, name) for name in _FIELDS if getattr(message, name) is not None}
    data["values"] = {key: _value_data(value) for key, value in message.values.items()}
    return data


def _value_data(value: Any) -> Any:
    if isinstance(value, Message):
        return to_data(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # a date or a Decimal: kept as it reads


def from_data(data: Any) -> Message | str:
    """The Message `to_data` made; anything else as text."""
    if not (isinstance(data, dict) and isinstance(data.get("msgid"), str)):
        return data if isinstance(data, str) else ("" if data is None else str(data))
    values = {key: from_data(value) if isinstance(value, dict) else value for key, value in (data.get("values") or {}).items()}
    return Message(data["msgid"], data.get("plural"), data.get("count"), data.get("context"), values)


def to_text(message: Message | str) -> str:
    """For a text column: a Message as its JSON, a plain string as it is."""
    data = to_data(message)
    return json.dumps(data, ensure_ascii=False) if isinstance(data, dict) else data


def from_text(text: str | None) -> Message | str:
    """What `to_text` wrote; any other text (an older record) as it is."""
    if text and text.startswith("{"):
        try:
            return from_data(json.loads(text))
        except ValueError:
            return text
    return text or ""
