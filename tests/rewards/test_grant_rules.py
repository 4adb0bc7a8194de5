"""Standing grants (gifts granted by rules): a birthday gift each year from a week before,
a holiday gift (lunar ones by the lunar calendar) from a week before to the day, to owners who
join the segment meanwhile too; one reservation per owner and occasion whatever runs; stock
never oversold and the shortfall audited; paused rules grant nothing; staff's routes; an
owner's Idempotency-Key cannot take a gift's place."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from loyalty import jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care.calendar import holidays
from loyalty.care.tables import OutboxMessage
from loyalty.clock import LOCAL_ZONE
from loyalty.errors import InvalidField
from loyalty.members.tables import Member
from loyalty.rewards import service, standing_grants
from loyalty.rewards.standing_grants import GrantRuleDraft, apply_grant_rules
from loyalty.rewards.tables import Redemption, RewardGrant, Reward
from loyalty.worker import celery_app
from tests.rewards.builders import TODAY, member_client, owners, phone, project_id, reward, staff, staff_client

MID_AUTUMN_2026 = next(h.on for h in holidays(2026) if h.key == "mid_autumn")  # 25 September (lunar 8/15)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), LOCAL_ZONE)


async def gift_reward(admin: int, **overrides) -> int:
    return await reward(admin, prices={}, status="draft", **{"stock": 10, **overrides})


async def born(member_id: int, birthday: date) -> None:
    await Member.update({Member.birthday: birthday}).where(Member.id == member_id)


async def gifted(reward_id: int | None = None) -> Counter[int]:
    """Open gift reservations per owner."""
    rows = await Redemption.select(Redemption.member).where(
        Redemption.granted_by.is_not_null() & ((Redemption.reward == reward_id) if reward_id else Redemption.id.is_not_null())
    )
    return Counter(row["member"] for row in rows)


async def stock_left(reward_id: int) -> int:
    return (await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first())["stock_remaining"]


# --- birthdays ---------------------------------------------------------------------------------------


async def test_a_birthday_gift_reaches_an_owner_from_a_week_before_once_a_year(database, frozen, tmp_path):
    soon, later = await owners(tmp_path, 2)
    await born(soon, date(1980, 6, 20))  # in 5 days
    await born(later, date(1985, 7, 15))  # in 30 days
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="birthday"), admin)

    first = await apply_grant_rules(at(TODAY))
    same_day = await apply_grant_rules(at(TODAY, 15))
    next_day = await apply_grant_rules(at(TODAY + timedelta(days=1)))

    assert (first, same_day, next_day) == (1, 0, 0)
    assert await gifted() == {soon: 1}
    (mine,) = await service.owner_redemptions(soon)
    assert (mine["points"], mine["status"], mine["occasion"]) == (0, "reserved", "2026 年生日")
    assert mine["expires_at"] == at(TODAY) + timedelta(days=14)  # the reward's collect days
    assert await OutboxMessage.count().where((OutboxMessage.kind == "reward_pickup") & (OutboxMessage.member == soon)) == 1
    assert await stock_left(gift) == 9

    assert await apply_grant_rules(at(date(2026, 7, 8))) == 1  # a week before the later one's
    assert await apply_grant_rules(at(date(2027, 6, 14))) == 1  # next year: another one
    assert await gifted() == {soon: 2, later: 1}
    keys = {row["occasion_key"] for row in await RewardGrant.select(RewardGrant.occasion_key)}
    assert keys == {"birthday-2026", "birthday-2027"}


async def test_a_29_february_birthday_is_gifted_for_28_february_in_common_years(database, frozen, tmp_path):
    leap, = await owners(tmp_path, 1)
    await born(leap, date(1988, 2, 29))
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="birthday", days_before=0), admin)

    assert await apply_grant_rules(at(date(2027, 2, 27))) == 0
    assert await apply_grant_rules(at(date(2027, 2, 28))) == 1
    assert await apply_grant_rules(at(date(2027, 3, 1))) == 0
    assert await apply_grant_rules(at(date(2028, 2, 29))) == 1


def test_a_birthday_early_in_january_is_gifted_in_december_for_the_next_year():
    found = standing_grants.birthday_occasion(date(1990, 1, 3), 7, date(2026, 12, 29))
    assert found is not None and found.key == "birthday-2027"
    holiday = standing_grants.holiday_occasion("new_year", 7, date(2026, 12, 27))
    assert holiday is not None and holiday[0].key == "new_year-2027"


# --- holidays ---------------------------------------------------------------------------------------


async def test_a_mid_autumn_gift_reaches_the_projects_owners_from_a_week_before_and_those_who_buy_there_meanwhile(
    database, frozen, tmp_path,
):
    here = await owners(tmp_path, 2, project="HZ-YH")
    elsewhere = await owners(tmp_path, 1, start=10, project="SH-BJ")
    joiner = await owners(tmp_path, 1, start=20, project="SH-BJ")
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(
        gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn", project_ids=[await project_id("HZ-YH")]), admin,
    )
    week_before = MID_AUTUMN_2026 - timedelta(days=7)

    assert await apply_grant_rules(at(week_before - timedelta(days=1))) == 0
    assert await apply_grant_rules(at(week_before)) == 2
    await owners(tmp_path, 1, start=20, project="HZ-YH")  # three days later the joiner buys here too
    assert await apply_grant_rules(at(week_before + timedelta(days=3))) == 1
    assert await apply_grant_rules(at(MID_AUTUMN_2026, 20)) == 0
    late = await owners(tmp_path, 1, start=30, project="HZ-YH")
    assert await apply_grant_rules(at(MID_AUTUMN_2026 + timedelta(days=1))) == 0  # after the day: nobody new

    given = await gifted()
    assert given == {member: 1 for member in here + joiner}
    assert not set(given) & set(elsewhere + late)
    assert [r["occasion"] for r in await service.owner_redemptions(here[0])] == ["2026 中秋节"]
    (grant,) = await RewardGrant.select(RewardGrant.occasion_key, RewardGrant.granted)
    assert grant == {"occasion_key": "mid_autumn-2026", "granted": 3}


async def test_a_tier_segment_gives_gold_owners_only(database, frozen, tmp_path):
    gold = await owners(tmp_path, 2, units=2)
    blue = await owners(tmp_path, 2, start=10)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="national_day", tiers=["gold"]), admin)

    assert await apply_grant_rules(at(date(2026, 9, 28))) == 2

    assert set(await gifted()) == set(gold) and not set(blue) & set(await gifted())


async def test_a_shortfall_is_audited_and_the_stock_never_oversold_then_made_up_when_stock_comes(database, frozen, tmp_path):
    members = await owners(tmp_path, 5)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin, stock=3)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)
    day = MID_AUTUMN_2026 - timedelta(days=3)

    assert await apply_grant_rules(at(day)) == 3
    assert set(await gifted()) == set(members[:3])  # by member id
    assert await stock_left(gift) == 0
    short = await AuditEntry.select(AuditEntry.data).where(AuditEntry.action == "reward.grant_rule.short")
    assert [row["data"] for row in short] in ([{"rule": 1, "occasion": "mid_autumn-2026", "short": 2}],
                                              ['{"rule": 1, "occasion": "mid_autumn-2026", "short": 2}'])

    await service.add_stock(gift, 5, admin)
    assert await apply_grant_rules(at(day + timedelta(days=1))) == 2
    assert await gifted() == {member: 1 for member in members}
    assert await stock_left(gift) == 3


async def test_a_paused_rule_grants_nothing_until_resumed(database, frozen, tmp_path):
    await owners(tmp_path, 2)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    rule = await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)
    await standing_grants.set_rule_status(gift, rule, "paused", admin)

    assert await apply_grant_rules(at(MID_AUTUMN_2026)) == 0
    await standing_grants.set_rule_status(gift, rule, "active", admin)
    assert await apply_grant_rules(at(MID_AUTUMN_2026)) == 2
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert [a for a in actions if a.startswith("reward.grant_rule.")][:3] == ["reward.grant_rule.create", "reward.grant_rule.pause", "reward.grant_rule.resume"]


async def test_a_withdrawn_reward_is_given_no_more(database, frozen, tmp_path):
    await owners(tmp_path, 2)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)
    await service.set_status(gift, "withdrawn", admin)

    assert await apply_grant_rules(at(MID_AUTUMN_2026)) == 0
    with pytest.raises(service.rules.RewardNotOnOffer):
        await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="birthday"), admin)


async def test_a_staff_grant_and_a_rule_for_the_same_occasion_key_give_one_gift(database, frozen, tmp_path):
    members = await owners(tmp_path, 2)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)

    _grant, by_hand = await service.grant(gift, staff_id=admin, occasion="mid_autumn-2026")
    by_rule = await apply_grant_rules(at(MID_AUTUMN_2026))

    assert (by_hand, by_rule) == (2, 0)
    assert await gifted() == {member: 1 for member in members}


# --- the job ---------------------------------------------------------------------------------------


def test_the_job_is_registered_and_scheduled_daily_in_beat_and_the_embedded_scheduler():
    assert jobs.JOBS["loyalty.rewards.apply_grant_rules"] == "loyalty.rewards.standing_grants:apply_grant_rules"
    assert jobs.resolve("loyalty.rewards.apply_grant_rules") is apply_grant_rules
    (entry,) = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == "loyalty.rewards.apply_grant_rules"]
    assert entry["schedule"].hour == {8} and entry["schedule"].minute == {40}


def test_the_api_offers_exactly_the_calendars_holidays():
    from typing import get_args

    from loyalty.rewards.schemas import HolidayKey

    assert set(get_args(get_args(HolidayKey)[0])) == set(standing_grants.HOLIDAY_KEYS)


@pytest.mark.postgres_only
async def test_four_runs_at_once_give_each_owner_one_gift_and_take_stock_once_per_owner(database, frozen, tmp_path):
    members = await owners(tmp_path, 40)
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin, stock=30)
    plenty = await gift_reward(admin, stock=100)
    await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)
    await standing_grants.create_rule(plenty, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)

    runs = await asyncio.gather(*(apply_grant_rules(at(MID_AUTUMN_2026)) for _ in range(4)))

    assert sum(runs) == 30 + 40
    assert await gifted(gift) == {member: 1 for member in members[:30]}
    assert await gifted(plenty) == {member: 1 for member in members}
    assert (await stock_left(gift), await stock_left(plenty)) == (0, 60)
    assert await RewardGrant.count() == 2
    assert sum(row["granted"] for row in await RewardGrant.select(RewardGrant.granted)) == 70
    assert await OutboxMessage.count().where(OutboxMessage.kind == "reward_pickup") == 70


@pytest.mark.postgres_only
async def test_two_rules_of_one_gift_with_overlapping_segments_racing_never_oversell(database, frozen, tmp_path):
    here = await owners(tmp_path, 20, project="HZ-YH")
    there = await owners(tmp_path, 20, start=20, project="SH-BJ")
    admin = await staff("admin1", "admin")
    gift = await gift_reward(admin, stock=30)
    everyone = await standing_grants.create_rule(gift, GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn"), admin)
    project = GrantRuleDraft(occasion_kind="holiday", holiday="mid_autumn", project_ids=[await project_id("SH-BJ")])
    over_there = await standing_grants.create_rule(gift, project, admin)
    rules = {r["id"]: r for r in await standing_grants.RewardGrantRule.select()}
    today, now = MID_AUTUMN_2026, at(MID_AUTUMN_2026)

    # Each rule's run takes the first owners of its own segment: without the reward's lock both
    # would count 30 in stock and one of them would fail (or, read-then-write, oversell).
    made = await asyncio.gather(
        standing_grants.apply_rule(rules[everyone], today, now), standing_grants.apply_rule(rules[over_there], today, now),
        standing_grants.apply_rule(rules[over_there], today, now), standing_grants.apply_rule(rules[everyone], today, now),
    )

    assert sum(made) == 30
    given = await gifted(gift)
    assert set(given.values()) == {1} and len(given) == 30 and set(given) <= set(here + there)
    assert await stock_left(gift) == 0
    assert await AuditEntry.count().where(AuditEntry.action == "reward.grant_rule.short") >= 1


# --- an owner's Idempotency-Key and a gift's key -------------------------------------------------------


async def test_an_owner_cannot_take_a_gifts_place_with_its_key(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    admin = await staff("admin1", "admin")
    gift = await reward(admin, prices={"blue": 0}, stock=10)  # free in the catalogue too
    gifts_key = service.gift_key(gift, "2027春节")

    with pytest.raises(InvalidField) as refused:
        await service.redeem(me, gift, gifts_key)  # before the fix: a redemption under the gift's key...
    _grant, made = await service.grant(gift, staff_id=admin, occasion="2027 春节")

    assert refused.value.field == "Idempotency-Key"
    assert made == 1  # ...and the gift found its place taken: 0
    async with member_client(database, settings, phone(0)) as owner:
        answer = await owner.post(f"/api/v1/me/rewards/{gift}/redemptions", headers={"Idempotency-Key": "GIFT:1:x"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"


# --- staff's routes --------------------------------------------------------------------------------------


def next_mid_autumn(today: date) -> date:
    return min(h.on for year in (today.year, today.year + 1) for h in holidays(year) if h.key == "mid_autumn" and h.on >= today)


def test_a_holiday_rules_next_occasion_is_this_years_until_the_day_then_next_years():
    mid_autumn_2027 = next(h.on for h in holidays(2027) if h.key == "mid_autumn")
    assert standing_grants.next_holiday_on("mid_autumn", MID_AUTUMN_2026 - timedelta(days=30)) == MID_AUTUMN_2026
    assert standing_grants.next_holiday_on("mid_autumn", MID_AUTUMN_2026) == MID_AUTUMN_2026
    assert standing_grants.next_holiday_on("mid_autumn", MID_AUTUMN_2026 + timedelta(days=1)) == mid_autumn_2027
    assert standing_grants.next_holiday_on("new_year", date(2026, 12, 31)) == date(2027, 1, 1)


async def test_admins_create_list_pause_and_resume_rules_others_may_not(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    admin_id = await staff("maker", "admin")
    gift = await gift_reward(admin_id)
    base = f"/api/v1/staff/rewards/{gift}/grant-rules"
    async with staff_client(database, settings, "boss", "admin") as admin:
        made = await admin.post(base, json={"occasion_kind": "holiday", "holiday": "mid_autumn", "tiers": ["gold"]})
        assert made.status_code == 201, made.text
        rule = made.json()
        assert (rule["occasion_kind"], rule["holiday"], rule["days_before"], rule["tiers"], rule["status"]) == (
            "holiday", "mid_autumn", 7, ["gold"], "active")
        assert rule["next_on"] == next_mid_autumn(TODAY).isoformat()  # the page says which day is next
        assert (await admin.post(f"{base}/{rule['id']}/pause")).status_code == 204
        listed = await admin.get(base)
        assert [(r["id"], r["status"]) for r in listed.json()] == [(rule["id"], "paused")]
        assert (await admin.post(f"{base}/{rule['id']}/resume")).status_code == 204
        assert (await admin.post(f"/api/v1/staff/rewards/{gift}/grant-rules/999/pause")).status_code == 404
        assert (await admin.get("/api/v1/staff/rewards/999/grant-rules")).status_code == 404

        no_holiday = await admin.post(base, json={"occasion_kind": "holiday"})
        birthday_with_holiday = await admin.post(base, json={"occasion_kind": "birthday", "holiday": "labour_day"})
        unknown_holiday = await admin.post(base, json={"occasion_kind": "holiday", "holiday": "easter"})
        too_early = await admin.post(base, json={"occasion_kind": "birthday", "days_before": 61})
        no_project = await admin.post(base, json={"occasion_kind": "birthday", "project_ids": [999]})
        no_reward = await admin.post("/api/v1/staff/rewards/999/grant-rules", json={"occasion_kind": "birthday"})
    assert (no_holiday.status_code, no_holiday.json()["errors"][0]["field"]) == (422, "holiday"), no_holiday.text
    assert (birthday_with_holiday.status_code, birthday_with_holiday.json()["errors"][0]["field"]) == (422, "holiday")
    assert unknown_holiday.status_code == 400 and "holiday" in unknown_holiday.text
    assert too_early.status_code == 400 and "days_before" in too_early.text
    assert (no_project.status_code, no_project.json()["errors"][0]["field"]) == (422, "project_ids")
    assert no_reward.status_code == 404
    assert await AuditEntry.count().where(AuditEntry.action.like("reward.grant_rule.%")) == 3

    async with staff_client(database, settings, "counter1", "service") as counter:
        assert (await counter.get(base)).status_code == 403
        assert (await counter.post(base, json={"occasion_kind": "birthday"})).status_code == 403
    async with member_client(database, settings, phone(0)) as owner:
        assert (await owner.get(base)).status_code == 401
        assert (await owner.post(f"{base}/{rule['id']}/pause")).status_code == 401
