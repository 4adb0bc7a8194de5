"""Log in and out: members with phone + one-time code, staff with username + password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from loyalty.identity import service, wechat
from loyalty.identity.wechat_api import pending_openid
from loyalty.i18n import _, request_locale, translate
from loyalty.i18n.api import language_cookie
from loyalty.identity.guards import DOOR_DEVICE_KEY, DOOR_GATE_KEY, DOOR_KEY, MEMBER_KEY, STAFF_KEY, login_codes_per_address, new_session
from loyalty.ops.client_address import client_address
from loyalty.identity.schemas import (
    LoginCodeRequest,
    LoginCodeSent,
    MemberLogin,
    MemberSession,
    StaffLogin,
    StaffSession,
)
from loyalty.settings import Settings
from loyalty.openapi_contract import raises


# The same words whoever's phone it is: they must not tell a stranger who is an owner.
CODE_ON_ITS_WAY = _("If this phone belongs to a member, a code is on its way.")


class MemberAuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @raises("invalid-field", "too-many-attempts")
    @post(
        "/login-codes",
        status_code=HTTP_202_ACCEPTED,
        operation_id="requestLoginCode",
        summary="Send a one-time login code to a member's phone",
        description=(
            "Always answers 202, whether or not the phone belongs to a member. Limited per phone and per "
            "client address (429 with Retry-After)."
        ),
        guards=[login_codes_per_address],
    )
    async def request_code(
        self, data: JSONBody[LoginCodeRequest], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> LoginCodeSent:
        await service.request_login_code(data.phone, settings)
        return LoginCodeSent(
            sent=True,
            expires_in_seconds=settings.login_code_ttl_seconds,
            detail=translate(CODE_ON_ITS_WAY, request_locale(request)),
        )

    @raises("invalid-field", "login-code-expired", "login-code-invalid", "too-many-attempts")
    @post("/sessions", operation_id="memberLogin", summary="Log in with phone and one-time code")
    async def login(self, data: JSONBody[MemberLogin], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[MemberSession]:
        member = await service.verify_login_code(data.phone, data.code, settings)
        pending = pending_openid(request.scope.get("session") or {})
        if pending:  # came from a WeChat login a few minutes ago: the code binds that WeChat
            await wechat.bind(member.id, pending)
        request.set_session(new_session(MEMBER_KEY, member.id))
        # The owner's saved language from now on, on this browser too (loyalty.i18n.locale).
        return Response(MemberSession(member_id=member.id, name=member.name), cookies=[language_cookie(member.language)])

    @delete("/sessions/current", status_code=HTTP_204_NO_CONTENT, operation_id="logout", summary="Log out")
    async def logout(self, request: Request[Any, Any, State]) -> None:
        await _end_session(request)


async def _end_session(request: Request[Any, Any, State]) -> None:
    """Log out whoever this session is: the cookie goes, and so does every copy of it."""
    session = request.scope.get("session") or {}
    if isinstance(session.get(MEMBER_KEY), int):
        await service.end_member_sessions(session[MEMBER_KEY])
    if isinstance(session.get(STAFF_KEY), int) and session.get(DOOR_KEY) is None:
        await service.end_staff_sessions(session[STAFF_KEY])
    if isinstance(session.get(DOOR_DEVICE_KEY), int):  # a door phone logs only itself out, every copy of it
        from loyalty.events import door_devices

        await door_devices.end(session[DOOR_DEVICE_KEY])
    request.clear_session()


class StaffAuthController(Controller):
    path = "/auth/staff-sessions"
    tags = ["auth"]

    @raises("invalid-field", "login-code-expired", "login-code-invalid", "staff-login-failed", "staff-login-locked", "too-many-attempts")
    @post(operation_id="staffLogin", summary="Log in as staff")
    async def login(
        self, data: JSONBody[StaffLogin], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> StaffSession:
        staff = await service.staff_login(
            data.username, data.password, settings, client_address=client_address(request, settings)
        )
        request.set_session(new_session(STAFF_KEY, staff.id))
        return StaffSession(staff_id=staff.id, username=staff.username, role=staff.role, display_name=staff.display_name)

    @delete("/current", status_code=HTTP_204_NO_CONTENT, operation_id="staffLogout", summary="Log out (staff)")
    async def logout(self, request: Request[Any, Any, State]) -> None:
        await _end_session(request)


class StaffMeController(Controller):
    path = "/me"
    tags = ["staff"]

    @get(
        operation_id="staffMe",
        summary="The logged-in staff member and role",
        opt={"roles": ("admin", "sales", "event_staff", "service"), "door": True},
    )
    async def me(self, request: Request[Any, Any, State]) -> StaffSession:
        staff = request.state.staff
        session = request.scope.get("session") or {}
        return StaffSession(
            staff_id=staff.id, username=staff.username, role=staff.role, display_name=staff.display_name,
            door_event_id=session.get(DOOR_KEY), door_gate=session.get(DOOR_GATE_KEY, ""),
        )
