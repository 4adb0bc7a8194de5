"""Staff accounts, as administrators manage them (`/api/v1/staff/accounts`): list, add, change a
role, switch off, reset a password. The rules (the last administrator stays, sessions end at
once, every change audited) are `identity.service`'s."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from loyalty.identity import service
from loyalty.identity.schemas import (
    StaffAccountCreate,
    StaffAccountCreated,
    StaffAccountView,
    StaffPasswordReset,
    StaffRoleChange,
)
from loyalty.openapi_contract import raises

ADMINS = {"roles": ("admin",)}


class StaffAccountController(Controller):
    path = "/accounts"
    tags = ["staff"]

    @get(operation_id="staffListAccounts", summary="Every staff account, active ones first (admins)", opt=ADMINS)
    async def list_accounts(self) -> list[StaffAccountView]:
        """The admin's staff-accounts page: username, name, role, whether active, the last login."""
        return [StaffAccountView(**row) for row in await service.list_staff()]

    @raises("invalid-field")
    @post(
        operation_id="staffCreateAccount", summary="Add a staff member (audited)", opt=ADMINS, status_code=HTTP_201_CREATED,
    )
    async def create(self, data: JSONBody[StaffAccountCreate], request: Request[Any, Any, State]) -> StaffAccountCreated:
        """With `password`, the account logs in with it; without, the answer carries a one-time password,
        shown this once (only its hash is kept)."""
        row, made = await service.add_staff_account(
            data.username, data.display_name, data.role, data.password, actor_id=request.state.staff.id
        )
        return StaffAccountCreated(**row, one_time_password=made)

    @raises("invalid-field", "last-admin", "not-found")
    @put(
        "/{staff_id:int}/role", operation_id="staffChangeAccountRole",
        summary="Change a staff member's role (audited; never the last active administrator's)", opt=ADMINS,
    )
    async def change_role(
        self, staff_id: FromPath[int], data: JSONBody[StaffRoleChange], request: Request[Any, Any, State]
    ) -> StaffAccountView:
        """The new role holds from the staff member's next request. 409 last-admin when it would leave no
        active administrator."""
        return StaffAccountView(**await service.change_role(staff_id, data.role, actor_id=request.state.staff.id))

    @raises("last-admin", "not-found")
    @post(
        "/{staff_id:int}/deactivation", operation_id="staffDeactivateAccount",
        summary="Switch a staff account off: its sessions end at once (audited)", opt=ADMINS, status_code=200,
    )
    async def deactivate(self, staff_id: FromPath[int], request: Request[Any, Any, State]) -> StaffAccountView:
        """Their open pages are refused on the next request, and their password no longer logs in. 409
        last-admin for the last active administrator."""
        return StaffAccountView(**await service.deactivate_staff(staff_id, actor_id=request.state.staff.id))

    @raises("invalid-field", "not-found")
    @post(
        "/{staff_id:int}/password", operation_id="staffResetAccountPassword",
        summary="Give a staff member a new password; their sessions end (audited)", opt=ADMINS, status_code=200,
    )
    async def reset_password(
        self, staff_id: FromPath[int], data: JSONBody[StaffPasswordReset], request: Request[Any, Any, State]
    ) -> StaffAccountCreated:
        """Without `password`, the answer carries a one-time password, shown this once."""
        row, made = await service.reset_password(staff_id, data.password, actor_id=request.state.staff.id)
        return StaffAccountCreated(**row, one_time_password=made)
