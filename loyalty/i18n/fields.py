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
    # An owner's survey answers.
    "satisfaction": _p("field", "Overall satisfaction"),
    "planning_design": _p("field", "Planning and design"),
    "sales_service": _p("field", "Sales service"),
    "construction_quality": _p("field", "Construction quality"),
    "customer_service": _p("field", "Customer service"),
    "property_management": _p("field", "Property management"),
    "recommend": _p("field", "Would recommend"),
    "comment": _p("field", "Comment"),
}

# `code` is the owner's SMS code at login, but what a till or a staff scan sends is the member's
# card code (the QR or its typed digits), at an event's door a ticket or a card, and at the
# rewards counter a pick-up code.
_MEMBER_CODE = _p("field", "Member code")
_BY_PATH: tuple[tuple[str, dict[str, Message]], ...] = (
    ("/partner/", {"code": _MEMBER_CODE}),
    ("/api/v1/staff/card-checks", {"code": _MEMBER_CODE}),
    ("/api/v1/staff/checkins", {"code": _p("field", "Ticket or member code")}),
    ("/api/v1/staff/rewards/pickups", {"code": _p("field", "Pick-up code")}),
)


def field_label(field: str, locale: str, path: str = "") -> str:
    """`field` in words for the reader of a problem about a request to `path`."""
    name = next((names[field] for prefix, names in _BY_PATH if path.startswith(prefix) and field in names), None)
    name = name or FIELD_NAMES.get(field)
    return translate(name, locale) if name is not None else field
