"""The points faces: an owner's statement, staff reading it, and staff adjustments (role
`service` only, with a reason, idempotent by key: a different body is a 409 problem)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine

from loyalty.audit.tables import AuditEntry
from loyalty.points import service as points
from tests.identity.builders import add_staff, log_in_member, log_in_staff
from tests.points.builders import PHONE, entries_of, import_owners

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=timezone.utc)  # noon in Beijing


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
async def member(database, tmp_path) -> int:
    (member,) = await import_owners(tmp_path, PHONE)
    return member


async def _staff_client(new_client, username: str, role: str):
    await add_staff(username, role)
    http = await new_client()
    await log_in_staff(http, username)
    return http


async def test_my_points_shows_balance_pending_expiring_and_the_statement_newest_first(member, client, frozen):
    frozen.move_to(datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc))  # 30 days before the lot below ends
    await points.earn(member, 1_000, key="a", source_kind="referral", source_id="3:visited", today=date(2025, 2, 1))
    await points.earn(member, 5_000, key="b", source_kind="referral", vests_on=date(2026, 12, 20))
    await points.redeem(member, 250, key="c", source_kind="sale", source_id="77")
    await log_in_member(client, f"+86{PHONE}")

    response = await client.get("/api/v1/me/points")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["balance"] == {
        "available": 750, "pending": 5_000, "expiring_soon": 750, "expiring_on": "2026-12-31", "value_fen": 750,
    }
    assert [(e["kind"], e["available_delta"], e["pending_delta"], e["source_kind"]) for e in body["entries"]] == [
        ("redeem", -250, 0, "sale"), ("earn", 0, 5_000, "referral"), ("earn", 1_000, 0, "referral"),
    ]
    assert body["entries"][0]["available_after"] == 750 and body["next_cursor"] is None


async def test_my_points_pages_with_a_cursor(member, client):
    for n in range(5):
        await points.earn(member, 10 + n, key=f"e{n}", source_kind="test")
    await log_in_member(client, f"+86{PHONE}")

    first = (await client.get("/api/v1/me/points", params={"limit": 2})).json()
    second = (await client.get("/api/v1/me/points", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    third = (await client.get("/api/v1/me/points", params={"limit": 2, "cursor": second["next_cursor"]})).json()

    pages = [[e["available_delta"] for e in page["entries"]] for page in (first, second, third)]
    assert pages == [[14, 13], [12, 11], [10]]
    assert third["next_cursor"] is None


async def test_my_points_needs_a_member_login(database, client):
    response = await client.get("/api/v1/me/points")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"


async def test_a_member_sees_only_their_own_points(member, client, tmp_path):
    other = await import_owners(tmp_path, "13800138009")
    await points.earn(other[0], 999, key="other", source_kind="test")
    await log_in_member(client, f"+86{PHONE}")
    body = (await client.get("/api/v1/me/points")).json()
    assert body["balance"]["available"] == 0 and body["entries"] == []


@pytest.mark.parametrize("role", ["service", "sales"])
async def test_service_and_sales_staff_read_a_members_points(member, new_client, role):
    await points.earn(member, 1_000, key="a", source_kind="test")
    http = await _staff_client(new_client, "staffer", role)
    response = await http.get(f"/api/v1/staff/members/{member}/points")
    assert response.status_code == 200, response.text
    assert response.json()["balance"]["available"] == 1_000


async def test_event_staff_cannot_read_a_members_points(member, new_client):
    http = await _staff_client(new_client, "gate", "event_staff")
    response = await http.get(f"/api/v1/staff/members/{member}/points")
    assert response.status_code == 403


async def test_service_staff_adjust_points_with_a_reason_and_it_is_audited(member, new_client):
    http = await _staff_client(new_client, "kefu", "service")

    response = await http.post(
        f"/api/v1/staff/members/{member}/points/adjustments",
        json={"points": 500, "reason": "维修延误补偿", "idempotency_key": "ticket-0001"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["available"] == 500 and response.json()["replayed"] is False
    (entry,) = await entries_of(member, "adjust")
    assert (entry["available_delta"], entry["reason"], entry["actor_kind"]) == (500, "维修延误补偿", "staff")
    audit = await AuditEntry.select().where(AuditEntry.action == "points.adjust")
    assert [(a["subject_id"], a["reason"]) for a in audit] == [(member, "维修延误补偿")]


async def test_an_adjustment_replayed_returns_the_first_answer_and_a_different_body_is_409(member, new_client):
    http = await _staff_client(new_client, "kefu", "service")
    url = f"/api/v1/staff/members/{member}/points/adjustments"
    body = {"points": 500, "reason": "维修延误补偿", "idempotency_key": "ticket-0001"}

    first = await http.post(url, json=body)
    again = await http.post(url, json=body)
    different = await http.post(url, json={**body, "points": 800})

    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == {**first.json(), "replayed": True}
    assert different.status_code == 409
    assert different.headers["content-type"].startswith("application/problem+json")
    assert different.json()["type"] == "/problems/idempotency-conflict"
    assert (await points.balance(member)).available == 500


async def test_a_debit_adjustment_never_takes_the_balance_below_zero(member, new_client):
    await points.earn(member, 100, key="a", source_kind="test")
    http = await _staff_client(new_client, "kefu", "service")

    response = await http.post(
        f"/api/v1/staff/members/{member}/points/adjustments",
        json={"points": -101, "reason": "误发积分", "idempotency_key": "ticket-0002"},
    )

    assert response.status_code == 422
    assert response.json()["type"] == "/problems/insufficient-points"
    assert (await points.balance(member)).available == 100


async def test_an_adjustment_without_a_real_reason_is_refused(member, new_client):
    http = await _staff_client(new_client, "kefu", "service")
    response = await http.post(
        f"/api/v1/staff/members/{member}/points/adjustments",
        json={"points": 100, "reason": "  ", "idempotency_key": "ticket-0003"},
    )
    assert response.status_code in (400, 422)
    assert await entries_of(member) == []


@pytest.mark.parametrize("role", ["event_staff", "sales"])
async def test_staff_without_the_service_role_cannot_adjust_points(member, new_client, role):
    http = await _staff_client(new_client, "someone", role)
    response = await http.post(
        f"/api/v1/staff/members/{member}/points/adjustments",
        json={"points": 500, "reason": "想送积分", "idempotency_key": "ticket-0004"},
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert await entries_of(member) == []


async def test_a_member_cannot_adjust_points(member, client):
    await log_in_member(client, f"+86{PHONE}")
    response = await client.post(
        f"/api/v1/staff/members/{member}/points/adjustments",
        json={"points": 500, "reason": "给自己加分", "idempotency_key": "ticket-0005"},
    )
    assert response.status_code == 401
    assert await entries_of(member) == []


@pytest.mark.postgres_only
async def test_concurrent_double_submits_of_an_adjustment_pay_once(member, new_client):
    import asyncio

    http = await _staff_client(new_client, "kefu", "service")
    url = f"/api/v1/staff/members/{member}/points/adjustments"
    body = {"points": 500, "reason": "维修延误补偿", "idempotency_key": "ticket-0006"}

    responses = await asyncio.gather(*(http.post(url, json=body) for _ in range(20)))

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["entry_id"] for r in responses}) == 1
    assert (await points.balance(member)).available == 500
