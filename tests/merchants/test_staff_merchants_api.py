"""Admins set up merchants for the partner API: stores, tier discounts, keys shown once."""

from __future__ import annotations

import hashlib

from loyalty.identity import service as identity
from loyalty.merchants.tables import ApiKey


async def _login(client, role: str) -> None:
    await identity.create_staff(f"{role}-1", "long-password-1", role)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}-1", "password": "long-password-1"})
    assert response.status_code == 201


async def test_an_admin_sets_up_a_merchant_and_the_key_is_shown_once_and_stored_hashed(client):
    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居建材", "category": "decoration"})).json()["id"]
    store = await client.post(f"/api/v1/staff/merchants/{merchant}/stores", json={"code": "S1", "name": "滨江店"})
    discount = await client.post(
        f"/api/v1/staff/merchants/{merchant}/discounts",
        json={"tier": "gold", "percent_bp": 1000, "valid_from": "2026-01-01", "cap_fen": 50000},
    )
    key = await client.post(f"/api/v1/staff/merchants/{merchant}/api-keys", json={"label": "till 1"})

    assert store.status_code == discount.status_code == key.status_code == 201
    raw = key.json()["key"]
    assert raw.startswith("ocm_live_") and key.json()["prefix"] == raw[:15]
    stored = await ApiKey.select().first()
    assert stored["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(stored)
    listed = (await client.get(f"/api/v1/staff/merchants/{merchant}/api-keys")).json()
    assert [k["prefix"] for k in listed] == [raw[:15]] and "key" not in listed[0]


async def test_an_unknown_category_or_tier_is_refused_naming_the_field(client):
    await _login(client, "admin")
    bad_category = await client.post("/api/v1/staff/merchants", json={"name": "x", "category": "casino"})
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).json()["id"]
    bad_tier = await client.post(
        f"/api/v1/staff/merchants/{merchant}/discounts", json={"tier": "diamond", "percent_bp": 1000, "valid_from": "2026-01-01"}
    )
    assert bad_category.status_code == 422 and bad_category.json()["errors"][0]["field"] == "category"
    assert bad_tier.status_code == 422 and bad_tier.json()["errors"][0]["field"] == "tier"


async def test_a_discount_for_an_unknown_merchant_is_not_found_not_a_500(client):
    await _login(client, "admin")

    response = await client.post(
        "/api/v1/staff/merchants/999999/discounts", json={"tier": "gold", "percent_bp": 1000, "valid_from": "2026-01-01"}
    )

    assert response.status_code == 404 and response.json()["type"] == "/problems/not-found"
    assert response.json()["errors"] == [{"field": "merchant", "reason": "商家 999999 不存在", "source": "path"}]


async def test_only_admins_manage_merchants(client):
    await _login(client, "service")
    assert (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).status_code == 403


async def test_an_admin_suspends_a_merchant_its_keys_are_refused_and_reactivation_restores_them(client):
    from loyalty.audit.tables import AuditEntry
    from loyalty.merchants import service as merchants

    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).json()["id"]
    raw, _ = await merchants.create_api_key(merchant)
    till = {"Authorization": f"Bearer {raw}"}

    no_reason = await client.post(f"/api/v1/staff/merchants/{merchant}/suspension", json={"reason": " "})
    suspended = await client.post(f"/api/v1/staff/merchants/{merchant}/suspension", json={"reason": "合同到期 contract ended"})
    refused = await client.get("/partner/v1/sales", headers=till)
    refused_verify = await client.post("/partner/v1/codes/verify", json={"code": "OC1.x.y.z"}, headers=till)
    reactivated = await client.post(f"/api/v1/staff/merchants/{merchant}/reactivation", json={"reason": "续约 renewed"})
    served = await client.get("/partner/v1/sales", headers=till)
    unknown = await client.post("/api/v1/staff/merchants/999999/suspension", json={"reason": "no such merchant"})

    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert (suspended.status_code, reactivated.status_code, served.status_code, unknown.status_code) == (204, 204, 200, 404)
    assert (refused.status_code, refused.json()["type"]) == (403, "/problems/merchant-suspended")
    assert (refused_verify.status_code, refused_verify.json()["type"]) == (403, "/problems/merchant-suspended")
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).where(AuditEntry.subject_kind == "merchant").order_by(AuditEntry.id)]
    assert actions == ["merchant.create", "merchant.key_create", "merchant.suspend", "merchant.reactivate"]


async def test_only_admins_suspend_merchants(client):
    from loyalty.merchants import service as merchants

    merchant = await merchants.create_merchant("好家居")
    await _login(client, "sales")
    response = await client.post(f"/api/v1/staff/merchants/{merchant}/suspension", json={"reason": "try"})
    assert response.status_code == 403
