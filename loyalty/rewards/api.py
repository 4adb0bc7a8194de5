"""The rewards faces: the owner's catalogue, redemptions and pick-up codes; staff's catalogue,
counter (ready, pick-up by scanning), gifts granted to a segment and the report. Each route
calls one service function and shapes its answer."""

from __future__ import annotations

from typing import Annotated, Any

from dataclasses import dataclass
from datetime import date

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.spec import Example, OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED

from loyalty.cards import image, service as cards
from loyalty.errors import NotFound
from loyalty.i18n import _
from loyalty.i18n.enums import enum_label
from loyalty.identity import guards
from loyalty.identity.guards import member_id, requires_member
from loyalty.openapi_contract import raises
from loyalty.phones import mask_phone
from loyalty.rewards import pictures, rules, service, vouchers
from loyalty.rewards.schemas import (
    CounterRow,
    Created,
    GrantCreate,
    GrantPreviewView,
    GrantView,
    OfferView,
    PickupRequest,
    PickupView,
    Prices,
    RedemptionStatus,
    RedemptionView,
    ReportRow,
    RewardCreate,
    RewardStatus,
    RewardUpdate,
    StaffRewardView,
    StockChange,
)
from loyalty.settings import Settings

CATALOGUE_STAFF = {"roles": ("admin",)}
COUNTER_STAFF = {"roles": ("service",)}
REDEEM_REFUSALS = (
    "idempotency-conflict", "insufficient-points", "invalid-field", "not-found", "redemption-limit-reached",
    "reward-not-eligible", "reward-not-on-offer", "reward-out-of-stock",
    # an event seat: the event's own refusals
    "reward-event-full", "already-signed-up", "event-not-eligible", "signup-closed", "event-cancelled",
)
CODE_REFUSALS = ("code-malformed", "code-bad-signature", "code-unknown-key")
ALL_STAFF_ROLES = ("sales", "event_staff", "service")
PageLimit = Annotated[int, QueryParameter(required=False, ge=1, le=service.MAX_PAGE,
                                          description=f"rows per page (default {service.PAGE_SIZE}, at most {service.MAX_PAGE})")]
PageOffset = Annotated[int, QueryParameter(required=False, ge=0, le=2**31 - 1, description="rows to skip (the page's start)")]


def picture_url(reward_id: int, etag: str | None) -> str | None:
    # The ETag in the address: a new picture is a new address, so the old one may be cached long.
    return f"/api/v1/rewards/{reward_id}/picture.jpg?v={etag[:12]}" if etag else None

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key", min_length=1, max_length=100,
        description="unique per redemption the owner means (made once per tap on the page): a retry or a double "
                    "click with the same key answers the first redemption",
        examples=[Example(summary="a uuid made by the page", value="6f1c2b9e-3d1a-4c55-9a47-2f0e8b7d1c30")],
    ),
]


def redemption_view(row: dict[str, Any], voucher_codes: dict[int, str] | None = None) -> RedemptionView:
    code = (voucher_codes or {}).get(row["id"]) if row["status"] in ("reserved", "ready") else None
    return RedemptionView(
        id=row["id"], reward_id=row["reward"], reward_kind=row["reward_kind"], reward_name_zh=row["reward_name_zh"],
        reward_name_en=row["reward_name_en"], pickup_place=row["pickup_place"], pickup_place_en=row["pickup_place_en"],
        points=row["points"],
        status=row["status"], status_label_zh=enum_label("redemption_status", row["status"], "zh-CN"),
        status_label_en=enum_label("redemption_status", row["status"], "en"), reserved_at=row["reserved_at"],
        expires_at=row["expires_at"], ready_at=row["ready_at"], picked_up_at=row["picked_up_at"],
        gift_occasion=row["occasion"] if row["granted_by"] else None, merchant_name=row["merchant_name"],
        voucher_code=vouchers.written(code) if code else None, event_id=row["event_id"], signup_id=row["signup"],
    )


async def _views(rows: list[dict[str, Any]], settings: Settings) -> list[RedemptionView]:
    codes = await vouchers.codes_for(rows, settings.secret_key or "")
    return [redemption_view(row, codes) for row in rows]


async def _mine(member: int, redemption_id: int) -> dict[str, Any]:
    rows = await service.owner_redemptions(member, [redemption_id])
    if not rows:
        raise NotFound(_("There is no redemption {redemption_id}", redemption_id=redemption_id))
    return rows[0]


