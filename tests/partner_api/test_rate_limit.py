"""Rate limit per API key, counted in Redis so it holds across web processes, answered with
429 + Retry-After and RateLimit-* headers; with Redis unreachable the till keeps working
(fail open)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
import time_machine

from loyalty.cards import service as cards

from tests.partner_api.builders import (
    BASE, GOLD, app_client, bearer, dynamic_code, owner, problem, sale_body, sell, shop, static_code,
)

SALES = f"{BASE}/sales"
CLOSED_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there


@pytest.fixture
def lonely_minute() -> Iterator[time_machine.Traveller]:
    """Time frozen at a moment no other test uses. The Redis test database is shared (by the
    [sqlite] and [postgres] runs, and by other runs), key ids restart at 1 in every test, and
    the window is counted in (frozen) client time: so every 0.1 ms of real time is one frozen
    second here, and tests more than 6 ms apart never share a minute (Redis forgets a key 60
    real seconds after its last use)."""
    moment = datetime(2100, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=(time.monotonic_ns() // 100_000) % 10**10)
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


async def test_the_fourth_request_in_a_minute_is_429_with_retry_after_and_ratelimit_headers(database, lonely_minute):
    a = await shop()
    async with app_client(database, database.settings(partner_rate_limit="3/minute")) as http:
        answers = [await http.get(SALES, headers=a.auth) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-limit"] for r in answers] == ["3"] * 4
    assert [r.headers["ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert problem(refused) == "/problems/rate-limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert 0 <= int(refused.headers["ratelimit-reset"]) <= 60


async def test_the_limit_is_per_key_and_resets_after_the_window(database, lonely_minute):
    a, b = await shop("A"), await shop("B")
    async with app_client(database, database.settings(partner_rate_limit="2/minute")) as http:
        a_answers = [(await http.get(SALES, headers=a.auth)).status_code for _ in range(3)]
        b_answers = [(await http.get(SALES, headers=b.auth)).status_code for _ in range(2)]
        lonely_minute.shift(timedelta(seconds=61))
        a_later = (await http.get(SALES, headers=a.auth)).status_code

    assert (a_answers, b_answers, a_later) == ([200, 200, 429], [200, 200], 200)


async def test_ratelimit_headers_come_with_error_answers_too(database, lonely_minute):
    a = await shop()
    async with app_client(database, database.settings(partner_rate_limit="5/minute")) as http:
        missing = await http.get(f"{SALES}/999", headers=a.auth)

    assert missing.status_code == 404
    assert (missing.headers["ratelimit-limit"], missing.headers["ratelimit-remaining"]) == ("5", "4")


async def test_the_limit_is_shared_through_redis_by_two_app_instances(database, lonely_minute, redis_url):
    a = await shop()
    settings = database.settings(partner_rate_limit="3/minute", broker_url=redis_url)
    async with app_client(database, settings) as first, app_client(database, settings) as second:
        answers = [
            (await first.get(SALES, headers=a.auth)).status_code,
            (await first.get(SALES, headers=a.auth)).status_code,
            (await second.get(SALES, headers=a.auth)).status_code,
        ]
        fourth = await second.get(SALES, headers=a.auth)

    assert answers == [200, 200, 200]
    assert (fourth.status_code, problem(fourth)) == (429, "/problems/rate-limited")
    assert "retry-after" in fourth.headers and fourth.headers["ratelimit-remaining"] == "0"


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def auth_log() -> Iterator[Remember]:
    """What the limits' storage logs (the app's logging set-up replaces the root handlers, so
    pytest's caplog would not see it)."""
    handler = Remember()
    logger = logging.getLogger("loyalty.rate_limits")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_with_redis_unreachable_verify_and_sales_keep_working(database, lonely_minute, tmp_path, auth_log):
    member = await owner(tmp_path, GOLD, points_balance=100)
    a = await shop()
    # Five requests under a limit of five: the per-process count that stands in for Redis
    # (partner_api/auth.py) lets them all through, as Redis would have.
    settings = database.settings(partner_rate_limit="5/minute", broker_url=CLOSED_REDIS)
    signer_code = await static_code(member, cards.signer_for(settings))
    async with app_client(database, settings) as http:
        verified = [await http.post(f"{BASE}/codes/verify", json={"code": signer_code}, headers=a.auth) for _ in range(3)]
        paying_code = await dynamic_code(member, cards.signer_for(settings))
        sold = await sell(http, a.auth, "k1", sale_body(paying_code, points_to_redeem=100))
        listed = await http.get(SALES, headers=a.auth)

    assert [r.status_code for r in verified] == [200, 200, 200]
    assert (sold.status_code, listed.status_code) == (201, 200), sold.text
    assert "ratelimit-limit" not in listed.headers  # nothing was counted, and nothing pretends it was
    assert any("rate limit storage unavailable" in message for message in auth_log.messages)  # failing open, loudly


async def test_a_key_that_fails_authentication_is_refused_before_it_is_counted(database, lonely_minute):
    a = await shop()
    async with app_client(database, database.settings(partner_rate_limit="2/minute")) as http:
        for _ in range(3):
            await http.get(SALES, headers=bearer("ocm_live_unknown"))
        answers = [(await http.get(SALES, headers=a.auth)).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


async def test_two_processes_sharing_a_key_count_each_request_exactly_once(database, lonely_minute, redis_url):
    """Two processes share a 200/minute limit. Of 210 requests alternating between them,
    exactly 200 pass, and each is told its own place: Remaining 199 down to 0, once each."""
    from partner_api.auth import RateLimit, RateLimited

    settings = database.settings(partner_rate_limit="200/minute", broker_url=redis_url)
    first, second = RateLimit(settings), RateLimit(settings)
    identity = f"exact-test-{time.monotonic_ns()}"
    remaining, refused = [], 0
    for i in range(210):
        try:
            remaining.append(int((await (first if i % 2 else second).hit(identity))["RateLimit-Remaining"]))
        except RateLimited:
            refused += 1

    assert (remaining, refused) == (list(range(199, -1, -1)), 10)


async def test_concurrent_requests_in_one_process_are_each_counted_once(database, lonely_minute, redis_url):
    """150 requests of one key in flight at once in one process (the reported verify burst:
    303 requests were counted as 423)."""
    from partner_api.auth import RateLimit

    settings = database.settings(partner_rate_limit="600/minute", broker_url=redis_url, rate_limit_redis_connections=8)
    limiter = RateLimit(settings)
    identity = f"burst-test-{time.monotonic_ns()}"
    answers = await asyncio.gather(*(limiter.hit(identity) for _ in range(150)))

    assert sorted(int(headers["RateLimit-Remaining"]) for headers in answers) == list(range(450, 600))
