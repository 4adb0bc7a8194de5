"""Background jobs: one table of what can run in the background, two ways to run it.

With a broker (`LOYALTY_BROKER_URL`), `enqueue` sends the job to Celery workers; without
one (the embedded default) it runs the same coroutine in this process right away. Jobs take
ids and plain values, never objects, and must be idempotent: Celery may deliver twice.
Enqueue only after the transaction that made the work has committed.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Awaitable, Callable

from loyalty.ops.metrics import observe_job
from loyalty.settings import Settings

log = logging.getLogger("loyalty.jobs")

# Celery task name → "module:coroutine function". loyalty/worker.py registers one Celery
# task per entry, so a job exists in exactly one place.
JOBS: dict[str, str] = {
    "loyalty.members.refresh_stages": "loyalty.members.service:refresh_stages",
    "loyalty.care.deliver_message": "loyalty.care.outbox:deliver_message",
    "loyalty.care.dispatch_due": "loyalty.care.outbox:dispatch_due",
    "loyalty.care.schedule_occasions": "loyalty.care.calendar:schedule_occasions",
    "loyalty.care.escalate_cases": "loyalty.care.cases:escalate_overdue",
    "loyalty.care.send_surveys": "loyalty.care.surveys:send_due_surveys",
    "loyalty.cards.nightly": "loyalty.cards.service:nightly",
    "loyalty.points.vest_due": "loyalty.points.service:vest_due",
    "loyalty.points.expire_due": "loyalty.points.service:expire_due",
    "loyalty.points.notify_expiring": "loyalty.points.service:notify_expiring",
    "loyalty.cards.yearly_review": "loyalty.cards.service:yearly_review_job",
    "loyalty.events.open_payment": "loyalty.events.signups:open_payment_job",
    "loyalty.events.release_unpaid": "loyalty.events.signups:release_unpaid",
    "loyalty.events.mark_no_shows": "loyalty.events.signups:mark_no_shows",
    "loyalty.events.retry_failed_refunds": "loyalty.events.signups:retry_failed_refunds",
}


def resolve(name: str) -> Callable[..., Awaitable[Any]]:
    module_name, function_name = JOBS[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


class _Dispatcher:
    def __init__(self) -> None:
        self.settings: Settings | None = None

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        if settings.broker_url:
            from loyalty.worker import celery_app

            # Celery connects lazily, so pointing it at this settings' broker here is enough.
            celery_app.conf.update(broker_url=settings.broker_url, result_backend=settings.broker_url)


_dispatcher = _Dispatcher()


def current_settings() -> Settings:
    """The settings jobs run with: the app's or the CLI's, else the environment's (a worker)."""
    if _dispatcher.settings is None:
        from loyalty.settings import get_settings

        return get_settings()
    return _dispatcher.settings


def configure(settings: Settings) -> None:
    """Called once by the app and the CLI: decides whether jobs go to Celery or run inline."""
    _dispatcher.configure(settings)


async def enqueue(name: str, *args: Any) -> None:
    """Run job `name` in the background (Celery) or, with no broker, now in this process.
    An in-process failure is logged, not raised: the caller's work has already committed and
    the job's own state (e.g. an outbox row still `queued`) records that it has to run again."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    settings = _dispatcher.settings
    if settings is not None and settings.broker_url:
        from loyalty.worker import celery_app

        celery_app.send_task(name, args=list(args))
        return
    try:
        with observe_job(name):
            await resolve(name)(*args)
    except Exception:  # noqa: BLE001 - logged with traceback; the job's state says it must re-run
        log.exception("in-process job %s%r failed", name, args)
