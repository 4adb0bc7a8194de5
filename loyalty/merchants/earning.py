"""What a sale at a merchant earns. A merchant's till can create points, so (DESIGN.md,
"Points earned at a merchant are pending"): the merchant's rule gives points on the cash
part, at most the cap per sale and what is left of the merchant's cap for the day; they are
pending until the merchant's reversal window ends, so a reversed sale takes back points that
were never spendable; and staff are told when a cap cut a sale's earn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from loyalty import db
from loyalty.audit import service as audit
from loyalty.settings import Settings

FEN_PER_CNY = 100

log = logging.getLogger("loyalty.merchants.earning")


@dataclass(frozen=True)
class EarnRules:
    pending_days: int = 7
    max_per_sale: int = 20_000
    max_per_day: int = 500_000

    @classmethod
    def from_settings(cls, settings: Settings) -> "EarnRules":
        return cls(
            pending_days=settings.merchant_earn_pending_days,
            max_per_sale=settings.merchant_earn_max_per_sale,
            max_per_day=settings.merchant_earn_max_per_day,
        )


@dataclass(frozen=True)
class Earned:
    points: int  # what the sale earns (pending until `vests_on`)
    asked: int  # what the merchant's rule gave before the caps
    cap: str  # "" | "sale" | "day": which cap cut it down
    vests_on: date | None
    day_total: int = 0  # the merchant's earn today, this sale included
    day_reached: bool = False  # this sale is the one that reached the day's cap


def asked(cash_fen: int, points_per_cny: int) -> int:
    """The merchant's rule: points per whole CNY paid in cash."""
    return (cash_fen // FEN_PER_CNY) * points_per_cny


def vests_on(today: date, rules: EarnRules) -> date | None:
    """When a sale's earn vests; None when there is no window (available at once)."""
    return today + timedelta(days=rules.pending_days) if rules.pending_days else None


# One statement, under the row lock of the merchant's day (an upsert waits for a concurrent
# one to commit and then sees its total), so concurrent sales never earn past the cap together:
# each is granted what is left, at most what it asked. Portable SQL (SQLite and PostgreSQL).
_LEFT = (
    "CASE WHEN merchant_earn_day.earned >= {cap} THEN 0 WHEN {cap} - merchant_earn_day.earned < {asked} "
    "THEN {cap} - merchant_earn_day.earned ELSE {asked} END"
).replace("{cap}", "CAST({} AS BIGINT)").replace("{asked}", "CAST({} AS BIGINT)")
_GRANT = (
    "INSERT INTO merchant_earn_day (merchant, day, earned, last_grant) VALUES ({}, {}, {}, {}) "
    f"ON CONFLICT (merchant, day) DO UPDATE SET last_grant = {_LEFT}, earned = merchant_earn_day.earned + {_LEFT} "
    "RETURNING last_grant, earned"
)


def _grant_args(merchant_id: int, day: date, wanted: int, cap: int) -> list[Any]:
    first = min(wanted, cap)
    left = [cap, cap, wanted, cap, wanted]  # _LEFT's placeholders in order
    return [merchant_id, day, first, first, *left, *left]


async def grant(merchant_id: int, cash_fen: int, points_per_cny: int, rules: EarnRules, today: date) -> Earned:
    """What a sale earns under the caps, counted against the merchant's day. Runs inside the
    sale's transaction: the day's row stays locked until the sale commits (or is rolled back
    with it, and then counts nothing)."""
    wanted = asked(cash_fen, points_per_cny)
    if wanted <= 0:
        return Earned(0, 0, "", None)
    per_sale = min(wanted, rules.max_per_sale)
    rows = await db.fetch(_GRANT, *_grant_args(merchant_id, today, per_sale, rules.max_per_day))
    granted, total = int(rows[0]["last_grant"]), int(rows[0]["earned"])
    cap = "day" if granted < per_sale else "sale" if per_sale < wanted else ""
    reached = cap == "day" and total - granted < rules.max_per_day
    return Earned(granted, wanted, cap, vests_on(today, rules) if granted else None, total, reached)


async def alert_capped(merchant_id: int, sale: dict[str, Any], earned: Earned, today: date) -> None:
    """Staff see a cap at work: an audit entry (in /admin, with the sale) when a sale's earn
    was cut by the per-sale cap or reached the day's cap; later sales of a full day are only
    logged (each carries `earn_cap = 'day'`)."""
    log.warning(
        "merchant %s sale %s: earn capped (%s): %s points asked, %s earned, %s earned today",
        merchant_id, sale["id"], earned.cap, earned.asked, earned.points, earned.day_total,
    )
    if earned.cap == "sale" or earned.day_reached:
        await audit.record(
            action="merchant.earn_capped", subject_kind="merchant", subject_id=merchant_id, actor_kind="merchant",
            actor_id=merchant_id,
            reason=(
                f"sale {sale['id']}: {earned.asked} points asked, {earned.points} earned "
                f"({'the cap per sale' if earned.cap == 'sale' else 'the cap per day was reached'})"
            ),
            data={"sale": sale["id"], "cap": earned.cap, "asked": earned.asked, "earned": earned.points,
                  "day": today.isoformat(), "earned_today": earned.day_total},
        )
