"""The beat schedule, run by the web processes themselves when there is no broker.

With LOYALTY_BROKER_URL, `loyalty beat` (Celery beat) sends the periodic jobs to the workers
and the web processes run no scheduler. Without one (the embedded default), every web process
runs an `EmbeddedBeat` from the app's lifespan, on the same schedule: the entries of
loyalty/worker.py's `beat_schedule`, read from there, never copied.

However many web processes there are (`loyalty serve --workers N`), each due run happens once,
decided by the database, not by any process's memory: one `periodic_job` row per entry holds
when it runs next and the lease of the process running it. A process takes a run with one
conditional UPDATE (due, and nobody's lease alive → the lease is ours); when several processes
tick at the same moment exactly one UPDATE matches (PostgreSQL re-checks the WHERE once the
winner commits; SQLite runs writes one at a time). When the run ends, the row moves on to the
entry's next time after the tick it ran for; a run that failed is logged and runs again at
that next time, and a failing job never stops the others or the loop.

A run keeps its lease alive while it runs. If its process dies mid-run the lease lapses after
LEASE and the run, still due, is taken again by another process (or the next start), as
Celery re-delivers a job whose worker died: jobs are idempotent, so running again is safe. A
run cancelled by a clean shutdown gives its lease back at once, still due.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Mapping

from loyalty import clock, db, jobs
from loyalty.ops.metrics import observe_job
from loyalty.ops.tables import PeriodicJob

log = logging.getLogger("loyalty.embedded_beat")

# How long a taken run stays ours without news from us; renewed every LEASE / 4 while it runs,
# so only a process that died (or lost the database for that long) loses it.
LEASE = timedelta(minutes=2)
# The loop wakes at the next due time, but at least this often: another process may have
# finished a run that overran its next time, or the clock may have jumped.
MAX_WAIT_SECONDS = 60.0
MIN_WAIT_SECONDS = 1.0
# On shutdown, runs in progress get this long to finish before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Entry:
    """One entry of the beat schedule: the Celery task it runs and when."""

    name: str
    task: str
    schedule: Any  # a celery.schedules.crontab, bound to the Celery app (its time zone)
    args: tuple[Any, ...] = ()

    @property
    def cron(self) -> str:
        """The schedule as a person reads it in the periodic_job table: `5 0 * * * Asia/Shanghai`."""
        s = self.schedule
        fields = (s._orig_minute, s._orig_hour, s._orig_day_of_month, s._orig_month_of_year, s._orig_day_of_week)
        return " ".join(str(f) for f in fields) + f" {s.tz}"

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` the schedule names (celery's own arithmetic,
        in the Celery app's time zone: crontab(hour=0, minute=5) is 00:05 Beijing time)."""
        last, delta, _ = self.schedule.remaining_delta(moment)
        return (last + delta).astimezone(timezone.utc)


