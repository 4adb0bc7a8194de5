"""A sale writes the same rows on both engines: PostgreSQL records it in one statement
(points.redeem_and_earn), SQLite step by step; the entries, lot draws, earn lot, balance and
the reversal that undoes them must not differ by a point or a key."""
from datetime import date, timedelta

from loyalty.merchants.tables import Sale
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry, LotDraw, PointsLot, PointsAccount
from tests.partner_api.builders import GOLD, TODAY, at, dynamic_code, owner, sale_body, sell, shop


async def test_a_sale_and_its_reversal_write_the_same_ledger_rows_on_both_engines(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    for n, (day, pts) in enumerate([(date(2026, 3, 1), 300), (date(2025, 5, 1), 200), (date(2026, 1, 2), 1000)]):
        await points.earn(member, pts, key=f"lot{n}", source_kind="test", today=day)
    a = await shop(points_per_cny=1)
    code = await dynamic_code(member, signer)
    r = await sell(client, a.auth, "k1", sale_body(code, gross_fen=100_000, discount_fen=10_000, points_to_redeem=400))
    assert r.status_code == 201, r.text
    sale = r.json()
    entries = await LedgerEntry.select().where(LedgerEntry.source_kind == "sale").order_by(LedgerEntry.id)
    assert [(e["kind"], e["available_delta"], e["pending_delta"], e["available_after"], e["pending_after"], e["actor_kind"], e["actor_id"]) for e in entries] == [
        ("redeem", -400, 0, 1100, 0, "merchant", a.merchant_id), ("earn", 0, 896, 1100, 896, "merchant", a.merchant_id)]
    assert entries[0]["idempotency_key"] == f"sale-pay:{a.merchant_id}:k1" and entries[1]["idempotency_key"] == f"sale-earn:{a.merchant_id}:k1"
    assert entries[0]["request_hash"] == points.request_hash(op="redeem", member=member, points=400, source=["sale", entries[0]["source_id"]])
    assert entries[1]["request_hash"] == points.request_hash(op="earn", member=member, points=896, source=["sale", entries[0]["source_id"]], vests=TODAY + timedelta(days=7))
    assert entries[0]["lot"] is None and entries[0]["reverses"] is None and entries[0]["reason"] == ""
    draws = await LotDraw.select(LotDraw.entry, LotDraw.lot.as_alias("lot"), LotDraw.amount).where(LotDraw.entry == entries[0]["id"]).order_by(LotDraw.lot)
    lots = {l["id"]: l for l in await PointsLot.select().order_by(PointsLot.id)}
    by_amount = sorted((lots[d["lot"]]["expires_on"], d["amount"]) for d in draws)
    assert by_amount == [(date(2026, 12, 31), 200), (date(2027, 12, 31), 200)], by_amount
    earn_lot = lots[entries[1]["lot"]]
    assert (earn_lot["entry"], earn_lot["amount"], earn_lot["remaining"], earn_lot["status"], earn_lot["expires_on"], earn_lot["vests_on"]) == (
        entries[1]["id"], 896, 896, "pending", None, TODAY + timedelta(days=7))
    account = await PointsAccount.select().first()
    assert sale["points_balance_after"] == 1100 == account["available"] and account["pending"] == 896
    row = await Sale.select().first()
    assert row["created_at"] is not None and row["reversed_fen"] == 0
    assert (row["code_step"], row["earn_vests_on"], row["earn_cap"]) == (int(at(TODAY).timestamp() // 60), TODAY + timedelta(days=7), "")
    # a reversal gives the paid points back to the lots they came from and voids the pending earn
    rv = await client.post(f"/partner/v1/sales/{sale['id']}/reversals", json={"reason": "x"}, headers={**a.auth, "Idempotency-Key": "r1"})
    assert rv.status_code == 201, rv.text
    assert rv.json()["points_balance_after"] == 1500
    assert (await PointsAccount.select().first())["pending"] == 0
    assert (await PointsLot.select().where(PointsLot.id == earn_lot["id"]).first())["status"] == "void"
