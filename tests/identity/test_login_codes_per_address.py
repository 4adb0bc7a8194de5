"""One address asking login codes for phone after phone (62 phones, all 202 before) is
refused past `LOYALTY_LOGIN_CODES_PER_ADDRESS`; every other address is still served."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import time_machine

from loyalty.app import create_app
from loyalty.identity.tables import LoginCode

CODES = "/api/v1/auth/login-codes"
T0 = datetime(2030, 3, 1, 9, 0, 5, tzinfo=timezone.utc)  # 5 s into the hour


def caller(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url="http://testserver")


async def test_62_phones_from_one_address_are_refused_past_the_per_address_limit(database, settings):
    assert settings.login_codes_per_address == "20/hour"  # the default
    app = create_app(settings, engine=database.engine)
    with time_machine.travel(T0, tick=False):
        async with caller(app, "198.51.100.23") as sweeper, caller(app, "203.0.113.5") as owner:
            sweep = [await sweeper.post(CODES, json={"phone": f"+861390000{n:04d}"}) for n in range(62)]
            elsewhere = await owner.post(CODES, json={"phone": "+8613800138000"})

    assert [r.status_code for r in sweep] == [202] * 20 + [429] * 42
    refused = sweep[-1]
    assert refused.json()["type"] == "/problems/login-codes-limited"
    assert int(refused.headers["retry-after"]) == 3600 - 5  # when the hour ends
    assert elsewhere.status_code == 202
    assert await LoginCode.count() == 21  # the refused requests sent nothing


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(database, settings):
    app = create_app(
        settings.with_overrides(login_codes_per_address="2/hour", trusted_proxies="10.0.0.0/8"), engine=database.engine
    )
    with time_machine.travel(T0, tick=False):
        async with caller(app, "10.1.2.3") as proxy:
            answers = [
                (await proxy.post(CODES, json={"phone": f"+861390000{n:04d}"}, headers={"X-Forwarded-For": client})).status_code
                for n, client in enumerate(["198.51.100.1"] * 3 + ["198.51.100.2"] * 2)
            ]

    assert answers == [202, 202, 429, 202, 202]
