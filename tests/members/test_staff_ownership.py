"""Staff enter a contract by hand: stage, card and tier follow at once; a sale is history."""

from __future__ import annotations

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card
from loyalty.identity import service as identity
from loyalty.members.tables import Member, Ownership, Project


async def _sales_login(client) -> None:
    await identity.create_staff("sales1", "long-password-1", "sales")
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": "sales1", "password": "long-password-1"})
    assert response.status_code == 201


async def test_a_contract_entered_by_staff_issues_a_card_at_once(client):
    member = (await Member.insert(Member(name="赵六", phone="+8613800138009")).returning(Member.id))[0]["id"]
    project = (await Project.insert(Project(code="HZ", name="云湖里")).returning(Project.id))[0]["id"]
    await _sales_login(client)

    response = await client.post(
        f"/api/v1/staff/members/{member}/ownerships",
        json={"project_id": project, "building": "3幢", "room": "1201", "contract_date": "2026-01-05"},
    )

    assert response.status_code == 201, response.text
    card = await Card.select().where(Card.member == member).first()
    assert card["tier"] == "blue" and card["status"] == "active"
    assert (await Member.select(Member.stage).where(Member.id == member).first())["stage"] == "pre_owner"
    assert await AuditEntry.exists().where(AuditEntry.action == "ownership.add")


async def test_a_contract_in_the_future_or_for_an_owned_unit_is_refused(client):
    member = (await Member.insert(Member(name="赵六", phone="+8613800138009")).returning(Member.id))[0]["id"]
    project = (await Project.insert(Project(code="HZ", name="云湖里")).returning(Project.id))[0]["id"]
    await _sales_login(client)
    body = {"project_id": project, "building": "3幢", "room": "1201", "contract_date": "2026-01-05"}
    assert (await client.post(f"/api/v1/staff/members/{member}/ownerships", json=body)).status_code == 201

    again = await client.post(f"/api/v1/staff/members/{member}/ownerships", json=body)
    future = await client.post(
        f"/api/v1/staff/members/{member}/ownerships", json={**body, "room": "1202", "contract_date": "2999-01-01"}
    )

    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "room"
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "contract_date"
    assert await Ownership.count() == 1
