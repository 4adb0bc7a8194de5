"""The guards: who may call a route. Every staff route declares `opt={"roles": (...)}` and one
guard on the staff router checks it; a staff route that forgets to declare roles is closed to
everyone but admins, never open."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from loyalty import clock
from loyalty.errors import Forbidden, LoginCodesFromAddressLimited, NotAuthenticated
from loyalty.i18n import _
from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import Later
from loyalty.identity import service
from loyalty.identity.tables import role_words
from loyalty.openapi_contract import raises
from loyalty.ops.client_address import client_address
from loyalty.ops.limit_words import window_words

MEMBER_KEY = "member_id"
STAFF_KEY = "staff_id"
ISSUED_KEY = "iat"  # when the session was made (epoch seconds): logging out ends older ones
# A phone set up as a door scanner from a QR (loyalty.events.door_devices): its session acts for
# the staff member who made the QR, but only on routes marked `opt={"door": True}`.
DOOR_KEY = "door_event"
DOOR_GATE_KEY = "door_gate"
DOOR_DEVICE_KEY = "door_device"  # the device session's row: checked on every request


def door_device(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    """The door phone making this request (a `door_devices.DoorDevice`), or None for a staff member."""
    return getattr(connection.state, "door_device", None)


def new_session(key: str, subject_id: int) -> dict[str, Any]:
    """The cookie session for a member (MEMBER_KEY) or a staff member (STAFF_KEY)."""
    return {key: subject_id, ISSUED_KEY: clock.now().timestamp()}


def issued_at(connection: ASGIConnection[Any, Any, Any, Any]) -> float:
    value = _session(connection).get(ISSUED_KEY)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _session(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    return connection.scope.get("session") or {}


async def requires_member(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    member = _session(connection).get(MEMBER_KEY)
    if not isinstance(member, int):
        raise NotAuthenticated(_("Please log in with your phone number and a one-time code."))
    # Sessions live in the cookie: the member row says whether this one still holds.
    await service.check_member_session(member, issued_at(connection))


async def requires_staff_role(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    staff_id = _session(connection).get(STAFF_KEY)
    if not isinstance(staff_id, int):
        raise NotAuthenticated(_("Please log in as staff."))
    staff = await service.get_staff(staff_id, issued_at=issued_at(connection))
    connection.state.door_device = None
    if _session(connection).get(DOOR_KEY) is not None:
        await _door_phone(connection, handler, staff.role)
    allowed: tuple[str, ...] = tuple(handler.opt.get("roles", ()))
    if staff.role != "admin" and staff.role not in allowed:
        needed = Later(enum_list, "staff_role", allowed or ("admin",), style="or")
        raise Forbidden(
            _("This needs the role {needed}; you are {role}.", needed=needed, role=role_words(staff.role)), role=staff.role
        )
    connection.state.staff = staff


async def _door_phone(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler, role: str) -> None:
    """A phone set up from a QR: its session must still hold (it expires with the event day and
    ends when logged out or switched off), and it scans only at its own event; the routes that
    take the event or gate in the body check them too (door_devices.check_scope)."""
    from loyalty.events import door_devices  # the door's rules live with the events

    device_id = _session(connection).get(DOOR_DEVICE_KEY)
    if not isinstance(device_id, int):  # a cookie from before device sessions were kept
        raise NotAuthenticated(_("This door scanner has been switched off or its day is over: open it again from a new QR code."))
    device = await door_devices.check_session(device_id)
    if not handler.opt.get("door"):
        raise Forbidden(_("This phone is set up as a door scanner: it may only scan at the door."), role=role)
    event_id = connection.path_params.get("event_id")
    if event_id is not None:
        door_devices.check_scope(device, int(event_id))
    connection.state.door_device = device


def member_id(connection: ASGIConnection[Any, Any, Any, Any]) -> int:
    """The logged-in member (routes using this sit behind `requires_member`)."""
    return int(_session(connection)[MEMBER_KEY])


@raises(LoginCodesFromAddressLimited)
async def login_codes_per_address(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """`LOYALTY_LOGIN_CODES_PER_ADDRESS`: one address asking codes for phone after phone is
    refused (429) until the window ends, however many phones it tries; each phone has its own
    limits too (identity.service.request_login_code). Counted where the partner rate limit is
    (loyalty.ops.rate_limits: Redis with a broker, failing open to a per-process count)."""
    state = connection.app.state
    count = await state.login_codes_per_address.hit(client_address(connection, state.settings))
    if count.over:
        raise LoginCodesFromAddressLimited(
            _(
                "More than {limit} login codes were requested from your network within {window}; please wait and try again.",
                limit=count.limit, window=window_words(state.login_codes_per_address.item),
            ),
            retry_after=count.retry_after,
        )
