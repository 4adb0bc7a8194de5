"""Background jobs: one table of what can run in the background, two ways to run it.

With a broker (`LOYALTY_BROKER_URL`), `enqueue` sends the job to Celery workers; without
one (the embedded default) it runs the same coroutine in this process right away (a long
job, LONG_JOBS, as a task of its own, so the caller does not wait for it). Jobs take
ids and plain values, never objects, and must be idempotent: Celery may deliver twice.
Enqueue only after the transaction that made the work has committed.

When the broker is down or stuck, `enqueue` gives up after PUBLISH_DEADLINE_SECONDS, logs a
warning and returns False: it never fails or hangs the request that asked for the job (a
login code, a sale, a cancelled signup), because that request's work has committed. Nothing
is lost, because every job sent from here has a scheduled job that finds its work again: an
outbox message is a row that stays `queued` until `loyalty.care.dispatch_due` (beat, every
minute) hands it to a worker once the broker is back; a seat promoted to a payment that was
never opened is kept, and `loyalty.events.release_unpaid` (beat, every minute) opens the
payment once Stripe answers, which starts the owner's time to pay; an owner import stays
`queued` until `loyalty.members.resume_imports` (beat, every 5 minutes) sends it again. A job may also arrive
twice (a send that outlived its deadline, a re-delivery): jobs are idempotent.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from concurrent.futures import ThreadPoolExecutor
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
    "loyalty.care.send_broadcast": "loyalty.care.broadcasts:send",
    "loyalty.care.send_due_broadcasts": "loyalty.care.broadcasts:send_due",
    "loyalty.care.create_visits": "loyalty.care.visits:create_due_visits",
    "loyalty.care.plan_visits": "loyalty.care.visits:plan_month",
    "loyalty.care.run_care_plans": "loyalty.care.care_plans:run_plans",
    "loyalty.care.group_warnings": "loyalty.care.group_warnings:detect",
    "loyalty.cards.nightly": "loyalty.cards.service:nightly",
    "loyalty.points.vest_due": "loyalty.points.service:vest_due",
    "loyalty.points.expire_due": "loyalty.points.service:expire_due",
    "loyalty.points.notify_expiring": "loyalty.points.service:notify_expiring",
    "loyalty.cards.yearly_review": "loyalty.cards.service:yearly_review_job",
    "loyalty.events.open_payment": "loyalty.events.payments:open_payment_job",
    "loyalty.events.release_unpaid": "loyalty.events.waitlist:release_unpaid",
    "loyalty.events.mark_no_shows": "loyalty.events.signups:mark_no_shows",
    "loyalty.events.retry_failed_refunds": "loyalty.events.payments:retry_failed_refunds",
    "loyalty.rewards.expire_due": "loyalty.rewards.service:expire_due",
    "loyalty.rewards.remind_due": "loyalty.rewards.service:remind_due",
    "loyalty.rewards.notify": "loyalty.rewards.service:notify",
    "loyalty.rewards.apply_grant_rules": "loyalty.rewards.standing_grants:apply_grant_rules",
    "loyalty.members.import_owners": "loyalty.members.imports:run_import",
    "loyalty.members.resume_imports": "loyalty.members.imports:resume_imports",
}

# Jobs that may take minutes (a 50,000-row owner file). Without a broker they run as a task
# of their own in this process instead of inside the call that queued them, so the request
# that asked for one answers at once and the server keeps answering while it runs.
LONG_JOBS = frozenset({"loyalty.members.import_owners", "loyalty.care.send_broadcast"})
_background: set[asyncio.Task[None]] = set()


def resolve(name: str) -> Callable[..., Awaitable[Any]]:
    module_name, function_name = JOBS[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


# A job is sent in a few milliseconds; a request waits no longer than this for a broker that
# does not answer.
PUBLISH_DEADLINE_SECONDS = 1.0
# The publishing connections' socket timeouts: a stuck Redis (connections accepted, never
# answered) frees a publishing thread after a few of these, never holds it for good.
PUBLISH_SOCKET_TIMEOUT_SECONDS = 0.5


class _Publisher:
    """Sends jobs to the broker, from threads of its own: kombu publishes with blocking I/O,
    which must neither stall the event loop nor keep a caller past the deadline. A Celery
    app of its own (not the worker's), so that it is bound to exactly these settings."""

    def __init__(self, settings: Settings) -> None:
        from celery import Celery

        from loyalty.worker import broker_transport_options

        self.key = self.key_for(settings)
        self.app = Celery("loyalty", broker=settings.broker_url, set_as_current=False)
        self.app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            broker_transport_options={
                **broker_transport_options(settings),
                "socket_timeout": PUBLISH_SOCKET_TIMEOUT_SECONDS,
                "socket_connect_timeout": PUBLISH_SOCKET_TIMEOUT_SECONDS,
            },
            # One quick retry (a pooled connection that died with a restarted Redis), not
            # kombu's default of three spaced ones: the caller is waiting.
            task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1},
        )
        self.app.producer_pool  # noqa: B018 - made here, not raced for by the threads (nothing connects yet)
        self.threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="job-publisher")

    @staticmethod
    def key_for(settings: Settings) -> tuple[str | None, int]:
        return settings.broker_url, settings.job_visibility_timeout_seconds

    def _send(self, name: str, args: list[Any]) -> None:
        # Nobody reads a job's result through here: no result backend round trip.
        self.app.send_task(name, args=args, ignore_result=True)

    async def publish(self, name: str, args: list[Any]) -> None:
        """Send the job, or raise (the broker's error, or TimeoutError at the deadline)."""
        sending = asyncio.get_running_loop().run_in_executor(self.threads, self._send, name, args)
        await asyncio.wait_for(sending, PUBLISH_DEADLINE_SECONDS)

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)


class _Dispatcher:
    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.publisher: _Publisher | None = None

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        if self.publisher is not None and settings.broker_url and self.publisher.key == _Publisher.key_for(settings):
            return  # the same broker: keep its connections
        if self.publisher is not None:
            self.publisher.close()
        self.publisher = _Publisher(settings) if settings.broker_url else None


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


async def enqueue(name: str, *args: Any) -> bool:
    """Run job `name` in the background (Celery) or, with no broker, now in this process.
    Returns False if the broker could not be reached in time (see the module's docstring).
    Neither that nor an in-process failure is raised: the caller's work has already committed
    and the job's own state (e.g. an outbox row still `queued`) records that it has to run."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    publisher = _dispatcher.publisher
    if publisher is not None:
        from kombu.exceptions import OperationalError

        try:
            await publisher.publish(name, list(args))
        except (OperationalError, OSError, TimeoutError) as error:  # TimeoutError: the deadline passed
            log.warning(
                "job %s%r not sent, the broker is unreachable; its work waits for a scheduled job: %s",
                name, args, str(error) or type(error).__name__,
            )
            return False
        return True
    if name in LONG_JOBS:
        task = asyncio.get_running_loop().create_task(_run_in_process(name, args), name=f"job {name}")
        _background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(_background.discard)
        return True
    await _run_in_process(name, args)
    return True


async def _run_in_process(name: str, args: tuple[Any, ...]) -> None:
    try:
        with observe_job(name):
            await resolve(name)(*args)
    except Exception:  # noqa: BLE001 - logged with traceback; the job's state says it must re-run
        log.exception("in-process job %s%r failed", name, args)


async def settle() -> None:
    """Wait until the long jobs running in this process (LONG_JOBS, no broker) have ended."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
