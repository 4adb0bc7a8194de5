"""The Celery app, its tasks and the beat schedule (the one place they are declared).

Celery has no async tasks, so each worker process keeps one event loop and one database
pool, created on its first task (after the fork), and every task runs its coroutine on it.
Tasks are generated from `loyalty.jobs.JOBS`: thin wrappers around service functions.

    loyalty worker      # celery worker on LOYALTY_BROKER_URL
    loyalty beat        # the scheduler

Without a broker there is no `loyalty beat`: the web processes run this same beat schedule
themselves, each due run once across processes (loyalty/ops/embedded_beat.py).

A worker that dies in the middle of a job (killed, out of memory, machine lost) does not
lose it: a job is acknowledged only after it ran (`task_acks_late`), so
- when only a pool process dies, the worker puts its job back on the queue at once
  (`task_reject_on_worker_lost`) and a new pool process runs it again;
- when the whole worker dies, its job stays taken in Redis until it has been out for
  LOYALTY_JOB_VISIBILITY_TIMEOUT_SECONDS (default one hour); then the next sweep of any
  worker (at its start, then about every 100 s) puts it back. The timeout must exceed the
  longest job: a job still running when it passes is handed to a second worker as well.
Either way the job runs again from the start, which is safe because every job is idempotent
(each effect has its own key or claim: a ledger entry's idempotency key, an outbox row's
`queued → sending` claim). tests/faults/test_worker_killed.py kills workers to prove it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from celery import Celery
from celery.schedules import crontab

from loyalty import db, jobs
from loyalty.ops.metrics import observe_job
from loyalty.settings import Settings, get_settings, load_settings


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Kombu's Redis transport options for workers (and the publishers in `loyalty.jobs`)."""
    return {"visibility_timeout": settings.job_visibility_timeout_seconds}


def _make_app() -> Celery:
    # Only the broker's settings are read here: importing the worker module (as `celery -A`
    # does) must not need the secrets the tasks themselves check at run time.
    settings = load_settings(require_secret=False)
    broker_url = settings.broker_url
    app = Celery("loyalty", broker=broker_url or "memory://", backend=broker_url or "cache+memory://")
    app.conf.update(
        broker_transport_options=broker_transport_options(settings),
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        timezone="Asia/Shanghai",
        enable_utc=True,
        # A job is acknowledged after it ran, so a worker killed mid-job leaves it to be
        # re-delivered; jobs are idempotent, so running twice is safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        beat_schedule={
            "nightly-stages-and-tier-upgrades": {
                # Just after midnight Beijing time, when stages move a day on: stages refresh,
                # ended tier assignments settle, tiers rise where the new stage earns it.
                "task": "loyalty.cards.nightly",
                "schedule": crontab(hour=0, minute=5),
            },
            "vest-pending-points": {
                "task": "loyalty.points.vest_due",
                "schedule": crontab(hour=0, minute=15),
            },
            "expire-points": {
                # Lots expire after their last day (Dec 31st of the year after vesting).
                "task": "loyalty.points.expire_due",
                "schedule": crontab(hour=0, minute=20),
            },
            "points-expiry-notices": {
                "task": "loyalty.points.notify_expiring",
                "schedule": crontab(hour=10, minute=0),  # daytime, not at midnight
            },
            "release-unpaid-seats": {
                # Payments a promotion could not open are opened (their hold starts then); seats
                # held for unpaid signups go back after the hold (15 minutes by default).
                "task": "loyalty.events.release_unpaid",
                "schedule": crontab(minute="*"),
            },
            "retry-failed-refunds": {
                "task": "loyalty.events.retry_failed_refunds",
                "schedule": crontab(minute="*/15"),
            },
            "mark-no-shows": {
                "task": "loyalty.events.mark_no_shows",
                "schedule": crontab(minute="*/15"),
            },
            "expire-reward-reservations": {
                # Reservations not collected in time give their points and stock back.
                "task": "loyalty.rewards.expire_due",
                "schedule": crontab(minute="*/15"),
            },
            "reward-pickup-reminders": {
                # Two days before a reservation expires; daytime, once per reservation.
                "task": "loyalty.rewards.remind_due",
                "schedule": crontab(hour=10, minute=30),
            },
            "reward-grant-rules": {
                # Standing gifts (birthdays, holidays) to the owners due them; once per owner and
                # occasion however often it runs, so a missed day is caught up the next.
                "task": "loyalty.rewards.apply_grant_rules",
                "schedule": crontab(hour=8, minute=40),
            },
            "dispatch-outbox": {
                # Due messages (scheduled, retried after a wait) go to the workers.
                "task": "loyalty.care.dispatch_due",
                "schedule": crontab(minute="*"),
            },
            "send-due-broadcasts": {
                # Staff's scheduled messages to a group, when their time comes; a send run that died is resumed.
                "task": "loyalty.care.send_due_broadcasts",
                "schedule": crontab(minute="*"),
            },
            "care-calendar": {
                # Greetings, warranty notices and event reminders; once per occasion however often it runs.
                "task": "loyalty.care.schedule_occasions",
                "schedule": crontab(minute=5),
            },
            "escalate-overdue-cases": {
                "task": "loyalty.care.escalate_cases",
                "schedule": crontab(minute=10),
            },
            "group-complaint-warnings": {
                # Open cases of one kind gathering in one project or building: the service lead is warned once per cluster.
                "task": "loyalty.care.group_warnings",
                "schedule": crontab(minute="*/5"),
            },
            "send-surveys": {
                "task": "loyalty.care.send_surveys",
                "schedule": crontab(minute=15),
            },
            "create-return-visits": {
                # The journey's return visits (subscription, signing, handover, moving in, closed
                # repairs and complaints); each once, however often it runs.
                "task": "loyalty.care.create_visits",
                "schedule": crontab(minute=25),
            },
            "monthly-visit-plan": {
                # The 1st of the month, after the night's jobs (stages are fresh) and before the desk opens.
                "task": "loyalty.care.plan_visits",
                "schedule": crontab(day_of_month=1, hour=1, minute=0),
            },
            "care-plans": {
                # The care plans' return visits (elderly living alone, silent owners, "315"); once per period.
                "task": "loyalty.care.run_care_plans",
                "schedule": crontab(hour=1, minute=20),
            },
            "resume-owner-imports": {
                # Imports whose job was never sent (broker down at the upload) or whose worker died.
                "task": "loyalty.members.resume_imports",
                "schedule": crontab(minute="*/5"),
            },
            "yearly-tier-review": {
                # The only time tiers go down (DESIGN.md, "Tiers"): January 1st.
                "task": "loyalty.cards.yearly_review",
                "schedule": crontab(month_of_year=1, day_of_month=1, hour=0, minute=30),
            },
        },
    )
    return app


celery_app = _make_app()

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _process_loop() -> asyncio.AbstractEventLoop:
    """One loop and one database pool per worker process (re-made after a fork)."""
    global _loop, _loop_pid
    if _loop is None or _loop_pid != os.getpid():
        _loop = asyncio.new_event_loop()
        _loop_pid = os.getpid()
        jobs.configure(get_settings())
        db.bind(db.engine_from_url(get_settings().database_url))
        _loop.run_until_complete(db.start())
    return _loop


def _register(name: str) -> None:
    def run(*args: Any) -> Any:
        with observe_job(name):
            return _process_loop().run_until_complete(jobs.resolve(name)(*args))

    run.__name__ = name.rsplit(".", 1)[-1]
    celery_app.task(name=name, bind=False)(run)


for _name in jobs.JOBS:
    _register(_name)
