"""A real `loyalty worker` for fault tests: started on the test's own Redis, killed on purpose.

The worker runs in a session (process group) of its own, so `kill()` takes the whole worker
(its main process and its pool processes) at once, as a lost machine or the OOM killer
would; `kill_pool_process()` takes only the process running the job. Its output goes to a
file (a pipe nobody reads could fill up and stall it) and is shown when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.conftest import TEST_SECRET
from tests.sms_server import SERVER_SMS_ENV

LOYALTY = str(Path(sys.executable).parent / "loyalty")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until Celery says the worker is ready (connected, consuming)."""
        deadline = time.monotonic() + timeout
        while " ready." not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker was not ready within {timeout} s:\n{self.output()[-4000:]}")
            time.sleep(0.05)

    def pool_processes(self) -> list[int]:
        """The pids of the worker's pool processes (prefork)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def kill(self) -> None:
        """SIGKILL to the whole worker: no warm shutdown, nothing acknowledged or given back."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def kill_pool_process(self) -> int:
        """SIGKILL to the pool process (the one running the job); returns its pid."""
        (child,) = self.pool_processes()
        os.kill(child, signal.SIGKILL)
        return child

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), or a kill if it does not end in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def loyalty_worker(
    database_url: str, broker_url: str, log: Path, *, pool: str = "prefork", env: dict[str, str] | None = None
) -> Iterator[Worker]:
    """A `loyalty worker` (one pool process) on the default queue of `broker_url`, ready when
    the block starts; stopped after it, whatever happened. Its output is appended to `log`."""
    environment = dict(
        os.environ, LOYALTY_DATABASE_URL=database_url, LOYALTY_BROKER_URL=broker_url, LOYALTY_SECRET_KEY=TEST_SECRET,
        LOYALTY_LOG_FORMAT="text", PYTHONUNBUFFERED="1",
        **SERVER_SMS_ENV,  # a worker refuses the log SMS backend; nothing here reaches this one
    )
    environment.update(env or {})
    command = [
        LOYALTY, "worker", f"--pool={pool}", "--concurrency=1", f"--hostname=fault-{uuid.uuid4().hex[:8]}@%h",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=environment, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, log)
    try:
        worker.wait_ready()
        yield worker
    except BaseException:
        print(f"--- worker output ({log}) ---\n{worker.output()[-8000:]}")
        raise
    finally:
        worker.stop()
