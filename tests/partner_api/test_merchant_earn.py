"""Merchants cannot create points: a sale earns at most the cap per sale and what is left of
the merchant's cap for the day, the points are pending until the merchant's reversal window
ends (so they cannot be spent elsewhere before a reversal), a reversal inside the window voids
them, and staff are told when a cap was at work."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.merchants.tables import MerchantEarnDay, Sale
from loyalty.points import service as points
from tests.partner_api.builders import (
    BLUE, GOLD, SILVER, TODAY, app_client, at, balance, dynamic_code, owner, owners, problem, reverse, sale_body, sell,
    shop, static_code,
)

LARGEST_GROSS_FEN = 10**11  # the documented maximum of gross_fen
WINDOW_ENDS = TODAY + timedelta(days=7)


async def test_a_sale_at_the_largest_gross_earns_only_the_cap_per_sale_and_staff_are_alerted(client, frozen, tmp_path, signer, caplog):
    # The attack: one sale of 10^11 fen at 1 point per CNY earned 1,000,000,000 points.
    member = await owner(tmp_path, GOLD)
    a = await shop(points_per_cny=1)
    caplog.set_level(logging.WARNING, logger="loyalty.merchants.earning")

    response = await sell(client, a.auth, "big-1", sale_body(await static_code(member, signer), gross_fen=LARGEST_GROSS_FEN))

    assert response.status_code == 201, response.text
    sale = response.json()
    assert (sale["points_earned"], sale["earn_cap_reached"]) == (20_000, "sale")
    assert sale["points_earned_pending_until"] == WINDOW_ENDS.isoformat()
    held = await points.balance(member)
    assert (held.available, held.pending) == (0, 20_000)
    alerts = await AuditEntry.select().where(AuditEntry.action == "merchant.earn_capped").output(load_json=True)
    assert [(e["subject_kind"], e["subject_id"], e["data"]["cap"], e["data"]["asked"], e["data"]["earned"]) for e in alerts] == [
        ("merchant", a.merchant_id, "sale", 1_000_000_000, 20_000)
    ]
    assert any("earn capped" in record.getMessage() for record in caplog.records)


async def test_points_earned_at_a_merchant_cannot_be_spent_before_the_window_ends(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a, b = await shop("A", points_per_cny=1), await shop("B")
    await sell(client, a.auth, "s1", sale_body(await static_code(member, signer), gross_fen=LARGEST_GROSS_FEN))

    frozen.move_to(at(WINDOW_ENDS - timedelta(days=1)))
    await points.vest_due(WINDOW_ENDS - timedelta(days=1))
    spend = await sell(client, b.auth, "elsewhere-1", sale_body(await dynamic_code(member, signer), points_to_redeem=20_000))

    assert (spend.status_code, problem(spend)) == (422, "/problems/insufficient-points")
    assert await balance(member) == 0


async def test_points_earned_at_a_merchant_are_available_once_the_window_ends(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a, b = await shop("A", points_per_cny=1), await shop("B")
    await sell(client, a.auth, "s1", sale_body(await static_code(member, signer), gross_fen=100_000))

    frozen.move_to(at(WINDOW_ENDS))
    assert await points.vest_due(WINDOW_ENDS) == 1
    spend = await sell(client, b.auth, "elsewhere-1", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))

    assert spend.status_code == 201, spend.text
    assert await balance(member) == 0


async def test_a_reversal_inside_the_window_voids_the_pending_points(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(points_per_cny=1)
    sale = (await sell(client, a.auth, "s1", sale_body(await static_code(member, signer), gross_fen=LARGEST_GROSS_FEN))).json()

    frozen.move_to(at(WINDOW_ENDS - timedelta(days=1)))
    reversed_ = await reverse(client, a.auth, sale["id"], "r1")

    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["points_removed"] == 20_000
    held = await points.balance(member)
    assert (held.available, held.pending) == (0, 0)
    assert await points.vest_due(WINDOW_ENDS) == 0  # nothing left to vest
    assert await AuditEntry.count().where(AuditEntry.action == "sale.clawback_shortfall") == 0


async def test_the_day_cap_cuts_the_sale_that_reaches_it_and_later_sales_earn_nothing(client, database, frozen, tmp_path):
    member = await owner(tmp_path, GOLD)
    settings = database.settings(merchant_earn_max_per_day=1000, merchant_earn_max_per_sale=400)
    async with app_client(database, settings) as http:
        from loyalty.cards import service as cards

        code = await static_code(member, cards.signer_for(settings))
        a = await shop(points_per_cny=1)
        made = [(await sell(http, a.auth, f"s{n}", sale_body(code, gross_fen=50_000))).json() for n in range(4)]
        frozen.move_to(at(TODAY + timedelta(days=1)))
        next_day = (await sell(http, a.auth, "s-next", sale_body(code, gross_fen=50_000))).json()

    assert [(s["points_earned"], s["earn_cap_reached"]) for s in made] == [(400, "sale"), (400, "sale"), (200, "day"), (0, "day")]
    assert made[3]["points_earned_pending_until"] is None
    assert (next_day["points_earned"], next_day["earn_cap_reached"]) == (400, "sale")
    assert (await points.balance(member)).pending == 1400
    days = await MerchantEarnDay.select(MerchantEarnDay.day, MerchantEarnDay.earned).order_by(MerchantEarnDay.day)
    assert [(d["day"], d["earned"]) for d in days] == [(TODAY, 1000), (TODAY + timedelta(days=1), 400)]
    alerts = await AuditEntry.select().where(AuditEntry.action == "merchant.earn_capped").order_by(AuditEntry.id).output(load_json=True)
    # every sale cut by the per-sale cap, and the one that reached the day's cap; not each sale after it
    assert [e["data"]["cap"] for e in alerts] == ["sale", "sale", "day", "sale"]
    assert await Sale.count() == 5  # sales beyond the cap are still recorded


async def test_a_sale_within_the_caps_earns_what_the_rule_gives(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(points_per_cny=2)

    sale = (await sell(client, a.auth, "s1", sale_body(await static_code(member, signer), gross_fen=12_345))).json()

    assert (sale["points_earned"], sale["earn_cap_reached"]) == (246, None)
    assert await AuditEntry.count().where(AuditEntry.action == "merchant.earn_capped") == 0


@pytest.mark.postgres_only
async def test_the_day_cap_holds_under_concurrent_sales(client, database, frozen, tmp_path):
    members = await owners(tmp_path, GOLD, SILVER, BLUE)
    settings = database.settings(merchant_earn_max_per_day=1000)
    async with app_client(database, settings) as http:
        from loyalty.cards import service as cards

        codes = [await static_code(m, cards.signer_for(settings)) for m in members]
        a = await shop(points_per_cny=1)
        answers = await asyncio.gather(*(
            sell(http, a.auth, f"s{n}", sale_body(codes[n % 3], gross_fen=15_000)) for n in range(30)
        ))

    assert all(r.status_code == 201 for r in answers), [r.text for r in answers if r.status_code != 201]
    earned = [r.json()["points_earned"] for r in answers]
    assert sum(earned) == 1000 and sorted(earned, reverse=True)[:6] == [150] * 6
    assert (await MerchantEarnDay.select(MerchantEarnDay.earned).first())["earned"] == 1000
    assert sum([(await points.balance(m)).pending for m in members]) == 1000
    day_alerts = await AuditEntry.select().where(AuditEntry.action == "merchant.earn_capped").output(load_json=True)
    assert [e["data"]["cap"] for e in day_alerts] == ["day"]
