"""The per-key rate limit under a burst, as production runs it: `loyalty serve --workers 2` on
PostgreSQL with the limit counted in Redis, and 200 requests from one till's key in flight at
once.

Every request must be counted exactly once across both processes: no false 429 (the count
must not run ahead of the requests), RateLimit headers on every answer (the Redis pool must
make a burst wait for a connection, not fail it open), and the next request reads exactly the
Remaining the 200 left (partner_api/auth.py, loyalty/ops/rate_limits.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from loyalty.cards import service as cards
from tests.conftest import TEST_SECRET
from tests.sms_server import SERVER_SMS_ENV
from tests.faults.services import free_port
from tests.partner_api.builders import BASE, GOLD, owner, shop, static_code

pytestmark = pytest.mark.postgres_only

BURST = 200
LIMIT = 600  # per day, so no window ends during the burst (the reported till ran 600/minute)


@pytest.fixture
async def two_workers(database, redis_url, tmp_path: Path) -> AsyncIterator[str]:
    """`loyalty serve --workers 2` on a free loopback port, on this test's PostgreSQL and Redis."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOYALTY_")}
    env.update(
        LOYALTY_DATABASE_URL=database.url, LOYALTY_BROKER_URL=redis_url, LOYALTY_SECRET_KEY=TEST_SECRET,
        LOYALTY_PARTNER_RATE_LIMIT=f"{LIMIT}/day", LOYALTY_LOG_FORMAT="json", **SERVER_SMS_ENV,
    )
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "loyalty.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
            while True:
                assert server.poll() is None, f"loyalty serve exited:\n{log_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"loyalty serve did not answer:\n{log_path.read_text()[-3000:]}"
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 15)
        except subprocess.TimeoutExpired:
            server.kill()
            await asyncio.to_thread(server.wait, 15)
        if os.environ.get("LOYALTY_TEST_SHOW_SERVER_LOG"):
            print(log_path.read_text()[-5000:])


async def test_200_concurrent_requests_from_one_key_on_two_workers_are_each_counted_once(database, two_workers, tmp_path):
    member = await owner(tmp_path, GOLD)
    till = await shop()
    code = await static_code(member, cards.signer_for(database.settings()))
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(base_url=two_workers, timeout=30, limits=limits) as http:
        async def verify() -> httpx.Response:
            return await http.post(f"{BASE}/codes/verify", json={"code": code}, headers=till.auth)

        burst = await asyncio.gather(*(verify() for _ in range(BURST)))
        after = await verify()

    statuses = sorted(r.status_code for r in burst)
    assert statuses == [200] * BURST, [r.text for r in burst if r.status_code != 200][:3]
    without_headers = [r for r in burst if "ratelimit-remaining" not in r.headers]
    assert without_headers == [], f"{len(without_headers)} answers without RateLimit headers"
    # Each request got its own place in the count: 599, 598, …, 400, once each.
    assert sorted(int(r.headers["ratelimit-remaining"]) for r in burst) == list(range(LIMIT - BURST, LIMIT))
    assert (after.status_code, after.headers["ratelimit-remaining"]) == (200, str(LIMIT - BURST - 1))
