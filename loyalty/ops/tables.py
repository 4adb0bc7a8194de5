from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class PeriodicJob(Table):
    """One row per entry of the beat schedule (loyalty/worker.py), used only when there is no
    broker and the web processes run the schedule themselves (loyalty/ops/embedded_beat.py):
    when the entry runs next, and the lease of the process running it now, so that however
    many processes tick at the same moment exactly one of them runs each due run."""

    name = Varchar(length=80, unique=True)  # the entry's name in the beat schedule
    schedule = Varchar(length=200)  # the schedule it was planned with: a changed one is re-planned
    next_run_at = Timestamptz()
    leased_until = Timestamptz(null=True, default=None)  # while a process runs it (renewed as it runs)
    holder = Varchar(length=120, default="")  # that process: host, pid and a random part
    runs = Integer(default=0)  # runs started, by any process
    failures = Integer(default=0)
    last_started_at = Timestamptz(null=True, default=None)
    last_finished_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
