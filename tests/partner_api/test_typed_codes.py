"""The 18 digits under the phone's QR (DESIGN.md, "Which code may do what": a numeric code a
cashier can type): issued by the server with each dynamic code, accepted by the partner API
wherever a dynamic code is, and the same single-use payment as the QR they came with."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import pytest

from loyalty.cards import codes
from loyalty.cards import service as cards
from loyalty.cards.tables import TypedCode
from loyalty.merchants.tables import Sale
from tests.partner_api.builders import BASE, GOLD, balance, owner, problem, sale_body, sell, shop

VERIFY = f"{BASE}/codes/verify"


async def phone_code(member: int, signer: codes.CodeSigner):
    return await cards.dynamic_code(member, signer, time.time())


async def test_the_typed_digits_verify_as_the_phone_code_and_pay_once(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    issued = await phone_code(member, signer)
    typed = f"{issued.digits[:6]} {issued.digits[6:12]}-{issued.digits[12:]}"  # as a cashier may type them

    verified = await client.post(VERIFY, json={"code": typed}, headers=a.auth)
    paid = await sell(client, a.auth, "till-1", sale_body(typed, points_to_redeem=1000))
    again = await sell(client, a.auth, "till-2", sale_body(issued.digits, points_to_redeem=1000))
    qr_of_the_same_code = await sell(client, a.auth, "till-3", sale_body(issued.code, points_to_redeem=1000))

    assert verified.status_code == 200, verified.text
    assert (verified.json()["code_kind"], verified.json()["code_can_pay"], verified.json()["member_name"]) == ("dynamic", True, "李*")
    assert paid.status_code == 201, paid.text
    for refused in (again, qr_of_the_same_code):
        assert (refused.status_code, problem(refused)) == (422, "/problems/code-already-used"), refused.text
    assert await balance(member) == 4000
    assert await Sale.count() == 1


async def test_verify_says_spent_digits_and_their_qr_cannot_pay(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    issued = await phone_code(member, signer)
    typed = f"{issued.digits[:6]} {issued.digits[6:12]} {issued.digits[12:]}"

    paid = await sell(client, a.auth, "till-1", sale_body(issued.digits, points_to_redeem=1000))
    answers = [await client.post(VERIFY, json={"code": code}, headers=a.auth) for code in (typed, issued.code)]

    assert paid.status_code == 201, paid.text
    for verified in answers:
        assert verified.status_code == 200, verified.text
        assert (verified.json()["code_can_pay"], verified.json()["code_cannot_pay_reason"]) == (False, "code-already-used")


async def test_a_retry_with_the_digits_typed_another_way_is_the_same_sale(client, frozen, tmp_path, signer):
    # The cashier retries after a timeout and types the digits again, grouped or in full width.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    digits = (await phone_code(member, signer)).digits
    body = sale_body(digits, points_to_redeem=1000)
    spaced = f"{digits[:6]} {digits[6:12]} {digits[12:]}"
    hyphened = f"{digits[:6]}-{digits[6:12]}-{digits[12:]}"
    full_width = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    first = await sell(client, a.auth, "till-1", body)
    retries = [await sell(client, a.auth, "till-1", {**body, "code": code}) for code in (spaced, hyphened, full_width)]

    assert first.status_code == 201, first.text
    for retried in retries:
        assert retried.status_code == 200, retried.text
        assert retried.headers["idempotent-replayed"] == "true" and retried.json() == first.json()
    assert await balance(member) == 4000 and await Sale.count() == 1


async def test_paying_with_the_qr_spends_its_digits(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    issued = await phone_code(member, signer)

    paid = await sell(client, a.auth, "till-1", sale_body(issued.code, points_to_redeem=1000))
    typed = await sell(client, a.auth, "till-2", sale_body(issued.digits, points_to_redeem=1000))

    assert paid.status_code == 201, paid.text
    assert (typed.status_code, problem(typed)) == (422, "/problems/code-already-used")


async def test_a_retry_with_the_digits_gets_the_stored_reply(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    body = sale_body((await phone_code(member, signer)).digits, points_to_redeem=1000)

    first = await sell(client, a.auth, "till-1", body)
    retried = await sell(client, a.auth, "till-1", body)
    # The fingerprint is over what the till sent: the same sale sent with the QR is another body.
    as_qr = await sell(client, a.auth, "till-1", {**body, "code": "OC1.x.y.z"})

    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.headers["idempotent-replayed"] == "true" and retried.json() == first.json()
    assert (as_qr.status_code, problem(as_qr)) == (409, "/problems/idempotency-conflict")
    assert await balance(member) == 4000


async def test_digits_no_code_has_are_code_number_unknown_in_both_languages(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    issued = await phone_code(member, signer)
    other = cards.new_typed_digits()
    assert other != issued.digits

    zh = await client.post(VERIFY, json={"code": other}, headers={**a.auth, "Accept-Language": "zh-CN"})
    en = await sell(client, {**a.auth, "Accept-Language": "en"}, "k1", sale_body(other, points_to_redeem=100))

    assert (zh.status_code, problem(zh)) == (422, "/problems/code-number-unknown")
    assert (en.status_code, problem(en)) == (422, "/problems/code-number-unknown")
    assert en.json()["errors"][0]["field"] == "code"
    assert other in en.json()["detail"] and "refresh" in en.json()["detail"]
    assert "刷新" in zh.json()["detail"], zh.json()
    assert await balance(member) == 5000


async def test_a_typo_is_caught_by_the_check_digit_and_a_short_number_is_malformed(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    digits = (await phone_code(member, signer)).digits
    typo = digits[:5] + str((int(digits[5]) + 1) % 10) + digits[6:]  # one digit mistyped
    card_number = (await cards._current(member))["number"]  # 16 digits: the card number, not a code

    answers = [
        await client.post(VERIFY, json={"code": text}, headers={**a.auth, "Accept-Language": "en"})
        for text in (typo, card_number, digits[:17])
    ]

    assert [(r.status_code, problem(r)) for r in answers] == [(422, "/problems/code-malformed")] * 3
    assert "typo" in answers[0].json()["detail"]
    assert "18" in answers[1].json()["detail"] and "16" in answers[1].json()["detail"]


async def test_expired_digits_are_code_expired_as_the_qr_is(client, frozen, tmp_path, signer):
    # Time is frozen at 12:00:00: the code (and its digits) is good until 12:01:59.
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop()
    issued = await phone_code(member, signer)

    frozen.shift(timedelta(seconds=codes.STEP_SECONDS * (codes.SKEW_STEPS + 1)))
    response = await sell(client, a.auth, "k1", sale_body(issued.digits, points_to_redeem=100))

    assert (response.status_code, problem(response)) == (422, "/problems/code-expired"), response.text
    assert await balance(member) == 5000


async def test_the_digits_are_random_not_the_card_number_and_purged_a_day_after_they_expire(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    number = (await cards._current(member))["number"]
    issued = [await phone_code(member, signer) for _ in range(20)]

    assert len({code.digits for code in issued}) == 20
    for code in issued:
        assert len(code.digits) == 18 and code.digits.startswith("66") and number[4:] not in code.digits
    assert await TypedCode.count() == 20

    frozen.shift(timedelta(days=1, minutes=1))
    assert await cards.purge_typed_codes() == 0  # a day after their end, not yet
    frozen.shift(timedelta(minutes=2))
    fresh = await phone_code(member, signer)
    await cards.nightly()  # the nightly job purges them

    assert [row["digits"] for row in await TypedCode.select(TypedCode.digits)] == [fresh.digits]
    gone = await client.post(VERIFY, json={"code": issued[0].digits}, headers=(await shop("B")).auth)
    assert problem(gone) == "/problems/code-number-unknown"


async def test_a_staff_door_check_takes_the_digits_too(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    issued = await phone_code(member, signer)

    card = await cards.verify_code(issued.digits, signer, time.time())

    assert (card.member_id, card.kind) == (member, "dynamic")


@pytest.mark.postgres_only
@pytest.mark.parametrize("mixed", [False, True])
async def test_fifty_concurrent_sales_with_the_same_digits_make_exactly_one_sale(client, frozen, tmp_path, signer, mixed):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    issued = await phone_code(member, signer)

    # All typed; or half typed, half scanned: the digits and the QR are one payment.
    answers = await asyncio.gather(*(
        sell(client, a.auth, f"till-{n}",
             sale_body(issued.code if mixed and n % 2 else issued.digits, gross_fen=10_000, points_to_redeem=100))
        for n in range(50)
    ))

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 422: 49}, [r.text for r in answers if r.status_code not in (201, 422)]
    assert {problem(r) for r in answers if r.status_code == 422} == {"/problems/code-already-used"}
    assert await Sale.count() == 1
    assert await balance(member) == 4900


async def test_the_code_problems_name_the_members_code_in_chinese_for_a_qr_and_for_digits(client, frozen, tmp_path, signer):
    await owner(tmp_path, GOLD)
    a = await shop()
    zh = {**a.auth, "Accept-Language": "zh-CN"}

    typo = await client.post(VERIFY, json={"code": "66" + "0" * 16}, headers=zh)
    garbage = await client.post(VERIFY, json={"code": "not a code"}, headers=zh)
    empty = await client.post(VERIFY, json={"code": ""}, headers=zh)

    for refused in (typo, garbage):
        assert (problem(refused), refused.json()["title"]) == ("/problems/code-malformed", "无法识别此码"), refused.text
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "code"
    assert empty.json()["detail"].startswith("会员码："), empty.text
