"""The database: one engine chosen by URL, bound to every table, migrations and the start-up check.

Piccolo finds its engine through `piccolo_conf.DB`; we keep that module attribute and every
table's `_meta.db` pointing at the same engine, so the app, the CLI, Piccolo's migration
runner and the tests (which switch between SQLite and PostgreSQL) all talk to one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import re
import sqlite3
import weakref
from pathlib import Path
from typing import Any, AsyncIterator, Mapping, Sequence
from urllib.parse import urlsplit

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from loyalty.errors import NotMigrated

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
# A new connection that takes longer than this is an unreachable database: the request that
# waits for it is answered 503 (asyncpg's default is 60 s, longer than any till waits).
CONNECT_TIMEOUT_SECONDS = 5
# SQLite has one writer at a time: a write waits this long for the one before it (another
# process: the worker, the CLI) before "database is locked" makes it a 503. Writers of this
# process queue in order on `_sqlite_writer` and never wait on SQLite's lock for each other.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

log = logging.getLogger("loyalty.db")


def engine_from_url(url: str) -> Engine:
    """PostgreSQL for postgres:// URLs, SQLite for sqlite:///path."""
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url})
    # sqlite:///loyalty.sqlite is relative to the working folder, sqlite:////abs/path is absolute.
    path = urlsplit(url).path[1:]
    return SQLiteEngine(path=path or "loyalty.sqlite", timeout=SQLITE_BUSY_TIMEOUT_SECONDS, factory=_SQLiteConnection)


class _SQLiteConnection(sqlite3.Connection):
    """Every connection Piccolo opens (it opens one per statement outside a transaction) puts
    the file in WAL mode: readers never block the writer nor the writer them, so only writers
    wait for each other. The mode is kept in the file; asking again is a no-op."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")


def all_tables() -> list[type[Table]]:
    """Every table of every app in the registry, plus Piccolo's migration table."""
    registry = Finder().get_app_registry()
    tables: list[type[Table]] = [Migration]
    for app_config in registry.app_configs.values():
        tables.extend(app_config.table_classes)
    return tables


_current: Engine | None = None


def bind(engine: Engine) -> Engine:
    """Point Piccolo's configuration and every table at `engine`."""
    global _current
    from loyalty import piccolo_conf

    piccolo_conf.DB = engine
    for table in all_tables():
        table._meta.db = engine
    _current = engine
    return engine


def engine() -> Engine:
    if _current is None:
        from loyalty import piccolo_conf

        return bind(piccolo_conf.DB)
    return _current


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[object]:
    """A write transaction. On SQLite, the writers of this process take turns in arrival order
    (an asyncio lock per database file), and each takes SQLite's write lock at BEGIN
    (IMMEDIATE), never by upgrading a read, which fails at once with 'database is locked'
    whatever the busy timeout. Waiting in the event loop rather than in SQLite's busy handler
    means a queue of writers waits its turn, however long, instead of each polling the lock
    from its own thread and failing after the busy timeout."""
    current = engine()
    if isinstance(current, SQLiteEngine):
        existing = current.current_transaction.get()
        if existing is not None:
            yield existing
            return
        async with _sqlite_writer(current.path):
            async with current.transaction(transaction_type=TransactionType.immediate) as txn:
                yield txn
    else:
        async with _PostgresTransaction(current) as txn:
            yield txn


_sqlite_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _sqlite_writer(path: str) -> asyncio.Lock:
    """The lock the writers of one SQLite file take turns on, in this event loop (an asyncio
    lock belongs to one loop; the tests run several)."""
    locks = _sqlite_writers.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(str(Path(path).resolve()), asyncio.Lock())


class _PostgresTransaction(PostgresTransaction):
    """Piccolo's transaction, made safe for a connection that goes away under it (the server
    restarts, fails over, or drops the connection): Piccolo's own skips returning the
    connection to the pool and forgetting the transaction when BEGIN, COMMIT or ROLLBACK
    fails. Here the connection always goes back (asyncpg discards a dead one and opens a new
    one on the next acquire), the task's current transaction is always cleared (so the
    caller's next statement, e.g. looking up an Idempotency-Key after a lost COMMIT, runs on
    a fresh connection rather than the dead one), and a ROLLBACK that fails because the
    connection is gone does not hide the error that caused it: the server has rolled the
    transaction back anyway."""

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            await self._give_back()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            if exception is None:
                if not self._committed and not self._rolled_back:
                    await self.commit()
            elif not self._rolled_back:
                try:
                    await self.rollback()
                except Exception as rollback_error:  # noqa: BLE001 - the first error is the one to report
                    log.debug("rollback after %r failed: %r", exception, rollback_error)
        finally:
            self.engine.current_transaction.reset(self.context)
            await self._give_back()
        return exception is None

    async def _give_back(self) -> None:
        try:
            if self.engine.pool:
                await self.engine.pool.release(self.connection)
            else:
                await self.connection.close()
        except Exception as error:  # noqa: BLE001 - asyncpg has already terminated a connection it could not reset
            log.debug("a connection could not be reset and was discarded: %r", error)


