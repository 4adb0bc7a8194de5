"""The owner's statement says what each entry is, in words in the reader's locale ("推荐好友 王五
到访", "在 云湖建材 消费抵扣", "积分过期"), never a raw source (`referral 1:visited`); the
schedule says what expires when and what becomes available when; the rewards catalogue is
linked only where the deployment has one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest
import time_machine

from loyalty.app import create_app
from loyalty.clock import LOCAL_ZONE
from loyalty.members.tables import Member
from loyalty.merchants import service as merchants
from loyalty.points import service as points
from tests.events.builders import event
from tests.identity.builders import add_staff, log_in_member, log_in_staff
from tests.referrals.builders import OTHER_OWNER, REFERRER, World, build_world, e164, move, register

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 6, 15, 12, 0, tzinfo=LOCAL_ZONE), tick=False) as traveller:
        yield traveller


@pytest.fixture
async def world(database, tmp_path) -> World:
    return await build_world(tmp_path)


async def statement_of(database, settings, phone: str, language: str = "zh-CN", **params) -> dict:
    await Member.update({Member.language: language}).where(Member.phone == e164(phone))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, engine=database.engine)), base_url="http://t") as http:
        await log_in_member(http, e164(phone))
        response = await http.get("/api/v1/me/points", params=params)
        assert response.status_code == 200, response.text
        return response.json()


async def a_history(world: World) -> dict[str, int]:
    """A visit reward (then its lead signs: a pending reward), a sale paid with points at a
    shop, an event attended, staff's adjustment, and last year's lot expired."""
    lead = await register(world, name="王五")
    await move(world, lead, "visited")
    shop = await merchants.create_merchant("云湖建材", "decoration", points_per_cny=1)
    await points.redeem(world.referrer, 50, key="sale-pay:x", source_kind="sale", source_id=f"{shop}:abcdef")
    party = await event(title_zh="中秋游园", title_en="Mid-Autumn fair")
    await points.earn(world.referrer, 30, key="event-attend:x", source_kind="event", source_id=str(party))
    await points.adjust(world.referrer, 20, key="adjust:x", reason="维修延误补偿", staff_id=world.sales)
    await points.earn(world.referrer, 70, key="old", source_kind="event", source_id=str(party), today=date(2024, 3, 1))
    await points.expire_due(TODAY)
    await move(world, lead, "signed")
    return {"lead": lead["id"], "shop": shop, "event": party}


async def test_each_entry_is_described_in_words_in_chinese(world, database, settings):
    await a_history(world)

    body = await statement_of(database, settings, REFERRER)

    words = [e["description"] for e in body["entries"]]
    assert words == [
        "推荐好友 王五 签约",
        "积分过期",
        "参加活动「中秋游园」",
        "客服调整：维修延误补偿",
        "参加活动「中秋游园」",
        "在 云湖建材 消费抵扣",
        "推荐好友 王五 到访",
    ]
    signed = body["entries"][0]
    assert (signed["available_delta"], signed["pending_delta"] > 0) == (0, True)  # pending until it vests
    assert not any(":" in w and w.split(":")[0].isdigit() for w in words)


async def test_the_same_entries_in_english(world, database, settings):
    await a_history(world)

    body = await statement_of(database, settings, REFERRER, language="en")

    assert [e["description"] for e in body["entries"]] == [
        "Referred friend 王五 signed the purchase contract",
        "Points expired",
        "Attended Mid-Autumn fair",
        "Adjusted by customer service: 维修延误补偿",
        "Attended Mid-Autumn fair",
        "Paid with points at 云湖建材",
        "Referred friend 王五 visited the sales office",
    ]


async def test_vesting_names_what_became_available_and_the_friend_who_bought_is_welcomed(world, database, settings, frozen):
    lead = await register(world, name="王五")
    await move(world, lead, "signed")
    frozen.move_to(datetime(2026, 8, 1, 12, 0, tzinfo=LOCAL_ZONE))
    await points.vest_due()

    mine = await statement_of(database, settings, REFERRER)
    theirs = await statement_of(database, settings, "13900139001")

    assert mine["entries"][0]["description"] == "积分到账：推荐好友 王五 签约"
    assert mine["entries"][0]["available_delta"] > 0
    # The new owner's welcome points: what they are for, never who referred them.
    assert {e["description"] for e in theirs["entries"]} <= {"经推荐购房的欢迎积分", "积分到账：经推荐购房的欢迎积分"}
    assert all("李四" not in e["description"] for e in theirs["entries"])


async def test_a_cancelled_deal_says_its_reward_was_taken_back(world, database, settings):
    lead = await register(world, name="王五")
    await move(world, lead, "signed")
    await move(world, lead, "cancelled")

    body = await statement_of(database, settings, REFERRER)

    assert body["entries"][0]["description"] == "推荐好友 王五 的交易取消，奖励收回"


async def test_the_history_pages_with_words_on_every_page(world, database, settings):
    party = await event(title_zh="中秋游园", title_en="Mid-Autumn fair")
    for n in range(3):
        await points.earn(world.referrer, 10 + n, key=f"e{n}", source_kind="event", source_id=str(party))

    first = await statement_of(database, settings, REFERRER, limit=2)
    second = await statement_of(database, settings, REFERRER, limit=2, cursor=first["next_cursor"])

    assert [e["available_delta"] for e in first["entries"] + second["entries"]] == [12, 11, 10]
    assert {e["description"] for e in first["entries"] + second["entries"]} == {"参加活动「中秋游园」"}
    assert second["next_cursor"] is None


async def test_the_schedule_says_what_expires_and_what_vests_when(world, database, settings):
    party = await event(title_zh="中秋游园")
    await points.earn(world.referrer, 70, key="last-year", source_kind="event", source_id=str(party), today=date(2025, 3, 1))
    await points.earn(world.referrer, 30, key="this-year", source_kind="event", source_id=str(party), today=TODAY)
    await points.earn(world.referrer, 5, key="also-last-year", source_kind="event", source_id=str(party), today=date(2025, 9, 1))
    await points.earn(world.referrer, 500, key="pending", source_kind="event", source_id=str(party), vests_on=date(2026, 7, 15))
    await points.redeem(world.referrer, 20, key="spent", source_kind="sale", source_id="1:x")  # oldest lot first
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, engine=database.engine)), base_url="http://t") as http:
        await log_in_member(http, e164(REFERRER))
        response = await http.get("/api/v1/me/points/schedule")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "expiring": [{"date": "2026-12-31", "points": 55}, {"date": "2027-12-31", "points": 30}],
        "vesting": [{"date": "2026-07-15", "points": 500}],
    }


async def test_the_schedule_needs_a_member_login(database, client):
    assert (await client.get("/api/v1/me/points/schedule")).status_code == 401


async def test_the_balance_is_worth_what_the_deployments_points_per_cny_says(world, database, settings):
    """The owner's page and the till count points in money alike: both follow LOYALTY_POINTS_PER_CNY."""
    await points.earn(world.referrer, 1_000, key="gift-1000", source_kind="adjustment", source_id="t")

    at_100 = await statement_of(database, settings, REFERRER)
    at_50 = await statement_of(database, settings.with_overrides(points_per_cny=50), REFERRER)

    assert at_100["balance"]["available"] == at_50["balance"]["available"] == 1_000
    assert (at_100["balance"]["value_fen"], at_50["balance"]["value_fen"]) == (1_000, 2_000)


async def test_staff_read_the_same_words(world, database, settings):
    await a_history(world)
    await add_staff("kefu", "service")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, engine=database.engine)), base_url="http://t") as http:
        await log_in_staff(http, "kefu")
        body = (await http.get(f"/api/v1/staff/members/{world.referrer}/points", headers={"accept-language": "zh-CN"})).json()
    assert body["entries"][-1]["description"] == "推荐好友 王五 到访"
