from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.cards.tables import TIERS
from loyalty.merchants.tables import CATEGORIES
from loyalty.openapi_contract import checked_enum


class MerchantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["好家居建材"])]
    category: str = "other"
    points_per_cny: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    contact_phone: Annotated[str, msgspec.Meta(max_length=20)] = ""


class StoreCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class DiscountCreate(msgspec.Struct, forbid_unknown_fields=True):
    # Checked by the service (422 invalid-field naming `tier`), not by the decoder.
    tier: Annotated[str, checked_enum(TIERS, "the card tier the discount is for: " + ", ".join(TIERS), "gold")]
    percent_bp: Annotated[int, msgspec.Meta(gt=0, le=10000, description="basis points: 1000 = 10% off")]
    valid_from: date
    valid_to: date | None = None
    cap_fen: Annotated[int, msgspec.Meta(gt=0)] | None = None


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    store_id: int | None = None
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class NewKey(msgspec.Struct):
    id: int
    key: str  # shown once
    prefix: str


class KeyView(msgspec.Struct):
    id: int
    prefix: str
    label: str
    store_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class Created(msgspec.Struct):
    id: int


MERCHANT_STATUSES = ("active", "suspended")
Category = Annotated[Literal[CATEGORIES], msgspec.Meta(description="the merchant's trade: " + ", ".join(CATEGORIES), examples=["decoration"])]
MerchantStatus = Annotated[
    Literal[MERCHANT_STATUSES], msgspec.Meta(description="active | suspended (its keys refused at once)", examples=["active"])
]
Tier = Annotated[Literal[TIERS], msgspec.Meta(description="the card tier: " + ", ".join(TIERS), examples=["gold"])]


class MerchantRow(msgspec.Struct):
    """A line of the staff list of merchants."""

    id: int
    name: str
    category: Category
    status: MerchantStatus
    points_per_cny: int
    store_count: int
    active_key_count: Annotated[int, msgspec.Meta(description="keys neither revoked nor past a rotation's grace")]


class StoreView(msgspec.Struct):
    id: int
    code: str
    name: str


class DiscountView(msgspec.Struct):
    id: int
    tier: Tier
    percent_bp: Annotated[int, msgspec.Meta(description="basis points: 1000 = 10% off")]
    cap_fen: int | None
    valid_from: Annotated[date, msgspec.Meta(description="a Beijing day")]
    valid_to: Annotated[date | None, msgspec.Meta(description="a Beijing day (included), or null: no end")]


class MerchantDetail(msgspec.Struct):
    id: int
    name: str
    category: Category
    status: MerchantStatus
    points_per_cny: int
    contact_name: str
    contact_phone: Annotated[str, msgspec.Meta(description="the merchant's own contact, never an owner's")]
    created_at: datetime
    key_grace_hours: Annotated[int, msgspec.Meta(description="how long a rotated key keeps working")]
    stores: list[StoreView]
    discounts: list[DiscountView]
    keys: list[KeyView]
