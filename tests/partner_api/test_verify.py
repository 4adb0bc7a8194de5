"""POST /partner/v1/codes/verify: tier, today's discount here, masked name, points — never
the phone or the full name; every kind of bad code has its own problem type."""

from __future__ import annotations

import time
from datetime import date

from loyalty.cards import codes, service as cards
from loyalty.identity.service import create_staff
from loyalty.merchants import service as merchants
from tests.partner_api.builders import (
    BASE, BLUE, GOLD, SILVER, TODAY, dynamic_code, owner, owners, problem, shop, static_code,
)

VERIFY = f"{BASE}/codes/verify"


async def staff_id() -> int:
    return (await create_staff("service1", "service-password-1", "service")).id


async def test_verify_returns_tier_discount_masked_name_and_points(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=1234)
    a = await shop()

    response = await client.post(VERIFY, json={"code": await static_code(member, signer)}, headers=a.auth)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tier"] == "gold"
    assert body["member_name"] == "李*"
    assert body["discount"] == {"percent_bp": 1000, "cap_fen": 50_000}
    assert body["points_available"] == 1234
    assert (body["code_kind"], body["code_expires_at_unix"]) == ("static", None)


async def test_verify_never_returns_the_phone_or_the_full_name(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, SILVER)
    a = await shop()

    response = await client.post(VERIFY, json={"code": await static_code(member, signer)}, headers=a.auth)

    assert response.status_code == 200, response.text
    assert response.json()["member_name"] == "欧***"
    for secret in ("欧阳晓明", "晓明", "13800138002", "138", "8002"):
        assert secret not in response.text


