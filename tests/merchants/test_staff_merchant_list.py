"""The staff Merchants page's API: the list (a page at a time, with category, store count,
keys in force and status) and a merchant's page (stores, discount schedules with their
validity, keys by prefix). Admins only; every write audited; nothing of any owner shown."""

from __future__ import annotations

from datetime import timedelta

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card
from loyalty.identity import service as identity
from loyalty.members.tables import Member
from loyalty.merchants import service as merchants
from loyalty.merchants.tables import ApiKey, Sale, Store
from tests.events.builders import owners, phone


async def _login(client, role: str) -> None:
    await identity.create_staff(f"{role}-1", "long-password-1", role)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}-1", "password": "long-password-1"})
    assert response.status_code == 201


async def test_the_list_pages_merchants_with_their_stores_and_keys_in_force(client):
    await _login(client, "admin")
    home = (await client.post("/api/v1/staff/merchants", json={"name": "好家居建材", "category": "decoration", "contact_phone": "0571-8888"})).json()["id"]
    cafe = (await client.post("/api/v1/staff/merchants", json={"name": "云湖咖啡", "category": "dining"})).json()["id"]
    for code in ("S1", "S2"):
        assert (await client.post(f"/api/v1/staff/merchants/{home}/stores", json={"code": code, "name": f"店{code}"})).status_code == 201
    keys = [(await client.post(f"/api/v1/staff/merchants/{home}/api-keys", json={"label": f"till {n}"})).json() for n in range(3)]
    assert (await client.post(f"/api/v1/staff/merchants/api-keys/{keys[0]['id']}/revocation")).status_code == 204
    # A key past its rotation's grace is not in force; one still in its grace is.
    await ApiKey.update({ApiKey.expires_at: clock.now() - timedelta(minutes=1)}).where(ApiKey.id == keys[1]["id"])
    rotated = await client.post(f"/api/v1/staff/merchants/api-keys/{keys[2]['id']}/rotation")
    assert rotated.status_code == 201

    listed = await client.get("/api/v1/staff/merchants")
    first_page = await client.get("/api/v1/staff/merchants?limit=1")
    second_page = await client.get("/api/v1/staff/merchants?limit=1&offset=1")

    assert listed.status_code == 200
    by_id = {m["id"]: m for m in listed.json()}
    assert by_id[home] == {
        "id": home, "name": "好家居建材", "category": "decoration", "status": "active", "points_per_cny": 0,
        "store_count": 2, "active_key_count": 2,  # the rotated one (in its grace) and its replacement
    }
    assert by_id[cafe]["store_count"] == 0 and by_id[cafe]["active_key_count"] == 0
    assert [m["id"] for m in first_page.json() + second_page.json()] == [m["id"] for m in listed.json()]
    assert len(first_page.json()) == 1


async def test_a_merchant_page_shows_stores_schedules_and_keys_by_prefix_never_the_key(client):
    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居", "category": "retail", "contact_name": "王经理"})).json()["id"]
    store = (await client.post(f"/api/v1/staff/merchants/{merchant}/stores", json={"code": "S1", "name": "滨江店"})).json()["id"]
    await client.post(f"/api/v1/staff/merchants/{merchant}/discounts",
                      json={"tier": "gold", "percent_bp": 1250, "valid_from": "2027-01-01", "valid_to": "2027-06-30", "cap_fen": 50000})
    key = (await client.post(f"/api/v1/staff/merchants/{merchant}/api-keys", json={"label": "till 1", "store_id": store})).json()

    page = await client.get(f"/api/v1/staff/merchants/{merchant}")

    assert page.status_code == 200
    body = page.json()
    assert (body["name"], body["category"], body["contact_name"], body["key_grace_hours"]) == ("好家居", "retail", "王经理", 24)
    assert body["stores"] == [{"id": store, "code": "S1", "name": "滨江店"}]
    assert [(d["tier"], d["percent_bp"], d["cap_fen"], d["valid_from"], d["valid_to"]) for d in body["discounts"]] == [
        ("gold", 1250, 50000, "2027-01-01", "2027-06-30")]
    assert [(k["id"], k["prefix"], k["store_id"], k["label"]) for k in body["keys"]] == [(key["id"], key["prefix"], store, "till 1")]
    assert key["key"] not in page.text and key["key"] not in (await client.get("/api/v1/staff/merchants")).text


