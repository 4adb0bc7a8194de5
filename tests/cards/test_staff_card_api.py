"""Staff card routes under /api/v1/staff: who may check, suspend, reissue and assign, and what a
card check shows (tier and name, never the phone)."""

from __future__ import annotations

import time

import httpx
import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.cards import service
from loyalty.cards.tables import Card
from tests.cards.builders import PHONE, current_card, history, import_owner, pre_owner_unit, tier_of
from tests.identity.builders import add_staff, log_in_member, log_in_staff

CHECKS = "/api/v1/staff/card-checks"
PROBLEM_JSON = "application/problem+json"


def card_path(member: int, action: str = "") -> str:
    return f"/api/v1/staff/members/{member}/card" + (f"/{action}" if action else "")


def assignments_path(member: int) -> str:
    return f"/api/v1/staff/members/{member}/tier-assignments"


async def as_staff(client: httpx.AsyncClient, role: str) -> int:
    staff = await add_staff(f"{role}-1".replace("_", "-"), role)
    await log_in_staff(client, staff.username)
    return staff.id


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    return response.json()["type"]


@pytest.fixture
async def member(database, frozen, tmp_path) -> int:
    return await import_owner(tmp_path, [pre_owner_unit()])


@pytest.mark.parametrize("role", ["event_staff", "service", "sales", "admin"])
async def test_staff_of_every_role_can_check_a_card_and_never_see_the_phone(client, member, signer, role):
    await as_staff(client, role)
    code = await service.static_code(member, signer)

    response = await client.post(CHECKS, json={"code": code})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tier"], body["kind"], body["member_name"]) == ("blue", "static", "李四")
    assert body["card_number"].startswith("8860 **** **** ")
    assert "phone" not in {key.lower() for key in body}
    assert PHONE not in response.text and "+86" not in response.text


async def test_a_card_check_of_a_dynamic_code_says_until_when_it_is_good(client, member, signer):
    await as_staff(client, "event_staff")
    dynamic = await service.dynamic_code(member, signer, time.time())

    response = await client.post(CHECKS, json={"code": dynamic.code})

    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["expires_at_unix"]) == ("dynamic", dynamic.expires_at_unix)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("garbage", "/problems/code-malformed"),
        ("OC1.k9.UwAAAAAAAAABAAAAAA.AAAA", "/problems/code-malformed"),
    ],
)
async def test_a_card_check_of_a_bad_code_is_a_problem_with_a_stable_type(client, member, code, problem):
    await as_staff(client, "event_staff")

    response = await client.post(CHECKS, json={"code": code})

    assert response.status_code == 422
    assert problem_type(response) == problem


async def test_a_card_check_tells_expired_tampered_and_replaced_codes_apart(client, member, signer, frozen):
    await as_staff(client, "service")
    dynamic = (await service.dynamic_code(member, signer, time.time())).code
    static = await service.static_code(member, signer)
    head, key, payload, signature = static.split(".")
    tampered = ".".join((head, key, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))

    assert problem_type(await client.post(CHECKS, json={"code": tampered})) == "/problems/code-bad-signature"
    frozen.shift(180)
    assert problem_type(await client.post(CHECKS, json={"code": dynamic})) == "/problems/code-expired"
    reissued = await client.post(card_path(member, "reissue"), json={"reason": "卡片遗失 lost"})
    assert reissued.status_code in (200, 201), reissued.text
    replaced = await client.post(CHECKS, json={"code": static})
    assert replaced.status_code == 422
    assert problem_type(replaced) == "/problems/card-replaced"
    assert (await client.post(CHECKS, json={"code": await service.static_code(member, signer)})).status_code == 200


async def test_event_staff_can_check_a_card_but_cannot_suspend_it(client, member, signer):
    await as_staff(client, "event_staff")

    response = await client.post(card_path(member, "suspension"), json={"reason": "test"})

    assert response.status_code == 403
    assert problem_type(response) == "/problems/forbidden"
    assert (await current_card(member))["status"] == "active"
    assert (await client.post(CHECKS, json={"code": await service.static_code(member, signer)})).status_code == 200


@pytest.mark.parametrize("role", ["event_staff", "sales"])
async def test_only_service_staff_and_admins_reissue_a_card(client, member, role):
    await as_staff(client, role)

    response = await client.post(card_path(member, "reissue"), json={"reason": "卡片遗失 lost"})

    assert response.status_code == 403
    assert await Card.count().where(Card.member == member) == 1


