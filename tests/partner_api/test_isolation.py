"""A merchant sees, reverses and settles only its own sales — another merchant's sale is a 404
(not a 403, so ids leak nothing) — and a store-scoped key only its own store's."""

from __future__ import annotations

from loyalty.merchants.tables import Sale, SaleReversal
from tests.partner_api.builders import (
    BASE, GOLD, balance, dynamic_code, owner, problem, reverse, sale_body, sell, shop, static_code,
)


async def two_merchants(client, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a, b = await shop("A"), await shop("B")
    sale = await sell(client, a.auth, "a-1", sale_body(await dynamic_code(member, signer), points_to_redeem=1000))
    assert sale.status_code == 201
    return member, a, b, sale.json()


async def test_another_merchant_cannot_read_a_sale_it_gets_404(client, frozen, tmp_path, signer):
    _, a, b, sale = await two_merchants(client, tmp_path, signer)

    response = await client.get(f"{BASE}/sales/{sale['id']}", headers=b.auth)

    assert (response.status_code, problem(response)) == (404, "/problems/not-found")
    assert (await client.get(f"{BASE}/sales/{sale['id']}", headers=a.auth)).status_code == 200


async def test_another_merchant_does_not_see_a_sale_in_its_list(client, frozen, tmp_path, signer):
    _, a, b, sale = await two_merchants(client, tmp_path, signer)

    seen_by_b = (await client.get(f"{BASE}/sales", headers=b.auth)).json()
    seen_by_a = (await client.get(f"{BASE}/sales", headers=a.auth)).json()

    assert seen_by_b == {"items": [], "next_cursor": None}
    assert [item["id"] for item in seen_by_a["items"]] == [sale["id"]]


async def test_another_merchant_cannot_reverse_a_sale_it_gets_404_and_nothing_changes(client, frozen, tmp_path, signer):
    member, a, b, sale = await two_merchants(client, tmp_path, signer)

    partial = await reverse(client, b.auth, sale["id"], "b-r1", amount_fen=1000)
    whole = await reverse(client, b.auth, sale["id"], "b-r2")

    for response in (partial, whole):
        assert (response.status_code, problem(response)) == (404, "/problems/not-found")
    assert await SaleReversal.count() == 0
    assert (await Sale.select(Sale.reversed_fen).first())["reversed_fen"] == 0
    assert await balance(member) == 4000


async def test_a_reversal_key_of_another_merchant_replays_nothing_of_it(client, frozen, tmp_path, signer):
    _, a, b, sale = await two_merchants(client, tmp_path, signer)
    await reverse(client, a.auth, sale["id"], "shared-key", amount_fen=1000)

    response = await reverse(client, b.auth, sale["id"], "shared-key", amount_fen=1000)

    assert (response.status_code, problem(response)) == (404, "/problems/not-found")


async def test_a_sale_key_of_another_merchant_replays_nothing_of_it(client, frozen, tmp_path, signer):
    member, a, b, sale = await two_merchants(client, tmp_path, signer)
    body = sale_body(await dynamic_code(member, signer), points_to_redeem=1000)

    response = await sell(client, b.auth, "a-1", body)

    assert response.status_code == 201
    assert response.json()["id"] != sale["id"]


async def test_another_merchant_settles_none_of_its_sales(client, frozen, tmp_path, signer):
    _, a, b, _ = await two_merchants(client, tmp_path, signer)

    seen_by_b = (await client.get(f"{BASE}/settlements/2026-06", headers=b.auth)).json()
    csv_of_b = (await client.get(f"{BASE}/settlements/2026-06.csv", headers=b.auth)).text
    seen_by_a = (await client.get(f"{BASE}/settlements/2026-06", headers=a.auth)).json()

    assert (seen_by_b["lines"], seen_by_b["points_value_owed_fen"], seen_by_b["sales"]) == ([], 0, 0)
    assert csv_of_b.strip().count("\n") == 0  # the header only
    assert (seen_by_a["sales"], seen_by_a["points_value_owed_fen"]) == (1, 1000)


async def test_another_merchant_cannot_sell_at_a_store_code_only_the_first_has(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop("A", stores=("HZ01",))
    b = await shop("B", stores=("SH01",))

    response = await sell(client, b.auth, "b-1", sale_body(await static_code(member, signer), store="HZ01"))

    assert (response.status_code, problem(response)) == (422, "/problems/store-not-found")
    assert a.stores["HZ01"] and await Sale.count() == 0


# --- store-scoped keys ------------------------------------------------------------------------


async def store_sales(client, tmp_path, signer):
    """Sales at S1 and S2 of one merchant, made with the merchant-wide key."""
    member = await owner(tmp_path, GOLD, points_balance=5000)
    a = await shop(store_keys=True)
    s1 = (await sell(client, a.auth, "k1", sale_body(await dynamic_code(member, signer), store="S1", points_to_redeem=100))).json()
    s2 = (await sell(client, a.auth, "k2", sale_body(await dynamic_code(member, signer), store="S2", points_to_redeem=100))).json()
    return member, a, s1, s2


async def test_a_store_key_sells_at_its_own_store_without_naming_it(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(store_keys=True)
    code = await static_code(member, signer)

    unnamed = await sell(client, a.store_auth("S2"), "k1", sale_body(code, store=None))
    named = await sell(client, a.store_auth("S2"), "k2", sale_body(code, store="S2"))

    assert (unnamed.status_code, named.status_code) == (201, 201)
    assert unnamed.json()["store_id"] == named.json()["store_id"] == a.stores["S2"]


async def test_a_store_key_cannot_sell_at_another_store(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(store_keys=True)

    response = await sell(client, a.store_auth("S2"), "k1", sale_body(await static_code(member, signer), store="S1"))

    assert (response.status_code, problem(response)) == (422, "/problems/store-not-found")
    assert await Sale.count() == 0


async def test_a_store_key_lists_only_its_stores_sales(client, frozen, tmp_path, signer):
    _, a, s1, s2 = await store_sales(client, tmp_path, signer)

    listed = (await client.get(f"{BASE}/sales", headers=a.store_auth("S1"))).json()
    other_store = await client.get(f"{BASE}/sales", params={"store": "S2"}, headers=a.store_auth("S1"))

    assert [item["id"] for item in listed["items"]] == [s1["id"]]
    assert (other_store.status_code, problem(other_store)) == (422, "/problems/store-not-found")


async def test_a_store_key_cannot_read_another_stores_sale(client, frozen, tmp_path, signer):
    _, a, s1, s2 = await store_sales(client, tmp_path, signer)

    own = await client.get(f"{BASE}/sales/{s1['id']}", headers=a.store_auth("S1"))
    other = await client.get(f"{BASE}/sales/{s2['id']}", headers=a.store_auth("S1"))

    assert own.status_code == 200
    assert (other.status_code, problem(other)) == (404, "/problems/not-found")


async def test_a_store_key_cannot_reverse_another_stores_sale(client, frozen, tmp_path, signer):
    member, a, s1, s2 = await store_sales(client, tmp_path, signer)

    response = await reverse(client, a.store_auth("S1"), s2["id"], "r1")

    assert (response.status_code, problem(response)) == (404, "/problems/not-found")
    assert await SaleReversal.count() == 0
    assert await balance(member) == 4800


async def test_a_store_key_settles_only_its_store(client, frozen, tmp_path, signer):
    _, a, _, _ = await store_sales(client, tmp_path, signer)

    statement = (await client.get(f"{BASE}/settlements/2026-06", headers=a.store_auth("S2"))).json()
    as_csv = (await client.get(f"{BASE}/settlements/2026-06.csv", headers=a.store_auth("S2"))).text

    assert [line["store_code"] for line in statement["lines"]] == ["S2"]
    assert (statement["sales"], statement["points_value_owed_fen"]) == (1, 100)
    assert "S1" not in as_csv and "S2" in as_csv


async def test_a_store_key_never_gets_another_stores_sale_as_a_replay(client, frozen, tmp_path, signer):
    # Idempotency keys are kept per merchant; two tills of two stores that happen to number
    # their requests alike must not be handed each other's sales.
    member = await owner(tmp_path, GOLD)
    a = await shop(store_keys=True)
    body = sale_body(await static_code(member, signer), store=None)
    at_s1 = await sell(client, a.store_auth("S1"), "0001", body)

    at_s2 = await sell(client, a.store_auth("S2"), "0001", body)

    assert at_s1.status_code == 201
    assert not (at_s2.status_code == 200 and at_s2.json()["store_id"] == a.stores["S1"]), at_s2.text
