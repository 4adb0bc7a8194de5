"""The return-visit desk for service staff (and admins): the visits to make, assigning them,
recording what came of a call, the month's visit coverage, and an owner's contact log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from loyalty import clock
from loyalty.care import visits
from loyalty.care.visit_schemas import ContactPage, ContactView, CoverageView, VisitAssignment, VisitOutcome, VisitView
from loyalty.labels import label
from loyalty.openapi_contract import raises

SERVICE = {"roles": ("service",)}


async def visit_views(rows: list[dict[str, Any]]) -> list[VisitView]:
    now = clock.now()
    people = await visits.people(rows)
    views = []
    for v in rows:
        who = people.get(("member", v["member"]) if v["member"] else ("lead", v["lead"] or 0), {"name": "", "phone": ""})
        views.append(VisitView(
            id=v["id"], member_id=v["member"], lead_id=v["lead"], name=who["name"], phone=who["phone"], kind=v["kind"],
            kind_label_zh=label(f"visit_kind.{v['kind']}", "zh-CN"), kind_label_en=label(f"visit_kind.{v['kind']}", "en"),
            source=v["source"], assigned_to=v["assigned_to"], due_at=v["due_at"],
            overdue=v["status"] == "open" and v["due_at"] < now, status=v["status"], outcome=v["outcome"],
            notes=v["notes"], satisfaction=v["satisfaction"], created_at=v["created_at"], done_at=v["done_at"],
            done_by=v["done_by"],
        ))
    return views


class StaffVisitController(Controller):
    path = "/visits"
    tags = ["staff"]

    @raises("invalid-field")
    @get(operation_id="staffListVisits", summary="Return visits to make: mine, unassigned or all; overdue first", opt=SERVICE)
    async def list_visits(
        self,
        request: Request[Any, Any, State],
        # Named apart from its query name: `scope` is Litestar's own argument (the ASGI scope).
        which: Annotated[str, QueryParameter(
            query="scope", max_length=12, schema_extra={"enum": list(visits.SCOPES)}, examples=[Example(value="mine")],
            description="mine: assigned to me | unassigned: assigned to nobody | all",
        )] = "mine",
        status: Annotated[str, QueryParameter(
            max_length=8, schema_extra={"enum": ["open", "done"]}, description="open (to do) or done",
        )] = "open",
        due_before: Annotated[datetime | None, QueryParameter(description="only visits due by then (e.g. the end of today)")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[VisitView]:
        """The return-visit desk's list. Open visits come by due time, so those overdue (`overdue`) come first; done
        ones newest first.
        """
        rows = await visits.list_visits(
            request.state.staff.id, scope=which, status=status, due_before=due_before, limit=limit, offset=offset
        )
        return await visit_views(rows)

    @raises("invalid-field", "not-found", visits.VisitAlreadyRecorded)
    @post("/{visit_id:int}/assignment", operation_id="staffAssignVisit", status_code=HTTP_204_NO_CONTENT,
          summary="Give a return visit to a service staff member (audited)", opt=SERVICE)
    async def assign(self, visit_id: FromPath[int], data: JSONBody[VisitAssignment], request: Request[Any, Any, State]) -> None:
        """Give an open return visit to an active service staff member (or an admin); audited. A visit already done
        is `visit-recorded`.
        """
        await visits.assign(visit_id, data.staff_id, request.state.staff.id)

    @raises("invalid-field", "not-found", visits.VisitAlreadyRecorded)
    @post("/{visit_id:int}/outcome", operation_id="staffRecordVisitOutcome", status_code=200,
          summary="Record what came of the call, once (audited)", opt=SERVICE)
    async def record(self, visit_id: FromPath[int], data: JSONBody[VisitOutcome], request: Request[Any, Any, State]) -> VisitView:
        """Record the call: the outcome (reached, not reached, refused), notes, and, when the owner was reached, a
        satisfaction score from 1 to 5. Recorded once: a second time is `visit-recorded` (409). Audited.
        """
        row = await visits.record_outcome(visit_id, request.state.staff.id, data.outcome, data.notes, data.satisfaction)
        return (await visit_views([row]))[0]

    @raises("invalid-field")
    @get("/coverage", operation_id="staffVisitCoverage", summary="Visit coverage of a month: owners reached / active owners (target 85%)",
         opt=SERVICE)
    async def coverage(
        self,
        month: Annotated[str | None, QueryParameter(max_length=7, examples=[Example(value="2026-12")],
                                                    description="YYYY-MM (Beijing); this month if left out")] = None,
    ) -> CoverageView:
        """The visit-coverage KPI of a Beijing month:

        `rate = reached_owners / active_owners`, where `reached_owners` counts the active owners with a return visit
        of any kind done in the month whose outcome is `reached`, and `active_owners` the members who own at least one
        unit (an active ownership) and were not erased, as of now. The target is 85%
        (`LOYALTY_VISIT_COVERAGE_TARGET_PERCENT`); the monthly plan on the 1st creates the visits to reach it.
        """
        found = await visits.coverage(month or clock.today().strftime("%Y-%m"))
        return CoverageView(month=found.month, active_owners=found.active_owners, reached_owners=found.reached_owners,
                            rate=found.rate, target=found.target)


@raises("not-found")
@get("/members/{member_id:int}/contacts", operation_id="staffMemberContacts", tags=["staff"], opt=SERVICE,
     summary="An owner's contact log: return visits, case replies and messages sent, newest first")
async def staff_member_contacts(
    member_id: FromPath[int],
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=100_000)] = 0,
) -> ContactPage:
    """Everything the club said to one owner, as one timeline, newest first: return visits done (with outcome,
    notes and score), the care desk's messages on the owner's cases, and messages sent to them (WeChat, SMS,
    e-mail). Pages by `offset`; `next_offset` is None on the last page.
    """
    rows = await visits.contacts(member_id, limit=limit + 1, offset=offset)
    items = [ContactView(**row) for row in rows[:limit]]
    return ContactPage(items=items, next_offset=offset + limit if len(rows) > limit else None)
