"""Bearer API keys, the per-key rate limit, and the per-address limit on keys that do not
authenticate, as one guard on the partner router.

Both limits count in `loyalty.ops.rate_limits` (Redis with a broker, so they hold across web
processes; each request one atomic increment, so the count is exact). If Redis is unreachable
the till keeps working: the limits fail open, logged, and each web process counts on its own
with the same limits and windows:
- it never refuses a request the shared limit would have let through, since one process's
  count of a key is at most the key's count over all processes;
- it still stops a runaway till, or a flood on one key (good or bad), from hammering the
  database through a process (with N web processes a key may get N times its limit then);
- a request it lets through gets no RateLimit-* headers (the count is one process's, not the
  key's); one it refuses gets the 429 with Retry-After, as always.

A flood of made-up keys would otherwise never be limited (each key its own bucket): every
partner answer that is a 401 (no key, or a key that does not authenticate) counts against the
caller's address (`loyalty.ops.client_address`), and once an address has used up
`LOYALTY_PARTNER_BAD_KEY_LIMIT` in a window every partner call from it is refused with 429
before any key is looked up, until the window ends.
"""

from __future__ import annotations

import math
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from loyalty.i18n import _
from loyalty.errors import BadPartnerKeysLimited, DomainError, NotAuthenticated
from loyalty.merchants import service
from loyalty.ops.client_address import client_address
from loyalty.ops.limit_words import window_words
from loyalty.ops.rate_limits import Counters, FixedWindow
from loyalty.settings import Settings


class RateLimited(DomainError):
    type = "rate-limited"
    status = 429
    title = _("Too many requests for this API key")


class RateLimit:
    """`LOYALTY_PARTNER_RATE_LIMIT` per key, in clock-aligned windows, so every process agrees
    on the count and on `RateLimit-Reset` (the end of the window)."""

    def __init__(self, settings: Settings, counters: Counters | None = None) -> None:
        self.window = FixedWindow(counters or Counters(settings), settings.partner_rate_limit, "partner-key")
        self.item = self.window.item

    async def hit(self, identity: str) -> dict[str, str]:
        """Count one request; raise RateLimited when over. Returns the RateLimit headers (none
        while the count is this process's alone)."""
        count = await self.window.hit(identity)
        if not count.shared and not count.over:
            return {}
        headers = {
            "RateLimit-Limit": str(count.limit),
            "RateLimit-Remaining": str(count.remaining),
            "RateLimit-Reset": str(count.reset),
        }
        if count.over:
            raise RateLimited(
                _(
                    "This API key may make at most {limit} requests within {window}; "
                    "retry after the seconds given in Retry-After.",
                    limit=count.limit, window=window_words(self.item),
                ),
                retry_after=count.retry_after, headers=headers,
            )
        return headers


class BadKeyLimit:
    """`LOYALTY_PARTNER_BAD_KEY_LIMIT`: 401 answers per client address and window.

    Only answers that were 401 are counted, so a good till pays nothing for this limit: the
    refusal is remembered in the process whose count went over (all processes share the
    count, so each process that serves part of a flood sees it go over within one request),
    and checked there in memory until the window ends."""

    def __init__(self, settings: Settings, counters: Counters | None = None) -> None:
        self.window = FixedWindow(counters or Counters(settings), settings.partner_bad_key_limit, "partner-bad-key")
        self._refused: dict[str, float] = {}  # address → time.time() when its window ends

    def check(self, address: str) -> None:
        """Refuse the address while it has used up its bad keys for the window."""
        until = self._refused.get(address)
        if until is None:
            return
        left = until - time.time()
        if left <= 0:
            del self._refused[address]
            return
        raise BadPartnerKeysLimited(
            _(
                "More than {limit} calls without a valid API key came from this address within {window}; "
                "retry after the seconds given in Retry-After.",
                limit=self.window.item.amount, window=window_words(self.window.item),
            ),
            retry_after=max(math.ceil(left), 1),
        )

    async def count(self, address: str) -> None:
        """Count one 401 answered to the address."""
        counted = await self.window.hit(address)
        if counted.number >= counted.limit:  # used up: the next call is refused
            if len(self._refused) > 10_000:  # addresses whose window has ended
                now = time.time()
                self._refused = {known: until for known, until in self._refused.items() if until > now}
            self._refused[address] = counted.ends_at


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(_("send your API key as `Authorization: Bearer ocm_live_…`"))
    return token.strip()


async def requires_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Counts the request against its key, then (unless the route judges the key in its own
    statement, `opt={"key_in_query": True}`) resolves the key to its merchant. Counting comes
    first so that a flood of bad keys is limited too; it is counted by the key's digest, and an
    address that sent too many keys that did not authenticate is refused first of all."""
    state = connection.app.state
    address = client_address(connection, state.settings)
    connection.state.client_address = address
    state.partner_bad_keys.check(address)
    digest = service.key_digest(bearer(connection))
    connection.state.key_digest = digest
    connection.state.rate_headers = await state.partner_rate_limit.hit(digest[:32])
    if not handler.opt.get("key_in_query"):
        connection.state.partner = await service.authenticate(digest)
