"""POST /partner/v1/sales/{id}/reversals: a return gives back points paid and takes back points
earned in proportion (voided while they are pending, clawed back after they vested), and all
reversals of a sale together never exceed it."""

from __future__ import annotations

from datetime import timedelta

from loyalty.merchants.tables import Sale
from loyalty.points import service as points
from tests.partner_api.builders import TODAY, GOLD, at, balance, dynamic_code, owner, problem, reverse, sale_body, sell, shop

AFTER_THE_WINDOW = TODAY + timedelta(days=7)


async def vest(frozen) -> None:
    """The merchant's reversal window (7 days) ends and the daily vest job runs."""
    frozen.move_to(at(AFTER_THE_WINDOW))
    assert await points.vest_due(AFTER_THE_WINDOW) >= 1


async def gold_sale(client, tmp_path, signer, *, points_balance: int = 5000):
    """A gold owner's sale of 1000 CNY: 100 CNY off, 2000 points paid, 880 points earned
    (pending for the reversal window)."""
    member = await owner(tmp_path, GOLD, points_balance=points_balance)
    a = await shop(points_per_cny=1)
    body = sale_body(await dynamic_code(member, signer), gross_fen=100_000, discount_fen=10_000, points_to_redeem=2000)
    response = await sell(client, a.auth, "s1", body)
    assert response.status_code == 201, response.text
    return member, a, response.json()


async def test_a_partial_reversal_returns_points_and_takes_back_earned_points_in_proportion(client, frozen, tmp_path, signer):
    member, a, sale = await gold_sale(client, tmp_path, signer)

    response = await reverse(client, a.auth, sale["id"], "r1", amount_fen=30_000)

    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("sale_id", "amount_fen", "discount_fen", "points_returned", "points_removed")} == {
        "sale_id": sale["id"], "amount_fen": 30_000, "discount_fen": 3000, "points_returned": 600, "points_removed": 264,
    }
    # the 264 earned points taken back were still pending: voided, never spendable
    assert body["points_balance_after"] == 3000 + 600 == await balance(member)
    assert (await points.balance(member)).pending == 880 - 264
    assert (await client.get(f"/partner/v1/sales/{sale['id']}", headers=a.auth)).json()["reversed_fen"] == 30_000


async def test_a_reversal_without_an_amount_reverses_the_whole_rest_and_restores_the_balance(client, frozen, tmp_path, signer):
    member, a, sale = await gold_sale(client, tmp_path, signer)
    await reverse(client, a.auth, sale["id"], "r1", amount_fen=30_000)

    rest = await reverse(client, a.auth, sale["id"], "r2")

    assert rest.status_code == 201, rest.text
    got = rest.json()
    assert (got["amount_fen"], got["points_returned"], got["points_removed"], got["discount_fen"]) == (70_000, 1400, 616, 7000)
    assert await balance(member) == 5000


async def test_several_partial_reversals_add_up_exactly_and_never_exceed_the_sale(client, frozen, tmp_path, signer):
    member, a, sale = await gold_sale(client, tmp_path, signer)
    parts = [33_333, 33_333, 33_333, 1]

    made = [(await reverse(client, a.auth, sale["id"], f"r{n}", amount_fen=amount)).json() for n, amount in enumerate(parts)]
    over = await reverse(client, a.auth, sale["id"], "r-over", amount_fen=1)

    assert sum(r["amount_fen"] for r in made) == 100_000
    assert sum(r["points_returned"] for r in made) == 2000
    assert sum(r["points_removed"] for r in made) == 880
    assert sum(r["discount_fen"] for r in made) == 10_000
    assert (over.status_code, problem(over)) == (422, "/problems/reversal-exceeds-sale")
    assert over.json()["left_fen"] == 0
    assert (await Sale.select(Sale.reversed_fen).first())["reversed_fen"] == 100_000
    assert await balance(member) == 5000


async def test_a_reversal_larger_than_what_is_left_is_refused_and_changes_nothing(client, frozen, tmp_path, signer):
    member, a, sale = await gold_sale(client, tmp_path, signer)
    await reverse(client, a.auth, sale["id"], "r1", amount_fen=60_000)
    before = await balance(member)

    response = await reverse(client, a.auth, sale["id"], "r2", amount_fen=40_001)

    assert (response.status_code, problem(response)) == (422, "/problems/reversal-exceeds-sale")
    assert response.json()["left_fen"] == 40_000
    assert await balance(member) == before
    assert (await Sale.select(Sale.reversed_fen).first())["reversed_fen"] == 60_000


async def test_a_reversal_of_an_unknown_sale_is_not_found(client, frozen, tmp_path):
    a = await shop()

    response = await reverse(client, a.auth, 999, "r1", amount_fen=100)

    assert (response.status_code, problem(response)) == (404, "/problems/not-found")


async def test_a_zero_or_negative_reversal_amount_is_a_validation_error(client, frozen, tmp_path, signer):
    member, a, sale = await gold_sale(client, tmp_path, signer)

    for amount in (0, -100):
        response = await reverse(client, a.auth, sale["id"], f"r{amount}", amount_fen=amount)
        assert (response.status_code, problem(response)) == (400, "/problems/validation-error")


async def test_a_reversal_takes_earned_points_back_out_of_the_points_it_returns(client, frozen, tmp_path, signer):
    # The owner spent every point after the sale; the return gives 2000 points back, and the
    # 880 earned on the reversed sale must come out of them (clawback within the balance
    # *after* the return), not be forgiven because the balance was empty a moment before.
    member, a, sale = await gold_sale(client, tmp_path, signer, points_balance=2000)
    await vest(frozen)
    assert await balance(member) == 880
    await points.redeem(member, 880, key="spent-elsewhere", source_kind="test")

    response = await reverse(client, a.auth, sale["id"], "r1")

    assert response.status_code == 201, response.text
    assert await balance(member) == 2000 - 880
    assert response.json()["points_removed"] == 880


async def test_a_reversal_reports_the_earned_points_it_actually_took_back(client, frozen, tmp_path, signer):
    # Without points paid there is nothing returned to take the clawback from: the balance
    # covers only part of it, and the reversal (and the settlement) must say what was taken.
    member = await owner(tmp_path, GOLD)
    a = await shop(points_per_cny=1)
    sale = (await sell(client, a.auth, "s1", sale_body(await dynamic_code(member, signer), gross_fen=100_000))).json()
    assert sale["points_earned"] == 1000
    await vest(frozen)
    await points.redeem(member, 700, key="spent-elsewhere", source_kind="test")

    response = await reverse(client, a.auth, sale["id"], "r1")

    assert response.status_code == 201, response.text
    assert await balance(member) == 0
    assert response.json()["points_removed"] == 300  # 700 of the 1000 were already spent
