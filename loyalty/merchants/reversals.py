"""Reversing a sale (a return): points go back and are taken back in proportion, never more
than what is left of the sale."""

from __future__ import annotations

from datetime import date
from typing import Any

from loyalty.i18n import _
from loyalty.i18n.format import Later, money
from loyalty import clock, db
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.merchants.sales import IDEMPOTENCY_KEY_NEEDED, ledger_keys
from loyalty.merchants.service import KeyContext
from loyalty.merchants.tables import Sale, SaleReversal
from loyalty.points import service as points


class ReversalTooLarge(DomainError):
    type = "reversal-exceeds-sale"
    status = 422
    title = _("More than what is left of the sale")


async def reverse_sale(
    ctx: KeyContext, sale_id: int, *, key: str, amount_fen: int | None, reason: str = "", today: date | None = None
) -> tuple[dict[str, Any], bool]:
    """Reverse all or part of a sale (a return): points paid go back to the owner in
    proportion, points earned are taken back in proportion (clawback within the balance),
    never more than what is left of the sale."""
    today = today or clock.today()
    if not 1 <= len(key) <= 100:
        raise InvalidField(IDEMPOTENCY_KEY_NEEDED, field="Idempotency-Key")
    fingerprint = points.request_hash(sale=sale_id, amount=amount_fen, reason=reason)
    existing = await SaleReversal.select().where(
        (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.idempotency_key == key)
    ).first()
    if existing:
        if existing["request_hash"] != fingerprint:
            raise points.IdempotencyConflict(
                _("The Idempotency-Key “{key}” was used for another reversal", key=key), field="Idempotency-Key"
            )
        return existing, True
    try:
        async with db.transaction():
            query = Sale.select().where((Sale.id == sale_id) & (Sale.merchant == ctx.merchant_id))
            if ctx.store_id is not None:
                query = query.where(Sale.store == ctx.store_id)
            if db.is_postgres():
                query = query.lock_rows()
            sale = await query.first()
            if sale is None:
                raise NotFound(_("There is no sale {sale_id}", sale_id=sale_id))
            left = sale["gross_fen"] - sale["reversed_fen"]
            amount = left if amount_fen is None else amount_fen
            if amount <= 0 or amount > left:
                raise ReversalTooLarge(
                    _(
                        "{left} of the sale's {gross} is left to reverse",
                        left=Later(money, left, compact=False), gross=Later(money, sale["gross_fen"], compact=False),
                    ),
                    field="amount_fen", left_fen=left,
                )
            # Proportional shares, computed on the running total so the parts add up exactly.
            def share(total: int) -> int:
                done = total * sale["reversed_fen"] // sale["gross_fen"]
                return total * (sale["reversed_fen"] + amount) // sale["gross_fen"] - done

            points_back, points_off = share(sale["points_redeemed"]), share(sale["points_earned"])
            discount, points_value = share(sale["discount_fen"]), share(sale["points_value_fen"])
            pay_key, earn_key, _unused = ledger_keys(ctx.merchant_id, sale["idempotency_key"])
            reversal_pay, reversal_earn, _unused = ledger_keys(ctx.merchant_id, key, kind="reversal")
            actor = points.Actor("merchant", ctx.merchant_id)
            balance_after = await points.available(sale["member"])
            # Paid points go back first, so earned points are taken back out of them.
            if points_back:
                balance_after = (await points.reverse(
                    pay_key, key=reversal_pay, points=points_back, actor=actor, reason=reason, today=today,
                )).available
            taken_back = shortfall = 0
            if points_off:
                result = await points.reverse(
                    earn_key, key=reversal_earn, points=points_off, actor=actor, reason=reason, today=today,
                )
                balance_after, taken_back, shortfall = result.available, result.points, result.shortfall
            await Sale.update({Sale.reversed_fen: Sale.reversed_fen + amount}).where(Sale.id == sale_id)
            if shortfall:
                from loyalty.audit import service as audit

                await audit.record(
                    action="sale.clawback_shortfall", subject_kind="member", subject_id=sale["member"], actor_kind="merchant",
                    actor_id=ctx.merchant_id, reason=f"sale {sale_id} reversed; {shortfall} earned points could not be taken back",
                    data={"sale": sale_id, "shortfall": shortfall},
                )
            rows = await SaleReversal.insert(
                SaleReversal(
                    sale=sale_id, merchant=ctx.merchant_id, amount_fen=amount, discount_fen=discount,
                    points_returned=points_back, points_value_fen=points_value,
                    points_removed=taken_back, balance_after=balance_after, reason=reason, idempotency_key=key,
                    request_hash=fingerprint, created_at=clock.now(),
                )
            ).returning(*SaleReversal.all_columns())
    except DomainError:
        raise
    except Exception:
        existing = await SaleReversal.select().where(
            (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.idempotency_key == key)
        ).first()
        if existing and existing["request_hash"] == fingerprint:
            return existing, True
        raise
    return rows[0], False


async def get_reversal(ctx: KeyContext, sale_id: int, reversal_id: int) -> dict[str, Any]:
    """One reversal of one of this merchant's sales (a store's key: of its store's sales);
    anything else is 404, so ids don't leak."""
    query = SaleReversal.select().where(
        (SaleReversal.id == reversal_id) & (SaleReversal.sale == sale_id) & (SaleReversal.merchant == ctx.merchant_id)
    )
    if ctx.store_id is not None:
        query = query.where(SaleReversal.sale.store == ctx.store_id)
    reversal = await query.first()
    if reversal is None:
        raise NotFound(_("Sale {sale_id} has no reversal {reversal_id}", sale_id=sale_id, reversal_id=reversal_id))
    return reversal
