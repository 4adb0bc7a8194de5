"""`/health`: the process is alive (nothing else is asked, so a slow database never gets a
healthy process restarted). `/ready`: the database and, when one is configured, the broker
answer, so a load balancer sends traffic only to processes that can serve it."""

from __future__ import annotations

import asyncio
import logging

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from loyalty import __version__, db
from loyalty.i18n import _, request_locale, translate
from loyalty.problems import PROBLEM_JSON
from loyalty.settings import Settings

log = logging.getLogger("loyalty.ops")
PROBE_TIMEOUT_SECONDS = 2.0
# What is unreachable → (title, detail); whole sentences, so each language words them its own way.
NOT_READY = {
    ("database",): (_("Not ready: the database is unreachable"),
                    _("the database cannot be reached; try again shortly")),
    ("broker",): (_("Not ready: the broker is unreachable"),
                  _("the broker cannot be reached; try again shortly")),
    ("database", "broker"): (_("Not ready: the database and the broker are unreachable"),
                             _("the database and the broker cannot be reached; try again shortly")),
}


@get("/health", operation_id="health", summary="Is the process alive?", tags=["ops"], cache_control=None)
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


async def _database() -> None:
    await asyncio.wait_for(db.ping(), PROBE_TIMEOUT_SECONDS)


async def _broker(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_SECONDS, socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


@get("/ready", operation_id="ready", summary="Can this process serve: database and broker reachable?", tags=["ops"])
async def ready(settings: NamedDependency[Settings], request: Request) -> Response[dict[str, str]]:
    checks = {"database": _database()}
    if settings.broker_url:
        checks["broker"] = _broker(settings.broker_url)
    outcomes = await asyncio.gather(*checks.values(), return_exceptions=True)
    report = {"status": "ready", "database": settings.database_kind}
    failed = []
    for name, outcome in zip(checks, outcomes):
        if isinstance(outcome, BaseException):
            log.warning("readiness: %s unreachable: %s", name, outcome)
            failed.append(name)
        report[f"{name}_status"] = "unreachable" if isinstance(outcome, BaseException) else "ok"
    if failed:
        locale = request_locale(request)
        title, detail = NOT_READY[tuple(failed)]
        return Response(
            {
                **report,
                "type": "/problems/not-ready",
                "title": translate(title, locale),
                "status": HTTP_503_SERVICE_UNAVAILABLE,
                "detail": translate(detail, locale),
            },
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "5"},
        )
    return Response(report)
