"""Who may sign up for a free event, and when: eligibility by tier, lifecycle stage and project
(refused with the rule that failed, and explained in the member's event list), the sign-up
window's edges to the second, party size, a second signup, cancelled events and drafts.

Owners come in through the real importer: 1 unit makes a blue card, 2 units a gold one; no
delivery date makes a pre-owner, a delivery last December a settling-in owner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.events.tables import Event, Signup
from tests.events.builders import (
    NOW, event, member_client, owners, phone, problem, project_id, seats, speaks, staff, staff_client,
)


def listed(response, event_id: int) -> dict:
    assert response.status_code == 200, response.text
    found = [e for e in response.json() if e["id"] == event_id]
    assert len(found) == 1, response.json()
    return found[0]


async def signup_count(event_id: int) -> int:
    return await Signup.count().where(Signup.event == event_id)


# --- eligibility -----------------------------------------------------------------------------


async def test_a_gold_only_event_refuses_a_blue_owner_naming_the_tier_rule_and_takes_a_gold_one(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1, units=1, start=0)  # blue
    await owners(tmp_path, 1, units=2, start=1)  # gold
    event_id = await event(eligible_tiers=["gold"])

    async with member_client(database, settings, phone(0)) as blue:
        await speaks(blue, "en")
        refused = await blue.post(f"/api/v1/events/{event_id}/signups", json={})
        in_list_en = listed(await blue.get("/api/v1/events"), event_id)
        await speaks(blue, "zh-CN")
        refused_zh = await blue.post(f"/api/v1/events/{event_id}/signups", json={})
        in_list_zh = listed(await blue.get("/api/v1/events"), event_id)
    async with member_client(database, settings, phone(1)) as gold:
        taken = await gold.post(f"/api/v1/events/{event_id}/signups", json={})
        gold_view = listed(await gold.get("/api/v1/events"), event_id)

    assert refused.status_code == 422, refused.text
    assert problem(refused) == "/problems/event-not-eligible"
    assert refused.json()["rule"] == "tier" and refused.json()["allowed"] == ["gold"]
    assert refused.json()["detail"] == "Only for Gold members"
    assert refused_zh.json()["detail"] == "本活动仅限金卡会员"

    assert in_list_en["can_sign_up"] is False
    assert in_list_en["why_not"]["type"] == "/problems/event-not-eligible"
    assert in_list_en["why_not"]["message"] == "Only for Gold members"
    assert in_list_zh["why_not"]["message"] == "本活动仅限金卡会员"
    assert in_list_en["why_not"]["title_zh"] == "您不符合本活动的报名条件"
    assert in_list_en["why_not"]["title_en"] == "You are not eligible for this event"

    assert taken.status_code == 201, taken.text
    assert taken.json()[0]["status"] == "confirmed"
    assert gold_view["my_signup"]["status"] == "confirmed"
    assert await signup_count(event_id) == 1


async def test_an_event_for_settling_in_owners_refuses_a_pre_owner_naming_the_stage_rule(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1, start=0)  # contract signed, nothing delivered: pre_owner
    await owners(tmp_path, 1, start=1, delivery_date="2025-12-01")  # delivered half a year ago: settling
    event_id = await event(eligible_stages=["settling", "stable"])

    async with member_client(database, settings, phone(0)) as pre_owner:
        await speaks(pre_owner, "en")
        refused = await pre_owner.post(f"/api/v1/events/{event_id}/signups", json={})
        why_not = listed(await pre_owner.get("/api/v1/events"), event_id)["why_not"]
        await speaks(pre_owner, "zh-CN")
        why_not_zh = listed(await pre_owner.get("/api/v1/events"), event_id)["why_not"]
    async with member_client(database, settings, phone(1)) as settling:
        taken = await settling.post(f"/api/v1/events/{event_id}/signups", json={})

    assert refused.status_code == 422, refused.text
    assert problem(refused) == "/problems/event-not-eligible"
    assert refused.json()["rule"] == "stage" and refused.json()["allowed"] == ["settling", "stable"]
    assert why_not["type"] == "/problems/event-not-eligible"
    assert why_not["message"] == "Only for: Settling-in owner or Established owner"
    assert why_not_zh["message"] == "本活动仅限磨合期业主或稳定期业主"
    assert taken.status_code == 201 and taken.json()[0]["status"] == "confirmed", taken.text


async def test_an_event_for_one_project_refuses_an_owner_of_another_naming_the_project_rule(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1, start=0, project="HZ-YH")
    await owners(tmp_path, 1, start=1, project="XX-YY")
    home = await project_id("HZ-YH")
    event_id = await event(eligible_project_ids=[home])

    async with member_client(database, settings, phone(1)) as outsider:
        refused = await outsider.post(f"/api/v1/events/{event_id}/signups", json={})
        await speaks(outsider, "en")
        why_not = listed(await outsider.get("/api/v1/events"), event_id)["why_not"]
    async with member_client(database, settings, phone(0)) as insider:
        taken = await insider.post(f"/api/v1/events/{event_id}/signups", json={})
        insider_view = listed(await insider.get("/api/v1/events"), event_id)

    assert refused.status_code == 422, refused.text
    assert problem(refused) == "/problems/event-not-eligible"
    assert refused.json()["rule"] == "project" and refused.json()["allowed"] == [home]
    assert refused.json()["detail"] == "本活动仅限「项目HZ-YH」业主"
    assert why_not["type"] == "/problems/event-not-eligible"
    assert why_not["message"] == "Only for owners at “项目HZ-YH”"
    assert taken.status_code == 201, taken.text
    assert insider_view["can_sign_up"] is False and insider_view["my_signup"]["status"] == "confirmed"
    assert await signup_count(event_id) == 1


async def test_the_list_says_why_not_for_each_rule_and_can_sign_up_for_the_open_event(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)  # blue pre-owner at HZ-YH
    await owners(tmp_path, 1, start=1, project="XX-YY")
    maker = await staff("maker")  # one staff member makes them all (event() names one per clock tick)
    open_event = await event(maker, title_zh="开放日")
    gold_only = await event(maker, eligible_tiers=["gold", "platinum"])
    veterans = await event(maker, eligible_stages=["veteran"])
    elsewhere = await event(maker, eligible_project_ids=[await project_id("XX-YY")])

    async with member_client(database, settings, phone(0)) as me:
        await speaks(me, "en")
        answer = await me.get("/api/v1/events")

    rules = {e: listed(answer, e)["why_not"] for e in (gold_only, veterans, elsewhere)}
    assert listed(answer, open_event)["can_sign_up"] is True and listed(answer, open_event)["why_not"] is None
    assert {e: listed(answer, e)["can_sign_up"] for e in rules} == {gold_only: False, veterans: False, elsewhere: False}
    assert {w["type"] for w in rules.values()} == {"/problems/event-not-eligible"}
    assert rules[gold_only]["message"] == "Only for Gold or Platinum members"
    assert rules[veterans]["message"] == "Only for: Veteran owner"
    assert rules[elsewhere]["message"] == "Only for owners at “项目XX-YY”"


# --- the sign-up window ----------------------------------------------------------------------

OPENS = NOW + timedelta(days=1)
CLOSES = NOW + timedelta(days=3)


@pytest.mark.parametrize(
    ("moment", "status", "refusal"),
    [
        (OPENS - timedelta(seconds=1), 422, "/problems/signup-not-open-yet"),
        (OPENS, 201, None),
        (CLOSES - timedelta(seconds=1), 201, None),
        (CLOSES, 422, "/problems/signup-closed"),
    ],
    ids=["a-second-before-opening", "at-opening", "a-second-before-closing", "at-closing"],
)
async def test_the_signup_window_holds_to_the_second(database, settings, frozen, tmp_path, moment, status, refusal):
    await owners(tmp_path, 1)
    event_id = await event(signup_opens_at=OPENS, signup_closes_at=CLOSES)

    frozen.move_to(moment)
    async with member_client(database, settings, phone(0)) as me:
        before = listed(await me.get("/api/v1/events"), event_id)
        answer = await me.post(f"/api/v1/events/{event_id}/signups", json={})

    assert answer.status_code == status, answer.text
    assert before["can_sign_up"] is (refusal is None)
    if refusal is None:
        assert answer.json()[0]["status"] == "confirmed"
        assert before["why_not"] is None
    else:
        assert problem(answer) == refusal
        assert before["why_not"]["type"] == refusal
        assert await signup_count(event_id) == 0


# --- party size, a second signup ------------------------------------------------------------


async def test_a_party_larger_than_the_limit_is_refused_naming_party_size_and_takes_no_seat(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(party_size_limit=3)

    async with member_client(database, settings, phone(0)) as me:
        too_many = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 4})
        at_limit = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 3})

    assert too_many.status_code == 422, too_many.text
    assert problem(too_many) == "/problems/party-too-large"
    assert too_many.json()["limit"] == 3
    assert [e["field"] for e in too_many.json()["errors"]] == ["party_size"]
    assert at_limit.status_code == 201 and at_limit.json()[0]["party_size"] == 3, at_limit.text
    assert await seats(event_id) == (3, 3)


async def test_signing_up_twice_is_a_409_and_after_cancelling_one_may_sign_up_again(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event()

    async with member_client(database, settings, phone(0)) as me:
        first = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
        second = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 1})
        why_not = listed(await me.get("/api/v1/events"), event_id)["why_not"]
        seats_between = await seats(event_id)
        cancelled = await me.post(f"/api/v1/me/signups/{first.json()[0]['id']}/cancellation")
        again = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 1})

    assert first.status_code == 201, first.text
    assert second.status_code == 409 and problem(second) == "/problems/already-signed-up", second.text
    assert why_not["type"] == "/problems/already-signed-up" and why_not["message"] == "您已报名"
    assert second.json()["detail"] == "您已报名本活动"
    assert seats_between == (2, 2)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert again.status_code == 201 and again.json()[0]["status"] == "confirmed", again.text
    assert await seats(event_id) == (1, 1)


# --- cancelled events and drafts -------------------------------------------------------------


async def test_staff_cancelling_an_event_cancels_its_signups_and_refuses_new_ones(database, settings, frozen, tmp_path):
    await owners(tmp_path, 3)
    event_id = await event(capacity=2)

    async with member_client(database, settings, phone(0)) as first:
        await first.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
    async with member_client(database, settings, phone(1)) as second:
        waiting = await second.post(f"/api/v1/events/{event_id}/signups", json={"join_waitlist": True})
    async with staff_client(database, settings) as staff:
        called_off = await staff.post(f"/api/v1/staff/events/{event_id}/cancellation", json={"reason": "台风预警"})
    async with member_client(database, settings, phone(0)) as first:
        mine = (await first.get("/api/v1/me/signups")).json()
    async with member_client(database, settings, phone(2)) as latecomer:
        refused = await latecomer.post(f"/api/v1/events/{event_id}/signups", json={"join_waitlist": True})
        await speaks(latecomer, "en")
        shown = listed(await latecomer.get("/api/v1/events"), event_id)

    assert waiting.json()[0]["status"] == "waitlisted"
    assert called_off.status_code == 200, called_off.text
    assert [s["status"] for s in mine] == ["cancelled"]
    assert {s["status"] for s in await Signup.select(Signup.status).where(Signup.event == event_id)} == {"cancelled"}
    assert (await Event.select(Event.status).where(Event.id == event_id).first())["status"] == "cancelled"
    assert await seats(event_id) == (0, 0)
    assert refused.status_code == 409 and problem(refused) == "/problems/event-cancelled", refused.text
    assert shown["status"] == "cancelled" and shown["can_sign_up"] is False
    assert shown["why_not"]["type"] == "/problems/event-cancelled"
    assert shown["why_not"]["message"] == "The event is cancelled"
    assert await signup_count(event_id) == 2


async def test_a_draft_is_invisible_to_members_until_staff_publish_it(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(status="draft")

    async with member_client(database, settings, phone(0)) as me:
        in_list = [e["id"] for e in (await me.get("/api/v1/events")).json()]
        one = await me.get(f"/api/v1/events/{event_id}")
        signing = await me.post(f"/api/v1/events/{event_id}/signups", json={})
        async with staff_client(database, settings) as staff:
            published = await staff.post(f"/api/v1/staff/events/{event_id}/publication")
        after = await me.get(f"/api/v1/events/{event_id}")
        taken = await me.post(f"/api/v1/events/{event_id}/signups", json={})

    assert event_id not in in_list
    assert one.status_code == 404 and problem(one) == "/problems/not-found"
    assert signing.status_code == 404 and problem(signing) == "/problems/not-found"
    assert await signup_count(event_id) == 1  # only the one after publishing
    assert published.status_code == 204, published.text
    assert after.status_code == 200 and after.json()["can_sign_up"] is True
    assert taken.status_code == 201, taken.text
