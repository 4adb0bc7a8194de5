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


async def test_only_admins_manage_merchants(client):
    await _login(client, "service")
    assert (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).status_code == 403
