"""The member referral route cannot be used to test whether a phone number is an owner's
(finding 4): an owner is told one neutral `referral-not-accepted` for an owner's phone, a
phone protected for another referrer and a phone that visited the sales office before, with
nothing that says which; sales see the precise reason, on their own route and on the owner's
attempts. And an owner may try at most LOYALTY_REFERRAL_DAILY_CAP_PER_OWNER leads a day,
refusals counted, race-free."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from loyalty.clock import LOCAL_ZONE
from loyalty.i18n import format
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, ReferralAttempt
from tests.identity.builders import log_in_member, log_in_staff
from tests.referrals.builders import (
    CO_OWNER, FRIEND, FRIEND_2, FRIEND_3, OTHER_OWNER, REFERRER, THIRD_OWNER, TODAY, e164, register,
)


async def _owner(new_client, phone: str = REFERRER):
    http = await new_client()
    await log_in_member(http, e164(phone))
    return http


def _fresh_phone(n: int) -> str:
    return f"1370013{n:04d}"


async def _refer(http, world, phone: str, language: str = "en"):
    return await http.post(
        "/api/v1/referrals", json={"name": "王五", "phone": phone, "project_id": world.project},
        headers={"Accept-Language": language},
    )


async def test_an_owner_is_told_the_same_neutral_refusal_for_an_owner_a_protected_phone_and_a_visitor(world, new_client):
    await register(world, referrer=world.third_owner, phone=FRIEND)  # protected for another owner
    await referrals.record_office_visit(FRIEND_2, world.project, world.sales)  # walked in before
    owner = await _owner(new_client)

    answers = [await _refer(owner, world, phone) for phone in (OTHER_OWNER, FRIEND, FRIEND_2)]

    assert [a.status_code for a in answers] == [422, 422, 422]
    bodies = [a.json() for a in answers]
    assert {b["type"] for b in bodies} == {"/problems/referral-not-accepted"}
    # Word for word the same answer: no date, no other referrer, nothing that says which.
    assert bodies[0] == bodies[1] == bodies[2]
    assert set(bodies[0]) == {"type", "title", "status", "detail", "instance", "errors"}
    text = " ".join(a.text for a in answers)
    assert "protected" not in text and (TODAY + timedelta(days=90)).isoformat() not in text
    assert await Lead.count().where(Lead.referrer == world.referrer) == 0


async def test_the_neutral_refusal_has_a_chinese_title(world, new_client):
    owner = await _owner(new_client)

    answer = await _refer(owner, world, OTHER_OWNER, language="zh-CN")

    assert answer.json()["title"] == "该推荐无法受理"


async def test_self_referral_and_an_own_duplicate_are_still_told_plainly(world, new_client):
    await register(world, phone=FRIEND)
    owner = await _owner(new_client)

    myself = await _refer(owner, world, REFERRER)
    again = await _refer(owner, world, FRIEND)

    assert myself.json()["type"] == "/problems/referral-self"
    assert again.json()["type"] == "/problems/referral-duplicate"


async def test_sales_registering_for_an_owner_still_see_the_precise_reason(world, new_client):
    await register(world, referrer=world.third_owner, phone=FRIEND)
    sales = await new_client()
    await log_in_staff(sales, "sales1")

    def body(phone: str) -> dict:
        return {"name": "王五", "phone": phone, "project_id": world.project, "referrer_member_id": world.referrer}

    owner_phone = await sales.post("/api/v1/staff/referrals", json=body(OTHER_OWNER))
    protected = await sales.post("/api/v1/staff/referrals", json=body(FRIEND))

    assert owner_phone.json()["type"] == "/problems/referral-already-owner"
    assert protected.json()["type"] == "/problems/referral-protected"
    assert protected.json()["protected_until"] == (TODAY + timedelta(days=90)).isoformat()


async def test_sales_see_why_an_owners_attempt_was_refused(world, new_client):
    await register(world, referrer=world.third_owner, phone=FRIEND)
    owner = await _owner(new_client)
    await _refer(owner, world, FRIEND)
    accepted = (await _refer(owner, world, FRIEND_3)).json()
    sales = await new_client()
    await log_in_staff(sales, "sales1")

    listed = await sales.get("/api/v1/staff/referrals/attempts", params={"referrer_id": world.referrer})
    refused = await sales.get("/api/v1/staff/referrals/attempts", params={"refused_only": "true"})
    as_owner = await owner.get("/api/v1/staff/referrals/attempts")

    assert listed.status_code == 200, listed.text
    assert [(a["phone"], a["outcome"], a["lead_id"]) for a in listed.json()] == [
        (e164(FRIEND), "referral-protected", None), (e164(FRIEND_3), "accepted", accepted["id"]),
    ]
    # Stored in the club's working language, whatever language the owner reads.
    assert listed.json()[0]["detail"] == f"此人已由其他业主推荐，保护期至 {format.date(TODAY + timedelta(days=90), 'zh-CN')}"
    assert [a["outcome"] for a in refused.json()] == ["referral-protected"]
    assert as_owner.status_code == 401


async def test_an_owner_may_try_at_most_the_daily_cap_and_refusals_count(world, new_client, settings):
    assert settings.referral_daily_cap_per_owner == 10
    owner = await _owner(new_client)

    probes = [await _refer(owner, world, phone) for phone in [OTHER_OWNER, THIRD_OWNER, CO_OWNER] * 3 + [OTHER_OWNER]]
    fresh = await _refer(owner, world, FRIEND, language="zh-CN")

    assert all(p.status_code == 422 for p in probes)
    assert fresh.status_code == 429
    assert fresh.json()["type"] == "/problems/referral-daily-cap"
    assert fresh.json()["title"] == "今日推荐登记次数已达上限，请明天再试"
    # Noon in Beijing: twelve hours until the count starts again.
    assert fresh.headers["Retry-After"] == str(12 * 3600)
    assert await Lead.count() == 0
    assert await ReferralAttempt.count().where(ReferralAttempt.referrer == world.referrer) == 10


async def test_the_daily_cap_starts_again_at_midnight_beijing_time(world, new_client, frozen):
    owner = await _owner(new_client)
    for n in range(10):
        assert (await _refer(owner, world, _fresh_phone(n))).status_code == 201

    frozen.move_to(datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), LOCAL_ZONE) - timedelta(seconds=1))
    late = await _refer(owner, world, _fresh_phone(10))
    frozen.move_to(datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), LOCAL_ZONE))
    next_day = await _refer(owner, world, _fresh_phone(10))

    assert late.status_code == 429 and late.headers["Retry-After"] == "1"
    assert next_day.status_code == 201, next_day.text


async def test_the_daily_cap_is_per_owner_and_sales_are_not_capped(world, new_client):
    owner = await _owner(new_client)
    for n in range(10):
        await _refer(owner, world, _fresh_phone(n))
    other = await _owner(new_client, OTHER_OWNER)
    sales = await new_client()
    await log_in_staff(sales, "sales1")

    others = await _refer(other, world, FRIEND)
    for_the_owner = await sales.post(
        "/api/v1/staff/referrals",
        json={"name": "王五", "phone": FRIEND_2, "project_id": world.project, "referrer_member_id": world.referrer},
    )

    assert others.status_code == 201 and for_the_owner.status_code == 201, for_the_owner.text


@pytest.mark.postgres_only
async def test_40_concurrent_referrals_by_one_owner_let_at_most_the_daily_cap_through(world, new_client):
    owner = await _owner(new_client)

    answers = await asyncio.gather(*(_refer(owner, world, _fresh_phone(n)) for n in range(40)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 10 + [429] * 30, [a.text for a in answers if a.status_code not in (201, 429)]
    assert await Lead.count().where(Lead.referrer == world.referrer) == 10
    assert await ReferralAttempt.count().where(ReferralAttempt.referrer == world.referrer) == 10


async def test_a_nul_character_in_a_referral_name_or_a_nested_string_is_refused_naming_it(world, new_client):
    owner = await _owner(new_client)

    named = await owner.post(
        "/api/v1/referrals", json={"name": "王\u0000五", "phone": _fresh_phone(1), "project_id": world.project},
        headers={"Accept-Language": "en"},
    )
    # Also in a key, where no handler would look: the check is over the whole body, before any handler.
    keyed = await owner.post(
        "/api/v1/referrals", json={"name": "王五", "phone": _fresh_phone(2), "project_id": world.project, "x\u0000": 1},
        headers={"Accept-Language": "en"},
    )

    assert (named.status_code, named.json()["type"]) == (422, "/problems/invalid-field"), named.text
    assert named.json()["errors"][0]["field"] == "name"
    assert "U+0000" in named.json()["detail"], named.text
    assert keyed.status_code == 422 and keyed.json()["errors"][0]["field"] == "x\u0000", keyed.text
    assert await Lead.count() == 0


@pytest.mark.parametrize("encoded", ["raw", "escaped"])
@pytest.mark.parametrize("character", ["\u202e", "\u202a", "\u2066", "\u2069"])
async def test_a_bidi_override_in_a_referral_name_is_refused_naming_it(world, new_client, character, encoded):
    # "王\u202e五张" shows as 王张五 on a sales board: a name that reads as someone else's (the
    # Trojan Source trick). Nobody types these; the body is refused whether the character
    # arrives as UTF-8 or escaped as \u202e.
    owner = await _owner(new_client)
    body = {"name": f"王{character}五张", "phone": _fresh_phone(3), "project_id": world.project}

    refused = await owner.post(
        "/api/v1/referrals", content=json.dumps(body, ensure_ascii=encoded == "escaped").encode(),
        headers={"Accept-Language": "en", "Content-Type": "application/json"},
    )

    assert (refused.status_code, refused.json()["type"]) == (422, "/problems/invalid-field"), refused.text
    assert refused.json()["errors"][0]["field"] == "name"
    assert f"U+{ord(character):04X}" in refused.json()["detail"], refused.text
    assert await Lead.count() == 0