async def serialise_on(key: str) -> None:
    """Inside a transaction: wait for, then hold until commit, a lock named `key`, so that
    read-then-write checks on something with no row to lock yet (a phone being referred, a
    referrer's yearly count) run one at a time. PostgreSQL: a transaction advisory lock;
    SQLite: the write transaction already runs alone."""
    if is_postgres():
        await Migration.raw("SELECT pg_advisory_xact_lock(hashtext({}))", key)


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """`{}` placeholders (Piccolo's) → `$1, $2, …` (asyncpg's)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\{\}", lambda _: f"${next(counter)}", sql)


async def fetch(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """One plain statement with `{}` placeholders, for the paths every scan takes (a till's
    verify, a door's check-in). On PostgreSQL it goes straight to asyncpg on the current
    transaction's connection or a pool connection, so the statement is prepared once per
    connection and no query is built; on SQLite it goes through Piccolo."""
    current = engine()
    if not isinstance(current, PostgresEngine):
        return await Migration.raw(sql, *args)
    transaction = current.current_transaction.get()
    if transaction is not None:
        return await transaction.connection.fetch(_numbered(sql), *args)
    if current.pool is None:
        return await Migration.raw(sql, *args)
    return await current.pool.fetch(_numbered(sql), *args)


def is_unique_violation(error: BaseException) -> bool:
    """A unique index refused a write (both engines): how a lost race on a key shows."""
    import sqlite3

    import asyncpg

    if isinstance(error, asyncpg.UniqueViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)


# Errors that say "the database cannot be reached right now", not "this request is wrong":
# the server is restarting or shutting down, the connection was lost, no new one could be
# opened. A retry a moment later succeeds; the app answers them 503 with Retry-After.
@functools.cache
def _unavailable_postgres() -> tuple[type[BaseException], ...]:
    from asyncpg import exceptions as pg

    return (
        pg.PostgresConnectionError,  # class 08: connection lost, refused, or its outcome unknown
        pg.AdminShutdownError, pg.CrashShutdownError, pg.CannotConnectNowError, pg.IdleSessionTimeoutError,  # 57P0x
        pg.TooManyConnectionsError,  # 53300: every connection slot taken
    )


_CLOSED = re.compile(r"\bclos(ed|ing)\b")  # asyncpg: "connection is closed", "pool is closing", ...
# asyncpg's protocol state machine confused by a connection the server has just cut: the
# server's termination notice reached an idle pooled connection, and the next statement was
# sent before the close itself was read. The connection is discarded as soon as it is.
_BROKEN_PROTOCOL = re.compile(r"cannot switch to state|protocol is in (an unexpected|the \"failed\") state")
_DRIVERS = frozenset({"asyncpg", "piccolo", "aiosqlite", "sqlite3"})


def is_unavailable(error: BaseException) -> bool:
    """The database is unreachable for the moment (both engines): the connection went away,
    a new one cannot be opened (refused, timed out, the server starting up or shutting down),
    or SQLite's file stayed locked by another writer
    past the busy timeout or cannot be opened at all. Not a bug, and not the caller's fault."""
    import asyncpg

    if isinstance(error, _unavailable_postgres()):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        return bool(_CLOSED.search(str(error)))
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return bool(_BROKEN_PROTOCOL.search(str(error)))
    if isinstance(error, sqlite3.OperationalError):
        return _sqlite_unreachable(error)
    if isinstance(error, OSError):  # refused, reset, timed out (asyncio's TimeoutError too)...
        return _raised_by_driver(error)  # ... while connecting or talking to the database
    return False


# SQLite's primary result codes for "the file cannot be used right now": still locked by another
# writer after the busy timeout, cannot be opened (its folder gone, not readable), I/O failed.
_SQLITE_UNREACHABLE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR})
_SQLITE_UNREACHABLE_TEXT = re.compile(r"database is locked|database table is locked|unable to open database file|disk I/O error")


def _sqlite_unreachable(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_UNREACHABLE
    return bool(_SQLITE_UNREACHABLE_TEXT.search(str(error)))


def _raised_by_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__name__", "").partition(".")[0] in _DRIVERS:
            return True
        traceback = traceback.tb_next
    return False


async def _keep_session(connection: object) -> None:
    """What a connection needs when it goes back to the pool, beyond asyncpg's rollback of a
    transaction left open: nothing. The app keeps no session state (no SET, no LISTEN, no
    session advisory locks: `serialise_on` takes transaction locks; no WITH HOLD cursors), so
    asyncpg's default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`)
    would be one more round trip per query for nothing."""


async def start() -> bool:
    """Open the PostgreSQL pool; False if there is nothing to open (SQLite, or already open)."""
    current = engine()
    if isinstance(current, PostgresEngine) and current.pool is None:
        await current.start_connection_pool(
            min_size=1, max_size=20, reset=_keep_session, timeout=CONNECT_TIMEOUT_SECONDS
        )
        return True
    return False


async def stop() -> None:
    current = engine()
    if isinstance(current, PostgresEngine):
        await current.close_connection_pool()


async def ping() -> None:
    """One round trip to the database; raises if it is unreachable."""
    await Migration.raw("SELECT 1")


async def pending_migrations() -> list[str]:
    """Migration ids present in the code but not yet applied to the database."""
    manager = BaseMigrationManager()
    if not await Migration.table_exists().run():
        applied: set[str] = set()
    else:
        applied = set(await Migration.get_migrations_which_ran())
    pending: list[str] = []
    for app_config in manager.get_app_registry().app_configs.values():
        modules = manager.get_migration_modules(app_config.resolved_migrations_folder_path)
        pending.extend(sorted(set(modules) - applied))
    return pending


async def migrate(quiet: bool = True) -> list[str]:
    """Apply every pending migration, app by app in dependency order; returns what ran."""
    pending = await pending_migrations()
    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if sink else contextlib.nullcontext():
        for app_name in Finder().get_sorted_app_names():
            result = await ForwardsMigrationManager(app_name=app_name).run()
            if not result.success:
                raise RuntimeError(f"migration of {app_name} failed: {result.message}")
    return pending


async def check_migrated() -> None:
    """Refuse to serve a database whose schema is behind the code."""
    pending = await pending_migrations()
    if pending:
        raise NotMigrated(pending)
