"""Bearer API keys: shown once and stored only as a hash, refused when unknown, revoked or past
their rotation grace, `last_used_at` kept; `loyalty create-merchant-key` prints a working key."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from loyalty.merchants import service as merchants
from loyalty.merchants.tables import ApiKey
from tests.partner_api.builders import BASE, GOLD, TODAY, at, bearer, owner, problem, sale_body, sell, shop, static_code, suspend_merchant

SALES = f"{BASE}/sales"
LOYALTY = Path(sys.executable).with_name("loyalty")


async def test_a_request_without_a_bearer_key_is_not_authenticated(client, frozen):
    await shop()

    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, {"Authorization": "ocm_live_abc"}):
        response = await client.get(SALES, headers=headers)
        assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated"), headers


async def test_every_partner_route_needs_a_key(client, frozen):
    for method, path in (("POST", "/codes/verify"), ("POST", "/sales"), ("GET", "/sales"), ("GET", "/sales/1"),
                         ("POST", "/sales/1/reversals"), ("GET", "/settlements/2026-06"), ("GET", "/settlements/2026-06.csv")):
        response = await client.request(method, BASE + path, json={} if method == "POST" else None, headers={"Idempotency-Key": "k"})
        assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated"), path


async def test_an_unknown_key_is_not_authenticated(client, frozen):
    a = await shop()

    for key in ("ocm_live_" + "x" * 43, a.key[:-1], a.key + "x", "sk_live_" + a.key[9:]):
        response = await client.get(SALES, headers=bearer(key))
        assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated"), key


async def test_a_revoked_key_is_not_authenticated(client, frozen):
    a = await shop()
    assert (await client.get(SALES, headers=a.auth)).status_code == 200

    await merchants.revoke_api_key(a.key_id)
    response = await client.get(SALES, headers=a.auth)

    assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated")


async def test_a_rotated_key_works_during_its_grace_and_not_after(client, frozen):
    a = await shop()
    new_key, _ = await merchants.rotate_api_key(a.key_id, grace=timedelta(hours=24))

    frozen.shift(timedelta(hours=23, minutes=59))
    during = [(await client.get(SALES, headers=bearer(key))).status_code for key in (a.key, new_key)]
    frozen.shift(timedelta(minutes=1, seconds=1))
    after_old = await client.get(SALES, headers=a.auth)
    after_new = await client.get(SALES, headers=bearer(new_key))

    assert during == [200, 200]
    assert (after_old.status_code, problem(after_old)) == (401, "/problems/not-authenticated")
    assert after_new.status_code == 200


async def test_a_rotated_store_key_stays_limited_to_its_store(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop(store_keys=True)
    old = await ApiKey.select().where(ApiKey.store == a.stores["S2"]).first()
    new_key, _ = await merchants.rotate_api_key(old["id"])

    response = await sell(client, bearer(new_key), "k1", sale_body(await static_code(member, signer), store=None))

    assert response.status_code == 201 and response.json()["store_id"] == a.stores["S2"]


async def test_a_suspended_merchants_keys_are_refused_as_merchant_suspended(client, frozen):
    a = await shop()
    await suspend_merchant(a.merchant_id)

    response = await client.get(SALES, headers=a.auth)

    assert (response.status_code, problem(response)) == (403, "/problems/merchant-suspended")


async def test_last_used_at_is_set_when_a_key_is_used(client, frozen):
    a = await shop()
    assert (await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == a.key_id).first())["last_used_at"] is None

    await client.get(SALES, headers=a.auth)
    first = (await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == a.key_id).first())["last_used_at"]
    frozen.shift(timedelta(hours=3))
    await client.get(SALES, headers=a.auth)
    later = (await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == a.key_id).first())["last_used_at"]

    assert first == at(TODAY)
    assert later == at(TODAY) + timedelta(hours=3)


async def test_a_refused_key_does_not_update_last_used_at(client, frozen):
    a = await shop()
    await merchants.revoke_api_key(a.key_id)

    await client.get(SALES, headers=a.auth)

    assert (await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == a.key_id).first())["last_used_at"] is None


async def test_the_raw_key_is_never_stored_only_its_sha256(client, frozen):
    a = await shop(store_keys=True)
    rotated, rotated_id = await merchants.rotate_api_key(a.key_id)
    raw_keys = {a.key_id: a.key, rotated_id: rotated}

    rows = await ApiKey.select()

    for row in rows:
        stored = " ".join(str(value) for value in row.values())
        for raw in [a.key, rotated, *a.store_keys.values()]:
            assert raw not in stored and raw.removeprefix("ocm_live_")[6:] not in stored
    for key_id, raw in raw_keys.items():
        row = next(row for row in rows if row["id"] == key_id)
        assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
        assert raw.startswith(row["prefix"]) and len(row["prefix"]) <= 15


def create_merchant_key(database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_DATABASE_URL"] = database.url
    return subprocess.run([str(LOYALTY), "create-merchant-key", *args], env=env, capture_output=True, text=True, timeout=120)


async def test_the_create_merchant_key_command_prints_a_key_that_works(client, database, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    done = create_merchant_key(database, str(a.merchant_id), "--label", "till 2")

    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("ocm_live_")
    verified = await client.post(f"{BASE}/codes/verify", json={"code": await static_code(member, signer)}, headers=bearer(key))
    assert verified.status_code == 200, verified.text
    row = await ApiKey.select().where(ApiKey.label == "till 2").first()
    assert row["merchant"] == a.merchant_id and row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


async def test_the_create_merchant_key_command_can_limit_a_key_to_one_store(client, database, tmp_path, signer):
    member = await owner(tmp_path, GOLD)
    a = await shop()

    done = create_merchant_key(database, str(a.merchant_id), "--store", str(a.stores["S2"]))

    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    response = await sell(client, bearer(key), "k1", sale_body(await static_code(member, signer), store=None))
    assert response.status_code == 201 and response.json()["store_id"] == a.stores["S2"]


async def test_the_create_merchant_key_command_refuses_an_unknown_merchant(database):
    done = create_merchant_key(database, "4242")

    assert done.returncode != 0
    assert "ocm_live_" not in done.stdout
    assert await ApiKey.count() == 0


async def test_rotating_a_key_whose_grace_has_ended_does_not_bring_it_back(client, frozen):
    a = await shop()
    await merchants.rotate_api_key(a.key_id, grace=timedelta(hours=24))
    frozen.shift(timedelta(hours=25))
    assert (await client.get(SALES, headers=a.auth)).status_code == 401

    try:
        await merchants.rotate_api_key(a.key_id, grace=timedelta(hours=24))
    except (merchants.NotFound, merchants.KeyAlreadyReplaced):
        pass  # refusing to rotate a dead key is fine too
    response = await client.get(SALES, headers=a.auth)

    assert (response.status_code, problem(response)) == (401, "/problems/not-authenticated")


async def test_a_key_is_replaced_once_whatever_races_it(client, frozen):
    # The review's attack: 20 rotations of one key at once made 20 live keys nobody was shown but
    # one, and rotations racing a revocation made keys that outlived the revoked one.
    a = await shop()
    outcomes = await asyncio.gather(*(merchants.rotate_api_key(a.key_id) for _ in range(20)), return_exceptions=True)
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, merchants.KeyAlreadyReplaced)]
    assert (len(made), len(refused)) == (1, 19)
    assert await ApiKey.count().where(ApiKey.merchant == a.merchant_id) == 2 + len(a.store_keys)
    with pytest.raises(merchants.KeyAlreadyReplaced):  # again later, without a race
        await merchants.rotate_api_key(a.key_id)

    b = await shop()
    await merchants.revoke_api_key(b.key_id)
    with pytest.raises(merchants.NotFound):
        await merchants.rotate_api_key(b.key_id)

