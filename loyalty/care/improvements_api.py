"""The “315” plan's improvement actions for service staff and admins (/api/v1/staff/improvement-actions):
the batches with their actions, adding one, marking one done (loyalty.care.improvements)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from loyalty.care import improvements
from loyalty.care.tables import IMPROVEMENT_SOURCES
from loyalty.openapi_contract import checked_enum, raises

SERVICE = {"roles": ("service",)}
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
SOURCE_WORDS = "survey 问卷 | case 工单 | visit 回访"


class ImprovementActionCreate(msgspec.Struct, forbid_unknown_fields=True):
    project_id: Id
    batch_month: Annotated[str, msgspec.Meta(max_length=7, examples=["2026-10"],
                                             description="YYYY-MM (Beijing): the month the batch was handed over")]
    title: Annotated[str, msgspec.Meta(max_length=200, examples=["地下车库增设照明"])]
    owners_said: Annotated[str, msgspec.Meta(max_length=4000, examples=["访谈中多位业主反映车库太暗"])]
    owner_staff_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1, description="an active service or admin account")]
    due_on: date
    source_kind: Annotated[str | None, checked_enum(IMPROVEMENT_SOURCES, SOURCE_WORDS, "visit")] = None
    source_id: Id | None = None


class ImprovementActionDone(msgspec.Struct, forbid_unknown_fields=True):
    result: Annotated[str, msgspec.Meta(max_length=4000, examples=["已增设 40 盏照明灯，业主回访满意"])]


class ImprovementActionView(msgspec.Struct):
    id: int
    project_id: int
    batch_month: str
    title: str
    owners_said: str
    source_kind: Literal[IMPROVEMENT_SOURCES] | None  # type: ignore[valid-type]
    source_id: int | None
    owner_staff_id: int
    owner_staff_name: str
    due_on: date
    done_at: datetime | None
    result: str
    created_at: datetime


class ImprovementBatchView(msgspec.Struct):
    project_id: int
    project_name: str
    project_name_en: str
    batch_month: str  # YYYY-MM, Beijing
    owners: int  # owners handed over in the batch (within the plan's window; 0 when older)
    target: int  # the plan's count of actions per batch (5)
    recorded: int
    done: int
    actions: list[ImprovementActionView]


def action_view(a: dict[str, Any]) -> ImprovementActionView:
    return ImprovementActionView(
        id=a["id"], project_id=a["project"], batch_month=a["batch_month"], title=a["title"], owners_said=a["owners_said"],
        source_kind=a["source_kind"], source_id=a["source_id"], owner_staff_id=a["owner_staff"],
        owner_staff_name=a["owner_staff_name"], due_on=a["due_on"], done_at=a["done_at"], result=a["result"],
        created_at=a["created_at"],
    )


class StaffImprovementActionController(Controller):
    path = "/improvement-actions"
    tags = ["staff"]

    @raises("validation-error")
    @get(operation_id="staffListImprovementBatches", summary="The 315 batches with their improvement actions", opt=SERVICE)
    async def batches(
        self,
        project_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="one project only")] = None,
        batch_month: Annotated[str | None, QueryParameter(max_length=7, examples=[Example(value="2026-10")],
                                                          description="YYYY-MM (Beijing): one handover month only")] = None,
    ) -> list[ImprovementBatchView]:
        """The “315” batches (a project and the Beijing month its homes were handed over), newest first: those handed
        over within the plan's three months and any with actions, each with its actions, how many are recorded of the
        plan's five and how many are done.
        """
        return [
            ImprovementBatchView(**{**b, "actions": [action_view(a) for a in b["actions"]]})
            for b in await improvements.batches(project_id, batch_month)
        ]

    @raises("invalid-field", "validation-error", "not-found")
    @post(operation_id="staffAddImprovementAction", status_code=HTTP_201_CREATED, opt=SERVICE,
          summary="Record an improvement action for a 315 batch")
    async def add(self, data: JSONBody[ImprovementActionCreate], request: Request[Any, Any, State]) -> ImprovementActionView:
        """One improvement action: what the owners said (optionally the survey, case or return visit it came from), who
        carries it out and by when. Audited.
        """
        return action_view(await improvements.add(
            project_id=data.project_id, batch_month=data.batch_month, title=data.title, owners_said=data.owners_said,
            owner_staff_id=data.owner_staff_id, due_on=data.due_on, source_kind=data.source_kind, source_id=data.source_id,
            staff_id=request.state.staff.id,
        ))

    @raises("invalid-field", "not-found", improvements.ActionDone)
    @post("/{action_id:int}/completion", operation_id="staffCompleteImprovementAction", status_code=200, opt=SERVICE,
          summary="Mark an improvement action done, with its result")
    async def complete(self, action_id: FromPath[int], data: JSONBody[ImprovementActionDone],
                       request: Request[Any, Any, State]) -> ImprovementActionView:
        """The action is carried out: its result is kept and it counts as done; once (409 after). Audited."""
        return action_view(await improvements.mark_done(action_id, data.result, request.state.staff.id))
