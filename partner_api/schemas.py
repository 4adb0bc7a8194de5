"""The partner API's contract: every field an integrating till sees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000_000, description="amount in fen (1 CNY = 100 fen)")]


class CodeVerify(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=512,
            description="the text of the scanned QR code: the static code of a printed card or card image, or the "
            "rotating code on the owner's phone",
        ),
    ]


class Discount(msgspec.Struct):
    percent_bp: int  # basis points: 1000 = 10% off
    cap_fen: int | None


class Verified(msgspec.Struct):
    tier: str
    tier_label_zh: str
    tier_label_en: str
    member_name: str  # masked, e.g. 张*
    discount: Discount
    points_available: int
    points_per_cny: int  # points worth 1 CNY (100 fen) when paying here
    code_kind: Annotated[str, msgspec.Meta(description="static (printed card, card image) or dynamic (the owner's phone)")]
    code_expires_at_unix: int | None
    code_can_pay: Annotated[
        bool,
        msgspec.Meta(
            description="whether a sale with this code may take points as payment: only a dynamic code can, once "
            "(a static code identifies for the discount; ask for the phone's code to pay with points)"
        ),
    ] = False


class SaleCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=512,
            description="the scanned card code; a dynamic code is consumed by the sale (one sale per code)",
        ),
    ]
    gross_fen: Annotated[int, msgspec.Meta(gt=0, le=100_000_000_000, examples=[128000])]
    discount_fen: Fen = 0
    points_to_redeem: Annotated[
        int,
        msgspec.Meta(ge=0, le=1_000_000_000, description="points as payment: needs the dynamic code from the owner's phone"),
    ] = 0
    store: Annotated[str, msgspec.Meta(max_length=32, description="store code (not needed for a store key)")] | None = None


class SaleView(msgspec.Struct):
    id: int
    store_id: int
    tier: str
    gross_fen: int
    discount_fen: int
    points_redeemed: int
    points_value_fen: int
    points_earned: int
    cash_fen: int
    reversed_fen: int
    points_balance_after: int
    created_at: datetime
    points_earned_pending_until: Annotated[
        date | None,
        msgspec.Meta(description="the earned points vest on this day (the end of the reversal window); until then "
                     "they cannot be spent, and reversing the sale voids them"),
    ] = None
    earn_cap_reached: Annotated[
        str | None,
        msgspec.Meta(description="`sale` or `day` when a cap on points earned at this merchant cut points_earned "
                     "down (possibly to 0); staff are alerted"),
    ] = None


class SalePage(msgspec.Struct):
    items: list[SaleView]
    next_cursor: int | None


class ReversalCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount_fen: Annotated[int, msgspec.Meta(gt=0, le=100_000_000_000, description="omit for the whole rest")] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class ReversalView(msgspec.Struct):
    id: int
    sale_id: int
    amount_fen: int
    discount_fen: int
    points_returned: int
    points_removed: int
    points_balance_after: int
    created_at: datetime


class SettlementLineView(msgspec.Struct):
    store_code: str
    store_name: str
    sales: int
    gross_fen: int
    discount_fen: int
    points_redeemed: int
    points_value_fen: int
    points_earned: int
    reversals: int
    reversed_fen: int


class Settlement(msgspec.Struct):
    month: str
    lines: list[SettlementLineView]
    points_value_owed_fen: int  # what the developer owes the merchant for points taken as payment
    discount_fen: int
    sales: int
