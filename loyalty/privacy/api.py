"""The privacy faces: an owner downloads their data; staff (admin, service) erase an owner."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED

from loyalty.i18n import request_locale
from loyalty.identity.guards import member_id as session_member, requires_member
from loyalty.privacy import erasure, export
from loyalty.privacy.schemas import ErasureReport, ErasureRequest
from loyalty.settings import Settings
from loyalty.openapi_contract import raises

ZIP = "application/zip"
MemberId = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="the member to erase")]


class MyDataExportController(Controller):
    path = "/me/data-export"
    tags = ["privacy"]
    guards = [requires_member]

    @raises("not-found")
    @get(
        operation_id="getMyDataExport",
        summary="Download everything held about me (PIPL): a zip of data.json, one CSV per kind, my case photos "
        "and a README in my language",
        media_type=ZIP,
        response_description="a zip: README.txt, data.json, csv/<kind>.csv (UTF-8 with BOM), photos/",
    )
    async def download(self, request: Request[Any, Any, State]) -> Response[bytes]:
        archive = await export.export_member(session_member(request), request_locale(request))
        return Response(
            archive.content, media_type=ZIP,
            headers={"Content-Disposition": f'attachment; filename="{archive.filename}"', "Cache-Control": "no-store"},
        )


class StaffErasureController(Controller):
    path = "/members/{member_id:int}/erasure"
    tags = ["staff", "privacy"]

    @raises("already-erased", "invalid-field", "not-found")
    @post(
        operation_id="staffEraseMember",
        summary="Erase an owner's personal data on their request (PIPL): identity goes, amounts stay; audited, "
        "all or nothing; a second erasure is a 409 already-erased",
        opt={"roles": ("service",)},
        status_code=HTTP_201_CREATED,
        response_description="what the erasure changed, by count",
    )
    async def erase(
        self, member_id: MemberId, data: JSONBody[ErasureRequest], request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> ErasureReport:
        return await erasure.erase_member(
            member_id, reason=data.reason, staff_id=request.state.staff.id, clawback_policy=settings.clawback_policy
        )