class MyRewardController(Controller):
    path = "/me"
    tags = ["rewards"]
    guards = [requires_member]

    @raises("not-found")
    @get("/rewards", operation_id="listMyRewards", summary="The rewards I may redeem now, at my tier's price",
         description="Only what I may take: published, within its dates, offered to my tier (0 points = free), my "
                     "stage and project, in stock, and my own limit not reached.")
    async def catalogue(self, request: Request[Any, Any, State]) -> list[OfferView]:
        offers = await service.catalogue(member_id(request))
        with_picture = await pictures.with_pictures([o.reward["id"] for o in offers])
        return [
            OfferView(
                id=o.reward["id"], kind=o.reward["kind"], name_zh=o.reward["name_zh"], name_en=o.reward["name_en"],
                description_zh=o.reward["description_zh"], description_en=o.reward["description_en"],
                pickup_place=o.reward["pickup_place"], pickup_place_en=o.reward["pickup_place_en"],
                picture_url=picture_url(o.reward["id"], with_picture.get(o.reward["id"])), points=o.price, ends_on=o.reward["ends_on"],
                stock_left=o.reward["stock_remaining"], per_owner_limit=o.reward["per_owner_limit"], redeemed_by_me=o.taken,
                collect_days=o.reward["collect_days"],
            )
            for o in offers
        ]

    @raises(*REDEEM_REFUSALS)
    @post("/rewards/{reward_id:int}/redemptions", operation_id="redeemReward", status_code=HTTP_201_CREATED,
          summary="Redeem a reward with my points (exactly once per Idempotency-Key)",
          description="Spends the points and takes one from the stock together, or neither. A retry with the same "
                      "Idempotency-Key answers the first redemption (200, `Idempotent-Replayed: true`); the same key for "
                      "another reward is a 409 `idempotency-conflict`. The reservation waits at the pick-up place until "
                      "`expires_at`; after that its points come back.")
    async def redeem(
        self, reward_id: FromPath[int], idempotency_key: IdempotencyKey, request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> Response[RedemptionView]:
        me = member_id(request)
        done = await service.redeem(me, reward_id, idempotency_key)
        view = (await _views([await _mine(me, done.redemption_id)], settings))[0]
        headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
        return Response(view, status_code=HTTP_200_OK if done.replayed else HTTP_201_CREATED, headers=headers)

    @get("/redemptions", operation_id="listMyRedemptions", summary="My redemptions and gifts to collect, newest first",
         description="Gifts staff granted me (free, `gift_occasion` set) are here to collect like any redemption.")
    async def list_mine(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> list[RedemptionView]:
        return await _views(await service.owner_redemptions(member_id(request)), settings)

    @raises("not-found", "redemption-closed", "cancel-deadline-passed")
    @post("/redemptions/{redemption_id:int}/cancel", operation_id="cancelMyRedemption", status_code=HTTP_200_OK,
          summary="Cancel a redemption not yet picked up: points and stock come back",
          description="Only while reserved or ready; a picked-up, cancelled or expired one is a 409 `redemption-closed`. "
                      "An event seat cancels its signup too (the seat goes to the waitlist), only before the event's "
                      "cancellation deadline (409 `cancel-deadline-passed`).")
    async def cancel(self, redemption_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> RedemptionView:
        me = member_id(request)
        await service.cancel(me, redemption_id)
        return (await _views([await _mine(me, redemption_id)], settings))[0]

    @raises("not-found")
    @get("/redemptions/{redemption_id:int}/code.svg", operation_id="getMyPickupCode", media_type="image/svg+xml",
         summary="The pick-up code (signed) as a QR, to show at the counter; a voucher's code for the merchant's till",
         description="Only for a redemption that is reserved or ready; staff (a voucher: the merchant's till) scan it "
                     "once. An event seat has none: its ticket is the signup's.")
    async def code_svg(self, redemption_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[str]:
        row = await _mine(member_id(request), redemption_id)
        if row["status"] not in ("reserved", "ready") or row["reward_kind"] == "event_seat":
            raise NotFound(_("Redemption {redemption_id} has no pick-up code now", redemption_id=redemption_id))
        if row["reward_kind"] == "voucher":
            code = (await vouchers.codes_for([row], settings.secret_key or ""))[row["id"]]
        else:
            code = service.pickup_code(cards.signer_for(settings), row)
        return Response(image.qr_svg(code), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


def _staff_view(r: dict[str, Any], etag: str | None) -> StaffRewardView:
    return StaffRewardView(
        id=r["id"], kind=r["kind"], status=r["status"], name_zh=r["name_zh"], name_en=r["name_en"],
        description_zh=r["description_zh"], description_en=r["description_en"], pickup_place=r["pickup_place"],
        pickup_place_en=r["pickup_place_en"], picture_url=picture_url(r["id"], etag),
        prices=Prices(**{tier: r[column] for tier, column in rules.PRICE_COLUMN.items()}),
        stock_total=r["stock_total"], stock_remaining=r["stock_remaining"], per_owner_limit=r["per_owner_limit"],
        starts_on=r["starts_on"], ends_on=r["ends_on"], eligible_tiers=rules.split(r["eligible_tiers"]),
        eligible_stages=rules.split(r["eligible_stages"]),
        eligible_project_ids=[int(p) for p in rules.split(r["eligible_projects"])], collect_days=r["collect_days"],
        merchant_id=r["merchant"], event_id=r["event"],
    )


@dataclass  # so that its __init__ calls __post_init__ (Operation has none)
class _PictureUploadOperation(Operation):
    """The picture's body, for the OpenAPI document: the handler reads the raw image itself
    (checked and re-encoded with Pillow, not decoded as a form)."""

    def __post_init__(self) -> None:
        picture = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
        self.request_body = RequestBody(
            required=True,
            description="the image file itself as the body (no form): JPEG, PNG or WebP, at most 2 MB and 40 million "
                        "pixels, decoding whole",
            content={media_type: picture for media_type in ("image/jpeg", "image/png", "image/webp")},
        )


async def _one(reward_id: int) -> StaffRewardView:
    row = await service.reward(reward_id)
    return _staff_view(row, (await pictures.with_pictures([reward_id])).get(reward_id))


class StaffRewardController(Controller):
    path = "/rewards"
    tags = ["staff"]

    @get(operation_id="staffListRewards", summary="Every reward, newest first, a page at a time", opt=COUNTER_STAFF,
         description="The catalogue as staff see it, drafts and withdrawn ones included (or those of `status`). "
                     "A page of `limit` rows from `offset`: fewer than `limit` is the last page.")
    async def list_rewards(
        self, status: Annotated[RewardStatus | None, QueryParameter(required=False)] = None,
        limit: PageLimit = service.PAGE_SIZE, offset: PageOffset = 0,
    ) -> list[StaffRewardView]:
        rows = await service.list_rewards(status, limit=limit, offset=offset)
        with_picture = await pictures.with_pictures([r["id"] for r in rows])
        return [_staff_view(r, with_picture.get(r["id"])) for r in rows]

    @raises("invalid-field")
    @post(operation_id="staffCreateReward", summary="Create a reward (audited)", opt=CATALOGUE_STAFF,
          description="Prices per tier: null = not offered to that tier, 0 = free. A draft is not in the catalogue "
                      "(a gift only granted to a segment can stay one).")
    async def create(self, data: JSONBody[RewardCreate], request: Request[Any, Any, State]) -> Created:
        draft = service.RewardDraft(
            kind=data.kind, name_zh=data.name_zh, starts_on=data.starts_on, ends_on=data.ends_on, stock=data.stock,
            name_en=data.name_en, description_zh=data.description_zh, description_en=data.description_en,
            pickup_place=data.pickup_place, pickup_place_en=data.pickup_place_en,
            prices={"platinum": data.prices.platinum, "gold": data.prices.gold, "silver": data.prices.silver,
                    "blue": data.prices.blue},
            per_owner_limit=data.per_owner_limit, eligible_tiers=list(data.eligible_tiers),
            eligible_stages=list(data.eligible_stages), eligible_project_ids=list(data.eligible_project_ids),
            collect_days=data.collect_days, status=data.status, merchant_id=data.merchant_id, event_id=data.event_id,
        )
        return Created(id=await service.create_reward(draft, request.state.staff.id))

    @raises("invalid-field", "not-found")
    @patch("/{reward_id:int}", operation_id="staffUpdateReward", opt=CATALOGUE_STAFF,
           summary="Edit a reward's fields (audited with before and after)",
           description="Only the fields sent change (null or absent: unchanged); the checks are those of a new reward. "
                       "`prices` is the whole price list. A new price counts for redemptions from now on. Stock and "
                       "status have their own routes: a withdrawn reward stays withdrawn.")
    async def update(self, reward_id: FromPath[int], data: JSONBody[RewardUpdate], request: Request[Any, Any, State]) -> StaffRewardView:
        changes: dict[str, Any] = {
            name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not None
        }
        if data.prices is not None:
            changes["prices"] = {tier: getattr(data.prices, tier) for tier in rules.PRICE_COLUMN}
        await service.update_reward(reward_id, changes, request.state.staff.id)
        return await _one(reward_id)

    @raises("image-too-large", "invalid-field", "not-found")
    @put("/{reward_id:int}/picture", operation_id="staffSetRewardPicture", opt=CATALOGUE_STAFF, status_code=HTTP_200_OK,
         operation_class=_PictureUploadOperation,
         summary="Set the reward's picture: the image itself as the body (JPEG, PNG or WebP, ≤ 2 MB) (audited)",
         description="Checked with Pillow (decoding whole, at most 40 million pixels), turned upright, made at most "
                     "1200 px on its long side and re-encoded as JPEG without EXIF. A refused file changes nothing.")
    async def set_picture(self, reward_id: FromPath[int], request: Request[Any, Any, State]) -> StaffRewardView:
        await pictures.set_picture(reward_id, await request.body(), request.state.staff.id)
        return await _one(reward_id)

    @raises("not-found")
    @post("/{reward_id:int}/publication", operation_id="staffPublishReward", opt=CATALOGUE_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="Publish a reward (audited)",
          description="It enters the catalogue of the owners it is for, within its dates.")
    async def publish(self, reward_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await service.set_status(reward_id, "published", request.state.staff.id)

    @raises("not-found")
    @post("/{reward_id:int}/withdrawal", operation_id="staffWithdrawReward", opt=CATALOGUE_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="Withdraw a reward (audited)",
          description="No more redemptions; those already made stay valid until collected or expired.")
    async def withdraw(self, reward_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await service.set_status(reward_id, "withdrawn", request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post("/{reward_id:int}/stock", operation_id="staffChangeRewardStock", opt=CATALOGUE_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="Add stock (or take some away) (audited)",
          description="Never below what is left unreserved.")
    async def stock(self, reward_id: FromPath[int], data: JSONBody[StockChange], request: Request[Any, Any, State]) -> None:
        await service.add_stock(reward_id, data.added, request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post("/{reward_id:int}/grants/preview", operation_id="staffPreviewRewardGrant", opt=CATALOGUE_STAFF,
          status_code=HTTP_200_OK, summary="How many owners a grant would reach, before it is made (nothing is written)",
          description="Counted as the grant counts: the segment, less the owners already given this reward for this occasion.")
    async def grant_preview(self, reward_id: FromPath[int], data: JSONBody[GrantCreate]) -> GrantPreviewView:
        found = await service.grant_preview(
            reward_id, occasion=data.occasion, tiers=list(data.tiers), stages=list(data.stages), project_ids=list(data.project_ids),
        )
        return GrantPreviewView(owners=found.owners, stock_left=found.stock_left, enough_stock=found.owners <= found.stock_left)

    @raises("invalid-field", "not-found", "reward-not-on-offer", "reward-out-of-stock")
    @post("/{reward_id:int}/grants", operation_id="staffGrantReward", opt=CATALOGUE_STAFF, status_code=HTTP_201_CREATED,
          summary="Grant a free gift to a segment (tiers, stages, projects): one per owner",
          description="Each owner in the segment gets one free reservation of the reward for the occasion, however "
                      "often it is granted; all of them take stock, or none when there is too little.")
    async def grant(self, reward_id: FromPath[int], data: JSONBody[GrantCreate], request: Request[Any, Any, State]) -> GrantView:
        grant_id, count = await service.grant(
            reward_id, staff_id=request.state.staff.id, occasion=data.occasion, tiers=list(data.tiers),
            stages=list(data.stages), project_ids=list(data.project_ids),
        )
        return GrantView(id=grant_id, granted=count)

    @raises("invalid-field")
    @get("/report", operation_id="staffRewardReport", opt=CATALOGUE_STAFF,
         summary="Per reward: stock, redemptions by status, points collected and held (the liability)",
         description="`points_held` are the points of reservations not yet collected: they come back to owners "
                     "if cancelled or expired. `start`/`end` (Beijing days, both included) count only the redemptions "
                     "made on those days; stock is as it is now.")
    async def report(
        self, settings: NamedDependency[Settings],
        start: Annotated[date | None, QueryParameter(required=False, description="first day (Beijing), YYYY-MM-DD")] = None,
        end: Annotated[date | None, QueryParameter(required=False, description="last day (Beijing), YYYY-MM-DD")] = None,
    ) -> list[ReportRow]:
        fen = lambda points: points * 100 // settings.points_per_cny  # noqa: E731 - integers: fen, never floats
        return [
            ReportRow(
                reward_id=r["reward_id"], name_zh=r["name_zh"], name_en=r["name_en"], status=r["status"],
                stock_total=r["stock_total"], stock_remaining=r["stock_remaining"],
                **{s: r["counts"].get(s, 0) for s in ("reserved", "ready", "picked_up", "cancelled", "expired")},
                points_collected=r["points_collected"], points_held=r["points_held"],
                points_collected_fen=fen(r["points_collected"]), points_held_fen=fen(r["points_held"]),
            )
            for r in await service.report(start, end)
        ]

    @raises(*CODE_REFUSALS, "redemption-already-picked-up", "redemption-closed", "redemption-expired")
    @post("/pickups", operation_id="staffPickUpReward", opt=COUNTER_STAFF, status_code=HTTP_200_OK,
          summary="Hand a reward over: scan the owner's pick-up code (once)",
          description="A code used before is a 409 `redemption-already-picked-up` (with when); an expired reservation "
                      "`redemption-expired`; a cancelled one `redemption-closed`.")
    async def pick_up(self, data: JSONBody[PickupRequest], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> PickupView:
        redemption_id = await service.pick_up(data.code, request.state.staff.id, cards.signer_for(settings))
        row = (await service.counter_list("picked_up", redemption_id=redemption_id))[0]
        return PickupView(redemption_id=redemption_id, reward_name_zh=row["reward_name_zh"],
                          reward_name_en=row["reward_name_en"], member_name=row["member_name"],
                          member_phone=mask_phone(row["member_phone"] or ""), status="picked_up")

    @get("/redemptions", operation_id="staffCounterList", opt=COUNTER_STAFF,
         summary="The counter's list: reservations to hand over, soonest to expire first",
         description="Open ones (reserved and ready) unless `status` says otherwise; `reward_id` narrows to one reward.")
    async def counter(
        self, status: Annotated[RedemptionStatus | None, QueryParameter(required=False)] = None,
        reward_id: Annotated[int | None, QueryParameter(required=False, ge=1, le=2**31 - 1)] = None,
        limit: PageLimit = service.PAGE_SIZE, offset: PageOffset = 0,
    ) -> list[CounterRow]:
        return [
            CounterRow(
                id=r["id"], reward_id=r["reward_id"], reward_name_zh=r["reward_name_zh"], reward_name_en=r["reward_name_en"],
                member_name=r["member_name"], member_phone=mask_phone(r["member_phone"] or ""), points=r["points"],
                status=r["status"], reserved_at=r["reserved_at"], ready_at=r["ready_at"], expires_at=r["expires_at"],
                gift=r["granted_by"] is not None,
            )
            for r in await service.counter_list(status, reward_id, limit=limit, offset=offset)
        ]

    @raises("not-found", "redemption-closed")
    @post("/redemptions/{redemption_id:int}/ready", operation_id="staffMarkRedemptionReady", opt=COUNTER_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="The reward waits at the counter: the owner is told",
          description="Only a reserved redemption; the owner gets a message through the outbox.")
    async def ready(self, redemption_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await service.mark_ready(redemption_id, request.state.staff.id)


@raises("not-authenticated", "forbidden")
async def requires_member_or_staff(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A staff session (any role) or an owner's session."""
    if isinstance((connection.scope.get("session") or {}).get(guards.STAFF_KEY), int):
        await guards.requires_staff_role(connection, handler)
    else:
        connection.state.staff = None
        await requires_member(connection, handler)


@raises("not-found")
@get("/rewards/{reward_id:int}/picture.jpg", operation_id="getRewardPicture", media_type="image/jpeg", tags=["rewards"],
     guards=[requires_member_or_staff], opt={"roles": ALL_STAFF_ROLES}, include_in_schema=True,
     summary="A reward's picture (JPEG, at most 1200 px), for staff and for owners who can see the reward",
     description="An owner sees the picture of a reward offered to them now, or one they redeemed or were given; "
                 "otherwise 404. With the ETag: `If-None-Match` answers 304.")
async def reward_picture(reward_id: FromPath[int], request: Request[Any, Any, State]) -> Response[bytes]:
    if request.state.staff is None:
        await pictures.owner_may_see(member_id(request), reward_id)
    found = await pictures.picture(reward_id)
    etag = f'"{found.etag}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if etag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(found.data, media_type="image/jpeg", headers=headers)