async def test_a_merchants_data_never_shows_an_owners_phone_or_name(client, tmp_path):
    [owner] = await owners(tmp_path, 1, start=7)
    member = await Member.select(Member.name, Member.phone).where(Member.id == owner).first()
    card = await Card.select(Card.id, Card.tier).where(Card.member == owner).first()
    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).json()["id"]
    store = await merchants.add_store(merchant, "S1", "滨江店")
    # The owner bought something there (a sale names the member).
    await Sale.insert(Sale(
        merchant=merchant, store=store, member=owner, card=card["id"], tier=card["tier"], gross_fen=10000, discount_fen=0,
        cash_fen=10000, balance_after=0, idempotency_key="k1", request_hash="h",
    ))

    texts = [(await client.get(path)).text for path in ("/api/v1/staff/merchants", f"/api/v1/staff/merchants/{merchant}")]

    for text in texts:
        assert phone(7) not in text and member["phone"] not in text and member["name"] not in text


async def test_only_admins_see_merchants(client):
    merchant = await merchants.create_merchant("好家居")
    for role in ("sales", "service", "event_staff"):
        await _login(client, role)
        assert (await client.get("/api/v1/staff/merchants")).status_code == 403
        assert (await client.get(f"/api/v1/staff/merchants/{merchant}")).status_code == 403
        assert (await client.post(f"/api/v1/staff/merchants/{merchant}/api-keys", json={})).status_code == 403
    client.cookies.clear()
    assert (await client.get("/api/v1/staff/merchants")).status_code == 401


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(client):
    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居"})).json()["id"]
    before = await AuditEntry.count()

    unknown = await client.get("/api/v1/staff/merchants/999999")
    big_page = await client.get("/api/v1/staff/merchants?limit=100000")
    bad_offset = await client.get("/api/v1/staff/merchants?offset=-1")
    blank_name = await client.post("/api/v1/staff/merchants", json={"name": "   "})
    backwards = await client.post(f"/api/v1/staff/merchants/{merchant}/discounts",
                                  json={"tier": "gold", "percent_bp": 1000, "valid_from": "2027-02-01", "valid_to": "2027-01-01"})
    too_much = await client.post(f"/api/v1/staff/merchants/{merchant}/discounts",
                                 json={"tier": "gold", "percent_bp": 10001, "valid_from": "2027-02-01"})
    same_store = [await client.post(f"/api/v1/staff/merchants/{merchant}/stores", json={"code": "S1", "name": "店"}) for _ in range(2)]
    foreign_store = await client.post(f"/api/v1/staff/merchants/{merchant}/api-keys", json={"store_id": 999999})
    revoke_unknown = await client.post("/api/v1/staff/merchants/api-keys/999999/revocation")

    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (404, "merchant")
    assert big_page.status_code == 400 and bad_offset.status_code == 400
    assert (blank_name.status_code, blank_name.json()["errors"][0]["field"]) == (422, "name")
    assert (backwards.status_code, backwards.json()["errors"][0]["field"]) == (422, "valid_to")
    assert too_much.status_code in (400, 422) and "percent_bp" in too_much.text
    assert [r.status_code for r in same_store] == [201, 422] and same_store[1].json()["errors"][0]["field"] == "code"
    assert (foreign_store.status_code, foreign_store.json()["errors"][0]["field"]) == (422, "store_id")
    assert revoke_unknown.status_code == 404
    assert await Store.count() == 1 and await ApiKey.count() == 0
    assert await AuditEntry.count() == before + 1  # the one store added


async def test_every_write_is_audited_with_the_admin_and_never_the_key(client):
    await _login(client, "admin")
    merchant = (await client.post("/api/v1/staff/merchants", json={"name": "好家居", "category": "dining"})).json()["id"]
    await client.post(f"/api/v1/staff/merchants/{merchant}/stores", json={"code": "S1", "name": "滨江店"})
    await client.post(f"/api/v1/staff/merchants/{merchant}/discounts", json={"tier": "gold", "percent_bp": 1000, "valid_from": "2027-01-01"})
    key = (await client.post(f"/api/v1/staff/merchants/{merchant}/api-keys", json={})).json()
    new = (await client.post(f"/api/v1/staff/merchants/api-keys/{key['id']}/rotation")).json()
    await client.post(f"/api/v1/staff/merchants/api-keys/{new['id']}/revocation")

    entries = await AuditEntry.select().where(AuditEntry.subject_kind == "merchant").order_by(AuditEntry.id)

    assert [e["action"] for e in entries] == [
        "merchant.create", "merchant.store_add", "merchant.discount_set", "merchant.key_create", "merchant.key_create",
        "merchant.key_rotate", "merchant.key_revoke",
    ]
    assert all(e["actor_id"] is not None and e["subject_id"] == merchant for e in entries)
    assert key["key"] not in str(entries) and new["key"] not in str(entries)
