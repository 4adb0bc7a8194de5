"""Staff manage alliance merchants: stores, tier discounts and API keys (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from loyalty.merchants import service
from loyalty.cards.schemas import Reason
from loyalty.merchants.schemas import (
    Created, DiscountCreate, DiscountView, KeyCreate, KeyView, MerchantCreate, MerchantDetail, MerchantRow, NewKey, StoreCreate,
    StoreView,
)
from loyalty.openapi_contract import raises

ADMIN = {"roles": ("admin",)}
PageLimit = Annotated[int, QueryParameter(required=False, ge=1, le=service.MAX_PAGE, description="rows in a page")]
PageOffset = Annotated[int, QueryParameter(required=False, ge=0, le=2**31 - 1, description="rows to skip (the page's start)")]


def _key_view(row: dict[str, Any]) -> KeyView:
    return KeyView(
        id=row["id"], prefix=row["prefix"], label=row["label"], store_id=row["store"], created_at=row["created_at"],
        last_used_at=row["last_used_at"], expires_at=row["expires_at"], revoked_at=row["revoked_at"],
    )


class StaffMerchantController(Controller):
    path = "/merchants"
    tags = ["staff"]

    @get(operation_id="staffListMerchants", summary="Merchants by name, a page at a time", opt=ADMIN,
         description="Each with its category, status, number of stores and of keys in force. "
                     "A page of `limit` rows from `offset`: fewer than `limit` is the last page.")
    async def list_merchants(self, limit: PageLimit = service.PAGE_SIZE, offset: PageOffset = 0) -> list[MerchantRow]:
        return [
            MerchantRow(
                id=r["id"], name=r["name"], category=r["category"], status=r["status"], points_per_cny=r["points_per_cny"],
                store_count=r["store_count"], active_key_count=r["active_key_count"],
            )
            for r in await service.list_merchants(limit=limit, offset=offset)
        ]

    @raises("not-found")
    @get("/{merchant:int}", operation_id="staffGetMerchant", summary="A merchant: stores, discount schedules, keys by prefix", opt=ADMIN)
    async def detail(self, merchant: FromPath[int]) -> MerchantDetail:
        m = await service.merchant_detail(merchant)
        return MerchantDetail(
            id=m["id"], name=m["name"], category=m["category"], status=m["status"], points_per_cny=m["points_per_cny"],
            contact_name=m["contact_name"], contact_phone=m["contact_phone"], created_at=m["created_at"],
            key_grace_hours=int(service.KEY_GRACE.total_seconds() // 3600),
            stores=[StoreView(id=s["id"], code=s["code"], name=s["name"]) for s in m["stores"]],
            discounts=[
                DiscountView(id=d["id"], tier=d["tier"], percent_bp=d["percent_bp"], cap_fen=d["cap_fen"],
                             valid_from=d["valid_from"], valid_to=d["valid_to"])
                for d in m["discounts"]
            ],
            keys=[_key_view(k) for k in m["keys"]],
        )

    @raises("invalid-field")
    @post(operation_id="staffCreateMerchant", summary="Add an alliance merchant (audited)", opt=ADMIN)
    async def create(self, data: JSONBody[MerchantCreate], request: Request[Any, Any, State]) -> Created:
        return Created(
            id=await service.create_merchant(
                data.name, data.category, points_per_cny=data.points_per_cny,
                contact_name=data.contact_name, contact_phone=data.contact_phone, actor_id=request.state.staff.id,
            )
        )

    @raises("invalid-field", "not-found")
    @post("/{merchant:int}/stores", operation_id="staffAddStore", summary="Add a store (audited)", opt=ADMIN)
    async def add_store(self, merchant: FromPath[int], data: JSONBody[StoreCreate], request: Request[Any, Any, State]) -> Created:
        return Created(id=await service.add_store(merchant, data.code, data.name, actor_id=request.state.staff.id))

    @raises("invalid-field", "not-found")
    @post("/{merchant:int}/discounts", operation_id="staffSetDiscount", summary="A tier discount with its validity (audited)", opt=ADMIN)
    async def set_discount(self, merchant: FromPath[int], data: JSONBody[DiscountCreate], request: Request[Any, Any, State]) -> Created:
        return Created(
            id=await service.set_discount(
                merchant, data.tier, data.percent_bp, valid_from=data.valid_from, valid_to=data.valid_to, cap_fen=data.cap_fen,
                actor_id=request.state.staff.id,
            )
        )

    @raises("not-found", "store-not-found")
    @post("/{merchant:int}/api-keys", operation_id="staffCreateApiKey", summary="A new API key, shown once (audited)", opt=ADMIN)
    async def create_key(self, merchant: FromPath[int], data: JSONBody[KeyCreate], request: Request[Any, Any, State]) -> NewKey:
        raw, key_id = await service.create_api_key(merchant, store_id=data.store_id, label=data.label, actor_id=request.state.staff.id)
        return NewKey(id=key_id, key=raw, prefix=raw[: len(service.KEY_PREFIX) + 6])

    @get("/{merchant:int}/api-keys", operation_id="staffListApiKeys", summary="Keys by prefix, never the key", opt=ADMIN)
    async def list_keys(self, merchant: FromPath[int]) -> list[KeyView]:
        return [_key_view(row) for row in await service.list_api_keys(merchant)]

    @raises("not-found", "store-not-found", service.KeyAlreadyReplaced)
    @post(
        "/api-keys/{key_id:int}/rotation",
        operation_id="staffRotateApiKey",
        summary="Replace a key; the old one keeps working for 24 hours",
        opt=ADMIN,
    )
    async def rotate(self, key_id: FromPath[int], request: Request[Any, Any, State]) -> NewKey:
        raw, new_id = await service.rotate_api_key(key_id, actor_id=request.state.staff.id)
        return NewKey(id=new_id, key=raw, prefix=raw[: len(service.KEY_PREFIX) + 6])

    @raises("not-found")
    @post("/api-keys/{key_id:int}/revocation", operation_id="staffRevokeApiKey", summary="Revoke a key now: tills using it are refused at once (audited)", opt=ADMIN, status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, key_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await service.revoke_api_key(key_id, actor_id=request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post(
        "/{merchant:int}/suspension", operation_id="staffSuspendMerchant", opt=ADMIN, status_code=HTTP_204_NO_CONTENT,
        summary="Suspend a merchant: its keys are refused at once (audited)",
    )
    async def suspend(self, merchant: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State]) -> None:
        await service.set_merchant_status(merchant, "suspended", data.reason, request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post(
        "/{merchant:int}/reactivation", operation_id="staffReactivateMerchant", opt=ADMIN, status_code=HTTP_204_NO_CONTENT,
        summary="Reactivate a suspended merchant (audited)",
    )
    async def reactivate(self, merchant: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State]) -> None:
        await service.set_merchant_status(merchant, "active", data.reason, request.state.staff.id)
