"""Idempotency-Key on every write: the same key and body get the first answer (200,
Idempotent-Replayed: true) and change nothing; the same key with another body is a 409
`/problems/idempotency-conflict`; keys belong to one merchant."""

from __future__ import annotations

import time
from datetime import timedelta

from loyalty.merchants.tables import Sale, SaleReversal
from loyalty.points import service as points
from tests.partner_api.builders import (
    GOLD, balance, dynamic_code, owner, problem, reverse, sale_body, sell, shop, static_code,
)


async def test_a_sale_replayed_with_the_same_key_and_body_returns_the_first_answer_once(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    body = sale_body(await dynamic_code(member, signer), discount_fen=10_000, points_to_redeem=2000)

    first = await sell(client, a.auth, "till-7", body)
    again = await sell(client, a.auth, "till-7", body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await Sale.count() == 1
    assert await balance(member) == 5000 - 2000  # redeemed once
    assert (await points.balance(member)).pending == 880  # earned once (pending for the reversal window)


async def test_a_sale_key_reused_with_another_body_is_an_idempotency_conflict(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    code = await dynamic_code(member, signer)
    await sell(client, a.auth, "till-7", sale_body(code, points_to_redeem=100))

    for other in (sale_body(code, points_to_redeem=200), sale_body(code, gross_fen=100_001, points_to_redeem=100),
                  sale_body(code, store="S2", points_to_redeem=100), sale_body("garbage", points_to_redeem=100)):
        response = await sell(client, a.auth, "till-7", other)
        assert (response.status_code, problem(response)) == (409, "/problems/idempotency-conflict"), other
    assert await Sale.count() == 1
    assert await balance(member) == 4900


async def test_a_retried_sale_gets_its_first_answer_after_its_dynamic_code_expired(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    body = sale_body(await dynamic_code(member, signer, time.time()))
    first = await sell(client, a.auth, "k1", body)
    frozen.shift(timedelta(minutes=5))  # the till's retry comes late: the code itself is dead now

    again = await sell(client, a.auth, "k1", body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


async def test_a_sale_key_is_still_remembered_after_24_hours(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=100)
    a = await shop()
    body = sale_body(await dynamic_code(member, signer), points_to_redeem=100)
    first = await sell(client, a.auth, "k1", body)
    frozen.shift(timedelta(hours=25))

    again = await sell(client, a.auth, "k1", body)

    assert again.status_code == 200 and again.json() == first.json()
    assert await balance(member) == 0


async def test_two_merchants_may_use_the_same_key_for_their_own_sales(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=1000)
    a, b = await shop("A"), await shop("B")

    first = await sell(client, a.auth, "order-1", sale_body(await dynamic_code(member, signer), points_to_redeem=100))
    second = await sell(client, b.auth, "order-1", sale_body(await dynamic_code(member, signer), points_to_redeem=100))

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert await balance(member) == 800


async def test_a_reversal_replayed_with_the_same_key_and_body_returns_the_first_answer_once(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    sale = (await sell(client, a.auth, "s1", sale_body(await dynamic_code(member, signer), points_to_redeem=2000))).json()

    first = await reverse(client, a.auth, sale["id"], "r1", amount_fen=50_000)
    again = await reverse(client, a.auth, sale["id"], "r1", amount_fen=50_000)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await SaleReversal.count() == 1
    assert await balance(member) == 3000 + 1000  # half of the 2000 points given back, once


async def test_a_reversal_key_reused_with_another_body_or_sale_is_an_idempotency_conflict(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)
    sale = (await sell(client, a.auth, "s1", sale_body(code))).json()
    other_sale = (await sell(client, a.auth, "s2", sale_body(code))).json()
    await reverse(client, a.auth, sale["id"], "r1", amount_fen=1000, reason="退货")

    others = ((sale["id"], 2000, "退货"), (sale["id"], 1000, "换货"), (sale["id"], None, "退货"), (other_sale["id"], 1000, "退货"))
    for sale_id, amount, reason in others:
        response = await reverse(client, a.auth, sale_id, "r1", amount_fen=amount, reason=reason)
        assert (response.status_code, problem(response)) == (409, "/problems/idempotency-conflict"), (sale_id, amount, reason)
    assert [r["amount_fen"] for r in await SaleReversal.select()] == [1000]


async def test_a_reversal_without_an_idempotency_key_is_a_validation_error(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    sale = (await sell(client, a.auth, "s1", sale_body(await static_code(member, signer)))).json()

    response = await client.post(f"/partner/v1/sales/{sale['id']}/reversals", json={"amount_fen": 100}, headers=a.auth)

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error")
    assert await SaleReversal.count() == 0


async def test_an_idempotency_key_of_100_characters_works_for_a_sale_with_points_and_its_reversal(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    key = "K" * 100  # the longest key the API accepts

    sold = await sell(client, a.auth, key, sale_body(await dynamic_code(member, signer), points_to_redeem=1000))
    assert sold.status_code == 201, sold.text
    returned = await reverse(client, a.auth, sold.json()["id"], key, amount_fen=50_000)

    assert returned.status_code == 201, returned.text
    assert await balance(member) == 5000 - 1000 + 500  # the 990 earned are pending, half of them voided
    assert (await points.balance(member)).pending == 990 - 495


async def test_an_idempotency_key_over_100_characters_is_a_validation_error(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await sell(client, a.auth, "K" * 101, sale_body(await static_code(member, signer)))

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error")


async def test_a_sale_key_that_ends_in_earn_is_an_ordinary_unused_key(client, frozen, tmp_path, signer):
    # The ledger entries of a sale are keyed from the till's key; a till's own key must never
    # collide with the key derived for another sale's earned points.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    first = await sell(client, a.auth, "A1", sale_body(await static_code(member, signer)))
    assert first.status_code == 201 and first.json()["points_earned"] == 1000

    second = await sell(client, a.auth, "A1:earn", sale_body(await dynamic_code(member, signer), points_to_redeem=500))

    assert second.status_code == 201, second.text
    assert await balance(member) == 5000 - 500
    assert (await points.balance(member)).pending == 1000 + 995


async def test_a_reversal_key_that_ends_in_earn_is_an_ordinary_unused_key(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    sale = (await sell(client, a.auth, "s1", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))).json()
    first = await reverse(client, a.auth, sale["id"], "R1", amount_fen=10_000)
    assert first.status_code == 201 and first.json()["points_removed"] > 0

    second = await reverse(client, a.auth, sale["id"], "R1:earn", amount_fen=10_000)

    assert second.status_code == 201, second.text
