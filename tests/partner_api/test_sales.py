"""POST/GET /partner/v1/sales: a sale checks the discount against the schedule, takes points
as payment atomically, earns points by the merchant's rule; every refusal is a problem with
its own type and leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

from loyalty.merchants.tables import Sale
from tests.partner_api.builders import (
    BASE, BLUE, GOLD, TODAY, at, balance, dynamic_code, owner, owners, problem, sale_body, sell, shop, static_code,
)


async def test_a_sale_with_discount_and_points_is_created_and_returns_what_was_taken(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    code = await dynamic_code(member, signer)

    response = await sell(client, a.auth, "till1-0001", sale_body(code, gross_fen=100_000, discount_fen=10_000, points_to_redeem=2000))

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    sale = response.json()
    fields = ("store_id", "tier", "gross_fen", "discount_fen", "points_redeemed", "points_value_fen", "cash_fen",
              "points_earned", "reversed_fen")
    assert {k: sale[k] for k in fields} == {
        "store_id": a.stores["S1"], "tier": "gold", "gross_fen": 100_000, "discount_fen": 10_000, "points_redeemed": 2000,
        "points_value_fen": 2000, "cash_fen": 88_000, "points_earned": 880, "reversed_fen": 0,
    }
    # 5000 - 2000 redeemed; the 880 earned on 880 CNY paid in cash are pending for the
    # merchant's reversal window (7 days by default)
    assert sale["points_balance_after"] == 3000 == await balance(member)
    assert sale["points_earned_pending_until"] == (TODAY + timedelta(days=7)).isoformat()
    assert sale["earn_cap_reached"] is None


async def test_a_sale_can_be_read_back_by_its_id(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=500)
    a = await shop()
    created = (await sell(client, a.auth, "k1", sale_body(await dynamic_code(member, signer), points_to_redeem=500))).json()

    response = await client.get(f"{BASE}/sales/{created['id']}", headers=a.auth)

    assert response.status_code == 200
    assert response.json() == created


async def test_an_unknown_sale_id_is_not_found(client, frozen, tmp_path):
    a = await shop()

    response = await client.get(f"{BASE}/sales/424242", headers=a.auth)

    assert (response.status_code, problem(response)) == (404, "/problems/not-found")


async def test_a_sale_accepts_a_dynamic_code(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await sell(client, a.auth, "k1", sale_body(await dynamic_code(member, signer), discount_fen=10_000))

    assert response.status_code == 201, response.text


async def test_a_discount_above_the_tier_percent_is_refused(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)

    refused = await sell(client, a.auth, "k1", sale_body(code, gross_fen=100_000, discount_fen=10_001))
    accepted = await sell(client, a.auth, "k2", sale_body(code, gross_fen=100_000, discount_fen=10_000))

    assert (refused.status_code, problem(refused)) == (422, "/problems/discount-exceeds-schedule")
    assert refused.json()["allowed_fen"] == 10_000
    assert accepted.status_code == 201


async def test_a_discount_above_the_cap_per_sale_is_refused(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(gold_bp=1000, gold_cap_fen=50_000)
    code = await static_code(member, signer)

    refused = await sell(client, a.auth, "k1", sale_body(code, gross_fen=1_000_000, discount_fen=50_001))
    accepted = await sell(client, a.auth, "k2", sale_body(code, gross_fen=1_000_000, discount_fen=50_000))

    assert (refused.status_code, problem(refused)) == (422, "/problems/discount-exceeds-schedule")
    assert accepted.status_code == 201


async def test_a_tier_without_a_schedule_gets_no_discount(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, BLUE)
    a = await shop()

    response = await sell(client, a.auth, "k1", sale_body(await static_code(member, signer), discount_fen=1))

    assert (response.status_code, problem(response)) == (422, "/problems/discount-exceeds-schedule")


async def test_an_expired_schedule_allows_no_discount_on_a_sale(client, frozen, tmp_path, signer):
    from datetime import date

    from loyalty.merchants import service as merchants

    member = await owner(tmp_path, GOLD)
    a = await shop(gold_bp=0)
    await merchants.set_discount(a.merchant_id, "gold", 1000, valid_from=date(2026, 1, 1), valid_to=TODAY - timedelta(days=1))

    response = await sell(client, a.auth, "k1", sale_body(await static_code(member, signer), discount_fen=100))

    assert (response.status_code, problem(response)) == (422, "/problems/discount-exceeds-schedule")


async def test_points_cannot_pay_more_than_what_is_left_after_the_discount(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=100_000)
    a = await shop()
    code = await dynamic_code(member, signer)

    refused = await sell(client, a.auth, "k1", sale_body(code, gross_fen=10_000, discount_fen=1000, points_to_redeem=9001))
    accepted = await sell(client, a.auth, "k2", sale_body(code, gross_fen=10_000, discount_fen=1000, points_to_redeem=9000))

    assert (refused.status_code, problem(refused)) == (422, "/problems/points-exceed-payable")
    assert accepted.status_code == 201 and accepted.json()["cash_fen"] == 0
    assert await balance(member) == 100_000 - 9000


async def test_redeeming_more_points_than_available_is_refused_and_takes_nothing(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=300)
    a = await shop(points_per_cny=1)

    response = await sell(client, a.auth, "k1", sale_body(await dynamic_code(member, signer), points_to_redeem=301))

    assert (response.status_code, problem(response)) == (422, "/problems/insufficient-points")
    assert await balance(member) == 300
    assert await Sale.count() == 0


async def test_a_refused_sale_stores_no_answer_so_its_key_can_carry_the_corrected_sale(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=300)
    a = await shop()
    code = await dynamic_code(member, signer)

    first = await sell(client, a.auth, "k1", sale_body(code, points_to_redeem=301))
    corrected = await sell(client, a.auth, "k1", sale_body(code, points_to_redeem=300))

    assert first.status_code == 422 and corrected.status_code == 201


async def test_an_unknown_store_code_is_store_not_found(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    await shop("别家", stores=("S9",))  # S9 is another merchant's store

    response = await sell(client, a.auth, "k1", sale_body(await static_code(member, signer), store="S9"))

    assert (response.status_code, problem(response)) == (422, "/problems/store-not-found")
    assert await Sale.count() == 0


async def test_a_merchant_wide_key_must_name_the_store(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await sell(client, a.auth, "k1", sale_body(await static_code(member, signer), store=None))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "store"


async def test_a_sale_with_a_bad_code_is_refused_with_the_code_problem(client, frozen, tmp_path, signer):
    a = await shop()

    response = await sell(client, a.auth, "k1", sale_body("not-a-code"))

    assert (response.status_code, problem(response)) == (422, "/problems/code-malformed")


async def test_malformed_sale_bodies_are_validation_errors(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)

    for number, body in enumerate([
        {**sale_body(code), "gross_fen": 0},
        {**sale_body(code), "discount_fen": -1},
        {**sale_body(code), "points_to_redeem": -5},
        {**sale_body(code), "gross_fen": 100.5},
        {**sale_body(code), "member_phone": "13800138001"},
        {"store": "S1", "gross_fen": 100},
    ]):
        response = await sell(client, a.auth, f"k{number}", body)
        assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), body
    assert await Sale.count() == 0


async def test_a_sale_without_an_idempotency_key_is_a_validation_error(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    response = await client.post(f"{BASE}/sales", json=sale_body(await static_code(member, signer)), headers=a.auth)

    assert (response.status_code, problem(response)) == (400, "/problems/validation-error")
    assert await Sale.count() == 0


async def test_listing_sales_pages_oldest_first_with_a_cursor(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)
    ids = [(await sell(client, a.auth, f"k{n}", sale_body(code, gross_fen=1000 + n))).json()["id"] for n in range(5)]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor is not None else {})}
        page = (await client.get(f"{BASE}/sales", params=params, headers=a.auth)).json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == [ids[0:2], ids[2:4], ids[4:5]]


async def test_listing_sales_filters_by_store(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)
    s1 = (await sell(client, a.auth, "k1", sale_body(code, store="S1"))).json()["id"]
    s2 = (await sell(client, a.auth, "k2", sale_body(code, store="S2"))).json()["id"]

    only_s2 = (await client.get(f"{BASE}/sales", params={"store": "S2"}, headers=a.auth)).json()["items"]
    unknown = await client.get(f"{BASE}/sales", params={"store": "S9"}, headers=a.auth)

    assert [item["id"] for item in only_s2] == [s2] and s1 != s2
    assert (unknown.status_code, problem(unknown)) == (422, "/problems/store-not-found")


async def test_listing_sales_filters_by_beijing_days(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()
    code = await static_code(member, signer)
    made = {}
    # 23:30 and 00:30 Beijing: the same UTC day (15:30 and 16:30), two Beijing days.
    moments = (("14th late", at(TODAY - timedelta(days=1), 23, 30)), ("15th early", at(TODAY, 0, 30)),
               ("16th", at(TODAY + timedelta(days=1))))
    for label, moment in moments:
        frozen.move_to(moment)
        made[label] = (await sell(client, a.auth, label, sale_body(code))).json()["id"]

    on_15th = (await client.get(f"{BASE}/sales", params={"start": "2026-06-15", "end": "2026-06-15"}, headers=a.auth)).json()
    from_15th = (await client.get(f"{BASE}/sales", params={"start": "2026-06-15"}, headers=a.auth)).json()
    to_14th = (await client.get(f"{BASE}/sales", params={"end": "2026-06-14"}, headers=a.auth)).json()

    assert [item["id"] for item in on_15th["items"]] == [made["15th early"]]
    assert [item["id"] for item in from_15th["items"]] == [made["15th early"], made["16th"]]
    assert [item["id"] for item in to_14th["items"]] == [made["14th late"]]


async def test_listing_sales_from_a_start_after_the_end_is_refused_naming_end(client, frozen, tmp_path, signer):
    a = await shop()
    await sell(client, a.auth, "one", sale_body(await static_code(await owner(tmp_path, GOLD), signer)))

    response = await client.get(f"{BASE}/sales", params={"start": "2026-06-16", "end": "2026-06-15"}, headers=a.auth)
    in_english = await client.get(
        f"{BASE}/sales", params={"start": "2026-06-16", "end": "2026-06-15"}, headers={**a.auth, "Accept-Language": "en"}
    )

    assert (response.status_code, problem(response)) == (422, "/problems/invalid-field")
    assert response.json()["errors"] == [
        {"field": "end", "reason": "结束日期 2026-06-15 早于开始日期 2026-06-16", "source": "query"}
    ]
    assert in_english.json()["errors"][0]["reason"] == "The end date 2026-06-15 is before the start date 2026-06-16"
    same_day = await client.get(f"{BASE}/sales", params={"start": "2026-06-15", "end": "2026-06-15"}, headers=a.auth)
    assert same_day.status_code == 200, same_day.text


async def test_listing_sales_with_a_bad_limit_is_a_validation_error(client, frozen, tmp_path):
    a = await shop()

    for params in ({"limit": 0}, {"limit": 201}, {"cursor": -1}, {"start": "yesterday"}):
        response = await client.get(f"{BASE}/sales", params=params, headers=a.auth)
        assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), params


async def test_points_are_earned_only_on_the_cash_part_in_whole_cny(client, frozen, tmp_path, signer):
    gold, blue = await owners(tmp_path, GOLD, BLUE, points_balance=1000)
    a = await shop(points_per_cny=2)

    body = sale_body(await dynamic_code(gold, signer), gross_fen=12_399, discount_fen=1_239, points_to_redeem=1000)
    sale = (await sell(client, a.auth, "k1", body)).json()
    plain = await shop("不送积分", points_per_cny=0)
    none = (await sell(client, plain.auth, "k1", sale_body(await static_code(blue, signer), gross_fen=50_000))).json()

    # 12399 - 1239 - 1000 = 10160 fen cash → 101 whole CNY → 202 points
    assert (sale["cash_fen"], sale["points_earned"]) == (10_160, 202)
    assert none["points_earned"] == 0 and await balance(blue) == 1000


async def test_a_refusal_is_titled_in_the_cashiers_language_with_the_same_type(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=10)
    a = await shop()
    body = sale_body(await dynamic_code(member, signer), points_to_redeem=11)

    zh = await client.post(f"{BASE}/sales", json=body, headers={**a.auth, "Idempotency-Key": "k1", "Accept-Language": "zh-CN"})
    en = await client.post(f"{BASE}/sales", json=body, headers={**a.auth, "Idempotency-Key": "k1", "Accept-Language": "en"})

    assert problem(zh) == problem(en) == "/problems/insufficient-points"
    assert (zh.json()["title"], en.json()["title"]) == ("积分不足", "Not enough points")
    assert zh.json()["available"] == 10


async def test_a_number_too_large_for_the_database_names_its_parameter_in_plain_words(client, frozen, tmp_path):
    a = await shop()
    beyond = "must be between -9223372036854775808 and 9223372036854775807"

    english = {**a.auth, "Accept-Language": "en"}  # the till developer's words
    by_id = await client.get(f"{BASE}/sales/9223372036854775808", headers=english)
    by_cursor = await client.get(f"{BASE}/sales", params={"cursor": "9" * 23}, headers=english)

    assert (by_id.status_code, problem(by_id)) == (400, "/problems/value-out-of-range")
    assert by_id.json()["errors"] == [{"field": "sale_id", "reason": beyond, "source": "path"}]
    assert (by_cursor.status_code, problem(by_cursor)) == (400, "/problems/value-out-of-range")
    assert by_cursor.json()["errors"] == [{"field": "cursor", "reason": beyond, "source": "query"}]


async def test_body_and_query_refusals_name_the_field_in_plain_words_not_the_decoders(client, frozen, tmp_path, signer):
    a = await shop()
    code = await static_code(await owner(tmp_path, GOLD), signer)
    huge = b'{"code": "%s", "store": "S1", "gross_fen": %s}' % (code.encode(), b"9" * 5000)
    english = {**a.auth, "Accept-Language": "en"}  # the till developer's words
    headers = {**english, "Idempotency-Key": "k1", "content-type": "application/json"}

    answers = {
        "huge": await client.post(f"{BASE}/sales", content=huge, headers=headers),
        "above": await client.post(f"{BASE}/sales", json={**sale_body(code), "gross_fen": 10**12}, headers=headers),
        "date": await client.get(f"{BASE}/sales", params={"start": "2026-02-30"}, headers=english),
        "limit": await client.get(f"{BASE}/sales", params={"limit": "500"}, headers=english),
    }

    errors = {name: (answer.status_code, problem(answer), answer.json()["errors"]) for name, answer in answers.items()}
    assert errors == {
        "huge": (400, "/problems/validation-error",
                 [{"field": "gross_fen", "reason": "the number is too large", "source": "body"}]),
        "above": (400, "/problems/validation-error",
                  [{"field": "gross_fen", "reason": "must be at most 100000000000", "source": "body"}]),
        "date": (400, "/problems/validation-error",
                 [{"field": "start", "reason": "a date is written YYYY-MM-DD, e.g. 2026-12-07", "source": "query"}]),
        "limit": (400, "/problems/validation-error", [{"field": "limit", "reason": "must be at most 200", "source": "query"}]),
    }
