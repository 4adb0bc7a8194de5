"""Staff manage alliance merchants: stores, tier discounts and API keys (admin only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from loyalty.merchants import service
from loyalty.cards.schemas import Reason
from loyalty.merchants.schemas import Created, DiscountCreate, KeyCreate, KeyView, MerchantCreate, NewKey, StoreCreate
from loyalty.openapi_contract import raises

ADMIN = {"roles": ("admin",)}


class StaffMerchantController(Controller):
    path = "/merchants"
    tags = ["staff"]

    @raises("invalid-field")
    @post(operation_id="staffCreateMerchant", summary="Add an alliance merchant", opt=ADMIN)
    async def create(self, data: JSONBody[MerchantCreate]) -> Created:
        return Created(
            id=await service.create_merchant(
                data.name, data.category, points_per_cny=data.points_per_cny,
                contact_name=data.contact_name, contact_phone=data.contact_phone,
            )
        )

    @raises("invalid-field", "not-found")
    @post("/{merchant:int}/stores", operation_id="staffAddStore", summary="Add a store", opt=ADMIN)
    async def add_store(self, merchant: FromPath[int], data: JSONBody[StoreCreate]) -> Created:
        return Created(id=await service.add_store(merchant, data.code, data.name))

    @raises("invalid-field", "not-found")
    @post("/{merchant:int}/discounts", operation_id="staffSetDiscount", summary="A tier discount with its validity", opt=ADMIN)
    async def set_discount(self, merchant: FromPath[int], data: JSONBody[DiscountCreate]) -> Created:
        return Created(
            id=await service.set_discount(
                merchant, data.tier, data.percent_bp, valid_from=data.valid_from, valid_to=data.valid_to, cap_fen=data.cap_fen
            )
        )

    @raises("not-found", "store-not-found")
    @post("/{merchant:int}/api-keys", operation_id="staffCreateApiKey", summary="A new API key, shown once", opt=ADMIN)
    async def create_key(self, merchant: FromPath[int], data: JSONBody[KeyCreate]) -> NewKey:
        raw, key_id = await service.create_api_key(merchant, store_id=data.store_id, label=data.label)
        return NewKey(id=key_id, key=raw, prefix=raw[: len(service.KEY_PREFIX) + 6])

    @get("/{merchant:int}/api-keys", operation_id="staffListApiKeys", summary="Keys by prefix, never the key", opt=ADMIN)
    async def list_keys(self, merchant: FromPath[int]) -> list[KeyView]:
        return [
            KeyView(
                id=row["id"], prefix=row["prefix"], label=row["label"], store_id=row["store"], created_at=row["created_at"],
                last_used_at=row["last_used_at"], expires_at=row["expires_at"], revoked_at=row["revoked_at"],
            )
            for row in await service.list_api_keys(merchant)
        ]

    @raises("not-found", "store-not-found")
    @post(
        "/api-keys/{key_id:int}/rotation",
        operation_id="staffRotateApiKey",
        summary="Replace a key; the old one keeps working for 24 hours",
        opt=ADMIN,
    )
    async def rotate(self, key_id: FromPath[int]) -> NewKey:
        raw, new_id = await service.rotate_api_key(key_id)
        return NewKey(id=new_id, key=raw, prefix=raw[: len(service.KEY_PREFIX) + 6])

    @raises("not-found")
    @post("/api-keys/{key_id:int}/revocation", operation_id="staffRevokeApiKey", summary="Revoke a key now", opt=ADMIN, status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, key_id: FromPath[int]) -> None:
        await service.revoke_api_key(key_id)

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
