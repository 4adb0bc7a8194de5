"""Tier rules are data admins edit; a change lifts members at once and is audited."""

from __future__ import annotations

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierCriterion
from loyalty.identity import service as identity
from tests.members_builders import import_rows


async def _staff_client(client, role: str) -> None:
    await identity.create_staff(f"{role}-user", "long-password-1", role)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}-user", "password": "long-password-1"})
    assert response.status_code == 201, response.text


async def test_default_rules_from_design_are_listed(client):
    await _staff_client(client, "service")
    response = await client.get("/api/v1/staff/tier-rules")
    assert response.status_code == 200
    rules = {(r["tier"], r["kind"], r["threshold"]) for r in response.json()}
    assert ("platinum", "units_owned", 3) in rules
    assert ("gold", "stage", 4) in rules
    assert ("blue", "units_owned", 1) in rules


async def test_lowering_a_threshold_upgrades_members_at_once_and_is_audited(client, tmp_path):
    await import_rows(tmp_path, [{"phone": "13800138001", "name": "李四", "contract_date": "2025-03-01", "delivery_date": "2025-09-01"}])
    assert (await Card.select(Card.tier).first())["tier"] == "silver"
    gold_units = await TierCriterion.select().where((TierCriterion.tier == "gold") & (TierCriterion.kind == "units_owned")).first()
    await _staff_client(client, "admin")

    response = await client.put(
        f"/api/v1/staff/tier-rules/{gold_units['id']}",
        json={"tier": "gold", "kind": "units_owned", "threshold": 1, "reason": "年度促销：一套即金卡", "position": 1},
    )

    assert response.status_code == 200, response.text
    assert (await Card.select(Card.tier).first())["tier"] == "gold"
    entry = await AuditEntry.select().where(AuditEntry.action == "tier_rule.save").first()
    assert entry["subject_id"] == gold_units["id"] and entry["reason"] == "年度促销：一套即金卡"


async def test_a_rule_with_an_unknown_kind_is_refused_naming_the_field(client):
    await _staff_client(client, "admin")
    response = await client.post(
        "/api/v1/staff/tier-rules", json={"tier": "gold", "kind": "shoe_size", "threshold": 42, "reason": "test"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "kind"


async def test_only_admins_change_tier_rules(client):
    await _staff_client(client, "service")
    response = await client.post(
        "/api/v1/staff/tier-rules", json={"tier": "gold", "kind": "units_owned", "threshold": 1, "reason": "test"}
    )
    assert response.status_code == 403
