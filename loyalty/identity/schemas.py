from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from loyalty.identity.tables import ROLES
from loyalty.openapi_contract import checked_enum

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["13800138000"])]


class LoginCodeRequest(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone


class LoginCodeSent(msgspec.Struct):
    sent: bool
    expires_in_seconds: int
    detail: str


class MemberLogin(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=12, examples=["123456"])]


class MemberSession(msgspec.Struct):
    member_id: int
    name: str


class StaffLogin(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class StaffSession(msgspec.Struct, omit_defaults=True):  # the door fields only for a door phone
    staff_id: int
    username: Annotated[str, msgspec.Meta(examples=["sales"])]
    role: Annotated[Literal[ROLES], msgspec.Meta(description="what the staff member may do: " + ", ".join(ROLES),
                                                 examples=["sales"])]
    display_name: Annotated[str, msgspec.Meta(examples=["李销售"])]
    door_event_id: Annotated[
        int | None, msgspec.Meta(description="a phone set up as a door scanner (from a QR): the event it scans for")
    ] = None
    door_gate: Annotated[str, msgspec.Meta(description="…and its gate")] = ""


# --- staff accounts, as admins manage them --------------------------------------------------

ROLE_WORDS = "what the staff member may do: " + ", ".join(ROLES)
Role = Annotated[Literal[ROLES], msgspec.Meta(description="what the staff member may do: " + ", ".join(ROLES),
                                              examples=["sales"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="10 to 128 characters")]


class StaffAccountView(msgspec.Struct):
    id: int
    username: Annotated[str, msgspec.Meta(examples=["li.wei"])]
    display_name: Annotated[str, msgspec.Meta(examples=["李伟"])]
    role: Role
    active: Annotated[bool, msgspec.Meta(description="false once switched off: no login, no session")]
    last_login: datetime | None
    created_at: datetime


class StaffAccountCreated(StaffAccountView):
    one_time_password: Annotated[str | None, msgspec.Meta(
        description="the password made for them when none was given: shown this once, never again"
    )] = None


class StaffAccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._-]+$",
                                          examples=["li.wei"])]
    role: Annotated[str, checked_enum(ROLES, ROLE_WORDS, "sales")]
    display_name: Annotated[str, msgspec.Meta(max_length=100, examples=["李伟"])] = ""
    password: Annotated[Password | None, msgspec.Meta(
        description="the first password; leave it out for a one-time password made by the server"
    )] = None


class StaffRoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Annotated[str, checked_enum(ROLES, ROLE_WORDS, "service")]


class StaffPasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[Password | None, msgspec.Meta(
        description="the new password; leave it out for a one-time password made by the server"
    )] = None
