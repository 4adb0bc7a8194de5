"""Codes that cannot be replayed for money (DESIGN.md, "Which code may do what"): the static
code of the printed card and the card image identifies — verify, a sale without points — but
never pays; a dynamic code pays for one sale, and a second sale with it is refused, whoever
sends it; a retry of the same sale (same Idempotency-Key and body) still gets its stored
reply. Every test here runs on both engines (PostgreSQL's one-statement sale and SQLite's
step-by-step one) and must answer the same."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import pytest

from loyalty.cards import codes
from loyalty.merchants.tables import Sale
from loyalty.points.tables import LedgerEntry
from tests.partner_api.builders import (
    BASE, GOLD, balance, dynamic_code, owner, problem, sale_body, sell, shop, static_code,
)

VERIFY = f"{BASE}/codes/verify"


async def test_the_static_code_of_the_card_image_cannot_pay_with_points(client, frozen, tmp_path, signer):
    # The attack: anyone who photographed the printed card (or its PNG) spends its points.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    printed = await static_code(member, signer)  # what the card PNG's QR says

    response = await sell(client, a.auth, "photo-1", sale_body(printed, gross_fen=100_000, points_to_redeem=5000))

    assert (response.status_code, problem(response)) == (422, "/problems/code-cannot-pay"), response.text
    assert response.json()["errors"][0]["field"] == "code"
    assert await balance(member) == 5000
    assert await Sale.count() == 0


async def test_a_code_cannot_pay_refusal_is_titled_in_both_languages(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=100)
    a = await shop()
    body = sale_body(await static_code(member, signer), points_to_redeem=100)

    zh = await client.post(f"{BASE}/sales", json=body, headers={**a.auth, "Idempotency-Key": "k1", "Accept-Language": "zh-CN"})
    en = await client.post(f"{BASE}/sales", json=body, headers={**a.auth, "Idempotency-Key": "k1", "Accept-Language": "en"})

    assert problem(zh) == problem(en) == "/problems/code-cannot-pay"
    assert "动态会员码" in zh.json()["title"] and "rotating code" in en.json()["title"]


async def test_the_static_code_still_verifies_and_makes_a_sale_without_points(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    printed = await static_code(member, signer)

    verified = await client.post(VERIFY, json={"code": printed}, headers=a.auth)
    first = await sell(client, a.auth, "k1", sale_body(printed, discount_fen=10_000))
    second = await sell(client, a.auth, "k2", sale_body(printed, discount_fen=10_000))

    assert verified.status_code == 200 and verified.json()["code_kind"] == "static"
    assert (verified.json()["code_can_pay"], verified.json()["code_cannot_pay_reason"]) == (False, "code-cannot-pay")
    assert (first.status_code, second.status_code) == (201, 201)  # it identifies as often as it is shown
    assert await balance(member) == 5000


async def test_verify_says_a_dynamic_code_can_pay_and_does_not_use_it_up(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    code = await dynamic_code(member, signer)

    verified = [await client.post(VERIFY, json={"code": code}, headers=a.auth) for _ in range(2)]
    sold = await sell(client, a.auth, "k1", sale_body(code, points_to_redeem=1000))

    assert [r.json()["code_can_pay"] for r in verified] == [True, True]
    assert sold.status_code == 201, sold.text


async def test_verify_says_a_dynamic_code_that_has_paid_cannot_pay_again(client, frozen, tmp_path, signer):
    # A till that verifies before each sale must not be told "can pay" for a code the sale will refuse.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a, b = await shop("A"), await shop("B")
    code = await dynamic_code(member, signer)

    before = await client.post(VERIFY, json={"code": code}, headers=a.auth)
    paid = await sell(client, a.auth, "k1", sale_body(code, points_to_redeem=1000))
    after = [await client.post(VERIFY, json={"code": code}, headers=till.auth) for till in (a, b)]

    assert (before.json()["code_can_pay"], before.json()["code_cannot_pay_reason"]) == (True, None)
    assert paid.status_code == 201, paid.text
    for verified in after:
        assert verified.status_code == 200, verified.text  # it still identifies the member
        assert (verified.json()["code_can_pay"], verified.json()["code_cannot_pay_reason"]) == (False, "code-already-used")


async def test_a_dynamic_code_pays_once_and_a_second_sale_with_it_is_code_already_used(client, frozen, tmp_path, signer):
    # The attack: a code seen on the owner's phone is used again, for another sale, within its minute.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a, b = await shop("A"), await shop("B")
    code = await dynamic_code(member, signer)

    paid = await sell(client, a.auth, "till-1", sale_body(code, points_to_redeem=1000))
    again_here = await sell(client, a.auth, "till-2", sale_body(code, points_to_redeem=1000))
    again_elsewhere = await sell(client, b.auth, "till-1", sale_body(code, points_to_redeem=1000))
    without_points = await sell(client, a.auth, "till-3", sale_body(code, discount_fen=1000))

    assert paid.status_code == 201, paid.text
    for refused in (again_here, again_elsewhere, without_points):
        assert (refused.status_code, problem(refused)) == (422, "/problems/code-already-used"), refused.text
    assert await balance(member) == 4000
    assert await Sale.count() == 1


async def test_the_same_sale_retried_with_its_key_gets_the_stored_reply_not_code_already_used(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    body = sale_body(await dynamic_code(member, signer), points_to_redeem=1000)

    first = await sell(client, a.auth, "till-1", body)
    retried = await sell(client, a.auth, "till-1", body)

    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.headers["idempotent-replayed"] == "true" and retried.json() == first.json()
    assert await balance(member) == 4000
    assert await LedgerEntry.count().where(LedgerEntry.source_kind == "sale") == 2  # one redeem, one earn


async def test_a_refused_sale_does_not_use_up_its_code(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=500)
    a = await shop()
    code = await dynamic_code(member, signer)

    too_much = await sell(client, a.auth, "k1", sale_body(code, points_to_redeem=501))
    corrected = await sell(client, a.auth, "k2", sale_body(code, points_to_redeem=500))

    assert problem(too_much) == "/problems/insufficient-points"
    assert corrected.status_code == 201, corrected.text


async def test_after_paying_the_owner_refreshes_and_the_new_code_pays_again(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()

    first = await sell(client, a.auth, "k1", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))
    second = await sell(client, a.auth, "k2", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))

    assert (first.status_code, second.status_code) == (201, 201)
    assert await balance(member) == 3000


async def test_a_dynamic_code_older_than_its_minute_and_one_step_is_expired(client, frozen, tmp_path, signer):
    # Time is frozen at 12:00:00, the start of a minute: the code is good until 12:01:59.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    late = await dynamic_code(member, signer)
    stale = await dynamic_code(member, signer)

    frozen.shift(timedelta(seconds=codes.STEP_SECONDS + codes.SKEW_STEPS * codes.STEP_SECONDS - 1))
    accepted = await sell(client, a.auth, "k1", sale_body(late, points_to_redeem=100))
    frozen.shift(timedelta(seconds=1))
    expired = await sell(client, a.auth, "k2", sale_body(stale, points_to_redeem=100))

    assert accepted.status_code == 201, accepted.text
    assert (expired.status_code, problem(expired)) == (422, "/problems/code-expired")
    assert await balance(member) == 4900


async def test_a_dynamic_code_for_a_minute_that_has_not_begun_is_expired(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    ahead = await dynamic_code(member, signer, time.time() + codes.STEP_SECONDS)

    response = await sell(client, a.auth, "k1", sale_body(ahead, points_to_redeem=100))

    assert (response.status_code, problem(response)) == (422, "/problems/code-expired")


@pytest.mark.postgres_only
@pytest.mark.parametrize("points_to_redeem", [100, 0])
async def test_fifty_concurrent_sales_with_one_dynamic_code_make_exactly_one_sale(
    client, frozen, tmp_path, signer, points_to_redeem
):
    # With points (the account lock orders them) and without (only the unique index does).
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    code = await dynamic_code(member, signer)

    answers = await asyncio.gather(*(
        sell(client, a.auth, f"till-{n}", sale_body(code, gross_fen=10_000, points_to_redeem=points_to_redeem))
        for n in range(50)
    ))

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 422: 49}, [r.text for r in answers if r.status_code not in (201, 422)]
    assert {problem(r) for r in answers if r.status_code == 422} == {"/problems/code-already-used"}
    assert await Sale.count() == 1
    assert await balance(member) == 5000 - points_to_redeem
