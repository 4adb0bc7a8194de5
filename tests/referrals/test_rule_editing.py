"""Admins edit the referral reward rules (老带新, both sides): points, vesting days, a gift,
switched on or off; audited with before and after; only admins; bad input is a problem naming
its field; and the next lead to reach the stage gets what the rule says now."""

from __future__ import annotations

import json

from loyalty.audit.tables import AuditEntry
from loyalty.referrals.tables import RewardRule
from loyalty.rewards import service as rewards
from loyalty.rewards.tables import Redemption
from tests.events.builders import event
from tests.identity.builders import add_staff, log_in_member, log_in_staff
from tests.referrals.builders import FRIEND, REFERRER, balance, e164, member_of, move, register
from tests.rewards.builders import reward


async def _staff(new_client, username: str, role: str):
    await add_staff(username, role)
    http = await new_client()
    await log_in_staff(http, username)
    return http


async def _rule_id(stage: str, beneficiary: str) -> int:
    row = await RewardRule.select(RewardRule.id).where(
        (RewardRule.stage == stage) & (RewardRule.beneficiary == beneficiary)
    ).first()
    return row["id"]


async def test_an_admin_sets_points_and_a_gift_and_the_next_signing_pays_them(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    box = await reward(name_zh="中秋月饼礼盒", name_en="Mid-Autumn mooncake box", stock=5)
    signing = await _rule_id("signed", "referrer")

    answer = await admin.patch(f"/api/v1/staff/referral-rules/{signing}", json={"points": 2000, "gift_reward_id": box})

    assert answer.status_code == 200, answer.text
    rule = answer.json()
    assert (rule["stage"], rule["beneficiary"], rule["points"], rule["vesting_days"], rule["active"]) == (
        "signed", "referrer", 2000, 30, True)
    assert (rule["gift_reward_id"], rule["gift_name_zh"], rule["gift_name_en"]) == (box, "中秋月饼礼盒", "Mid-Autumn mooncake box")
    listed = (await admin.get("/api/v1/staff/referral-rules")).json()
    assert [(r["stage"], r["beneficiary"]) for r in listed] == [
        ("visited", "referrer"), ("signed", "new_owner"), ("signed", "referrer")]
    assert next(r for r in listed if r["id"] == signing)["gift_name_zh"] == "中秋月饼礼盒"

    lead = await register(world)
    await move(world, lead, "signed")

    assert await balance(world.referrer) == (200, 2000)  # the visit's 200, and the new 2,000 pending 30 days
    gifts = await Redemption.select(Redemption.reward, Redemption.points).where(Redemption.member == world.referrer)
    assert gifts == [{"reward": box, "points": 0}]


async def test_the_change_is_audited_with_before_and_after(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    box = await reward(stock=5)
    visit = await _rule_id("visited", "referrer")

    await admin.patch(f"/api/v1/staff/referral-rules/{visit}", json={"points": 300, "gift_reward_id": box, "active": True})
    await admin.patch(f"/api/v1/staff/referral-rules/{visit}", json={"gift_reward_id": None})

    entries = await AuditEntry.select().where(AuditEntry.action == "referral_rule.update").order_by(AuditEntry.id)
    assert [(e["subject_kind"], e["subject_id"], json.loads(e["data"]) if isinstance(e["data"], str) else e["data"])
            for e in entries] == [
        ("reward_rule", visit, {"stage": "visited", "beneficiary": "referrer",
                                "before": {"points": 200, "gift_reward_id": None}, "after": {"points": 300, "gift_reward_id": box}}),
        ("reward_rule", visit, {"stage": "visited", "beneficiary": "referrer",
                                "before": {"gift_reward_id": box}, "after": {"gift_reward_id": None}}),
    ]
    assert all(e["actor_kind"] == "staff" and e["actor_id"] for e in entries)


async def test_a_gift_only_rule_gives_the_gift_and_no_points(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    box = await reward(kind="gift", stock=5)
    welcome = await _rule_id("signed", "new_owner")

    answer = await admin.patch(f"/api/v1/staff/referral-rules/{welcome}", json={"points": 0, "gift_reward_id": box})
    assert answer.status_code == 200, answer.text
    lead = await register(world)
    await move(world, lead, "signed")

    friend = await member_of(FRIEND)
    assert await balance(friend) == (0, 0)
    assert [r["reward"] for r in await Redemption.select(Redemption.reward).where(Redemption.member == friend)] == [box]
    owner = await new_client()
    await log_in_member(owner, e164(REFERRER))
    rules = (await owner.get("/api/v1/me/referrals/rules")).json()["rewards"]
    assert {(r["beneficiary"], r["points"], r["gift_name_zh"]) for r in rules if r["stage"] == "signed"} == {
        ("referrer", 5000, None), ("new_owner", 0, "中秋月饼礼盒")}


async def test_only_admins_may_list_or_change_the_rules(world, new_client):
    visit = await _rule_id("visited", "referrer")
    for role in ("sales", "service", "event_staff"):
        http = await _staff(new_client, f"not-admin-{role}", role)
        assert (await http.get("/api/v1/staff/referral-rules")).status_code == 403, role
        assert (await http.patch(f"/api/v1/staff/referral-rules/{visit}", json={"points": 1})).status_code == 403, role
    owner = await new_client()
    await log_in_member(owner, e164(REFERRER))
    assert (await owner.get("/api/v1/staff/referral-rules")).status_code == 401
    assert (await owner.patch(f"/api/v1/staff/referral-rules/{visit}", json={"points": 1})).status_code == 401
    assert (await RewardRule.select(RewardRule.points).where(RewardRule.id == visit).first())["points"] == 200


async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    gone = await reward(stock=5)
    await rewards.set_status(gone, "withdrawn", world.sales)
    signing = await _rule_id("signed", "referrer")
    url = f"/api/v1/staff/referral-rules/{signing}"

    cases = [
        ({"gift_reward_id": 999_999}, "gift_reward_id"),  # no such reward
        ({"gift_reward_id": gone}, "gift_reward_id"),  # withdrawn
        ({"points": -1}, "points"),
        ({"points": 1_000_001}, "points"),
        ({"vesting_days": 366}, "vesting_days"),
        ({"points": 0}, "points"),  # active, no gift: it would give nothing
        ({"stage": "visited"}, "stage"),  # not editable: a rule's stage and beneficiary are what it is
    ]
    for body, field in cases:
        answer = await admin.patch(url, json=body)
        assert 400 <= answer.status_code < 500, (body, answer.text)
        assert answer.json()["errors"][0]["field"] == field, (body, answer.text)
    assert (await admin.patch("/api/v1/staff/referral-rules/999999", json={"points": 1})).status_code == 404

    row = await RewardRule.select().where(RewardRule.id == signing).first()
    assert (row["points"], row["vesting_days"], row["active"], row["gift_reward"]) == (5000, 30, True, None)
    assert await AuditEntry.count().where(AuditEntry.action == "referral_rule.update") == 0


async def test_a_rule_switched_off_may_give_nothing_and_pays_nothing(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    visit = await _rule_id("visited", "referrer")

    answer = await admin.patch(f"/api/v1/staff/referral-rules/{visit}", json={"points": 0, "active": False})
    assert answer.status_code == 200, answer.text
    lead = await register(world)
    await move(world, lead, "visited")

    assert await balance(world.referrer) == (0, 0)


async def test_an_event_seat_may_be_a_referral_gift(world, new_client):
    admin = await _staff(new_client, "boss", "admin")
    seat = await reward(kind="event_seat", name_zh="亲子烘焙课名额", event_id=await event(), pickup_place="")
    signing = await _rule_id("signed", "referrer")

    answer = await admin.patch(f"/api/v1/staff/referral-rules/{signing}", json={"gift_reward_id": seat})

    assert answer.status_code == 200, answer.text
