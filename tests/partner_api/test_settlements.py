"""GET /partner/v1/settlements/{YYYY-MM}[.csv]: per store, sales of the month and reversals made
in the month (Beijing time). A closed month never changes: a later return lands in the month
it was made."""

from __future__ import annotations

import csv
import io
from datetime import date

from tests.partner_api.builders import (
    BASE, GOLD, app_client, at, dynamic_code, owner, problem, reverse, sale_body, sell, shop, static_code,
)

MARCH_LAST_NIGHT = at(date(2026, 3, 31), 23, 30)  # 15:30 UTC
APRIL_FIRST_MORNING = at(date(2026, 4, 1), 0, 30)  # 16:30 UTC on March 31st, April in Beijing


def rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text.removeprefix("\ufeff"))))


async def march_sales(client, frozen, tmp_path, signer):
    frozen.move_to(MARCH_LAST_NIGHT)
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(points_per_cny=1)
    code = await dynamic_code(member, signer)
    big = await sell(client, a.auth, "m1", sale_body(code, store="S1", gross_fen=100_000, discount_fen=10_000, points_to_redeem=2000))
    small = await sell(client, a.auth, "m2", sale_body(await static_code(member, signer), store="S2", gross_fen=50_000))
    assert (big.status_code, small.status_code) == (201, 201)
    return member, a, big.json(), small.json()


async def test_the_monthly_settlement_sums_sales_per_store(client, frozen, tmp_path, signer):
    _, a, _, _ = await march_sales(client, frozen, tmp_path, signer)

    response = await client.get(f"{BASE}/settlements/2026-03", headers=a.auth)

    assert response.status_code == 200, response.text
    statement = response.json()
    assert statement["month"] == "2026-03"
    assert statement["lines"] == [
        {"store_code": "S1", "store_name": "森林装饰S1店", "sales": 1, "gross_fen": 100_000, "discount_fen": 10_000,
         "points_redeemed": 2000, "points_value_fen": 2000, "points_earned": 880, "reversals": 0, "reversed_fen": 0},
        {"store_code": "S2", "store_name": "森林装饰S2店", "sales": 1, "gross_fen": 50_000, "discount_fen": 0,
         "points_redeemed": 0, "points_value_fen": 0, "points_earned": 500, "reversals": 0, "reversed_fen": 0},
    ]
    assert (statement["points_value_owed_fen"], statement["discount_fen"], statement["sales"]) == (2000, 10_000, 2)


async def test_the_settlement_csv_has_the_same_lines_and_opens_in_excel(client, frozen, tmp_path, signer):
    _, a, _, _ = await march_sales(client, frozen, tmp_path, signer)

    response = await client.get(f"{BASE}/settlements/2026-03.csv", headers=a.auth)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="settlement-2026-03.csv"' in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")  # Excel reads the Chinese store names as UTF-8
    assert rows(response.text) == [
        {"month": "2026-03", "store_code": "S1", "store_name": "森林装饰S1店", "sales": "1", "gross_fen": "100000",
         "discount_fen": "10000", "points_redeemed": "2000", "points_value_fen": "2000", "points_earned": "880",
         "reversals": "0", "reversed_fen": "0"},
        {"month": "2026-03", "store_code": "S2", "store_name": "森林装饰S2店", "sales": "1", "gross_fen": "50000",
         "discount_fen": "0", "points_redeemed": "0", "points_value_fen": "0", "points_earned": "500",
         "reversals": "0", "reversed_fen": "0"},
    ]


async def test_a_sale_after_midnight_in_beijing_belongs_to_the_next_month(client, frozen, tmp_path, signer):
    frozen.move_to(APRIL_FIRST_MORNING)
    member = await owner(tmp_path, GOLD)
    a = await shop()
    await sell(client, a.auth, "a1", sale_body(await static_code(member, signer)))

    march = (await client.get(f"{BASE}/settlements/2026-03", headers=a.auth)).json()
    april = (await client.get(f"{BASE}/settlements/2026-04", headers=a.auth)).json()

    assert (march["sales"], april["sales"]) == (0, 1)


async def test_a_reversal_in_the_next_month_lands_there_and_the_closed_month_is_unchanged(client, frozen, tmp_path, signer):
    _, a, big, _ = await march_sales(client, frozen, tmp_path, signer)
    march_before = (await client.get(f"{BASE}/settlements/2026-03", headers=a.auth)).json()
    march_csv_before = (await client.get(f"{BASE}/settlements/2026-03.csv", headers=a.auth)).text
    frozen.move_to(APRIL_FIRST_MORNING)

    returned = await reverse(client, a.auth, big["id"], "r1", amount_fen=30_000)

    assert returned.status_code == 201, returned.text
    assert (await client.get(f"{BASE}/settlements/2026-03", headers=a.auth)).json() == march_before
    assert (await client.get(f"{BASE}/settlements/2026-03.csv", headers=a.auth)).text == march_csv_before
    april = (await client.get(f"{BASE}/settlements/2026-04", headers=a.auth)).json()
    assert april["lines"] == [
        {"store_code": "S1", "store_name": "森林装饰S1店", "sales": 0, "gross_fen": 0, "discount_fen": -3000,
         "points_redeemed": -600, "points_value_fen": -600, "points_earned": -264, "reversals": 1, "reversed_fen": 30_000},
    ]
    assert (april["points_value_owed_fen"], april["discount_fen"], april["sales"]) == (-600, -3000, 0)


async def test_a_month_without_sales_is_an_empty_statement(client, frozen, tmp_path):
    a = await shop()

    response = await client.get(f"{BASE}/settlements/2025-12", headers=a.auth)

    assert response.status_code == 200
    assert response.json() == {"month": "2025-12", "lines": [], "points_value_owed_fen": 0, "discount_fen": 0, "sales": 0}


async def test_a_month_not_written_yyyy_mm_is_refused(client, frozen, tmp_path):
    a = await shop()

    for month in ("2026-13", "2026-00", "march", "2026-03-01", "2026-03.xlsx"):  # malformed: 400, as a bad date is
        response = await client.get(f"{BASE}/settlements/{month}", headers=a.auth)
        assert (response.status_code, problem(response)) == (400, "/problems/validation-error"), month
        assert response.json()["errors"][0]["field"] == "month"
    for month in ("1999-12", "2200-01"):  # well-formed, outside the years served: 422
        response = await client.get(f"{BASE}/settlements/{month}", headers=a.auth)
        assert (response.status_code, problem(response)) == (422, "/problems/invalid-field"), month
        assert response.json()["errors"][0]["field"] == "month"


async def test_a_sale_reversed_in_parts_leaves_nothing_owed_for_its_points(client, database, frozen, tmp_path, signer):
    # At 200 points per CNY a point is worth half a fen: the value of the points given back by
    # each partial return must add up to the value of the points the sale took, or the
    # developer keeps paying the merchant for points the owner got back.
    member = await owner(tmp_path, GOLD, points_balance=10)
    async with app_client(database, database.settings(points_per_cny=200)) as http:
        a = await shop()
        sale = await sell(http, a.auth, "s1", sale_body(await dynamic_code(member, signer), gross_fen=100, points_to_redeem=10))
        assert sale.status_code == 201 and sale.json()["points_value_fen"] == 5, sale.text
        for number, amount in enumerate((30, 30, 40)):
            assert (await reverse(http, a.auth, sale.json()["id"], f"r{number}", amount_fen=amount)).status_code == 201

        statement = (await http.get(f"{BASE}/settlements/2026-06", headers=a.auth)).json()

    assert statement["lines"][0]["points_redeemed"] == 0
    assert statement["points_value_owed_fen"] == 0
