"""Races through the app on PostgreSQL (the pool's real connections, requests in flight at
once): a balance is never overdrawn, one key makes one sale or reversal, and reversals
together never exceed their sale."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loyalty.merchants.tables import Sale, SaleReversal
from tests.partner_api.builders import GOLD, balance, dynamic_code, owner, problem, reverse, sale_body, sell, shop, static_code

pytestmark = pytest.mark.postgres_only


async def test_thirty_concurrent_sales_spending_one_balance_never_overdraw_it(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    codes = [await dynamic_code(member, signer) for _ in range(30)]  # one phone code per sale

    answers = await asyncio.gather(*(
        sell(client, a.auth, f"till-{n}", sale_body(codes[n], gross_fen=10_000, points_to_redeem=500)) for n in range(30)
    ))

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 10, 422: 20}, statuses
    assert {problem(r) for r in answers if r.status_code == 422} == {"/problems/insufficient-points"}
    assert await balance(member) == 0
    assert await Sale.count() == 10
    assert sorted(r.json()["points_balance_after"] for r in answers if r.status_code == 201) == list(range(0, 5000, 500))


async def test_concurrent_sales_with_one_key_make_one_sale_and_take_points_once(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    body = sale_body(await dynamic_code(member, signer), points_to_redeem=700)

    answers = await asyncio.gather(*(sell(client, a.auth, "one-key", body) for _ in range(20)))

    assert sorted(r.status_code for r in answers) == [200] * 19 + [201], [r.text for r in answers if r.status_code >= 300]
    assert len({r.json()["id"] for r in answers}) == 1
    assert all(r.headers.get("idempotent-replayed") == "true" for r in answers if r.status_code == 200)
    assert await Sale.count() == 1
    assert await balance(member) == 4300


async def test_concurrent_sales_with_one_key_and_no_points_make_one_sale(client, frozen, tmp_path, signer):
    # No ledger entry serialises these: only the unique (merchant, key) index does.
    member = await owner(tmp_path, GOLD)
    a = await shop()
    body = sale_body(await static_code(member, signer), discount_fen=5000)

    answers = await asyncio.gather(*(sell(client, a.auth, "one-key", body) for _ in range(20)))

    assert sorted(r.status_code for r in answers) == [200] * 19 + [201], [r.text for r in answers if r.status_code >= 300]
    assert len({r.json()["id"] for r in answers}) == 1
    assert await Sale.count() == 1


async def test_concurrent_sales_with_one_key_and_different_bodies_make_one_sale_and_conflicts(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    code = await dynamic_code(member, signer)

    answers = await asyncio.gather(*(
        sell(client, a.auth, "one-key", sale_body(code, points_to_redeem=100 * (n + 1))) for n in range(10)
    ))

    assert Counter(r.status_code for r in answers) == {201: 1, 409: 9}, [r.text for r in answers]
    assert {problem(r) for r in answers if r.status_code == 409} == {"/problems/idempotency-conflict"}
    won = next(r.json() for r in answers if r.status_code == 201)
    assert await Sale.count() == 1
    assert await balance(member) == 5000 - won["points_redeemed"]


async def test_concurrent_partial_reversals_never_exceed_the_sale(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    body = sale_body(await dynamic_code(member, signer), gross_fen=100_000, points_to_redeem=3000)
    sale = (await sell(client, a.auth, "s1", body)).json()

    answers = await asyncio.gather(*(reverse(client, a.auth, sale["id"], f"r{n}", amount_fen=30_000) for n in range(12)))

    assert Counter(r.status_code for r in answers) == {201: 3, 422: 9}, [r.text for r in answers]
    assert {problem(r) for r in answers if r.status_code == 422} == {"/problems/reversal-exceeds-sale"}
    assert (await Sale.select(Sale.reversed_fen).first())["reversed_fen"] == 90_000
    assert await balance(member) == 2000 + 3 * 900


async def test_concurrent_reversals_with_one_key_make_one_reversal(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    sale = (await sell(client, a.auth, "s1", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))).json()

    answers = await asyncio.gather(*(reverse(client, a.auth, sale["id"], "one-key", amount_fen=40_000) for _ in range(15)))

    assert sorted(r.status_code for r in answers) == [200] * 14 + [201], [r.text for r in answers if r.status_code >= 300]
    assert len({r.json()["id"] for r in answers}) == 1
    assert await SaleReversal.count() == 1
    assert await balance(member) == 4000 + 400
