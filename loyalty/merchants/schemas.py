from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from loyalty.cards.tables import TIERS
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