async def test_verify_accepts_a_dynamic_code_and_says_when_it_expires(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    step = codes.current_step(time.time())

    response = await client.post(VERIFY, json={"code": await dynamic_code(member, signer)}, headers=a.auth)

    assert response.status_code == 200, response.text
    assert response.json()["code_kind"] == "dynamic"
    assert response.json()["code_expires_at_unix"] == (step + 2) * codes.STEP_SECONDS


async def test_verify_gives_each_tier_its_own_discount_and_none_without_a_schedule(client, frozen, tmp_path, signer):
    gold, silver, blue = await owners(tmp_path, GOLD, SILVER, BLUE)
    a = await shop(gold_bp=1500, gold_cap_fen=None)
    await merchants.set_discount(a.merchant_id, "silver", 500, valid_from=date(2026, 1, 1), cap_fen=10_000)

    seen = {}
    for member in (gold, silver, blue):
        response = await client.post(VERIFY, json={"code": await static_code(member, signer)}, headers=a.auth)
        assert response.status_code == 200, response.text
        seen[response.json()["tier"]] = response.json()["discount"]

    assert seen == {
        "gold": {"percent_bp": 1500, "cap_fen": None},
        "silver": {"percent_bp": 500, "cap_fen": 10_000},
        "blue": {"percent_bp": 0, "cap_fen": None},
    }


async def test_verify_gives_the_discount_of_this_merchant_not_another(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop("A店", gold_bp=1000)
    b = await shop("B店", gold_bp=2500)

    code = await static_code(member, signer)
    seen_by_a = (await client.post(VERIFY, json={"code": code}, headers=a.auth)).json()["discount"]["percent_bp"]
    seen_by_b = (await client.post(VERIFY, json={"code": code}, headers=b.auth)).json()["discount"]["percent_bp"]

    assert (seen_by_a, seen_by_b) == (1000, 2500)


async def test_a_schedule_not_yet_valid_or_expired_gives_no_discount(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    later = await shop("未开始", gold_bp=0)
    await merchants.set_discount(later.merchant_id, "gold", 1000, valid_from=date(2026, 6, 16))
    ended = await shop("已结束", gold_bp=0)
    await merchants.set_discount(ended.merchant_id, "gold", 1000, valid_from=date(2026, 1, 1), valid_to=date(2026, 6, 14))
    code = await static_code(member, signer)

    for merchant in (later, ended):
        response = await client.post(VERIFY, json={"code": code}, headers=merchant.auth)
        assert response.status_code == 200, response.text
        assert response.json()["discount"] == {"percent_bp": 0, "cap_fen": None}


async def test_a_schedule_is_valid_on_its_first_and_last_day_in_beijing_time(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    first = await shop("今天开始", gold_bp=0)
    await merchants.set_discount(first.merchant_id, "gold", 800, valid_from=TODAY)
    last = await shop("今天结束", gold_bp=0)
    await merchants.set_discount(last.merchant_id, "gold", 900, valid_from=date(2026, 1, 1), valid_to=TODAY)
    code = await static_code(member, signer)
    # 00:30 in Beijing is still the previous day in UTC: the schedule's dates are Beijing dates.
    frozen.move_to(TODAY.isoformat() + "T00:30:00+08:00")

    got = [
        (await client.post(VERIFY, json={"code": code}, headers=shop_.auth)).json()["discount"]["percent_bp"]
        for shop_ in (first, last)
    ]

    assert got == [800, 900]


async def test_a_garbled_code_is_code_malformed(client, frozen, tmp_path):
    a = await shop()

    for text in ("hello", "OC1.k1.xx", "OC1.k1.!!!.???"):
        response = await client.post(VERIFY, json={"code": text}, headers=a.auth)
        assert (response.status_code, problem(response)) == (422, "/problems/code-malformed"), text


async def test_a_code_signed_by_another_key_is_code_bad_signature(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    card_id = signer.open(await static_code(member, signer)).subject_id
    forged = codes.CodeSigner.from_secret("an attacker's secret, not ours, long enough", "k1").sign("static", card_id)

    response = await client.post(VERIFY, json={"code": forged}, headers=a.auth)

    assert (response.status_code, problem(response)) == (422, "/problems/code-bad-signature")
    assert "李" not in response.text


async def test_a_dynamic_code_from_three_minutes_ago_is_code_expired(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    old = await dynamic_code(member, signer, time.time() - 180)

    response = await client.post(VERIFY, json={"code": old}, headers=a.auth)

    assert (response.status_code, problem(response)) == (422, "/problems/code-expired")


async def test_a_dynamic_code_from_the_previous_minute_still_verifies(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    previous = await dynamic_code(member, signer, time.time() - 60)

    response = await client.post(VERIFY, json={"code": previous}, headers=a.auth)

    assert response.status_code == 200, response.text


async def test_a_suspended_card_is_card_suspended(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)
    await cards.suspend_card(member, "疑似冒用 suspected misuse", await staff_id())

    response = await client.post(VERIFY, json={"code": code}, headers=a.auth)

    assert (response.status_code, problem(response)) == (422, "/problems/card-suspended")


async def test_the_code_of_a_replaced_card_is_card_replaced_and_the_new_card_verifies(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    old = await static_code(member, signer)
    await cards.reissue_card(member, "卡片遗失 lost", await staff_id())

    stale = await client.post(VERIFY, json={"code": old}, headers=a.auth)
    fresh = await client.post(VERIFY, json={"code": await static_code(member, signer)}, headers=a.auth)

    assert (stale.status_code, problem(stale)) == (422, "/problems/card-replaced")
    assert fresh.status_code == 200


async def test_a_ticket_code_is_not_a_card_code(client, frozen, tmp_path, signer):
    a = await shop()

    response = await client.post(VERIFY, json={"code": signer.sign("ticket", 1)}, headers=a.auth)

    assert (response.status_code, problem(response)) == (422, "/problems/code-malformed")


async def test_verify_without_a_code_is_a_validation_error(client, frozen, tmp_path):
    a = await shop()

    for body in ({}, {"code": ""}, {"code": "x", "phone": "13800138001"}):
        response = await client.post(VERIFY, json=body, headers=a.auth)
        assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), body


async def test_a_bad_key_is_not_authenticated_whatever_the_code(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    await merchants.revoke_api_key(a.key_id)

    for code in ("garbled", await static_code(member, signer), signer.sign("static", 10**9)):
        response = await client.post(VERIFY, json={"code": code}, headers=a.auth)
        assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated"), code


async def test_a_code_naming_no_card_is_code_bad_signature_for_a_good_key(client, frozen, tmp_path, signer):
    a = await shop()

    response = await client.post(VERIFY, json={"code": signer.sign("static", 10**9)}, headers=a.auth)

    assert (response.status_code, problem(response)) == (422, "/problems/code-bad-signature")


async def test_an_owner_without_a_points_account_has_zero_points_available(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await client.post(VERIFY, json={"code": await static_code(member, signer)}, headers=a.auth)

    assert response.status_code == 200 and response.json()["points_available"] == 0
