"""The embedded beat (loyalty/ops/embedded_beat.py): with no broker the web processes run the
beat schedule of loyalty/worker.py themselves, each due run once however many processes tick.

The rounds are driven through `EmbeddedBeat.tick(now)` with time frozen; the jobs are the real
ones where the test is about what they do (an unpaid seat going back), and counting stand-ins
where it is about how often they run."""

from __future__ import annotations

import asyncio
import collections
import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Iterator

import pytest
import time_machine

from loyalty import jobs
from loyalty.clock import LOCAL_ZONE
from loyalty.ops import embedded_beat
from loyalty.ops.embedded_beat import LEASE, EmbeddedBeat, beat_entries
from loyalty.ops.tables import PeriodicJob


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A moment in June 2026, Beijing time (the schedule's time zone)."""
    return datetime(2026, 6, day, hour, minute, second, tzinfo=LOCAL_ZONE)


class CountingJobs:
    """Stand-ins for the jobs, by Celery task name: each run is counted, and yields to the
    event loop on the way so that two schedulers' rounds interleave."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.runs: collections.Counter[str] = collections.Counter()
        self.failing = failing or set()

    def resolve(self, task: str) -> Callable[..., Awaitable[Any]]:
        async def job(*args: Any) -> None:
            await asyncio.sleep(0)
            self.runs[task] += 1
            await asyncio.sleep(0)
            if task in self.failing:
                raise RuntimeError(f"{task} broke")

        return job


async def row(name: str) -> dict[str, Any]:
    found = await PeriodicJob.select().where(PeriodicJob.name == name).first()
    assert found is not None
    return found


# --- run once per tick, across processes ------------------------------------------------------


async def test_two_schedulers_ticking_at_the_same_moment_run_each_due_job_once(database):
    counting = CountingJobs()
    web1 = EmbeddedBeat(holder="web-1", resolve=counting.resolve)
    web2 = EmbeddedBeat(holder="web-2", resolve=counting.resolve)
    await asyncio.gather(web1.tick(at(14, 23, 59, 30)), web2.tick(at(14, 23, 59, 30)))  # both start: rows planned

    # Half an hour after midnight: every entry whose time came since 23:59:30 is due.
    first = await asyncio.gather(web1.tick(at(15, 0, 30)), web2.tick(at(15, 0, 30)))
    due_after_midnight = dict(counting.runs)
    again = await asyncio.gather(web1.tick(at(15, 0, 30, 20)), web2.tick(at(15, 0, 30, 20)))
    counting.runs.clear()
    next_minute = await asyncio.gather(web1.tick(at(15, 0, 31)), web2.tick(at(15, 0, 31)))

    assert due_after_midnight == {
        "loyalty.cards.nightly": 1,  # 00:05
        "loyalty.points.vest_due": 1,  # 00:15
        "loyalty.points.expire_due": 1,  # 00:20
        "loyalty.events.release_unpaid": 1,  # every minute
        "loyalty.care.dispatch_due": 1,  # every minute
        "loyalty.care.send_due_broadcasts": 1,  # every minute
        "loyalty.events.retry_failed_refunds": 1,  # */15
        "loyalty.events.mark_no_shows": 1,  # */15
        "loyalty.rewards.expire_due": 1,  # */15
        "loyalty.members.resume_imports": 1,  # */5
        "loyalty.care.group_warnings": 1,  # */5
        "loyalty.care.schedule_occasions": 1,  # minute 5
        "loyalty.care.escalate_cases": 1,  # minute 10
        "loyalty.care.send_surveys": 1,  # minute 15
        "loyalty.care.create_visits": 1,  # minute 25
    }  # not the 01:00 visit plan (the 1st of the month), nor the 10:00 expiry notices or 10:30 pick-up reminders, nor January 1st's tier review
    assert sum(len(outcomes) for outcomes in first) == len(due_after_midnight)
    assert again == [[], []]
    assert dict(counting.runs) == {
        "loyalty.events.release_unpaid": 1, "loyalty.care.dispatch_due": 1, "loyalty.care.send_due_broadcasts": 1,
    }
    assert sum(len(outcomes) for outcomes in next_minute) == 3
    release = await row("release-unpaid-seats")
    assert (release["runs"], release["leased_until"], release["failures"]) == (2, None, 0)
    assert release["next_run_at"] == at(15, 0, 32)
    assert (await row("nightly-stages-and-tier-upgrades"))["next_run_at"] == at(16, 0, 5)


async def test_four_schedulers_racing_over_twenty_minutes_of_ticks_run_each_job_once_per_due_time(database):
    counting = CountingJobs()
    schedulers = [EmbeddedBeat(holder=f"web-{n}", resolve=counting.resolve) for n in range(4)]
    await asyncio.gather(*(s.tick(at(15, 8, 59, 59)) for s in schedulers))

    for minute in range(20):  # 09:00 … 09:19, each round a second into its minute
        await asyncio.gather(*(s.tick(at(15, 9, minute, 1)) for s in schedulers))

    assert counting.runs == {
        "loyalty.events.release_unpaid": 20,
        "loyalty.care.dispatch_due": 20,
        "loyalty.care.send_due_broadcasts": 20,
        "loyalty.members.resume_imports": 4,  # 09:00, :05, :10, :15
        "loyalty.care.group_warnings": 4,  # the same
        "loyalty.events.mark_no_shows": 2,  # 09:00, 09:15
        "loyalty.events.retry_failed_refunds": 2,
        "loyalty.rewards.expire_due": 2,
        "loyalty.care.schedule_occasions": 1,  # 09:05
        "loyalty.care.escalate_cases": 1,  # 09:10
        "loyalty.care.send_surveys": 1,  # 09:15
    }
    assert (await row("dispatch-outbox"))["runs"] == 20


async def test_a_run_whose_process_died_is_taken_again_once_its_lease_lapses(database):
    counting = CountingJobs()
    dead = EmbeddedBeat(holder="web-dead", resolve=counting.resolve)
    alive = EmbeddedBeat(holder="web-alive", resolve=counting.resolve)
    await dead.tick(at(15, 9, 0, 30))
    taken = await dead._take_due(at(15, 9, 1))  # takes the 09:01 runs, then "dies" before running them

    while_leased = await alive.tick(at(15, 9, 1) + LEASE - timedelta(seconds=1))
    # 09:03: the lease has lapsed; the runs are still due (their time never moved on).
    after_lapse = await alive.tick(at(15, 9, 1) + LEASE)

    assert {run.entry.name for run in taken} == {"release-unpaid-seats", "dispatch-outbox", "send-due-broadcasts"}
    assert while_leased == []
    assert sorted(o.name for o in after_lapse) == ["dispatch-outbox", "release-unpaid-seats", "send-due-broadcasts"]
    assert {o.due_at for o in after_lapse} == {at(15, 9, 1)}
    assert counting.runs == {
        "loyalty.events.release_unpaid": 1, "loyalty.care.dispatch_due": 1, "loyalty.care.send_due_broadcasts": 1,
    }
    assert (await row("release-unpaid-seats"))["holder"] == "web-alive"


async def test_a_changed_schedule_is_planned_again_from_its_new_times(database):
    counting = CountingJobs()
    await EmbeddedBeat(holder="web-1", resolve=counting.resolve).tick(at(15, 9, 0, 30))
    await PeriodicJob.update({PeriodicJob.schedule: "0 3 * * * Asia/Shanghai"}).where(
        PeriodicJob.name == "dispatch-outbox"
    )  # as if the code had said 03:00 until now

    await EmbeddedBeat(holder="web-1", resolve=counting.resolve).tick(at(15, 9, 0, 40))

    replanned = await row("dispatch-outbox")
    assert replanned["schedule"] == "* * * * * Asia/Shanghai"
    assert replanned["next_run_at"] == at(15, 9, 1)


def test_the_embedded_beat_runs_the_schedule_declared_in_worker_py_with_its_time_zone():
    from loyalty.worker import celery_app

    entries = {entry.name: entry for entry in beat_entries()}

    assert set(entries) == set(celery_app.conf.beat_schedule)
    assert {e.task for e in entries.values()} <= set(jobs.JOBS)
    assert entries["nightly-stages-and-tier-upgrades"].next_after(at(15, 12, 0)) == at(16, 0, 5)
    assert entries["yearly-tier-review"].next_after(at(15, 12, 0)) == datetime(2027, 1, 1, 0, 30, tzinfo=LOCAL_ZONE)


# --- failures -------------------------------------------------------------------------------


async def test_a_failing_job_is_logged_the_others_still_run_and_it_runs_again_when_next_due(database, caplog):
    counting = CountingJobs(failing={"loyalty.events.release_unpaid"})
    beat = EmbeddedBeat(holder="web-1", resolve=counting.resolve)
    await beat.tick(at(15, 9, 0, 30))

    with caplog.at_level(logging.INFO, logger="loyalty.embedded_beat"):
        first = await beat.tick(at(15, 9, 1))
    failed = await row("release-unpaid-seats")
    counting.failing.clear()
    second = await beat.tick(at(15, 9, 2))

    assert {o.name: o.error for o in first} == {
        "release-unpaid-seats": "RuntimeError: loyalty.events.release_unpaid broke", "dispatch-outbox": "",
        "send-due-broadcasts": "",
    }
    assert counting.runs == {
        "loyalty.events.release_unpaid": 2, "loyalty.care.dispatch_due": 2, "loyalty.care.send_due_broadcasts": 2,
    }
    failure_logs = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failure_logs) == 1 and "release-unpaid-seats failed" in failure_logs[0].getMessage()
    assert failure_logs[0].exc_info is not None and "broke" in str(failure_logs[0].exc_info[1])
    assert (failed["failures"], failed["leased_until"], failed["next_run_at"]) == (1, None, at(15, 9, 2))
    assert "broke" in failed["last_error"]
    assert [(o.name, o.error) for o in second if o.name == "release-unpaid-seats"] == [("release-unpaid-seats", "")]
    assert (await row("release-unpaid-seats"))["last_error"] == ""


# --- in the background, from start to stop ----------------------------------------------------


async def test_stop_cancels_a_run_in_progress_which_stays_due_for_the_next_process(database, monkeypatch):
    started = asyncio.Event()

    def resolve(task: str) -> Callable[..., Awaitable[Any]]:
        async def job(*args: Any) -> None:
            started.set()
            await asyncio.Event().wait()  # a long job, still running at shutdown

        return job

    entries = [entry for entry in beat_entries() if entry.name == "vest-pending-points"]
    beat = EmbeddedBeat(entries, holder="web-1", resolve=resolve)
    due_at = datetime(2026, 1, 1, tzinfo=LOCAL_ZONE)  # long overdue: due at the first round
    await PeriodicJob.insert(
        PeriodicJob(name="vest-pending-points", schedule=entries[0].cron, next_run_at=due_at)
    )
    monkeypatch.setattr(embedded_beat, "SHUTDOWN_GRACE_SECONDS", 0.0)

    beat.start()
    await asyncio.wait_for(started.wait(), timeout=30)
    running = await row("vest-pending-points")
    await beat.stop()
    after = await row("vest-pending-points")

    assert running["holder"] == "web-1" and running["leased_until"] is not None and running["runs"] == 1
    assert after["leased_until"] is None and after["next_run_at"] == due_at  # still due


# --- what it is for: an unpaid seat goes back, and the waitlist moves ------------------------


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[time_machine.Traveller]:
    """Time stands still at the events tests' NOW; the test moves it. Staff passwords (the
    event's maker) hash with few rounds."""
    from piccolo.apps.user.tables import BaseUser

    from tests.events.builders import NOW

    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def test_with_no_broker_an_unpaid_hold_is_released_and_the_waitlist_promoted_at_the_first_tick_after_expiry(
    database, localstripe, frozen, tmp_path
):
    from tests.events.builders import NOW, event, member_client, my_signup, owners, paid_settings, phone, sign_up_via

    paid = paid_settings(database, localstripe)
    assert paid.jobs_in_process  # no broker: nothing but the embedded beat runs the schedule
    hold = timedelta(minutes=paid.payment_hold_minutes)
    await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=12_000, capacity=1, party_size_limit=1)
    beat = EmbeddedBeat(holder="web-1")
    async with member_client(database, paid, phone(0)) as first, member_client(database, paid, phone(1)) as second:
        held = await sign_up_via(first, event_id)
        waiting = await sign_up_via(second, event_id, join_waitlist=True)
        jobs.configure(paid)  # the web process's settings: Stripe, no broker
        try:
            await beat.tick()  # the process has started: the schedule is planned
            frozen.move_to(NOW + hold - timedelta(seconds=1))
            before_expiry = await beat.tick()
            still_held = await my_signup(first, held["id"])
            frozen.move_to(NOW + hold)
            at_expiry = await beat.tick()
        finally:
            jobs.configure(database.settings())
        gone = await my_signup(first, held["id"])
        promoted = await my_signup(second, waiting["id"])

    assert (held["status"], waiting["status"]) == ("pending_payment", "waitlisted")
    assert "release-unpaid-seats" in {o.name for o in before_expiry}
    assert still_held["status"] == "pending_payment"
    assert [o.error for o in at_expiry if o.name == "release-unpaid-seats"] == [""]
    assert gone["status"] == "cancelled"
    assert promoted["status"] == "pending_payment" and promoted["payment"]["client_secret"]
    assert datetime.fromisoformat(promoted["hold_expires_at"]) == NOW + hold + hold
