"""The member face of the owner database (`/api/v1/me`) and the staff face (`/api/v1/staff/...`)."""

from __future__ import annotations

import msgspec

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody, QueryParameter

from loyalty import clock
from loyalty.errors import InvalidField
from loyalty.identity.guards import member_id, requires_member
from loyalty.labels import pick_language
from loyalty.members import importer, service
from loyalty.members.schemas import MemberPage, MemberProfile, OwnershipCreate, OwnershipTransfer, ProfileUpdate
from loyalty.settings import Settings

MAX_IMPORT_BYTES = 20 * 1024 * 1024


@dataclass
class OwnerUpload:
    """The multipart form: one file field named `data` (.csv or .xlsx)."""

    data: UploadFile


class MeController(Controller):
    path = "/me"
    tags = ["members"]
    guards = [requires_member]

    @get(operation_id="getMe", summary="My profile, lifecycle stage and units")
    async def me(self, request: Request[Any, Any, State]) -> MemberProfile:
        language = pick_language(request.headers.get("accept-language"))
        return await service.get_profile(member_id(request), clock.today(), language)

    @patch(operation_id="updateMe", summary="Change my birthday, gender, language or hobby tags")
    async def update(self, request: Request[Any, Any, State], data: JSONBody[ProfileUpdate]) -> MemberProfile:
        language = pick_language(request.headers.get("accept-language"))
        return await service.update_profile(member_id(request), data, clock.today(), language)


class ProjectView(msgspec.Struct):
    id: int
    code: str
    name: str
    name_en: str
    city: str


@get("/projects", operation_id="listProjects", summary="The developer's projects (public: for referring a friend, for filters)", tags=["members"])
async def list_projects() -> list[ProjectView]:
    from loyalty.members.tables import Project

    rows = await Project.select(Project.id, Project.code, Project.name, Project.name_en, Project.city).order_by(Project.id)
    return [ProjectView(**row) for row in rows]


class StaffMemberController(Controller):
    path = "/members"
    tags = ["staff"]

    @get(
        operation_id="staffListMembers",
        summary="Search the owner database",
        opt={"roles": ("service", "sales")},
    )
    async def list_members(
        self,
        search: Annotated[str | None, QueryParameter(max_length=50, description="part of a name or phone")] = None,
        stage: Annotated[str | None, QueryParameter(description="a lifecycle stage, e.g. veteran")] = None,
        cursor: Annotated[int | None, QueryParameter(ge=0, description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> MemberPage:
        return await service.list_members(search=search, stage=stage, after_id=cursor, limit=limit)

    @get("/{member_id:int}", operation_id="staffGetMember", summary="One member with units and stage", opt={"roles": ("service", "sales")})
    async def get_member(self, member_id: FromPath[int], request: Request[Any, Any, State]) -> MemberProfile:
        language = pick_language(request.headers.get("accept-language"))
        return await service.get_profile(member_id, clock.today(), language)


class StaffOwnershipController(Controller):
    path = "/"
    tags = ["staff"]

    @post(
        "/members/{member:int}/ownerships",
        operation_id="staffAddOwnership",
        summary="Enter a signed contract: the member's stage, card and tier follow at once (audited)",
        opt={"roles": ("sales", "service")},
    )
    async def add(self, member: FromPath[int], data: JSONBody[OwnershipCreate], request: Request[Any, Any, State]) -> dict[str, int]:
        ownership = await service.add_ownership(
            member, project_id=data.project_id, phase=data.phase, building=data.building, room=data.room,
            contract_date=data.contract_date, delivery_date=data.delivery_date,
            contract_price_fen=data.contract_price_fen, staff_id=request.state.staff.id, today=clock.today(),
        )
        return {"ownership_id": ownership}

    @post(
        "/ownerships/{ownership:int}/transfer",
        operation_id="staffTransferOwnership",
        summary="Mark a unit as sold on (kept as history; tiers it supported wait for the yearly review)",
        opt={"roles": ("service",)},
        status_code=204,
    )
    async def transfer(self, ownership: FromPath[int], data: JSONBody[OwnershipTransfer], request: Request[Any, Any, State]) -> None:
        await service.transfer_ownership(ownership, reason=data.reason, staff_id=request.state.staff.id)


class OwnerImportController(Controller):
    path = "/owner-imports"
    tags = ["staff"]

    @post(
        operation_id="staffImportOwners",
        summary="Import an owner file (.csv or .xlsx); all or nothing",
        opt={"roles": ("admin",)},
        request_max_body_size=MAX_IMPORT_BYTES,
    )
    async def import_file(
        self,
        data: MultipartBody[OwnerUpload],
        settings: NamedDependency[Settings],
        skip_bad_rows: Annotated[bool, QueryParameter(description="import good rows, report bad ones")] = False,
    ) -> dict[str, Any]:
        upload = data.data
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise InvalidField("upload a .csv or .xlsx file", field="data")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"owners{suffix}"
            path.write_bytes(await upload.read())
            report = await importer.import_owners(path, skip_bad_rows=skip_bad_rows, region=settings.default_region)
        return report.as_dict()
