"""The repairs desk for service staff (and admins): repair records through acceptance, rework and
closing, the owner's rating, the contractors' month, and the group-complaint warnings."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from loyalty.care import desk, group_warnings, repairs
from loyalty.care.repair_schemas import (
    ContractorMonthView, GroupWarningView, OwnerAcceptance, RepairCreate, RepairRating, RepairStep, RepairView,
)
from loyalty.identity.guards import member_id as my_id
from loyalty.identity.guards import requires_member
from loyalty.care.tables import REPAIR_STATES
from loyalty.openapi_contract import raises

SERVICE = {"roles": ("service",)}


async def repair_views(rows: list[dict[str, Any]]) -> list[RepairView]:
    from loyalty.members.tables import Unit

    owners = await desk.owners({r["member"] for r in rows})
    names = {h["staff_id"]: h["name"] for h in await desk.handlers({r["ambassador"] for r in rows if r["ambassador"]})}
    units = {
        u["id"]: u for u in await Unit.select(Unit.id, Unit.project.name.as_alias("project_name"), Unit.phase, Unit.building,
                                                Unit.room).where(Unit.id.is_in([r["unit"] for r in rows] or [0]))
    }
    views = []
    for r in rows:
        owner = owners.get(r["member"], {"name": "", "phone": ""})
        unit = units.get(r["unit"])
        unit_name = " ".join(filter(None, [unit["project_name"], "-".join(filter(None, [unit["phase"], unit["building"], unit["room"]]))])) if unit else ""
        views.append(RepairView(
            id=r["id"], member_id=r["member"], owner_name=owner["name"], owner_phone=owner["phone"], unit_id=r["unit"],
            unit_name=unit_name, project_id=r["project"], item=r["item"], description=r["description"],
            major_works=r["major_works"], contractor=r["contractor"], supervisor=r["supervisor"], ambassador_id=r["ambassador"],
            ambassador_name=names.get(r["ambassador"]) if r["ambassador"] else None, contract_sum_fen=r["contract_sum_fen"],
            reported_at=r["reported_at"], recorded_at=r["recorded_at"], intake_due=r["intake_due"], intake_late=r["intake_late"],
            second_repair_of=r["second_repair_of"], state=r["state"], rework_count=r["rework_count"], accepted_by=r["accepted_by"],
            accepted_at=r["accepted_at"], closed_at=r["closed_at"], satisfaction=r["satisfaction"],
            contractor_amount_fen=repairs.contractor_amount_fen(r["contract_sum_fen"], r["satisfaction"]) if r["satisfaction"] else None,
            next_states=list(repairs.NEXT[r["state"]]),  # type: ignore[arg-type]
        ))
    return views


def warning_view(w: dict[str, Any]) -> GroupWarningView:
    return GroupWarningView(
        id=w["id"], kind=w["kind"], project_id=w["project"], building=w["building"], case_ids=list(w["case_ids"]),
        first_case_at=w["first_case_at"], last_case_at=w["last_case_at"], raised_at=w["raised_at"],
        acknowledged_by=w["acknowledged_by"], acknowledged_at=w["acknowledged_at"],
    )


class StaffRepairController(Controller):
    path = "/repairs"
    tags = ["staff"]

    @raises("invalid-field")
    @get(operation_id="staffListRepairs", summary="Repairs, newest report first, a page at a time", opt=SERVICE)
    async def list_repairs(
        self,
        repair_state: Annotated[str | None, QueryParameter(
            name="state", max_length=24, schema_extra={"enum": ["active", *REPAIR_STATES]}, examples=[Example(value="active")],
            description="active: not closed | a state; another text is a 422 naming `state`",
        )] = None,
        member_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="only this owner's repairs")] = None,
        project_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=2**31 - 1)] = 0,
    ) -> list[RepairView]:
        """The repairs desk's list: each repair with its owner (phone masked), unit, intake flag, second-repair mark
        and the states it may go to next.
        """
        rows = await repairs.list_repairs(state=repair_state, member_id=member_id, project_id=project_id, limit=limit, offset=offset)
        return await repair_views(rows)

    @raises("invalid-field", "not-found")
    @post(operation_id="staffRecordRepair", status_code=HTTP_201_CREATED, summary="Fill in a repair form for an owner's report",
          opt=SERVICE)
    async def record(self, data: JSONBody[RepairCreate], request: Request[Any, Any, State]) -> RepairView:
        """The front desk fills in the repair form: the owner's unit, the item, major works or not, contractor,
        supervisor, client ambassador and contract sum. Filled in more than 10 minutes (a setting) after the report
        it is flagged `intake_late`; the same unit and item within 90 days (a setting) is a second repair. Audited.
        """
        repair_id = await repairs.record(
            member_id=data.member_id, unit_id=data.unit_id, item=data.item, contractor=data.contractor,
            description=data.description, major_works=data.major_works, supervisor=data.supervisor,
            ambassador_id=data.ambassador_id, contract_sum_fen=data.contract_sum_fen, reported_at=data.reported_at,
            staff_id=request.state.staff.id,
        )
        return (await repair_views([await repairs.get_repair(repair_id)]))[0]

    @get("/contractors", operation_id="staffListRepairContractors", summary="Contractors named so far", opt=SERVICE)
    async def contractors(self) -> list[str]:
        """The contractors named on repairs so far, for the form's suggestions."""
        return await repairs.contractors()

    @raises("invalid-field")
    @get("/contractors/summary", operation_id="staffRepairContractorMonth", opt=SERVICE,
         summary="Per contractor: repairs closed in a month, ratings, rewards and penalties")
    async def contractor_summary(
        self, month: Annotated[str, QueryParameter(max_length=7, examples=[Example(value="2026-12")], description="YYYY-MM (Beijing)")],
    ) -> list[ContractorMonthView]:
        """Each contractor's repairs closed in the month, their average rating, and the rewards (5 → +2%, 4 → +1%) and
        penalties (2 → −2%, 1 → −5%) of the contract sums the ratings come to.
        """
        return [
            ContractorMonthView(
                contractor=line.contractor, month=line.month, repairs=line.repairs, rated=line.rated,
                average_rating=line.average_rating, contract_sum_fen=line.contract_sum_fen, reward_fen=line.reward_fen,
                penalty_fen=line.penalty_fen, net_fen=line.net_fen,
            )
            for line in await repairs.contractor_summary(month)
        ]

    @get("/warnings", operation_id="staffListGroupWarnings", summary="Group-complaint warnings not yet acknowledged", opt=SERVICE)
    async def warnings(
        self, project_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> list[GroupWarningView]:
        """The service desk's banner: clusters of open cases of one kind in one project (and building) within the
        window, newest first, until someone acknowledges them.
        """
        return [warning_view(w) for w in await group_warnings.open_warnings(project_id)]

    @raises("not-found", group_warnings.WarningAcknowledged)
    @post("/warnings/{warning_id:int}/acknowledgement", operation_id="staffAcknowledgeGroupWarning", status_code=200,
          summary="Acknowledge a group-complaint warning (audited)", opt=SERVICE)
    async def acknowledge(self, warning_id: FromPath[int], request: Request[Any, Any, State]) -> GroupWarningView:
        """The service lead has seen the warning; it leaves the banner. Audited; once (again is `warning-acknowledged`)."""
        return warning_view(await group_warnings.acknowledge(warning_id, request.state.staff.id))

    @raises("not-found")
    @get("/{repair_id:int}", operation_id="staffGetRepair", summary="One repair", opt=SERVICE)
    async def get_repair(self, repair_id: FromPath[int]) -> RepairView:
        """One repair record with its states, acceptance, rework count and rating."""
        return (await repair_views([await repairs.get_repair(repair_id)]))[0]

    @raises("invalid-field", "not-found", repairs.RepairStateError)
    @post("/{repair_id:int}/steps", operation_id="staffAdvanceRepair", status_code=200, opt=SERVICE,
          summary="Move a repair on: in repair, awaiting acceptance, accepted or rework, closed (audited)")
    async def advance(self, repair_id: FromPath[int], data: JSONBody[RepairStep], request: Request[Any, Any, State]) -> RepairView:
        """One step: `in_repair` (works started), `awaiting_acceptance` (done), `accepted` (by the owner or staff:
        `accepted_by`) or `rework` (not accepted; counted), `closed` (with the owner's rating when given). Closing
        creates the return visits: 24 hours after, and for major works two months after. A step the repair's state
        does not allow is `repair-state`.
        """
        row = await repairs.advance(repair_id, data.to, staff_id=request.state.staff.id, accepted_by=data.accepted_by,
                                    satisfaction=data.satisfaction, note=data.note)
        return (await repair_views([row]))[0]

    @raises("invalid-field", "not-found", repairs.RepairStateError, repairs.RepairRated)
    @post("/{repair_id:int}/rating", operation_id="staffRateRepair", status_code=200, opt=SERVICE,
          summary="The owner's rating of a closed repair, once (audited)")
    async def rate(self, repair_id: FromPath[int], data: JSONBody[RepairRating], request: Request[Any, Any, State]) -> RepairView:
        """The owner's satisfaction (1–5) with a closed repair, told to the desk; once (again is `repair-rated`)."""
        return (await repair_views([await repairs.rate(repair_id, data.satisfaction, staff_id=request.state.staff.id)]))[0]


class MyRepairController(Controller):
    path = "/me/repairs"
    tags = ["care"]
    guards = [requires_member]

    @get(operation_id="listMyRepairs", summary="Repairs at my home, newest report first")
    async def list_repairs(self, request: Request[Any, Any, State]) -> list[RepairView]:
        """The member app's repairs: each with its state, so the owner can accept the works when asked."""
        return await repair_views(await repairs.list_repairs(member_id=my_id(request), limit=100))

    @raises("invalid-field", "not-found", repairs.RepairStateError)
    @post("/{repair_id:int}/acceptance", operation_id="acceptMyRepair", status_code=200,
          summary="Accept the works of my repair, or ask for them to be redone")
    async def accept(self, repair_id: FromPath[int], data: JSONBody[OwnerAcceptance], request: Request[Any, Any, State]) -> RepairView:
        """From the member app, while the repair awaits acceptance: the owner accepts the works (`accepted`) or does
        not (the repair goes to rework, counted). Another owner's repair is `not-found`.
        """
        row = await repairs.advance(repair_id, "accepted" if data.accepted else "rework", member_id=my_id(request), note=data.note)
        return (await repair_views([row]))[0]

    @raises("invalid-field", "not-found", repairs.RepairStateError, repairs.RepairRated)
    @post("/{repair_id:int}/rating", operation_id="rateMyRepair", status_code=200, summary="Rate my closed repair (1–5), once")
    async def rate(self, repair_id: FromPath[int], data: JSONBody[RepairRating], request: Request[Any, Any, State]) -> RepairView:
        """From the member app, once the repair is closed: the owner's satisfaction, once."""
        return (await repair_views([await repairs.rate(repair_id, data.satisfaction, member_id=my_id(request))]))[0]
