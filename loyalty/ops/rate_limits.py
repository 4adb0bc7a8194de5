"""Fixed-window request limits (the `limits` package), counted where every web process sees the
same count: in Redis when a broker is configured, in memory otherwise (the embedded default
runs one process). The partner key limit, the bad partner key limit per address and the
login-code limit per address all count here.

One `Counters` per web process holds one Redis connection pool of
`LOYALTY_RATE_LIMIT_REDIS_CONNECTIONS` connections. A burst larger than the pool waits for a
connection (a semaphore in front of the pool); it is never failed open for want of one, which
is what made a burst of 200 requests lose its RateLimit headers and its exact count.

Each request is one atomic INCR (with its expiry) of a window aligned to the clock, so the
count is exact across processes: the n-th request of a window, whichever process took it, is
number n. (An earlier version took units in batches per process; concurrent requests that all
missed a batch each took one, and 200 concurrent requests were counted as over 600.)

If Redis is unreachable (down, or not answering within REDIS_TIMEOUT_SECONDS) the limits fail
open, loudly:
each process then counts on its own in memory with the same windows, so a flood through one
process is still refused while a till keeps selling (DESIGN.md, "Decisions"). Redis is left
alone for RETRY_SHARED_AFTER_SECONDS after a failure, so one request pays the timeout rather
than every request; requests already waiting for a connection give up at once then too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from loyalty import clock
from loyalty.settings import Settings

log = logging.getLogger("loyalty.rate_limits")

RETRY_SHARED_AFTER_SECONDS = 5.0
# Long enough that a busy event loop (a burst of requests in one process: the reply waits for
# the loop, and the clock runs meanwhile) is not taken for Redis being down, which would drop
# the shared count and its headers; short enough that a stuck Redis costs one request a second.
REDIS_TIMEOUT_SECONDS = 1.0
# How long a request waits for a free Redis connection before the limit fails open for it;
# only reached when Redis answers slower than the pool can turn over.
POOL_WAIT_SECONDS = 5.0


class Counters:
    """The counting storage of one web process (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.fallback: MemoryStorage | None = None
        self.storage: Storage
        self._pool = None
        if settings.broker_url:
            from redis.asyncio import BlockingConnectionPool

            connections = settings.rate_limit_redis_connections
            self._pool = BlockingConnectionPool.from_url(
                settings.broker_url, max_connections=connections, timeout=POOL_WAIT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.storage = RedisStorage(f"async+{settings.broker_url}", implementation="redispy", connection_pool=self._pool)
            self.fallback = MemoryStorage()
            self._slots = asyncio.Semaphore(connections)
        else:
            self.storage = MemoryStorage()
        self._shared_retry_at = 0.0  # time.monotonic() before which Redis is not tried again
        self._shared_down = False

    async def incr(self, key: str, expiry: int, amount: int = 1) -> tuple[int, bool]:
        """Add `amount` to `key` (expiring after `expiry` seconds); the new count, and whether it is
        the count over all processes (False: this process's own, Redis being unreachable)."""
        if self.fallback is None:
            return await self.storage.incr(key, expiry, amount), True
        count = await self._shared(lambda: self.storage.incr(key, expiry, amount))
        if count is None:
            return await self.fallback.incr(key, expiry, amount), False
        return count, True

    async def _shared(self, operation: Callable[[], Awaitable[int]]) -> int | None:
        """Run a Redis operation, or None while Redis is unreachable."""
        if time.monotonic() < self._shared_retry_at:
            return None
        async with self._slots:
            if time.monotonic() < self._shared_retry_at:  # failed while this request waited
                return None
            try:
                count = int(await operation())
            except Exception as error:  # noqa: BLE001 - whatever the Redis client raises: fail open, loudly
                self._shared_retry_at = time.monotonic() + RETRY_SHARED_AFTER_SECONDS
                self._shared_down = True
                log.warning(
                    "rate limit storage unavailable, not limiting across processes (each process limits on its "
                    "own, next try in %.0f s): %s", RETRY_SHARED_AFTER_SECONDS, error or type(error).__name__,
                )
                return None
        if self._shared_down:
            self._shared_down = False
            log.warning("rate limit storage reachable again, limiting across processes")
        return count

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()


@dataclass(frozen=True)
class Count:
    """One request's place in its window."""

    number: int  # 1 = the first request of the window
    limit: int
    reset: int  # whole seconds until the window ends
    ends_at: float  # when the window ends (a timestamp on loyalty.clock)
    shared: bool  # counted over all processes (False: by this process alone, Redis down)

    @property
    def over(self) -> bool:
        return self.number > self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.number, 0)

    @property
    def retry_after(self) -> int:
        return max(self.reset, 1)


class FixedWindow:
    """A limit like `30/minute` per identity (a key digest, a client address), in windows
    aligned to the clock so every process agrees on where a window ends."""

    def __init__(self, counters: Counters, rate: str, namespace: str) -> None:
        self.counters = counters
        self.item: RateLimitItem = parse(rate)
        self.period = self.item.get_expiry()
        self.namespace = namespace

    async def hit(self, identity: str) -> Count:
        """Count one request of `identity`. Windows follow the app's clock (loyalty.clock), so
        a replayed history or a test at a chosen moment counts in that moment's window."""
        now = clock.now().timestamp()
        window = int(now // self.period)
        ends_at = float((window + 1) * self.period)
        number, shared = await self.counters.incr(self.item.key_for(self.namespace, identity, window), self.period)
        return Count(
            number=number, limit=self.item.amount, reset=max(int(ends_at - now), 0), ends_at=ends_at, shared=shared
        )

    async def give_back(self, identity: str, count: Count) -> None:
        """Undo the `hit` that answered `count` (a request that was not carried out after all)."""
        window = int(count.ends_at // self.period) - 1
        await self.counters.incr(self.item.key_for(self.namespace, identity, window), self.period, -1)

    def __str__(self) -> str:
        return str(self.item)
