"""Services a fault test owns: started for the test alone, on loopback, broken on purpose
(stopped, restarted) and always torn down, even when the test fails.

Nothing here touches the shared PostgreSQL or Redis the rest of the suite uses: a fault test
that restarted those would break every test running beside it.

- `private_postgres()`: a throw-away PostgreSQL cluster (initdb in a temporary folder, a free
  port on 127.0.0.1, trust authentication) with `stop()`, `start()` and `restart()`.
- `private_redis()`: a redis-server of its own on a free loopback port, nothing persisted,
  with `kill()` (a crash), `pause()`/`resume()` (up but not answering) and `start()`.

The binaries are found on PATH or in the usual package folders. Without them the test is
skipped, or fails where services are required (LOYALTY_TEST_REQUIRE_SERVICES=1, as in CI).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.conftest import unavailable

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _run(command: list[str], *, log: Path, timeout: float) -> None:
    """Run a service's control command; its output goes to `log` (never to a pipe: a server it
    starts in the background would hold the pipe open), and is in the error when it fails."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"exit {result.returncode}: {' '.join(command)}\n{_tail(log)}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is missing)"


# --- PostgreSQL ------------------------------------------------------------------------------

_POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql@*/bin")


def postgres_bin_dir() -> Path:
    """The folder with `initdb` and `pg_ctl` (newest version first)."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    for pattern in _POSTGRES_BIN_DIRS:
        candidates += sorted((Path(found) for found in glob.glob(pattern)), key=_version, reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    unavailable("PostgreSQL server binaries (initdb, pg_ctl)", "not on PATH nor in /usr/lib/postgresql/*/bin")
    raise AssertionError("unreachable")


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit()) or (0,)


def _as_postgres_user() -> tuple[list[str], tuple[int, int] | None]:
    """initdb and pg_ctl refuse to run as root: as root, run them as the `postgres` user."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        unavailable("a `postgres` system user", "running as root, and PostgreSQL refuses to run as root")
    if shutil.which("runuser") is None:
        unavailable("runuser", "running as root, and PostgreSQL refuses to run as root")
    return ["runuser", "-u", "postgres", "--"], (user.pw_uid, user.pw_gid)


@dataclass
class PrivatePostgres:
    """One PostgreSQL cluster of the test's own. `url` names its database; `stop`, `start` and
    `restart` (fast shutdown: sessions are cut, open transactions roll back) block until done."""

    bin_dir: Path
    folder: Path
    port: int
    database: str = "loyalty"
    run_as: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        command = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(int(timeout)), *args]
        _run(command, log=self.folder / "pg_ctl.log", timeout=timeout + 10)

    def start(self) -> None:
        self._pg_ctl("-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-l", str(self.log), "restart")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def server_log(self, lines: int = 40) -> str:
        return _tail(self.log, lines)


def _init_cluster(server: PrivatePostgres) -> None:
    _run(
        [*server.run_as, str(server.bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--locale=C", "--no-sync"],
        log=server.folder / "initdb.log", timeout=120,
    )
    settings = {
        "listen_addresses": f"'{LOOPBACK}'",  # loopback only
        "port": str(server.port),
        "unix_socket_directories": f"'{server.folder}'",  # never the system's socket folder
        "max_connections": "60",
        "shared_buffers": "16MB",
        # A throw-away cluster: no waiting for the disk. Commits still reach the server's WAL
        # before they are answered, and a fast shutdown writes everything out, so what a
        # restart keeps is what was committed.
        "fsync": "off",
        "full_page_writes": "off",
    }
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write("\n# tests/faults/services.py\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))


@contextlib.contextmanager
def private_postgres(database: str = "loyalty") -> Iterator[PrivatePostgres]:
    """A new PostgreSQL cluster, running, with an empty `database`; stopped and deleted after
    the block, whatever happened in it."""
    bin_dir = postgres_bin_dir()
    run_as, owner = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="loyalty-pg-"))
    if owner is not None:
        os.chown(folder, *owner)
    server = PrivatePostgres(bin_dir=bin_dir, folder=folder, port=free_port(), database=database, run_as=run_as)
    try:
        _init_cluster(server)
        server.start()
        _run(
            [str(bin_dir / "createdb"), "-h", LOOPBACK, "-p", str(server.port), "-U", "postgres", database],
            log=folder / "createdb.log", timeout=30,
        )
        yield server
    finally:
        try:
            if server.is_running():
                server.stop(mode="immediate")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# --- Redis -----------------------------------------------------------------------------------

_REDIS_SERVER_PATHS = ("/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server")


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or next((path for path in _REDIS_SERVER_PATHS if Path(path).exists()), None)
    if found is None:
        unavailable("redis-server", "not on PATH nor in /usr/bin or /usr/local/bin")
        raise AssertionError("unreachable")
    return found


@dataclass
class PrivateRedis:
    """One redis-server of the test's own, on loopback, keeping nothing on disk. `kill()` is a
    crash (SIGKILL: queued jobs are lost with it), `pause()` leaves it accepting connections
    but never answering (SIGSTOP), `resume()` undoes that, and `start()` brings it back on the
    same port, empty. Each blocks until done."""

    binary: str
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.folder / "redis.log"

    def start(self, timeout: float = 15) -> None:
        import time

        import redis

        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "--bind", LOOPBACK, "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder), "--protected-mode", "yes", "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        client = redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}\n{_tail(self.log)}")
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not answer within {timeout} s\n{_tail(self.log)}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # a stopped (paused) process dies of SIGKILL too
            self.process.wait(timeout=15)

    def pause(self) -> None:
        assert self.is_running(), "redis-server is not running"
        os.kill(self.process.pid, signal.SIGSTOP)  # type: ignore[union-attr]

    def resume(self) -> None:
        assert self.is_running(), "redis-server is not running"
        os.kill(self.process.pid, signal.SIGCONT)  # type: ignore[union-attr]

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def server_log(self, lines: int = 40) -> str:
        return _tail(self.log, lines)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A new redis-server, running; killed and its folder deleted after the block, whatever
    happened in it."""
    folder = Path(tempfile.mkdtemp(prefix="loyalty-redis-"))
    server = PrivateRedis(binary=redis_server_binary(), folder=folder, port=free_port())
    try:
        server.start()
        yield server
    finally:
        try:
            server.kill()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
