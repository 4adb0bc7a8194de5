"""The owner's redemptions in their data export and on erasure, and the API faces: the owner
redeems with an Idempotency-Key (a double click answers the first), sees the pick-up code as
a QR, cancels; counter staff scan it once; refusals are problems in the reader's language."""

from __future__ import annotations

import asyncio

from loyalty.cards import service as cards
from loyalty.points import service as points
from loyalty.privacy import erasure, export
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption, Reward
from tests.rewards.builders import give_points, member_client, owners, phone, reward, staff, staff_client


async def test_the_export_carries_redemptions_and_erasure_gives_open_ones_back_before_the_forfeit(database, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    reward_id = await reward()
    await service.redeem(me, reward_id, "k")

    data = await export.collect(me)
    rows = data.kinds["reward_redemptions"].rows
    assert [(r["reward_name_zh"], r["points"], r["status"]) for r in rows] == [("中秋月饼礼盒", 400, "reserved")]
    assert "code_nonce" not in rows[0] and "idempotency_key" not in rows[0]

    await erasure.erase_member(me, reason="本人申请注销", staff_id=await staff("svc", "service"))

    assert (await Redemption.select(Redemption.status).first())["status"] == "cancelled"
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 10
    assert await points.available(me) == 0  # returned, then forfeited with the rest


async def test_an_owner_redeems_once_sees_the_code_and_the_counter_hands_it_over_once(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    reward_id = await reward(stock=5)
    async with member_client(database, settings, phone(0)) as owner, staff_client(database, settings, "counter1", "service") as counter:
        listed = await owner.get("/api/v1/me/rewards")
        assert [(r["id"], r["points"]) for r in listed.json()] == [(reward_id, 400)], listed.text

        taps = await asyncio.gather(*(
            owner.post(f"/api/v1/me/rewards/{reward_id}/redemptions", headers={"Idempotency-Key": "tap-1"}) for _ in range(5)
        ))
        assert sorted(t.status_code for t in taps) == [200, 200, 200, 200, 201], [t.text for t in taps]
        assert len({t.json()["id"] for t in taps}) == 1
        redemption_id = taps[0].json()["id"]

        code = await owner.get(f"/api/v1/me/redemptions/{redemption_id}/code.svg")
        assert code.status_code == 200 and code.text.startswith("<") and "svg" in code.text
        row = await Redemption.select().first()
        text = service.pickup_code(cards.signer_for(settings), row)

        ready = await counter.post(f"/api/v1/staff/rewards/redemptions/{redemption_id}/ready")
        assert ready.status_code == 204, ready.text
        listed = await counter.get("/api/v1/staff/rewards/redemptions")
        assert [r["id"] for r in listed.json()] == [redemption_id] and "****" in listed.json()[0]["member_phone"]

        first = await counter.post("/api/v1/staff/rewards/pickups", json={"code": text})
        second = await counter.post("/api/v1/staff/rewards/pickups", json={"code": text},
                                    headers={"Accept-Language": "en"})
        assert first.status_code == 200 and first.json()["status"] == "picked_up", first.text
        assert second.status_code == 409 and second.json()["type"].endswith("redemption-already-picked-up")

        cancel = await owner.post(f"/api/v1/me/redemptions/{redemption_id}/cancel")
        assert cancel.status_code == 409 and cancel.json()["type"].endswith("redemption-closed"), cancel.text
        mine = await owner.get("/api/v1/me/redemptions")
        assert [r["status"] for r in mine.json()] == ["picked_up"] and mine.json()[0]["status_label_zh"] == "已领取"


async def test_refusals_are_problems_in_chinese_naming_the_field(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 100)
    reward_id = await reward()
    sold_out = await reward(stock=0)
    async with member_client(database, settings, phone(0)) as owner:
        poor = await owner.post(f"/api/v1/me/rewards/{reward_id}/redemptions", headers={"Idempotency-Key": "a"})
        empty = await owner.post(f"/api/v1/me/rewards/{sold_out}/redemptions", headers={"Idempotency-Key": "b"})
        no_key = await owner.post(f"/api/v1/me/rewards/{reward_id}/redemptions")

    assert poor.status_code == 422 and poor.json()["type"].endswith("insufficient-points")
    assert poor.json()["title"] == "积分不足", poor.json()
    assert empty.status_code == 409 and empty.json()["title"] == "此奖品已兑完"
    assert no_key.status_code == 400


async def test_staff_create_publish_grant_and_read_the_report(database, settings, frozen, tmp_path):
    await owners(tmp_path, 2, units=2)
    async with staff_client(database, settings, "boss", "admin") as admin:
        made = await admin.post("/api/v1/staff/rewards", json={
            "kind": "gift", "name_zh": "春节福袋", "starts_on": "2026-06-01", "ends_on": "2026-07-01", "stock": 5,
            "prices": {"gold": 0},
        })
        assert made.status_code == 201, made.text
        reward_id = made.json()["id"]
        granted = await admin.post(f"/api/v1/staff/rewards/{reward_id}/grants", json={"occasion": "2027 春节", "tiers": ["gold"]})
        assert granted.status_code == 201 and granted.json()["granted"] == 2, granted.text
        published = await admin.post(f"/api/v1/staff/rewards/{reward_id}/publication")
        assert published.status_code == 204
        report = await admin.get("/api/v1/staff/rewards/report")
        row = report.json()[0]
        assert (row["reserved"], row["stock_remaining"], row["points_held"]) == (2, 3, 0), row
        bad = await admin.post("/api/v1/staff/rewards", json={
            "kind": "gift", "name_zh": "x", "starts_on": "2026-06-10", "ends_on": "2026-06-01", "stock": 1, "prices": {},
        })
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ends_on", bad.text
