"""Bearer API keys and the per-key rate limit, as one guard on the partner router.

The limit is counted in Redis (the `limits` package) so it holds across web processes. If
Redis is unreachable the till keeps working: the limit fails open and the failure is logged,
because a shop must not stop selling when a counter is down (DESIGN.md, "Decisions").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
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


class RateLimit:
    def __init__(self, settings: Settings) -> None:
        self.item = parse(settings.partner_rate_limit)
        storage: Storage
        if settings.broker_url:
            uri = settings.broker_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
            storage = RedisStorage(uri, implementation="redispy", socket_timeout=0.2, socket_connect_timeout=0.2)
        else:
            storage = MemoryStorage()  # the embedded default runs one process
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, key_id: int) -> dict[str, str]:
        """Count one request; raise RateLimited when over. Returns the RateLimit headers."""
        identity = f"partner-key:{key_id}"
        try:
            allowed = await self.limiter.hit(self.item, identity)
            stats = await self.limiter.get_window_stats(self.item, identity)
        except Exception as error:  # noqa: BLE001 - Redis down: fail open, loudly
            log.warning("rate limit storage unavailable, not limiting: %s", error)
            return {}
        reset = max(int(stats.reset_time - time.time()), 0)
        headers = {
            "RateLimit-Limit": str(self.item.amount),
            "RateLimit-Remaining": str(max(stats.remaining, 0)),
            "RateLimit-Reset": str(reset),
        }
        if not allowed:
            raise RateLimited(f"limit {self.item}", retry_after=max(reset, 1), headers=headers)
        return headers


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send `Authorization: Bearer ocm_live_…`")
    return token.strip()


async def requires_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    ctx = await service.authenticate(bearer(connection))
    connection.state.partner = ctx
    connection.state.rate_headers = await connection.app.state.partner_rate_limit.hit(ctx.key_id)
