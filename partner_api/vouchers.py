"""`/partner/v1/vouchers`: a merchant's till checks and uses the vouchers owners redeemed in the
rewards catalogue (one route, one service call each)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from loyalty.openapi_contract import raises
from loyalty.rewards import vouchers
from partner_api.routes import IdempotencyKey
from partner_api.schemas import VoucherUse, VoucherView

VOUCHERS_EXPLAINED = (
    "A voucher is a reward an owner redeemed with points in the rewards catalogue, naming this merchant. The owner "
    "shows its code as a QR and as 16 letters and digits (`XXXX-XXXX-XXXX-XXXX`). A merchant sees only its own "
    "vouchers: another merchant's code is `not-found`, exactly as a code nobody has. The answer never carries the "
    "owner's phone; the name is masked. Settlement: a voucher carries no money to the merchant (the owner paid the "
    "platform in points) and does not appear in the monthly statement; what the merchant is given for honouring its "
    "vouchers is agreed with the developer outside this API."
)


def voucher_view(found: dict[str, Any]) -> VoucherView:
    return VoucherView(
        status=found["status"], reward_name_zh=found["reward_name_zh"], reward_name_en=found["reward_name_en"],
        member_name=found["member_name"], expires_at=found["expires_at"], used_at=found["used_at"],
        used_at_store=found["used_at_store"],
    )


@raises("code-malformed", "invalid-field", "not-found")
@get(
    "/vouchers/{code:str}", operation_id="checkVoucher", summary="Check a voucher before accepting it",
    description=VOUCHERS_EXPLAINED + " Checking changes nothing: `status` says whether it can be used now (`valid`), "
    "or was `used` (when, at which store), `expired` or `cancelled`.",
)
async def check_voucher(
    code: Annotated[str, PathParameter(max_length=64, description="the voucher's code (hyphens allowed)",
                                       examples=[Example(value="K7QM-3XZ9-A4TB-0PRW")])],
    request: Request[Any, Any, State],
) -> VoucherView:
    return voucher_view(await vouchers.check(request.state.partner, code))


@raises("code-malformed", "idempotency-conflict", "invalid-field", "not-found", "store-not-found",
        "voucher-already-used", "voucher-cancelled", "voucher-expired")
@post(
    "/vouchers/redemptions", operation_id="useVoucher", summary="Accept a voucher at the till: once",
    description=VOUCHERS_EXPLAINED + " Using it marks it used, once (201): a voucher used already (under another "
    "`Idempotency-Key`) is 409 `voucher-already-used` with `used_at`; an expired one `voucher-expired`, one the owner "
    "gave back `voucher-cancelled`. Idempotency as for createSale: the key is kept per merchant; a retry with the same "
    "key and body answers 200 with the first answer and `Idempotent-Replayed: true`; the same key with another body "
    "is 409 `idempotency-conflict`; a refusal is not stored, so the same key may be retried.",
)
async def use_voucher(
    data: JSONBody[VoucherUse], idempotency_key: IdempotencyKey, request: Request[Any, Any, State]
) -> Response[VoucherView]:
    found, replayed = await vouchers.use(request.state.partner, data.code, key=idempotency_key, store_code=data.store)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(voucher_view(found), status_code=HTTP_200_OK if replayed else HTTP_201_CREATED, headers=headers)
