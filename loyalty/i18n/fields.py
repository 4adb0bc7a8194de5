"""The fields people fill in, named in words in a problem's `detail` ("手机号：长度至少 5 个字符").

The problem's `errors[].field` keeps the identifier a client sends; a field not named here is
named by its identifier (a till developer reads those)."""

from __future__ import annotations

from loyalty.i18n.catalog import translate
from loyalty.i18n.message import Message, _p

FIELD_NAMES: dict[str, Message] = {
    "phone": _p("field", "Phone number"),
    "code": _p("field", "Login code"),
    "name": _p("field", "Name"),
    "project_id": _p("field", "Project"),
    "party_size": _p("field", "Number of people"),
    "birthday": _p("field", "Birthday"),
    "gender": _p("field", "Gender"),
    "language": _p("field", "Language"),
    "tags": _p("field", "Interests"),
    "title": _p("field", "Title"),
    "text": _p("field", "Description"),
    "kind": _p("field", "Kind"),
    "username": _p("field", "Username"),
    "password": _p("field", "Password"),
    "reason": _p("field", "Reason"),
    "points": _p("field", "Points"),
    "start": _p("field", "Start date"),
    "end": _p("field", "End date"),
    "month": _p("field", "Month"),
    "body": _p("field", "Request body"),
}


def field_label(field: str, locale: str) -> str:
    name = FIELD_NAMES.get(field)
    return translate(name, locale) if name is not None else field
