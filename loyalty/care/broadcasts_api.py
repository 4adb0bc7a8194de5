"""The staff face of messages to a group of owners (the Messages page, admin only): count a
segment, write a broadcast, confirm it (now or at its time), cancel it, read its delivery
stats. Each route calls one service function and shapes its answer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from loyalty.care import broadcasts as service
from loyalty.care.broadcasts_schemas import (
    BroadcastCreate, BroadcastView, CountRequest, CountView, Preview, SegmentIn, Stats, Text,
)
from loyalty.openapi_contract import raises

ADMIN = {"roles": ("admin",)}


def _segment(data: SegmentIn) -> service.Segment:
    return service.Segment(
        project_ids=list(data.project_ids), buildings=list(data.buildings), tiers=list(data.tiers), stages=list(data.stages),
        tags=list(data.tags), birthday_month=data.birthday_month, no_contact_months=data.no_contact_months,
        attended=data.attended, attended_from=data.attended_from, attended_to=data.attended_to,
    )


def _view(row: dict[str, Any]) -> BroadcastView:
    segment = service.segment_of(row)
    texts = service.texts(row)
    return BroadcastView(
        id=row["id"], kind=row["kind"], status=row["status"], title_zh=row["title_zh"], title_en=row["title_en"],
        body_zh=row["body_zh"], body_en=row["body_en"],
        segment=SegmentIn(
            project_ids=list(segment.project_ids), buildings=list(segment.buildings), tiers=list(segment.tiers),
            stages=list(segment.stages), tags=list(segment.tags), birthday_month=segment.birthday_month,
            no_contact_months=segment.no_contact_months, attended=segment.attended,
            attended_from=segment.attended_from, attended_to=segment.attended_to,
        ),
        send_at=row["send_at"], created_by=row["created_by"], created_at=row["created_at"],
        confirmed_at=row["confirmed_at"], finished_at=row["finished_at"], cancelled_at=row["cancelled_at"],
        audience=row["audience"], stats=Stats(**row["stats"]),
        preview=Preview(zh=Text(*texts["zh-CN"]), en=Text(*texts["en"])),
    )


class StaffBroadcastController(Controller):
    path = "/broadcasts"
    tags = ["staff"]

    @get(operation_id="staffListBroadcasts", summary="Messages to groups of owners, newest first, with delivery stats",
         opt=ADMIN, description="The latest 100, every status; `stats` counts each one's outbox messages.")
    async def list_broadcasts(self) -> list[BroadcastView]:
        return [_view(row) for row in await service.recent()]

    @raises("invalid-field")
    @post(operation_id="staffCreateBroadcast", summary="Write a message to a segment of owners (a draft; audited)",
          opt=ADMIN, status_code=HTTP_201_CREATED,
          description="Nothing goes out until it is confirmed (`/sending`). A title and body in Chinese are needed; an "
                      "empty English one falls back to the Chinese. `send_at` must be in the future (or null: at once).")
    async def create_broadcast(self, data: JSONBody[BroadcastCreate], request: Request[Any, Any, State]) -> BroadcastView:
        broadcast_id = await service.create(service.BroadcastDraft(
            kind=data.kind, title_zh=data.title_zh, title_en=data.title_en, body_zh=data.body_zh, body_en=data.body_en,
            segment=_segment(data.segment), send_at=data.send_at,
        ), request.state.staff.id)
        return _view(await service.get(broadcast_id))

    @raises("invalid-field")
    @post("/count", operation_id="staffCountBroadcastSegment", opt=ADMIN, status_code=HTTP_200_OK,
          summary="How many owners a segment holds now, and how many refused this kind",
          description="Owners whose data was erased are never counted. `reachable` is who it will be sent to if it went "
                      "out now (the segment is taken again when it goes out).")
    async def count_segment(self, data: JSONBody[CountRequest]) -> CountView:
        reach = await service.count(data.kind, _segment(data.segment))
        return CountView(members=reach.members, opted_out=reach.opted_out, reachable=reach.members - reach.opted_out)

    @raises("not-found")
    @get("/{broadcast_id:int}", operation_id="staffGetBroadcast", opt=ADMIN,
         summary="One message to a group, its preview in both languages and delivery stats",
         description="`preview` is what an owner reads in each language.")
    async def get_broadcast(self, broadcast_id: FromPath[int]) -> BroadcastView:
        return _view(await service.get(broadcast_id))

    @raises("not-found", "broadcast-closed")
    @post("/{broadcast_id:int}/sending", operation_id="staffSendBroadcast", opt=ADMIN, status_code=HTTP_200_OK,
          summary="Confirm a draft: send it now, or at its time (audited)",
          description="A draft with no `send_at` (or one now past) starts sending at once, one outbox message per owner "
                      "(never two, however often it runs); one with a later `send_at` becomes `scheduled`. Anything "
                      "but a draft is a 409 `broadcast-closed`.")
    async def send_broadcast(self, broadcast_id: FromPath[int], request: Request[Any, Any, State]) -> BroadcastView:
        await service.confirm(broadcast_id, request.state.staff.id)
        return _view(await service.get(broadcast_id))

    @raises("not-found", "broadcast-closed")
    @post("/{broadcast_id:int}/cancellation", operation_id="staffCancelBroadcast", opt=ADMIN, status_code=HTTP_200_OK,
          summary="Cancel a draft or a scheduled message (audited)",
          description="One sending or sent cannot be called back: a 409 `broadcast-closed`.")
    async def cancel_broadcast(self, broadcast_id: FromPath[int], request: Request[Any, Any, State]) -> BroadcastView:
        await service.cancel(broadcast_id, request.state.staff.id)
        return _view(await service.get(broadcast_id))
