"""Points faces: an owner's balance and statement; staff adjustments with a reason, the large
ones waiting for a second person (loyalty/points/approvals.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from loyalty import clock
from loyalty.identity.guards import member_id, requires_member
from loyalty.points import approvals, service
from loyalty.points.schemas import (
    AdjustmentApproval, AdjustmentRejection, AdjustmentRequestView, PointsAdjusted, PointsAdjustment, PointsBalance,
    PointsDue, PointsEntry, PointsSchedule, PointsStatement,
)
from loyalty.points.describe import describe
from loyalty.i18n import request_locale, translate
from loyalty.settings import Settings
from loyalty.openapi_contract import raises

async def statement(member: int, before: int | None, limit: int, locale: str, points_per_cny: int) -> PointsStatement:
    balance = await service.balance(member, clock.today())
    rows = await service.history(member, before_id=before, limit=limit + 1)
    shown = rows[:limit]
    words = await describe(shown, member)
    credits = await service.pending_credits(shown)
    return PointsStatement(
        balance=PointsBalance(
            available=balance.available,
            pending=balance.pending,
            expiring_soon=balance.expiring_soon,
            expiring_on=balance.expiring_on,
            value_fen=balance.available * 100 // points_per_cny,
        ),
        entries=[
            PointsEntry(
                id=row["id"], kind=row["kind"], available_delta=row["available_delta"], pending_delta=row["pending_delta"],
                source_kind=row["source_kind"], source_id=row["source_id"], reason=row["reason"],
                description=translate(words[row["id"]], locale), available_after=row["available_after"],
                pending_after=row["pending_after"], created_at=row["created_at"],
                vesting=credits.get(row["id"], (None, None))[0], vests_on=credits.get(row["id"], (None, None))[1],
            )
            for row in shown
        ],
        next_cursor=rows[limit - 1]["id"] if len(rows) > limit else None,
    )


class MyPointsController(Controller):
    path = "/me/points"
    tags = ["points"]
    guards = [requires_member]

    @get(operation_id="getMyPoints", summary="My points: available, pending, expiring soon, and the statement")
    async def mine(
        self,
        request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
        cursor: Annotated[int | None, QueryParameter(ge=0, description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PointsStatement:
        """The member app's points page: the balance (available, pending, expiring soon and its day) and the
        ledger, newest first, one page at a time, each entry described in words.
        """
        return await statement(member_id(request), cursor, limit, request_locale(request), settings.points_per_cny)

    @get(
        "/schedule", operation_id="getMyPointsSchedule",
        summary="My points' calendar: what expires when, and what becomes available when",
    )
    async def schedule(self, request: Request[Any, Any, State]) -> PointsSchedule:
        """The points page's "what expires when": available points by their expiry day and pending points by the
        day they vest.
        """
        expiring, vesting = await service.schedule(member_id(request), clock.today())
        return PointsSchedule(
            expiring=[PointsDue(date=due.on, points=due.points) for due in expiring],
            vesting=[PointsDue(date=due.on, points=due.points) for due in vesting],
        )


class StaffPointsController(Controller):
    path = "/members/{member:int}/points"
    tags = ["staff"]

    @get(operation_id="staffGetMemberPoints", summary="A member's points and statement", opt={"roles": ("service", "sales")})
    async def show(
        self,
        member: FromPath[int],
        request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
        cursor: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PointsStatement:
        """The staff member page's points panel: a member's balance and ledger, one page at a time."""
        return await statement(member, cursor, limit, request_locale(request), settings.points_per_cny)

    @raises("adjustment-too-large", "idempotency-conflict", "insufficient-points", "invalid-field", "not-found")
    @post(
        "/adjustments",
        operation_id="staffAdjustPoints",
        summary="Add or take points with a reason (audited; never below zero; idempotent by key)",
        description=(
            "Up to LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD points (either sign) the adjustment is applied at once: "
            "201 with the ledger entry. Above it, 202 with a pending request that another staff member (an admin, "
            "never you) approves or rejects. Above 10,000,000 points: 422 `adjustment-too-large`."
        ),
        opt={"roles": ("service",)},
        responses={
            HTTP_202_ACCEPTED: ResponseSpec(
                data_container=AdjustmentRequestView, description="Above the threshold: waiting for approval",
                generate_examples=False,  # Litestar's invented ones are random text; the fields carry real ones
            )
        },
    )
    async def adjust(
        self, member: FromPath[int], data: JSONBody[PointsAdjustment], request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> Response[PointsAdjusted | AdjustmentRequestView]:
        outcome = await approvals.adjust_or_request(
            member, data.points, key=data.idempotency_key, reason=data.reason, staff_id=request.state.staff.id,
            threshold=settings.points_adjustment_approval_threshold,
        )
        if outcome.request is not None:
            return Response(request_view(outcome.request, outcome.replayed), status_code=HTTP_202_ACCEPTED)
        result = outcome.entry
        assert result is not None
        return Response(
            PointsAdjusted(entry_id=result.entry_id, available=result.available, pending=result.pending, replayed=result.replayed),
            status_code=HTTP_201_CREATED,
        )


def request_view(row: dict[str, Any], replayed: bool = False) -> AdjustmentRequestView:
    return AdjustmentRequestView(
        id=row["id"], member_id=row["member"], points=row["points"], reason=row["reason"], status=row["status"],
        requested_by=row["requested_by"], requested_at=row["requested_at"], decided_by=row["decided_by"],
        decided_at=row["decided_at"], decision_reason=row["decision_reason"], entry_id=row["entry"], replayed=replayed,
    )


class StaffAdjustmentRequestController(Controller):
    """The approvers' queue. Service staff see it (their requests and where they stand);
    only admins decide, and never on their own request (loyalty/points/approvals.py)."""

    path = "/points/adjustment-requests"
    tags = ["staff"]

    @raises("invalid-field")
    @get(
        operation_id="staffListAdjustmentRequests",
        summary="Points adjustment requests awaiting approval (or approved, rejected)",
        opt={"roles": ("service",)},
    )
    async def list_requests(
        self,
        status: Annotated[str, QueryParameter(
            description="pending (default), approved or rejected (see AdjustmentRequestView.status); another text is "
            "a 422 invalid-field", schema_extra={"enum": list(approvals.STATUSES)}, examples=[Example(value="pending")],
        )] = "pending",
        member_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        cursor: Annotated[int | None, QueryParameter(ge=0, le=2**31 - 1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[AdjustmentRequestView]:
        """The staff approvals page, for service staff and admins: large points adjustments by status (pending by
        default), oldest first.
        """
        rows = await approvals.requests(status=status, member_id=member_id, after_id=cursor, limit=limit)
        return [request_view(row) for row in rows]

    @raises("adjustment-already-decided", "adjustment-own-request", "adjustment-too-large", "idempotency-conflict", "insufficient-points", "invalid-field", "not-found")
    @post(
        "/{request_id:int}/approval",
        operation_id="staffApproveAdjustment",
        summary="Approve a pending adjustment: it is applied through the ledger, once (admins; never the requester)",
        opt={"roles": ()},  # admins only: the guard lets admins through whatever the roles say
        status_code=200,
    )
    async def approve(
        self, request_id: FromPath[int], data: JSONBody[AdjustmentApproval], request: Request[Any, Any, State]
    ) -> AdjustmentRequestView:
        """For admins, as the second person: apply a large points adjustment another staff member asked for. It
        is booked once.
        """
        staff = request.state.staff
        row = await approvals.approve(request_id, staff_id=staff.id, staff_role=staff.role, note=data.note)
        return request_view(row)

    @raises("adjustment-already-decided", "adjustment-own-request", "invalid-field", "not-found")
    @post(
        "/{request_id:int}/rejection",
        operation_id="staffRejectAdjustment",
        summary="Reject a pending adjustment, saying why (admins; never the requester)",
        opt={"roles": ()},
        status_code=200,
    )
    async def reject(
        self, request_id: FromPath[int], data: JSONBody[AdjustmentRejection], request: Request[Any, Any, State]
    ) -> AdjustmentRequestView:
        """For admins, as the second person: refuse a large points adjustment, with a reason (kept as its
        decision_reason).
        """
        staff = request.state.staff
        row = await approvals.reject(request_id, staff_id=staff.id, staff_role=staff.role, reason=data.reason)
        return request_view(row)
