"""The monthly settlement: a merchant's statement per store, as JSON lines or CSV."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from loyalty.errors import InvalidField, MalformedField
from loyalty.exports import csv_text
from loyalty.i18n import _
from loyalty.merchants.sales import FIRST_DAY, LAST_DAY, local_midnight
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


# Exactly four ASCII digits, a hyphen, two ASCII digits: not "2026-1", "+2026-12", "02026-12"
# (`\d` would also take other scripts' digits, and int() would take them all).
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_month(text: str, field: str = "month") -> date:
    """The first day of a month written `YYYY-MM`. Anything else (or a month 00 or 13) is a
    400 naming the field, as a date not written `YYYY-MM-DD` is; a month outside the years
    the app serves is a 422, as such a date is."""
    written = _MONTH.fullmatch(text)
    if written is None or not 1 <= int(written.group(2)) <= 12:
        raise MalformedField(
            _("A month is written YYYY-MM (e.g. 2026-03), not “{text}”", text=text[:20]), field=field, source="path"
        )
    year = int(written.group(1))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:  # well-formed (even 0000), refused by the rule
        raise InvalidField(
            _("Months run from {first} to {last}", first=FIRST_DAY.strftime("%Y-%m"), last=LAST_DAY.strftime("%Y-%m")),
            field=field, source="path",
        )
    return date(year, int(written.group(2)), 1)


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    first = parse_month(month)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
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