async def test_service_staff_suspend_and_reactivate_a_card_with_an_audited_reason(client, member, signer):
    staff_id = await as_staff(client, "service")
    code = await service.static_code(member, signer)

    suspended = await client.post(card_path(member, "suspension"), json={"reason": "疑似冒用 suspected misuse"})
    checked = await client.post(CHECKS, json={"code": code})

    assert suspended.status_code == 204
    assert checked.status_code == 422 and problem_type(checked) == "/problems/card-suspended"
    card_id = (await current_card(member))["id"]

    reactivated = await client.post(card_path(member, "reactivation"), json={"reason": "本人确认 confirmed"})

    assert reactivated.status_code == 204
    assert (await client.post(CHECKS, json={"code": code})).status_code == 200
    entries = await AuditEntry.select().order_by(AuditEntry.id)
    assert [(e["action"], e["actor_id"], e["subject_id"], e["reason"]) for e in entries] == [
        ("card.suspend", staff_id, card_id, "疑似冒用 suspected misuse"),
        ("card.reactivate", staff_id, card_id, "本人确认 confirmed"),
    ]


async def test_a_member_with_a_suspended_card_gets_no_dynamic_code(client, member, frozen):
    staff = await add_staff("service-2", "service")
    await service.suspend_card(member, "疑似冒用", staff.id)
    await log_in_member(client, f"+86{PHONE}")

    response = await client.get("/api/v1/me/card/code")

    assert response.status_code == 422
    assert problem_type(response) == "/problems/card-suspended"


@pytest.mark.parametrize("role", ["event_staff", "service", "sales"])
async def test_only_an_admin_can_assign_a_tier(client, member, role):
    await as_staff(client, role)

    response = await client.post(
        assignments_path(member), json={"tier": "gold", "reason": "VIP", "ends_on": "2026-12-31"}
    )

    assert response.status_code == 403
    assert problem_type(response) == "/problems/forbidden"
    assert await tier_of(member) == "blue"


async def test_an_admin_assigns_a_tier_which_applies_at_once(client, member):
    staff_id = await as_staff(client, "admin")

    response = await client.post(
        assignments_path(member), json={"tier": "platinum", "reason": "开盘活动代言人", "ends_on": "2026-12-31"}
    )

    assert response.status_code == 204, response.text
    assert await tier_of(member) == "platinum"
    assert (await history(member))[-1] == ("blue", "platinum", "assignment")
    entry = await AuditEntry.select().where(AuditEntry.action == "tier.assign").first()
    assert (entry["actor_id"], entry["subject_id"], entry["reason"]) == (staff_id, member, "开盘活动代言人")


@pytest.mark.parametrize("tier", ["blue", "silver"])
async def test_an_assignment_that_does_not_raise_the_tier_is_an_invalid_field(client, database, frozen, tmp_path, tier):
    member = await import_owner(tmp_path, [pre_owner_unit(), pre_owner_unit()] if tier == "silver" else [pre_owner_unit()])
    await as_staff(client, "admin")

    response = await client.post(assignments_path(member), json={"tier": tier, "reason": "VIP", "ends_on": "2026-12-31"})

    assert response.status_code == 422
    assert problem_type(response) == "/problems/invalid-field"
    assert response.json()["errors"][0]["field"] == "tier"
    assert await tier_of(member) == ("gold" if tier == "silver" else "blue")


async def test_an_unknown_tier_is_an_invalid_field(client, member):
    await as_staff(client, "admin")

    response = await client.post(assignments_path(member), json={"tier": "diamond", "reason": "VIP", "ends_on": "2026-12-31"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tier"


@pytest.mark.parametrize("role", ["service", "sales"])
async def test_service_and_sales_see_a_member_s_card_with_its_tier_history(client, member, role):
    await as_staff(client, role)

    response = await client.get(card_path(member), headers={"Accept-Language": "en"})

    assert response.status_code == 200
    body = response.json()
    assert (body["card"]["tier"], body["card"]["why_kind"]) == ("blue", "units_owned")
    assert [(h["from_tier"], h["to_tier"], h["cause"]) for h in body["history"]] == [("", "blue", "issue")]
    assert PHONE not in response.text


async def test_event_staff_cannot_open_a_member_s_card(client, member):
    await as_staff(client, "event_staff")

    assert (await client.get(card_path(member))).status_code == 403


async def test_card_routes_need_a_staff_session(client, member, signer):
    response = await client.post(CHECKS, json={"code": await service.static_code(member, signer)})

    assert response.status_code == 401


async def test_staff_actions_on_a_member_without_a_card_are_not_found(client, database, frozen):
    await as_staff(client, "service")

    response = await client.post(card_path(9999, "suspension"), json={"reason": "test"})

    assert response.status_code == 404
    assert problem_type(response) == "/problems/no-card"

