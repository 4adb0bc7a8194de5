"""The partner API's contract: every field an integrating till sees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000_000, description="amount in fen (1 CNY = 100 fen)")]
Tier = Annotated[
    Literal["platinum", "gold", "silver", "blue"],
    msgspec.Meta(description="the member's card tier, highest first: platinum 铂金卡, gold 金卡, silver 银卡, blue 蓝卡",
                 examples=["gold"]),
]


# A rotating code as a scanner reads it (signed for an example member; expired long ago).
CARD_CODE_EXAMPLE = "OC1.k1.RAAAAAAAAAQAAcl13wAAMDk.ooyouuVvW_rQxdjuDrYq_rTTpCT9ysqN7LBK3P8pksMT2UB1C2BL_jIUwnztVPRPNw9-HKOaQRWluzhAgw0uBw"
# As text, as the answer carries it: a document holding datetime objects is not JSON to every reader.
SALE_TIME_EXAMPLE = "2026-12-07T08:19:26.749957Z"


class CodeVerify(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=512,
            description="the text of the scanned QR code: the static code of a printed card or card image, or the "
            "rotating code on the owner's phone; or the 18 digits shown under the phone's QR, as the cashier typed "
            "them (the same rotating code)",
            examples=[CARD_CODE_EXAMPLE],
        ),
    ]


class Discount(msgspec.Struct):
    percent_bp: Annotated[
        int, msgspec.Meta(ge=0, le=10_000, examples=[1000],
                          description="the tier's discount at this merchant in basis points: 1000 = 10 % off, 10000 = 100 %")
    ]
    cap_fen: Annotated[int | None, msgspec.Meta(examples=[5000], description="the most discount one sale may get, in fen; "
                                                 "null: no cap")]


class Verified(msgspec.Struct):
    tier: Tier
    tier_label_zh: Annotated[str, msgspec.Meta(examples=["金卡"])]
    tier_label_en: Annotated[str, msgspec.Meta(examples=["Gold"])]
    member_name: Annotated[str, msgspec.Meta(examples=["张*"], description="masked as merchants see it: the family name only")]
    discount: Discount
    points_available: Annotated[int, msgspec.Meta(examples=[12800], description="points the member can spend now")]
    points_per_cny: Annotated[
        int, msgspec.Meta(examples=[100], description="how many points pay 1 CNY (100 fen) here: with 100, 1 point = 1 fen")
    ]
    code_kind: Annotated[
        Literal["static", "dynamic"],
        msgspec.Meta(description="static (printed card, card image) or dynamic (the owner's phone)"),
    ]
    code_expires_at_unix: Annotated[
        int | None, msgspec.Meta(examples=[1798732860], description="a dynamic code's end (Unix seconds); null: static")
    ]
    code_can_pay: Annotated[
        bool,
        msgspec.Meta(
            description="whether a sale with this code may take points as payment: only a dynamic code can, once "
            "(a static code identifies for the discount; ask for the phone's code to pay with points). A dynamic code "
            "that has already paid for a sale is false too: ask the owner to refresh the code"
        ),
    ] = False
    code_cannot_pay_reason: Annotated[
        Literal["code-cannot-pay", "code-already-used"] | None,
        msgspec.Meta(
            description="why `code_can_pay` is false, as the problem a sale with points would get: `code-cannot-pay` "
            "(a static code) or `code-already-used` (a dynamic code that has paid for a sale); null when it can pay"
        ),
    ] = None


class SaleCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=512,
            description="the scanned card code, or the 18 digits under the phone's QR as typed; a dynamic code is "
            "consumed by the sale (one sale per code: its QR and its digits are one code)",
            examples=[CARD_CODE_EXAMPLE],
        ),
    ]
    gross_fen: Annotated[
        int, msgspec.Meta(gt=0, le=100_000_000_000, examples=[128000], description="the bill before discount, in fen")
    ]
    discount_fen: Annotated[
        int, msgspec.Meta(ge=0, le=100_000_000_000, examples=[12800],
                          description="discount given, in fen: at most the tier's `percent_bp` of gross_fen, capped at "
                          "`cap_fen` (else `discount-exceeds-schedule`)"),
    ] = 0
    points_to_redeem: Annotated[
        int,
        msgspec.Meta(ge=0, le=1_000_000_000, description="points as payment: needs the dynamic code from the owner's phone"),
    ] = 0
    store: Annotated[
        str,
        msgspec.Meta(max_length=32, examples=["SH-01"],
                     description="store code: REQUIRED with a merchant-wide key (else `store-not-found`); with a store "
                     "key omit it or send the key's own store"),
    ] | None = None


class SaleView(msgspec.Struct):
    id: int
    store_id: int
    tier: Tier
    gross_fen: Annotated[int, msgspec.Meta(examples=[128000], description="the bill before discount, in fen")]
    discount_fen: Annotated[int, msgspec.Meta(examples=[12800], description="in fen")]
    points_redeemed: Annotated[int, msgspec.Meta(examples=[5000], description="points taken as payment")]
    points_value_fen: Annotated[
        int, msgspec.Meta(examples=[5000], description="what the redeemed points are worth, in fen: the developer owes "
                          "it to the merchant (settlement)")
    ]
    points_earned: Annotated[int, msgspec.Meta(examples=[1102], description="points the member earns (pending first)")]
    cash_fen: Annotated[
        int, msgspec.Meta(examples=[110200], description="what the member pays otherwise: gross − discount − points value")
    ]
    reversed_fen: Annotated[int, msgspec.Meta(examples=[0], description="gross fen reversed so far")]
    points_balance_after: Annotated[int, msgspec.Meta(examples=[7800], description="the member's points after the sale")]
    created_at: Annotated[datetime, msgspec.Meta(examples=[SALE_TIME_EXAMPLE], description="when the sale was recorded (UTC)")]
    points_earned_pending_until: Annotated[
        date | None,
        msgspec.Meta(examples=["2026-12-14"], description="the earned points vest on this day (the end of the reversal window); until then "
                     "they cannot be spent, and reversing the sale voids them"),
    ] = None
    earn_cap_reached: Annotated[
        Literal["sale", "day"] | None,
        msgspec.Meta(description="`sale` or `day` when a cap on points earned at this merchant cut points_earned "
                     "down (possibly to 0); staff are alerted"),
    ] = None


class SalePage(msgspec.Struct):
    items: list[SaleView]
    next_cursor: int | None


class ReversalCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount_fen: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100_000_000_000, examples=[32000],
            description="how much of the sale is returned, in GROSS fen (before discount; at least 1): the discount and "
            "the points are returned in proportion; at most what is left (else `reversal-exceeds-sale`, with "
            "`left_fen`). Omit for the whole rest",
        ),
    ] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200, examples=["退货 / returned"])] = ""


class ReversalView(msgspec.Struct):
    id: int
    sale_id: int
    amount_fen: Annotated[int, msgspec.Meta(examples=[32000], description="gross fen reversed")]
    discount_fen: Annotated[int, msgspec.Meta(examples=[3200], description="the part of the discount taken back, in fen")]
    points_returned: Annotated[int, msgspec.Meta(examples=[1250], description="redeemed points given back to the member")]
    points_removed: Annotated[int, msgspec.Meta(examples=[275], description="earned points taken away again")]
    points_balance_after: Annotated[int, msgspec.Meta(examples=[8775], description="the member's points afterwards")]
    created_at: Annotated[datetime, msgspec.Meta(examples=[SALE_TIME_EXAMPLE], description="when the reversal was made (UTC)")]


NETTED = " Net of the reversals made in the month (those of earlier sales included)."


class SettlementLineView(msgspec.Struct):
    store_code: Annotated[str, msgspec.Meta(examples=["SH-01"])]
    store_name: Annotated[str, msgspec.Meta(examples=["静安店"])]
    sales: Annotated[int, msgspec.Meta(examples=[42], description="sales made in the month")]
    gross_fen: Annotated[int, msgspec.Meta(examples=[5376000], description="their gross, in fen, NOT net of reversals "
                                            "(see reversed_fen)")]
    discount_fen: Annotated[int, msgspec.Meta(examples=[537600], description="discount given, in fen." + NETTED)]
    points_redeemed: Annotated[int, msgspec.Meta(examples=[210000], description="points taken as payment." + NETTED)]
    points_value_fen: Annotated[int, msgspec.Meta(examples=[210000], description="their value in fen, owed to the "
                                                   "merchant." + NETTED)]
    points_earned: Annotated[int, msgspec.Meta(examples=[46200], description="points members earned." + NETTED)]
    reversals: Annotated[int, msgspec.Meta(examples=[2], description="reversals made in the month")]
    reversed_fen: Annotated[int, msgspec.Meta(examples=[64000], description="their gross fen")]


class Settlement(msgspec.Struct):
    month: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-12"],
                                       description="YYYY-MM, Beijing time")]
    lines: list[SettlementLineView]
    points_value_owed_fen: Annotated[
        int, msgspec.Meta(examples=[210000], description="what the developer owes the merchant for points taken as "
                          "payment, in fen (sum of the lines, net of reversals)")
    ]
    discount_fen: Annotated[int, msgspec.Meta(examples=[537600], description="sum of the lines, in fen")]
    sales: Annotated[int, msgspec.Meta(examples=[42], description="sum of the lines")]


VoucherCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=64,
        description="the voucher's code as scanned from the owner's QR, or its 16 letters and digits as the cashier "
        "typed them (hyphens, spaces and lower case are ignored; O reads as 0, I and L as 1)",
        examples=["K7QM-3XZ9-A4TB-0PRW"],
    ),
]


class VoucherUse(msgspec.Struct, forbid_unknown_fields=True):
    code: VoucherCode
    store: Annotated[
        str,
        msgspec.Meta(max_length=32, examples=["SH-01"],
                     description="the store code where it is used (optional; a store key: omit it or send the key's own)"),
    ] | None = None


class VoucherView(msgspec.Struct):
    status: Annotated[
        Literal["valid", "used", "expired", "cancelled"],
        msgspec.Meta(description="valid: it can be used now | used (see used_at) | expired | cancelled (the owner gave "
                     "it back)", examples=["valid"]),
    ]
    reward_name_zh: Annotated[str, msgspec.Meta(examples=["森林装饰 200 元代金券"])]
    reward_name_en: Annotated[str, msgspec.Meta(examples=["Forest Decor 200 CNY voucher"])]
    member_name: Annotated[str, msgspec.Meta(examples=["张*"], description="masked as merchants see it: the family name only")]
    expires_at: Annotated[datetime, msgspec.Meta(examples=[SALE_TIME_EXAMPLE], description="the end of its validity (UTC)")]
    used_at: Annotated[datetime | None, msgspec.Meta(examples=[SALE_TIME_EXAMPLE], description="when it was used (UTC)")] = None
    used_at_store: Annotated[str | None, msgspec.Meta(examples=["SH-01"], description="the store code it was used at")] = None
