"""Bearer API keys and the per-key rate limit, as one guard on the partner router.

The limit is counted in Redis (the `limits` package) so it holds across web processes.

If Redis is unreachable (down, or not answering within 0.2 s) the till keeps working: the
shared limit fails open and the failure is logged, because a shop must not stop selling when
a counter is down (DESIGN.md, "Decisions"). Meanwhile each web process counts every key on its
own, with the same limit and the same clock-aligned windows (`limits`' in-memory storage):
- it never refuses a request the shared limit would have let through, since one process's
  count of a key is at most the key's count over all processes;
- it still stops a runaway till, or a flood on one key (good or bad), from hammering the
  database through a process (with N web processes a key may get N times its limit then);
- a request it lets through gets no RateLimit-* headers (the count is one process's, not the
  key's); one it refuses gets the 429 with Retry-After, as always.
After a failure a process leaves Redis alone for RETRY_SHARED_AFTER_SECONDS, so one request
in that time pays the timeout rather than every request; each failed try is logged as a
warning, and the return to the shared count too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from loyalty.errors import DomainError, NotAuthenticated
from loyalty.merchants import service
from loyalty.settings import Settings

log = logging.getLogger("partner_api.auth")


class RateLimited(DomainError):
    type = "rate-limited"
    status = 429
    title_en = "Too many requests for this API key"
    title_zh = "该 API 密钥请求过于频繁"


RETRY_SHARED_AFTER_SECONDS = 5.0


class RateLimit:
    """A fixed window aligned to the clock (e.g. each whole minute), counted in the `limits`
    storage with its atomic increment-and-expire, so every process agrees on the count and on
    `RateLimit-Reset` (the end of the window).

    A process takes units from Redis a batch at a time (1% of the limit, at least 1) and hands
    them out locally, so a busy key costs one Redis round trip per batch rather than per
    request. The count can only run ahead of the requests served (units a process took but did
    not use before the window ended), never behind: a key is never let through over its limit,
    and with limits under 200 a request the batch is 1 and the count is exact."""

    def __init__(self, settings: Settings) -> None:
        self.item = parse(settings.partner_rate_limit)
        self.period = self.item.get_expiry()
        self.batch = max(1, self.item.amount // 100)
        self._leases: dict[str, tuple[int, int, int]] = {}  # identity → (window, next unit, last unit)
        storage: Storage
        if settings.broker_url:
            uri = settings.broker_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
            storage = RedisStorage(uri, implementation="redispy", socket_timeout=0.2, socket_connect_timeout=0.2)
        else:
            storage = MemoryStorage()  # the embedded default runs one process
        self.storage = storage
        # Redis unreachable: each process counts on its own (see the module's docstring).
        self.fallback = MemoryStorage() if isinstance(storage, RedisStorage) else None
        self._shared_retry_at = 0.0  # time.monotonic() before which Redis is not tried again
        self._shared_down = False

    async def _unit(self, identity: str, window: int) -> int:
        """This request's number in the window (1 = the first request of the key)."""
        lease = self._leases.get(identity)
        if lease is not None and lease[0] == window and lease[1] <= lease[2]:
            self._leases[identity] = (window, lease[1] + 1, lease[2])
            return lease[1]
        if len(self._leases) > 10_000:  # keys idle since an earlier window
            self._leases = {key: held for key, held in self._leases.items() if held[0] == window}
        last = await self.storage.incr(self.item.key_for("partner-key", identity, window), self.period, amount=self.batch)
        first = last - self.batch + 1
        self._leases[identity] = (window, first + 1, last)
        return first

    async def _shared_unit(self, identity: str, window: int) -> int | None:
        """`_unit`, or None while the storage is unreachable (then not tried again for
        RETRY_SHARED_AFTER_SECONDS)."""
        if self.fallback is not None and time.monotonic() < self._shared_retry_at:
            return None
        try:
            count = await self._unit(identity, window)
        except Exception as error:  # noqa: BLE001 - whatever the Redis client raises: fail open, loudly
            if self.fallback is None:
                raise
            self._shared_retry_at = time.monotonic() + RETRY_SHARED_AFTER_SECONDS
            self._shared_down = True
            log.warning(
                "rate limit storage unavailable, not limiting across processes (each process limits on its own, "
                "next try in %.0f s): %s", RETRY_SHARED_AFTER_SECONDS, error,
            )
            return None
        if self._shared_down:
            self._shared_down = False
            log.warning("rate limit storage reachable again, limiting across processes")
        return count

    async def hit(self, identity: str) -> dict[str, str]:
        """Count one request; raise RateLimited when over. Returns the RateLimit headers."""
        now = time.time()
        window = int(now // self.period)
        reset = max(int((window + 1) * self.period - now), 0)
        count = await self._shared_unit(identity, window)
        if count is None:
            assert self.fallback is not None
            local = await self.fallback.incr(self.item.key_for("partner-key", identity, window), self.period)
            if local > self.item.amount:
                headers = {"RateLimit-Limit": str(self.item.amount), "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
                raise RateLimited(f"limit {self.item}", retry_after=max(reset, 1), headers=headers)
            return {}
        headers = {
            "RateLimit-Limit": str(self.item.amount),
            "RateLimit-Remaining": str(max(self.item.amount - count, 0)),
            "RateLimit-Reset": str(reset),
        }
        if count > self.item.amount:
            raise RateLimited(f"limit {self.item}", retry_after=max(reset, 1), headers=headers)
        return headers


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send `Authorization: Bearer ocm_live_…`")
    return token.strip()


async def requires_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Counts the request against its key, then (unless the route judges the key in its own
    statement, `opt={"key_in_query": True}`) resolves the key to its merchant. Counting comes
    first so that a flood of bad keys is limited too; it is counted by the key's digest."""
    digest = service.key_digest(bearer(connection))
    connection.state.key_digest = digest
    connection.state.rate_headers = await connection.app.state.partner_rate_limit.hit(digest[:32])
    if not handler.opt.get("key_in_query"):
        connection.state.partner = await service.authenticate(digest)