@dataclass(frozen=True)
class Run:
    """One run this process took: of `entry`, for its time `due_at`, taken at `taken_at`."""

    entry: Entry
    due_at: datetime
    taken_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one run did: the entry, the time it ran for, and its error if it failed."""

    name: str
    due_at: datetime
    error: str = ""


def _log_failure(error: BaseException, message: str, *args: Any) -> None:
    """A bug is an ERROR with its traceback; a database that is unreachable for the moment (a
    restart, a failover, SQLite's file locked) is a WARNING, as the requests that meet it are
    answered 503, not 500: the next round tries again."""
    if db.is_unavailable(error):
        log.warning(message + ": the database is unreachable for the moment (%s)", *args, str(error) or type(error).__name__)
    else:
        log.error(message, *args, exc_info=error)


def beat_entries() -> list[Entry]:
    """The entries of loyalty/worker.py's beat schedule, bound as Celery beat binds them."""
    from celery.schedules import crontab, maybe_schedule

    from loyalty.worker import celery_app

    entries = []
    for name, declared in celery_app.conf.beat_schedule.items():
        schedule = maybe_schedule(declared["schedule"], app=celery_app)
        if not isinstance(schedule, crontab):
            raise ValueError(f"beat entry {name!r}: the embedded beat runs crontab schedules only, not {schedule!r}")
        entries.append(Entry(name, declared["task"], schedule, tuple(declared.get("args", ()))))
    return entries


def new_holder() -> str:
    """This process's name in the leases: host and pid for people, a random part so a pid
    reused after a restart is not taken for the process that died."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class EmbeddedBeat:
    """Runs the beat schedule in this process, each due run once across all processes.
    `tick(now)` does one round (tests drive it with frozen time); `start()`/`stop()` run
    ticks in the background from the app's lifespan."""

    def __init__(
        self,
        entries: list[Entry] | None = None,
        *,
        holder: str | None = None,
        resolve: Callable[[str], Callable[..., Awaitable[Any]]] = jobs.resolve,
    ) -> None:
        self.entries: Mapping[str, Entry] = {entry.name: entry for entry in (entries if entries is not None else beat_entries())}
        self.holder = holder or new_holder()
        self.resolve = resolve
        self._loop_task: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[list[Outcome]]] = set()
        self._stopping = asyncio.Event()

    # --- one round -------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> list[Outcome]:
        """Take every due run nobody else holds, run them together, and return what they did."""
        return await self._run_all(await self._take_due(now))

    async def _run_all(self, runs: list[Run]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._run(run) for run in runs)))

    async def _take_due(self, now: datetime | None = None) -> list[Run]:
        now = (now or clock.now()).astimezone(timezone.utc)
        await self._plan(now)
        # A read first, so that a round with nothing due writes nothing (SQLite has one writer);
        # the conditional UPDATE in `_take` still decides who runs.
        due = await PeriodicJob.select(PeriodicJob.name).where(
            PeriodicJob.name.is_in(list(self.entries)) & (PeriodicJob.next_run_at <= now) & self._lease_free(now)
        ) if self.entries else []
        runs = [await self._take(self.entries[row["name"]], now) for row in due]
        return [run for run in runs if run is not None]

    @staticmethod
    def _lease_free(now: datetime) -> Any:
        return PeriodicJob.leased_until.is_null() | (PeriodicJob.leased_until <= now)

    async def _plan(self, now: datetime) -> None:
        """A row for every entry (planned for its next time after `now`), and a new plan for
        an entry whose schedule changed in the code since its row was written."""
        rows = {row["name"]: row["schedule"] for row in await PeriodicJob.select(PeriodicJob.name, PeriodicJob.schedule)}
        for entry in self.entries.values():
            declared = entry.cron
            if entry.name not in rows:
                # Several processes start together: the first insert wins, the others change nothing.
                await PeriodicJob.insert(
                    PeriodicJob(name=entry.name, schedule=declared, next_run_at=entry.next_after(now))
                ).on_conflict(target=PeriodicJob.name, action="DO NOTHING")
            elif rows[entry.name] != declared:
                await PeriodicJob.update(
                    {PeriodicJob.schedule: declared, PeriodicJob.next_run_at: entry.next_after(now)}
                ).where((PeriodicJob.name == entry.name) & (PeriodicJob.schedule != declared))

    async def _take(self, entry: Entry, now: datetime) -> Run | None:
        """The lease on `entry`'s due run, if it is due and nobody's lease on it is alive: one
        conditional UPDATE, so of several processes asking at once exactly one gets it."""
        taken = await PeriodicJob.update({
            PeriodicJob.leased_until: now + LEASE,
            PeriodicJob.holder: self.holder,
            PeriodicJob.runs: PeriodicJob.runs + 1,
            PeriodicJob.last_started_at: now,
        }).where(
            (PeriodicJob.name == entry.name)
            & (PeriodicJob.next_run_at <= now)
            & self._lease_free(now)
        ).returning(PeriodicJob.next_run_at)
        return Run(entry, taken[0]["next_run_at"], now) if taken else None

    async def _run(self, run: Run) -> Outcome:
        """Run the job, renewing the lease while it runs, then move the row on to the entry's
        next time after the run was taken (failed or not: a missed day is run once, not once
        per missed time) and give the lease back."""
        entry = run.entry
        log.info(
            "periodic job %s (%s) starts, due at %s (holder %s)",
            entry.name, entry.task, run.due_at.astimezone(timezone.utc).isoformat(timespec="seconds"), self.holder,
        )
        started = time.perf_counter()
        work = asyncio.ensure_future(self._call(entry))
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=LEASE.total_seconds() / 4)
                if not work.done():
                    await self._renew(entry)
        except asyncio.CancelledError:
            # A shutdown: the run stays due, for another process or the next start.
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            try:
                await asyncio.shield(self._give_back(entry))
            except Exception as give_back_error:  # noqa: BLE001 - then the lease lapses after LEASE instead
                _log_failure(give_back_error, "periodic job %s: its lease could not be given back", entry.name)
            log.warning("periodic job %s cancelled by shutdown; still due", entry.name)
            raise
        error = work.exception()
        seconds = time.perf_counter() - started
        if error is None:
            log.info("periodic job %s finished in %.1f s (holder %s)", entry.name, seconds, self.holder)
        else:
            _log_failure(
                error, "periodic job %s failed after %.1f s; it runs again at its next time (holder %s)",
                entry.name, seconds, self.holder,
            )
        outcome = Outcome(entry.name, run.due_at, "" if error is None else f"{type(error).__name__}: {error}")
        try:
            await self._finish(run, outcome)
        except Exception as finish_error:  # noqa: BLE001 - the lease lapses and the run is taken again: jobs are idempotent
            _log_failure(finish_error, "periodic job %s ran, but its next time could not be written; it will run again", entry.name)
        return outcome

    async def _call(self, entry: Entry) -> None:
        with observe_job(entry.task):
            await self.resolve(entry.task)(*entry.args)

    async def _renew(self, entry: Entry) -> None:
        try:
            await PeriodicJob.update({PeriodicJob.leased_until: clock.now() + LEASE}).where(
                (PeriodicJob.name == entry.name) & (PeriodicJob.holder == self.holder)
            )
        except Exception:  # noqa: BLE001 - the run goes on; the lease only lapses if this keeps failing
            log.warning("could not renew the lease of periodic job %s", entry.name, exc_info=True)

    async def _finish(self, run: Run, outcome: Outcome) -> None:
        entry = run.entry
        changes: dict[Any, Any] = {
            PeriodicJob.next_run_at: entry.next_after(run.taken_at),
            PeriodicJob.leased_until: None,
            PeriodicJob.last_finished_at: clock.now(),
            PeriodicJob.last_error: outcome.error[:2000],
        }
        if outcome.error:
            changes[PeriodicJob.failures] = PeriodicJob.failures + 1
        await PeriodicJob.update(changes).where((PeriodicJob.name == entry.name) & (PeriodicJob.holder == self.holder))

    async def _give_back(self, entry: Entry) -> None:
        await PeriodicJob.update({PeriodicJob.leased_until: None}).where(
            (PeriodicJob.name == entry.name) & (PeriodicJob.holder == self.holder)
        )

    # --- in the background ---------------------------------------------------------------

    def start(self) -> None:
        """Tick in the background of the running event loop until `stop()`."""
        if self._loop_task is None:
            log.info("embedded beat started: %d periodic jobs, no broker (holder %s)", len(self.entries), self.holder)
            self._loop_task = asyncio.get_running_loop().create_task(self._forever(), name="embedded beat")

    async def stop(self) -> None:
        """Stop ticking; runs in progress get SHUTDOWN_GRACE_SECONDS, then are cancelled (and stay due)."""
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._runs:
            _, late = await asyncio.wait(set(self._runs), timeout=SHUTDOWN_GRACE_SECONDS)
            for runs in late:
                runs.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        log.info("embedded beat stopped (holder %s)", self.holder)

    async def _forever(self) -> None:
        while not self._stopping.is_set():
            try:
                taken = await self._take_due()
            except Exception as error:  # noqa: BLE001 - the database may be down for a moment: the next round tries again
                _log_failure(error, "embedded beat: could not look for due jobs; trying again at the next round")
                taken = []
            if taken:
                # The runs go on as a task of their own, so a long job (the nightly one) does not
                # hold up the next minute's round; its lease keeps other rounds from running it twice.
                runs = asyncio.get_running_loop().create_task(self._run_all(taken), name="embedded beat runs")
                self._runs.add(runs)
                runs.add_done_callback(self._runs.discard)
            try:
                await asyncio.wait_for(self._stopping.wait(), await self._seconds_to_next())
            except TimeoutError:
                pass

    async def _seconds_to_next(self) -> float:
        """Until the earliest time an entry may be due (or its lease lapse), within bounds."""
        try:
            rows = await PeriodicJob.select(PeriodicJob.next_run_at, PeriodicJob.leased_until).where(
                PeriodicJob.name.is_in(list(self.entries))
            ) if self.entries else []
        except Exception:  # noqa: BLE001 - logged by the round that fails the same way
            return MAX_WAIT_SECONDS
        now = clock.now()
        times = [max(row["next_run_at"], row["leased_until"] or row["next_run_at"]) for row in rows]
        wait = (min(times) - now).total_seconds() if times else MAX_WAIT_SECONDS
        return min(max(wait, MIN_WAIT_SECONDS), MAX_WAIT_SECONDS)
