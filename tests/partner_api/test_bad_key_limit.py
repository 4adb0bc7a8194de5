"""A flood of made-up partner keys from one address is limited per address
(`LOYALTY_PARTNER_BAD_KEY_LIMIT`), not per key: each random key would otherwise be a bucket
of its own, and 650 calls got 650 × 401."""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timezone
from typing import AsyncIterator, Iterator

import httpx
import pytest
import time_machine

from loyalty import jobs
from loyalty.app import create_app
from loyalty.settings import Settings
from tests.partner_api.builders import BASE, bearer, problem, shop

SALES = f"{BASE}/sales"
FLOODER = "198.51.100.7"
NEIGHBOUR = "203.0.113.20"


@pytest.fixture
def still() -> Iterator[time_machine.Traveller]:
    """Time stands still 10 s into a minute, so the flood never crosses a window."""
    with time_machine.travel(datetime(2026, 6, 15, 4, 0, 10, tzinfo=timezone.utc), tick=False) as traveller:
        yield traveller


@contextlib.asynccontextmanager
async def callers(database, settings: Settings, *addresses: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One app, and an HTTP client on it for each caller address (the socket peer)."""
    app = create_app(settings, engine=database.engine)
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://testserver")
            )
            for address in addresses
        ]
    jobs.configure(database.settings())


def made_up_key() -> dict[str, str]:
    return bearer(f"ocm_live_{secrets.token_urlsafe(24)}")


async def test_650_random_bad_keys_from_one_address_are_refused_past_the_limit(database, still):
    till = await shop()
    settings = database.settings()
    assert settings.partner_bad_key_limit == "30/minute"  # the default
    async with callers(database, settings, FLOODER, NEIGHBOUR) as (flooder, neighbour):
        # Both kinds of route: the guard looks the key up (list sales), or the route's own
        # statement does (verify).
        flood = [
            await (flooder.get(SALES, headers=made_up_key()) if i % 2 else
                   flooder.post(f"{BASE}/codes/verify", json={"code": "x"}, headers=made_up_key()))
            for i in range(650)
        ]
        no_key = await flooder.get(SALES)
        other_address = await neighbour.get(SALES, headers=till.auth)

    assert [r.status_code for r in flood[:30]] == [401] * 30
    assert [r.status_code for r in flood[30:]] == [429] * 620
    refused = flood[-1]
    assert problem(refused) == "/problems/bad-keys-limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 50  # the minute ends 50 s from now
    assert no_key.status_code == 429
    assert other_address.status_code == 200  # counted per address: the shop next door still sells


async def test_a_good_key_does_not_count_against_its_address(database, still):
    till = await shop()
    async with callers(database, database.settings(partner_bad_key_limit="3/minute"), FLOODER) as (http,):
        good = [await http.get(SALES, headers=till.auth) for _ in range(10)]
        bad = [await http.get(SALES, headers=made_up_key()) for _ in range(4)]

    assert [r.status_code for r in good] == [200] * 10
    assert [r.status_code for r in bad] == [401, 401, 401, 429]


async def test_the_bad_key_limit_is_shared_by_two_app_instances_through_redis(database, still, redis_url):
    settings = database.settings(partner_bad_key_limit="4/minute", broker_url=redis_url)
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"  # Redis is shared by runs
    async with callers(database, settings, address) as (first,), callers(database, settings, address) as (second,):
        answers = [await (first if i % 2 else second).get(SALES, headers=made_up_key()) for i in range(6)]

    assert [r.status_code for r in answers[:4]] == [401] * 4
    assert {r.status_code for r in answers[5:]} == {429}  # each process learns within one request
