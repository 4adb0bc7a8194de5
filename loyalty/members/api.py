"""The member face of the owner database (`/api/v1/me`) and the staff face (`/api/v1/staff/...`)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.openapi.spec import Example, OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, QueryParameter

from loyalty import clock
from loyalty.errors import InvalidField
from loyalty.identity.guards import member_id, requires_member
from loyalty.i18n import _, request_locale
from loyalty.i18n.api import language_cookie
from loyalty.members import imports, service
from loyalty.members.stages import STAGES
from loyalty.members.schemas import (
    MemberPage,
    MemberProfile,
    OwnerFilePreview,
    OwnerImportSummary,
    OwnerImportView,
    OwnershipCreate,
    OwnershipTransfer,
    ProfileUpdate,
    StaffOwnership,
)
from loyalty.settings import IMPORT_FILE_BYTES_CEILING, Settings
from loyalty.openapi_contract import raises

# The multipart envelope around the file (boundaries, part headers, other fields).
_FORM_OVERHEAD = 64 * 1024
_CHUNK = 256 * 1024


class MeController(Controller):
    path = "/me"
    tags = ["members"]
    guards = [requires_member]

    @raises("not-found")
    @get(operation_id="getMe", summary="My profile, lifecycle stage and units")
    async def me(self, request: Request[Any, Any, State]) -> MemberProfile:
        """The member app's profile page: the owner's own name, phone, lifecycle stage and the units they own.
        Never another member's.
        """
        language = request_locale(request)
        return await service.get_profile(member_id(request), clock.today(), language)

    @raises("invalid-field", "not-found")
    @patch(operation_id="updateMe", summary="Change my birthday, gender, language or hobby tags")
    async def update(self, request: Request[Any, Any, State], data: JSONBody[ProfileUpdate]) -> Response[MemberProfile]:
        """The member app's profile page: send only the fields to change. Name and phone are changed by staff,
        not here.
        """
        if data.language is msgspec.UNSET:
            return Response(await service.update_profile(member_id(request), data, clock.today(), request_locale(request)))
        # A new saved language is this browser's too, and this reply is in it already.
        profile = await service.update_profile(member_id(request), data, clock.today(), data.language)
        return Response(profile, cookies=[language_cookie(data.language)])


class ProjectView(msgspec.Struct):
    id: int
    code: str
    name: str
    name_en: str
    city: str


@get("/projects", operation_id="listProjects", summary="The developer's projects (public: for referring a friend, for filters)", tags=["members"])
async def list_projects() -> list[ProjectView]:
    """The developer's projects with their codes and cities, for the referral form and the filters of staff
    pages. Public: needs no login.
    """
    from loyalty.members.tables import Project

    rows = await Project.select(Project.id, Project.code, Project.name, Project.name_en, Project.city).order_by(Project.id)
    return [ProjectView(**row) for row in rows]


class StaffMemberController(Controller):
    path = "/members"
    tags = ["staff"]

    @raises("invalid-field")
    @get(
        operation_id="staffListMembers",
        summary="Search the owner database",
        opt={"roles": ("service", "sales")},
    )
    async def list_members(
        self,
        search: Annotated[str | None, QueryParameter(
            max_length=50, description="part of a name, phone or card number, or a unit: room (1201), building-room "
            "(9-1201) or phase-building-room (3-9-1201)",
        )] = None,
        stage: Annotated[str | None, QueryParameter(
            description="only members in this lifecycle stage (see MemberSummary.stage); another text is a 422 "
            "invalid-field", schema_extra={"enum": list(STAGES)}, examples=[Example(value="veteran")],
        )] = None,
        cursor: Annotated[int | None, QueryParameter(ge=0, description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> MemberPage:
        """The staff member search: by part of a name, phone, card number or unit, or by lifecycle stage, one page
        at a time. Phones are masked here (the member's own page shows the number)."""
        return await service.list_members(search=search, stage=stage, after_id=cursor, limit=limit, mask_phones=True)

    @raises("not-found")
    @get("/{member_id:int}", operation_id="staffGetMember", summary="One member with units and stage", opt={"roles": ("service", "sales")})
    async def get_member(self, member_id: FromPath[int], request: Request[Any, Any, State]) -> MemberProfile:
        """The staff member page: one owner's contact details, lifecycle stage and units, for the service, sales
        and admin roles.
        """
        language = request_locale(request)
        return await service.get_profile(member_id, clock.today(), language)


class StaffOwnershipController(Controller):
    path = "/"
    tags = ["staff"]

    @raises("invalid-field", "not-found")
    @post(
        "/members/{member:int}/ownerships",
        operation_id="staffAddOwnership",
        summary="Enter a signed contract: the member's stage, card and tier follow at once (audited)",
        opt={"roles": ("sales", "service")},
    )
    async def add(self, member: FromPath[int], data: JSONBody[OwnershipCreate], request: Request[Any, Any, State]) -> dict[str, int]:
        """For sales (and service) staff entering a signed contract: the unit is added to the member's homes, and their stage, card and tier follow at once.
        """
        ownership = await service.add_ownership(
            member, project_id=data.project_id, phase=data.phase, building=data.building, room=data.room,
            contract_date=data.contract_date, delivery_date=data.delivery_date,
            contract_price_fen=data.contract_price_fen, staff_id=request.state.staff.id, today=clock.today(),
        )
        return {"ownership_id": ownership}

    @raises("not-found")
    @get(
        "/members/{member:int}/ownerships",
        operation_id="staffListOwnerships",
        summary="A member's contracts: units, dates, price, status and co-owners",
        opt={"roles": ("sales", "service")},
    )
    async def list_for_member(self, member: FromPath[int]) -> list[StaffOwnership]:
        """The staff member page's contracts: each unit the member owns or owned, with the other members who own
        it now; a transfer names the ownership_id.
        """
        return await service.list_ownerships(member)

    @raises("invalid-field", "not-found")
    @post(
        "/ownerships/{ownership:int}/transfer",
        operation_id="staffTransferOwnership",
        summary="Mark a unit as sold on (kept as history; tiers it supported wait for the yearly review)",
        opt={"roles": ("service",)},
        status_code=204,
    )
    async def transfer(self, ownership: FromPath[int], data: JSONBody[OwnershipTransfer], request: Request[Any, Any, State]) -> None:
        """For service staff when an owner sells a unit on: the ownership is kept as history, marked transferred."""
        await service.transfer_ownership(ownership, reason=data.reason, staff_id=request.state.staff.id)


@dataclass  # so that its __init__ calls __post_init__ (Operation has none)
class _OwnerUploadOperation(Operation):
    """The upload's body, for the OpenAPI document: the handler reads the form itself (to
    refuse a file over the limit before reading it, and name the field when it is missing)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["data"],
                        properties={"data": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
                                                   description="the owner file, .csv or .xlsx")},
                    )
                )
            },
        )


@asynccontextmanager
async def _uploaded_file(request: Request[Any, Any, State], settings: Settings) -> AsyncIterator[tuple[Path, str]]:
    """The owner file of the form field `data`, written to a temporary file (deleted after),
    refused over the size limit before it is read and again while it streams in."""
    if (request.content_length or 0) > settings.import_max_file_bytes + _FORM_OVERHEAD:
        raise imports.upload_too_large(settings)
    upload = (await request.form()).get("data")
    if not isinstance(upload, UploadFile):
        raise InvalidField(_("attach the owner file as the form field data"), field="data")
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidField(_("upload a .csv or .xlsx file"), field="data")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"owners{suffix}"
        with path.open("wb") as file:
            while chunk := await upload.read(_CHUNK):
                if file.tell() + len(chunk) > settings.import_max_file_bytes:
                    raise imports.upload_too_large(settings)
                await anyio.to_thread.run_sync(file.write, chunk)
        yield path, upload.filename or path.name


class OwnerImportController(Controller):
    path = "/owner-imports"
    tags = ["staff"]

    @raises("cell-too-long", "import-rejected", "invalid-field", "not-found", "too-many-rows", "upload-too-large")
    @post(
        operation_id="staffImportOwners",
        summary="Upload an owner file (.csv or .xlsx); it is imported in the background, all or nothing",
        description="Answers 202 with the import's progress record and its address (Location) at once; "
        "poll that address until `status` is `done` or `failed`.",
        opt={"roles": ("admin",)},
        # Enforced while the body streams in; the owner-file limit (a setting, at most this) is
        # checked before reading against Content-Length, and again on the file itself.
        request_max_body_size=IMPORT_FILE_BYTES_CEILING + _FORM_OVERHEAD,
        status_code=202,
        operation_class=_OwnerUploadOperation,
    )
    async def import_file(
        self,
        request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
        skip_bad_rows: Annotated[bool, QueryParameter(description="import good rows, report bad ones")] = False,
    ) -> Response[OwnerImportView]:
        async with _uploaded_file(request, settings) as (path, file_name):
            started = await imports.start_import(
                path, file_name=file_name, skip_bad_rows=skip_bad_rows,
                staff_id=request.state.staff.id, settings=settings, locale=request_locale(request),
            )
        return Response(started, status_code=202, headers={"Location": f"{request.url.path.rstrip('/')}/{started.id}"})

    @raises("cell-too-long", "invalid-field", "too-many-rows", "upload-too-large")
    @post(
        "/previews",
        operation_id="staffPreviewOwnerFile",
        summary="What an owner file holds (rows, projects) before its import starts; nothing is stored",
        opt={"roles": ("admin",)},
        request_max_body_size=IMPORT_FILE_BYTES_CEILING + _FORM_OVERHEAD,
        status_code=200,
        operation_class=_OwnerUploadOperation,
    )
    async def preview(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> OwnerFilePreview:
        """The admin's owner-import page asks "import N rows into project P?" with these, before the upload
        that starts the import. The file is checked against the same limits as an import's."""
        async with _uploaded_file(request, settings) as (path, file_name):
            return await imports.preview(path, file_name=file_name, settings=settings)

    @get(operation_id="staffListOwnerImports", summary="Recent owner imports, newest first", opt={"roles": ("admin",)})
    async def list_imports(
        self, request: Request[Any, Any, State], limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20
    ) -> list[OwnerImportSummary]:
        """The admin's owner-import page: the recent uploads and how far each has come."""
        return await imports.list_imports(request_locale(request), limit)

    @raises("not-found")
    @get(
        "/{import_id:int}",
        operation_id="staffGetOwnerImport",
        summary="One owner import: status, rows processed and imported, the first row errors",
        opt={"roles": ("admin",)},
    )
    async def get_import(self, import_id: FromPath[int], request: Request[Any, Any, State]) -> OwnerImportView:
        """The admin's owner-import page: poll it after an upload until `status` is done or failed; the first row
        errors say where to look in the file.
        """
        return await imports.get_import(import_id, request_locale(request))
