"""Prometheus metrics: request latency per route (Litestar's Prometheus middleware, labelled by
the route's template so ids do not explode the series) and job outcomes (runs by job and
outcome, and their durations), served at `/metrics`.

With several web processes (uvicorn --workers) and Celery workers on one host, set
`PROMETHEUS_MULTIPROC_DIR` to an empty folder for all of them: every process writes its
figures there and `/metrics` of any web process sums them (prometheus_client's multiprocess
mode), job outcomes from the workers included. Without it each process reports its own.

`/metrics` answers only loopback callers (a scraper on the host or a sidecar; not a request a
proxy forwarded), or anyone presenting `Authorization: Bearer $LOYALTY_METRICS_TOKEN` when set.
The caller is `loyalty.ops.client_address`'s: behind a trusted proxy the forwarded client.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from contextlib import contextmanager
from typing import Any, Iterator

from litestar import Request
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Histogram

from loyalty.errors import Forbidden
from loyalty.i18n import _
from loyalty.ops.client_address import client_address, peer_is_trusted_proxy
from loyalty.settings import Settings

JOB_RUNS = Counter("loyalty_job_runs", "Background job runs by job and outcome (ok, failed)", ["job", "outcome"])
JOB_SECONDS = Histogram(
    "loyalty_job_duration_seconds", "How long background jobs ran", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def request_metrics() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="owner-club",
        prefix="loyalty",
        group_path=True,  # /api/v1/staff/members/{member_id:int}, not one series per member
        exclude=["^/metrics$", "^/static/"],
        buckets=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    )


@contextmanager
def observe_job(name: str) -> Iterator[None]:
    """Count one run of job `name` and its duration; the outcome is `failed` if it raised."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        JOB_RUNS.labels(name, outcome).inc()
        JOB_SECONDS.labels(name).observe(time.perf_counter() - started)


def metrics_controller(settings: Settings) -> type[PrometheusController]:
    token = settings.metrics_token
    refused = _("metrics are served to loopback callers, or with the metrics token")

    async def may_scrape(request: Request[Any, Any, Any], _: Any) -> None:
        if token and hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
            return
        # A request a reverse proxy on this host passed on also comes from loopback: unless the
        # proxy is a trusted one (then client_address names the client it forwarded), the
        # forwarding headers it adds say it started elsewhere.
        forwarded = "x-forwarded-for" in request.headers or "forwarded" in request.headers
        if forwarded and not peer_is_trusted_proxy(request, settings):
            raise Forbidden(refused)
        if _is_loopback(client_address(request, settings)):
            return
        raise Forbidden(refused)

    class Metrics(PrometheusController):
        path = "/metrics"
        guards = [may_scrape]
        include_in_schema = False

    return Metrics
