"""`/partner/v1`: what a merchant's till calls. Bearer key on every route, Idempotency-Key on
every write, problem details with a stable `type` for every failure."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_401_UNAUTHORIZED
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.labels import label
from loyalty.merchants import reversals, sales, service, settlement
from loyalty.merchants.earning import EarnRules
from loyalty.openapi_contract import raises
from loyalty.settings import Settings
from partner_api.auth import requires_api_key
from partner_api.schemas import (
    CodeVerify,
    Discount,
    ReversalCreate,
    ReversalView,
    SaleCreate,
    SalePage,
    SaleView,
    Settlement,
    SettlementLineView,
    Verified,
)

PREFIX = "/partner/v1"

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key", min_length=1, max_length=100,
        description="unique per write: a retry with the same key and body returns the first answer",
        examples=[Example(summary="till id + receipt number", value="till-bj-1-20261207-0002")],
    ),
]


def sale_location(sale_id: int) -> str:
    """Where a created sale is read (getSale): the `Location` of its 201."""
    return f"{PREFIX}/sales/{sale_id}"


def reversal_location(sale_id: int, reversal_id: int) -> str:
    """Where a created reversal is read (getReversal): the `Location` of its 201."""
    return f"{PREFIX}/sales/{sale_id}/reversals/{reversal_id}"


def created(view: Any, location: str, replayed: bool) -> Response[Any]:
    """A write's answer: 201 with `Location` (RFC 9110 §15.3.2), or, for a retry under the same
    Idempotency-Key, the first answer again as a 200 marked `Idempotent-Replayed` (with the
    same `Location`, so a till that lost the first answer still learns where the resource is)."""
    headers = {"Location": location}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(view, status_code=HTTP_200_OK if replayed else HTTP_201_CREATED, headers=headers)


def sale_view(sale: dict[str, Any]) -> SaleView:
    return SaleView(
        id=sale["id"], store_id=sale["store"], tier=sale["tier"], gross_fen=sale["gross_fen"],
        discount_fen=sale["discount_fen"], points_redeemed=sale["points_redeemed"],
        points_value_fen=sale["points_value_fen"], points_earned=sale["points_earned"], cash_fen=sale["cash_fen"],
        reversed_fen=sale["reversed_fen"], points_balance_after=sale["balance_after"], created_at=sale["created_at"],
        points_earned_pending_until=sale["earn_vests_on"] if sale["points_earned"] else None,
        earn_cap_reached=sale["earn_cap"] or None,
    )


def reversal_view(reversal: dict[str, Any]) -> ReversalView:
    return ReversalView(
        id=reversal["id"], sale_id=reversal["sale"], amount_fen=reversal["amount_fen"],
        discount_fen=reversal["discount_fen"], points_returned=reversal["points_returned"],
        points_removed=reversal["points_removed"], points_balance_after=reversal["balance_after"],
        created_at=reversal["created_at"],
    )


CODES_EXPLAINED = (
    "Two card codes exist. The **static** code is printed on the card and in its image: it *identifies* the member "
    "(tier, discount, a sale without points) until the card is replaced, and anyone who photographs a card has it. "
    "The **dynamic** code is on the owner's phone: it rotates every 60 s (accepted in its own minute and the next, "
    "then `code-expired`) and it *pays*: only a dynamic code may take points as payment, and the sale that uses it "
    "consumes it. Under its QR the phone also shows the dynamic code as **18 digits** (`66…`, the last a Luhn check "
    "digit) for the cashier to type when the scan fails: send the digits as `code` wherever a code goes (spaces and "
    "hyphens are ignored). They are the same one-time code as the QR shown with them: a sale with either consumes "
    "both; digits no code has are `code-number-unknown`, a typo the check digit catches is `code-malformed`."
)


@raises("card-replaced", "card-suspended", "code-bad-signature", "code-expired", "code-malformed", "code-number-unknown", "code-unknown-key", "invalid-field")
@post(
    "/codes/verify", operation_id="verifyCode", summary="A scanned card code → tier, discount here, masked name, points",
    description=CODES_EXPLAINED + " Verifying never consumes a code; `code_can_pay` says whether a sale with this code "
    "may take points (false for a static code and for a dynamic code that has paid for a sale already; "
    "`code_cannot_pay_reason` says which). Problems: `code-malformed`, `code-bad-signature`, `code-unknown-key`, `code-expired`, "
    "`code-number-unknown`, `card-replaced`, `card-suspended`.",
    status_code=HTTP_200_OK, opt={"key_in_query": True},
)
async def verify_code(data: JSONBody[CodeVerify], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Verified:
    _, offer = await service.verify(request.state.key_digest, data.code, cards.signer_for(settings), time.time(), clock.today())
    return Verified(
        tier=offer.tier,
        tier_label_zh=label(f"tier.{offer.tier}", "zh-CN"),
        tier_label_en=label(f"tier.{offer.tier}", "en"),
        member_name=offer.member_name_masked,
        discount=Discount(percent_bp=offer.percent_bp, cap_fen=offer.cap_fen),
        points_available=offer.points_available,
        points_per_cny=settings.points_per_cny,
        code_kind=offer.code_kind,
        code_expires_at_unix=offer.code_expires_at_unix,
        code_can_pay=offer.cannot_pay_reason is None,
        code_cannot_pay_reason=offer.cannot_pay_reason,
    )


@raises("card-replaced", "card-suspended", "code-already-used", "code-bad-signature", "code-cannot-pay", "code-expired", "code-malformed", "code-number-unknown", "code-unknown-key", "discount-exceeds-schedule", "idempotency-conflict", "insufficient-points", "invalid-field", "not-found", "points-exceed-payable", "store-not-found")
@post(
    "/sales", operation_id="createSale", summary="Record a sale: discount checked, points taken atomically, points earned",
    description=CODES_EXPLAINED + " So: `points_to_redeem > 0` with a static code is `code-cannot-pay`; a dynamic code "
    "that already made a sale is `code-already-used` (a retry of *the same* sale, same `Idempotency-Key` and body, "
    "still gets the stored reply). Points earned here are pending until the reversal window ends "
    "(`points_earned_pending_until`; a reversal before then voids them) and are capped per sale and per merchant "
    "per day: a sale beyond a cap is recorded and says so in `earn_cap_reached`. Other problems: "
    "`discount-exceeds-schedule`, `points-exceed-payable`, `insufficient-points`, `store-not-found`, "
    "`idempotency-conflict`, and the code problems of verify.\n\n"
    "Idempotency: `Idempotency-Key` is kept per merchant (two merchants may use the same key). A retry with the same "
    "key and body answers 200 with the stored sale and `Idempotent-Replayed: true`; the same key with another body is "
    "409 `idempotency-conflict`. A refused sale is not stored: fix the request and retry with the same key. "
    "`store` is required with a merchant-wide key. Amounts are integer fen; `points_per_cny` (from verify) says how "
    "many points pay 1 CNY.",
    opt={"key_in_query": True},
)
async def create_sale(
    data: JSONBody[SaleCreate], idempotency_key: IdempotencyKey, request: Request[Any, Any, State],
    settings: NamedDependency[Settings],
) -> Response[SaleView]:
    _, sale, replayed = await sales.create_sale_by_key(
        request.state.key_digest, key=idempotency_key, code=data.code, store_code=data.store, gross_fen=data.gross_fen,
        discount_fen=data.discount_fen, points_to_redeem=data.points_to_redeem, signer=cards.signer_for(settings),
        unix_time=time.time(), points_per_cny=settings.points_per_cny, earn_rules=EarnRules.from_settings(settings),
        today=clock.today(),
    )
    return created(sale_view(sale), sale_location(sale["id"]), replayed)


@raises("invalid-field", "store-not-found")
@get(
    "/sales", operation_id="listSales", summary="This merchant's sales, oldest first (cursor pagination)",
    description="Pass `next_cursor` of one page as `cursor` for the next; null means the last page. A store key sees "
    "its store's sales only; `store` filters by store code.",
)
async def list_sales(
    request: Request[Any, Any, State],
    start: Annotated[date | None, QueryParameter(description="first day (Beijing time)",
                                                 examples=[Example(value="2026-12-01")])] = None,
    end: Annotated[date | None, QueryParameter(description="last day (Beijing time); not before start",
                                               examples=[Example(value="2026-12-31")])] = None,
    store: Annotated[str | None, QueryParameter(max_length=32, description="a store code", examples=[Example(value="BJ")])] = None,
    cursor: Annotated[int | None, QueryParameter(ge=0)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> SalePage:
    rows = await sales.list_sales(
        request.state.partner, start=start, end=end, store_code=store, after_id=cursor, limit=limit + 1
    )
    return SalePage(items=[sale_view(row) for row in rows[:limit]], next_cursor=rows[limit - 1]["id"] if len(rows) > limit else None)


@raises("not-found")
@get(
    "/sales/{sale_id:int}", operation_id="getSale", summary="One of this merchant's sales",
    description="Another merchant's sale (or another store's, for a store key) is `not-found`.",
)
async def get_sale(sale_id: FromPath[int], request: Request[Any, Any, State]) -> SaleView:
    return sale_view(await sales.get_sale(request.state.partner, sale_id))


@raises("idempotency-conflict", "invalid-field", "not-found", "nothing-to-reverse", "reversal-exceeds-sale")
@post(
    "/sales/{sale_id:int}/reversals", operation_id="reverseSale", summary="Reverse all or part of a sale (a return)",
    description="`amount_fen` is in gross terms (the price before discount), at least 1, at most what is left of the "
    "sale (`reversal-exceeds-sale` carries `left_fen`); omit it to reverse the rest. The discount and the redeemed "
    "points go back in proportion; earned points are taken away (`nothing-to-reverse` if they were spent). The "
    "reversal counts in the settlement of the month it is made. Idempotency as for createSale: kept per merchant, "
    "replayed with `Idempotent-Replayed: true`, refusals not stored.",
)
async def reverse_sale(
    sale_id: FromPath[int], data: JSONBody[ReversalCreate], idempotency_key: IdempotencyKey,
    request: Request[Any, Any, State],
) -> Response[ReversalView]:
    reversal, replayed = await reversals.reverse_sale(
        request.state.partner, sale_id, key=idempotency_key, amount_fen=data.amount_fen, reason=data.reason,
        today=clock.today(),
    )
    return created(reversal_view(reversal), reversal_location(reversal["sale"], reversal["id"]), replayed)


@get("/sales/{sale_id:int}/reversals/{reversal_id:int}", operation_id="getReversal", summary="One reversal of one of this merchant's sales")
async def get_reversal(sale_id: FromPath[int], reversal_id: FromPath[int], request: Request[Any, Any, State]) -> ReversalView:
    return reversal_view(await reversals.get_reversal(request.state.partner, sale_id, reversal_id))


# Documented, not enforced by Litestar: the service's own check says what is wrong in words
# (400 for text that is not a month, 422 for a month outside the years served), and the same
# path also serves `YYYY-MM.csv`.
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])(\.csv)?$"
SettlementMonth = Annotated[str, PathParameter(
    description="the month, `YYYY-MM` (Beijing time), or `YYYY-MM.csv` for the CSV statement",
    examples=[Example(summary="JSON", value="2026-11"), Example(summary="CSV", value="2026-11.csv")],
    schema_extra={"pattern": MONTH_PATTERN},
)]


@raises("invalid-field", "not-found")
@get(
    "/settlements/{month:str}",
    operation_id="getSettlement",
    summary="The monthly statement per store: YYYY-MM as JSON, YYYY-MM.csv as CSV",
    description=(
        "Sales of the month and reversals made in the month (Beijing time), one line per store (a store key: its "
        "store only). Each line's discount, points and points value are net of the reversals made in the month, "
        "including reversals of earlier months' sales; `gross_fen` is not (see `reversed_fen`). A closed month never "
        "changes: a later return lands in the month it was made. `month` is `YYYY-MM` (pattern "
        "`^\\d{4}-(0[1-9]|1[0-2])$`), or `YYYY-MM.csv` for CSV (UTF-8 with BOM)."
    ),
    # Litestar would otherwise invent the example (random text for store codes, a year 6790): the
    # schema's own field examples say it better.
    responses={200: ResponseSpec(data_container=Settlement, description="the statement (JSON; CSV for .csv)",
                                 generate_examples=False)},
)
async def get_settlement(month: SettlementMonth, request: Request[Any, Any, State]) -> Response[Any]:
    csv_wanted = month.endswith(".csv")
    month = month.removesuffix(".csv")
    lines = await settlement.settlement(request.state.partner, month)
    if csv_wanted:
        return Response(
            settlement.settlement_csv(month, lines),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types itself
            headers={"Content-Disposition": f'attachment; filename="settlement-{month}.csv"'},
        )
    return Response(
        Settlement(
            month=month,
            lines=[SettlementLineView(**vars(line)) for line in lines],
            points_value_owed_fen=sum(line.points_value_fen for line in lines),
            discount_fen=sum(line.discount_fen for line in lines),
            sales=sum(line.sales for line in lines),
        )
    )


def rate_limit_headers(app: ASGIApp) -> ASGIApp:
    """Adds the RateLimit-* headers the guard counted to every partner response, and counts a
    401 (no key, or one that does not authenticate, whether the guard or the route's own
    statement found out) against the caller's address (partner_api/auth.py, BadKeyLimit)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                if message["status"] == HTTP_401_UNAUTHORIZED and state.get("client_address"):
                    await scope["app"].state.partner_bad_keys.count(state["client_address"])
                extra = state.get("rate_headers") or {}
                if extra:
                    headers = list(message.get("headers") or [])
                    headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
                    message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def partner_router() -> Router:
    from partner_api.vouchers import check_voucher, use_voucher  # they use this module's IdempotencyKey

    return Router(
        PREFIX,
        route_handlers=[
            verify_code, create_sale, list_sales, get_sale, reverse_sale, get_reversal, get_settlement, check_voucher,
            use_voucher,
        ],
        guards=[requires_api_key],
        middleware=[rate_limit_headers],
        tags=["partner"],
        security=[{"partnerKey": []}],
    )
