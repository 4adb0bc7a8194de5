"""Points faces: an owner's balance and statement; staff adjustments with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from loyalty import clock
from loyalty.identity.guards import member_id, requires_member
from loyalty.points import service
from loyalty.points.schemas import PointsAdjusted, PointsAdjustment, PointsBalance, PointsEntry, PointsStatement

POINTS_PER_CNY = 100


async def statement(member: int, before: int | None, limit: int) -> PointsStatement:
    balance = await service.balance(member, clock.today())
    rows = await service.history(member, before_id=before, limit=limit + 1)
    return PointsStatement(
        balance=PointsBalance(
            available=balance.available,
            pending=balance.pending,
            expiring_soon=balance.expiring_soon,
            expiring_on=balance.expiring_on,
            value_fen=balance.available * 100 // POINTS_PER_CNY,
        ),
        entries=[PointsEntry(**row) for row in rows[:limit]],
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
        cursor: Annotated[int | None, QueryParameter(ge=0, description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PointsStatement:
        return await statement(member_id(request), cursor, limit)


class StaffPointsController(Controller):
    path = "/members/{member:int}/points"
    tags = ["staff"]

    @get(operation_id="staffGetMemberPoints", summary="A member's points and statement", opt={"roles": ("service", "sales")})
    async def show(
        self,
        member: FromPath[int],
        cursor: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PointsStatement:
        return await statement(member, cursor, limit)

    @post(
        "/adjustments",
        operation_id="staffAdjustPoints",
        summary="Add or take points with a reason (audited; never below zero; idempotent by key)",
        opt={"roles": ("service",)},
    )
    async def adjust(
        self, member: FromPath[int], data: JSONBody[PointsAdjustment], request: Request[Any, Any, State]
    ) -> PointsAdjusted:
        result = await service.adjust(
            member, data.points, key=f"adjust:{data.idempotency_key}", reason=data.reason, staff_id=request.state.staff.id
        )
        return PointsAdjusted(entry_id=result.entry_id, available=result.available, pending=result.pending, replayed=result.replayed)
