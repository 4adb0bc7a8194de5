"""Referral faces: an owner refers a friend and follows them in /me/referrals; sales (and only
sales) register on an owner's behalf, log office visits and move leads; the funnel."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from loyalty.referrals.tables import Lead, ReferralAttempt
from tests.identity.builders import add_staff, log_in_member, log_in_staff
from tests.members_builders import import_rows
from tests.referrals.builders import (
    FRIEND, FRIEND_2, FRIEND_3, OTHER_OWNER, REFERRER, TODAY, balance, e164, move, noon, register,
)


async def _member_client(new_client, phone: str):
    http = await new_client()
    await log_in_member(http, e164(phone))
    return http


async def _staff_client(new_client, username: str, role: str | None = None):
    if role is not None:
        await add_staff(username, role)
    http = await new_client()
    await log_in_staff(http, username)
    return http


async def test_an_owner_registers_a_referral_and_sees_it_in_my_referrals(world, new_client):
    owner = await _member_client(new_client, REFERRER)

    response = await owner.post("/api/v1/referrals", json={"name": "王五", "phone": "139 0013 9001", "project_id": world.project})

    assert response.status_code == 201, response.text
    lead = response.json()
    assert (lead["phone"], lead["stage"], lead["referrer_id"], lead["project"]) == (e164(FRIEND), "registered", world.referrer, "云湖里")
    assert lead["protected_until"] == (TODAY + timedelta(days=90)).isoformat()
    mine = await owner.get("/api/v1/me/referrals")
    assert mine.status_code == 200
    assert [(row["id"], row["stage"]) for row in mine.json()] == [(lead["id"], "registered")]


async def test_my_referrals_shows_how_far_each_friend_has_come_and_only_my_own(world, new_client):
    lead = await register(world)
    await move(world, lead, "subscribed")
    await register(world, referrer=world.other_owner, phone=FRIEND_2)

    mine = (await (await _member_client(new_client, REFERRER)).get("/api/v1/me/referrals")).json()

    assert [(row["phone"], row["stage"]) for row in mine] == [(e164(FRIEND), "subscribed")]
    assert mine[0]["visited_at"] and mine[0]["subscribed_at"] and mine[0]["signed_at"] is None


async def test_a_refused_referral_is_a_problem_with_its_reason(world, new_client):
    owner = await _member_client(new_client, REFERRER)

    response = await owner.post("/api/v1/referrals", json={"name": "我自己", "phone": REFERRER, "project_id": world.project})
    other = await owner.post("/api/v1/referrals", json={"name": "赵六", "phone": OTHER_OWNER, "project_id": world.project})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/referral-self"
    # An owner's phone is refused without saying so (tests/referrals/test_referral_probing.py).
    assert other.json()["type"] == "/problems/referral-not-accepted"
    assert await Lead.count() == 0


async def test_referring_needs_a_member_login(world, client):
    response = await client.post("/api/v1/referrals", json={"name": "王五", "phone": FRIEND, "project_id": world.project})
    assert response.status_code == 401
    assert await Lead.count() == 0


async def test_sales_register_a_lead_on_an_owners_behalf(world, new_client):
    sales = await _staff_client(new_client, "sales1")

    response = await sales.post(
        "/api/v1/staff/referrals",
        json={"name": "王五", "phone": FRIEND, "project_id": world.project, "referrer_member_id": world.referrer},
    )

    assert response.status_code == 201, response.text
    lead = await Lead.select().where(Lead.id == response.json()["id"]).first()
    assert (lead["referrer"], lead["registered_by_kind"], lead["registered_by_id"]) == (world.referrer, "staff", world.sales)


async def test_sales_move_a_lead_and_the_rewards_follow(world, new_client):
    lead = await register(world)
    sales = await _staff_client(new_client, "sales1")

    visited = await sales.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "visited"})
    signed = await sales.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "signed", "note": "网签完成"})
    backwards = await sales.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "visited"})

    assert (visited.status_code, signed.status_code) == (200, 200), signed.text
    assert signed.json()["stage"] == "signed"
    assert backwards.status_code == 409 and backwards.json()["type"] == "/problems/referral-stage-backwards"
    assert await balance(world.referrer) == (200, 5_000)


async def test_a_cancel_through_the_api_needs_a_note(world, new_client):
    lead = await register(world)
    sales = await _staff_client(new_client, "sales1")

    refused = await sales.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "cancelled"})
    done = await sales.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "cancelled", "note": "客户放弃"})

    assert refused.status_code == 422
    assert done.status_code == 200 and done.json()["cancel_reason"] == "客户放弃"


@pytest.mark.parametrize("role", ["service", "event_staff"])
async def test_staff_without_the_sales_role_cannot_move_leads(world, new_client, role):
    lead = await register(world)
    staff = await _staff_client(new_client, "other1", role)

    response = await staff.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "signed"})

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert (await Lead.select(Lead.stage).where(Lead.id == lead["id"]).first())["stage"] == "registered"
    assert await balance(world.referrer) == (0, 0)


async def test_an_admin_may_move_leads(world, new_client):
    lead = await register(world)
    admin = await _staff_client(new_client, "boss", "admin")
    response = await admin.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "visited"})
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["service", "event_staff"])
async def test_only_sales_list_and_register_leads(world, new_client, role):
    await register(world)
    staff = await _staff_client(new_client, "other1", role)

    listed = await staff.get("/api/v1/staff/referrals")
    registered = await staff.post(
        "/api/v1/staff/referrals",
        json={"name": "钱八", "phone": FRIEND_2, "project_id": world.project, "referrer_member_id": world.referrer},
    )

    assert (listed.status_code, registered.status_code) == (403, 403)
    assert await Lead.count() == 1


async def test_a_member_cannot_use_the_sales_routes(world, new_client):
    lead = await register(world)
    owner = await _member_client(new_client, REFERRER)
    response = await owner.post(f"/api/v1/staff/referrals/{lead['id']}/stage", json={"stage": "signed"})
    assert response.status_code == 401
    assert await balance(world.referrer) == (0, 0)


async def test_sales_list_leads_filtered_by_stage_and_project(world, new_client):
    first = await register(world)
    await register(world, phone=FRIEND_2)
    third = await register(world, phone=FRIEND_3, project_id=world.second_project)
    await move(world, first, "visited")
    sales = await _staff_client(new_client, "sales1")

    every = (await sales.get("/api/v1/staff/referrals")).json()
    visited = (await sales.get("/api/v1/staff/referrals", params={"stage": "visited"})).json()
    second = (await sales.get("/api/v1/staff/referrals", params={"project_id": world.second_project})).json()
    page = (await sales.get("/api/v1/staff/referrals", params={"cursor": first["id"], "limit": 1})).json()

    assert len(every) == 3
    assert [row["id"] for row in visited] == [first["id"]]
    assert [row["id"] for row in second] == [third["id"]]
    assert [row["phone"] for row in page] == [e164(FRIEND_2)]


async def test_an_office_visit_logged_by_sales_blocks_a_later_referral(world, new_client):
    sales = await _staff_client(new_client, "sales1")
    owner = await _member_client(new_client, REFERRER)

    logged = await sales.post("/api/v1/staff/referrals/office-visits", json={"phone": FRIEND, "project_id": world.project})
    refused = await owner.post("/api/v1/referrals", json={"name": "王五", "phone": FRIEND, "project_id": world.project})

    assert logged.status_code == 204
    # The owner is not told why (a walk-in is the visitor's business); sales see it on the attempt.
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/referral-not-accepted"
    (attempt,) = await ReferralAttempt.select().where(ReferralAttempt.phone == e164(FRIEND))
    assert attempt["outcome"] == "referral-visited-before"


async def test_the_funnel_counts_each_stage_in_the_month_it_was_reached(world, new_client, frozen, tmp_path):
    frozen.move_to(noon(date(2026, 5, 20)))
    early = await register(world)  # registered in May, visited and signed in June
    frozen.move_to(noon(date(2026, 6, 2)))
    await move(world, early, "visited")
    frozen.move_to(noon(date(2026, 6, 5)))
    await register(world, phone=FRIEND_2)
    cancelled = await register(world, phone=FRIEND_3)
    await move(world, cancelled, "cancelled")
    frozen.move_to(noon(date(2026, 6, 10)))
    await move(world, early, "signed")
    # New buyers of June in this project: the referred friend and two walk-ins.
    await import_rows(tmp_path, [
        {"phone": FRIEND, "name": "王五", "room": "0501", "contract_date": "2026-06-10"},
        {"phone": "13600136001", "name": "周九", "room": "0601", "contract_date": "2026-06-12"},
        {"phone": "13600136002", "name": "吴十", "room": "0701", "contract_date": "2026-06-30"},
    ])
    sales = await _staff_client(new_client, "sales1")

    response = await sales.get("/api/v1/staff/referrals/funnel", params={"start": "2026-05-01", "end": "2026-06-30"})

    assert response.status_code == 200, response.text
    rows = {(row["project_id"], row["month"]): row for row in response.json()}
    may, june = rows[(world.project, "2026-05")], rows[(world.project, "2026-06")]
    assert (may["registered"], may["visited"], may["signed"]) == (1, 0, 0)
    assert (june["registered"], june["visited"], june["subscribed"], june["signed"], june["new_buyers"]) == (2, 1, 1, 1, 3)
    # Conversion is the month's cohort: May's one lead has signed since (1.0); of June's two
    # leads none has signed (one was cancelled), though June's `signed` counts May's lead.
    assert (may["signed_of_registered"], june["signed_of_registered"]) == (1, 0)
    assert may["conversion"] == 1.0 and june["conversion"] == 0.0
    assert june["referral_share"] == pytest.approx(0.3333)
    assert june["referral_share_target"] == 0.30


async def test_service_staff_read_the_funnel_but_event_staff_do_not(world, new_client):
    service = await _staff_client(new_client, "kefu", "service")
    gate = await _staff_client(new_client, "gate", "event_staff")
    params = {"start": "2026-06-01", "end": "2026-06-30"}

    assert (await service.get("/api/v1/staff/referrals/funnel", params=params)).status_code == 200
    assert (await gate.get("/api/v1/staff/referrals/funnel", params=params)).status_code == 403


async def test_a_funnel_that_ends_before_it_starts_is_refused(world, new_client):
    sales = await _staff_client(new_client, "sales1")
    response = await sales.get("/api/v1/staff/referrals/funnel", params={"start": "2026-06-30", "end": "2026-06-01"})
    assert response.status_code == 422


async def test_my_referrals_say_what_each_rewarded_stage_earned_or_will(world, new_client, frozen):
    visited = await register(world, name="王五")
    await move(world, visited, "visited")
    signed = await register(world, name="赵四", phone=FRIEND_2)
    await move(world, signed, "signed")
    cancelled = await register(world, name="钱七", phone=FRIEND_3)
    await move(world, cancelled, "signed")
    await move(world, cancelled, "cancelled")

    mine = {row["name"]: row["rewards"] for row in (await (await _member_client(new_client, REFERRER)).get("/api/v1/me/referrals")).json()}

    vests = (TODAY + timedelta(days=30)).isoformat()
    assert mine["王五"] == [
        {"stage": "visited", "points": 200, "status": "earned", "vests_on": None},
        {"stage": "signed", "points": 5_000, "status": "expected", "vests_on": None},
    ]
    assert mine["赵四"] == [
        {"stage": "visited", "points": 200, "status": "earned", "vests_on": None},
        {"stage": "signed", "points": 5_000, "status": "pending", "vests_on": vests},
    ]
    assert mine["钱七"][1] == {"stage": "signed", "points": 5_000, "status": "taken_back", "vests_on": None}


async def test_staff_lists_carry_no_rewards(world, new_client):
    lead = await register(world)
    await move(world, lead, "visited")
    sales = await _staff_client(new_client, "sales1")
    [row] = (await sales.get("/api/v1/staff/referrals")).json()
    assert row["rewards"] == []


NO_GIFT = {"gift_name_zh": None, "gift_name_en": None}  # the default rules give points only


async def test_the_referral_rules_say_what_each_stage_earns_and_how_long_a_referral_is_protected(world, new_client):
    owner = await _member_client(new_client, REFERRER)

    response = await owner.get("/api/v1/me/referrals/rules")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "protection_days": 90,
        "rewards": [
            {"stage": "visited", "beneficiary": "referrer", "points": 200, "vesting_days": 0, **NO_GIFT},
            {"stage": "signed", "beneficiary": "new_owner", "points": 2_000, "vesting_days": 0, **NO_GIFT},
            {"stage": "signed", "beneficiary": "referrer", "points": 5_000, "vesting_days": 30, **NO_GIFT},
        ],
    }


@pytest.mark.parametrize(("language", "words"), [
    ("zh-CN", "您已于 2026年6月15日推荐过此人，保护期至 2026年9月13日"),
    ("en", "You already referred this person on Jun 15, 2026; the referral is yours until Sep 13, 2026"),
])
async def test_a_duplicate_referral_is_told_in_words_with_no_lead_number(world, new_client, language, words):
    from loyalty.members.tables import Member

    await Member.update({Member.language: language}).where(Member.id == world.referrer)  # the owner's saved language
    owner = await _member_client(new_client, REFERRER)
    body = {"name": "王五", "phone": FRIEND, "project_id": world.project}
    assert (await owner.post("/api/v1/referrals", json=body)).status_code == 201

    again = await owner.post("/api/v1/referrals", json={**body, "name": "老王"})

    assert again.status_code == 422
    assert again.json()["type"] == "/problems/referral-duplicate"
    assert again.json()["detail"] == words
