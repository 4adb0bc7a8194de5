from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from loyalty.identity.tables import ROLES

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
