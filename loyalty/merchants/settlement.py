"""The monthly settlement: a merchant's statement per store, as JSON lines or CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loyalty.errors import InvalidField
from loyalty.exports import csv_text
from loyalty.merchants.sales import in_range, local_midnight
from loyalty.merchants.service import KeyContext
from loyalty.merchants.tables import Sale, SaleReversal, Store


@dataclass
class SettlementLine:
    store_code: str
    store_name: str
    sales: int = 0
    gross_fen: int = 0
    discount_fen: int = 0
    points_redeemed: int = 0
    points_value_fen: int = 0  # what the developer owes the merchant
    points_earned: int = 0
    reversals: int = 0
    reversed_fen: int = 0


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        year, number = (int(part) for part in month.split("-"))
        first = in_range(date(year, number, 1), "month")
    except ValueError:
        raise InvalidField("month is written YYYY-MM", field="month") from None
    following = date(year + (number == 12), number % 12 + 1, 1)
    return local_midnight(first), local_midnight(following)


async def settlement(ctx: KeyContext, month: str) -> list[SettlementLine]:
    """The month's statement per store (Beijing time): sales of the month, and reversals by
    the month they happened, so a closed month never changes (a later return lands in the
    month it was made, as a negative line)."""
    start, end = _month_bounds(month)
    stores = {row["id"]: row for row in await Store.select().where(Store.merchant == ctx.merchant_id)}
    lines: dict[int, SettlementLine] = {}

    def line(store_id: int) -> SettlementLine:
        store = stores.get(store_id, {"code": "?", "name": "?"})
        return lines.setdefault(store_id, SettlementLine(store_code=store["code"], store_name=store["name"]))

    for sale in await Sale.select().where(
        (Sale.merchant == ctx.merchant_id) & (Sale.created_at >= start) & (Sale.created_at < end)
    ):
        entry = line(sale["store"])
        entry.sales += 1
        entry.gross_fen += sale["gross_fen"]
        entry.discount_fen += sale["discount_fen"]
        entry.points_redeemed += sale["points_redeemed"]
        entry.points_value_fen += sale["points_value_fen"]
        entry.points_earned += sale["points_earned"]
    for reversal in await SaleReversal.select(*SaleReversal.all_columns(), SaleReversal.sale.store).where(
        (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.created_at >= start) & (SaleReversal.created_at < end)
    ):
        entry = line(reversal["sale.store"])
        entry.reversals += 1
        entry.reversed_fen += reversal["amount_fen"]
        entry.discount_fen -= reversal["discount_fen"]
        entry.points_redeemed -= reversal["points_returned"]
        entry.points_value_fen -= reversal["points_value_fen"]
        entry.points_earned -= reversal["points_removed"]
    if ctx.store_id is not None:
        return [lines[ctx.store_id]] if ctx.store_id in lines else []
    return sorted(lines.values(), key=lambda entry: entry.store_code)


def settlement_csv(month: str, lines: list[SettlementLine]) -> str:
    """The statement as CSV (UTF-8 with BOM, so Excel opens the Chinese store names); store
    names are the merchant's own words, so cells go through `loyalty.exports`."""
    return csv_text(
        ["month", "store_code", "store_name", "sales", "gross_fen", "discount_fen", "points_redeemed",
         "points_value_fen", "points_earned", "reversals", "reversed_fen"],
        (
            [month, entry.store_code, entry.store_name, entry.sales, entry.gross_fen, entry.discount_fen,
             entry.points_redeemed, entry.points_value_fen, entry.points_earned, entry.reversals, entry.reversed_fen]
            for entry in lines
        ),
    )
