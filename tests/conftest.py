"""Test fixtures: the whole suite runs against SQLite and against a real PostgreSQL.

Tests that use the database take the `database` fixture (directly or through `client`); it
is parametrised over both engines, so each such test runs twice, `[sqlite]` and `[postgres]`.
Every test starts from empty tables. Without a reachable PostgreSQL or Redis the tests that
need them are skipped with the reason; with LOYALTY_TEST_REQUIRE_SERVICES=1 (CI) they fail.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from piccolo.engine.base import Engine
from piccolo.table import sort_table_classes

from loyalty import db, jobs
from loyalty.app import create_app
from loyalty.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/loyalty_test")
REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _worker_redis_url(url: str) -> str:
    """Each pytest-xdist worker (gw0, gw1, ...) counts, queues and locks in a Redis database of
    its own, the given one and those below it, so parallel tests never share a key."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    parts = urlsplit(url)
    if not worker.startswith("gw") or not parts.path.strip("/").isdigit():
        return url
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/')) - int(worker[2:])}"))


REDIS_URL = _worker_redis_url(REDIS_URL)
REQUIRE_SERVICES = os.environ.get("LOYALTY_TEST_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

pytest_plugins = ["tests.stripe_server", "tests.sms_server", "tests.wechat_server"]  # localstripe, the SMS and WeChat stand-ins


def unavailable(what: str, why: str) -> None:
    """Skip a test whose service is missing, or fail it where services are required (CI)."""
    message = f"{what} is not reachable ({why}); start it or see README 'Tests'"
    if REQUIRE_SERVICES:
        pytest.fail(message + " — LOYALTY_TEST_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(message)


@dataclass
class Database:
    kind: str
    url: str
    engine: Engine

    def settings(self, **overrides: object) -> Settings:
        base = load_settings(
            {"LOYALTY_DATABASE_URL": self.url, "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_LOGIN_CODE_MIN_INTERVAL": "0"}
        )
        return base.with_overrides(**overrides) if overrides else base


def _run_database_url(url: str) -> str:
    """One database per test run (`loyalty_test_<pid>`), so parallel runs never collide."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path}_{os.getpid()}"))


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    connection = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=3)
    try:
        for statement in statements:
            await connection.execute(statement.format(name=parts.path.lstrip("/")))
    finally:
        await connection.close()


async def _fresh_postgres(url: str) -> None:
    """Drop and re-create the test database, so every run starts from an empty schema."""
    await _admin(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'loyalty-test.sqlite'}"
    else:
        url = _run_database_url(POSTGRES_URL)
        try:
            await _fresh_postgres(url)
        except (OSError, asyncio.TimeoutError, Exception) as error:  # noqa: BLE001 - any failure means unreachable
            unavailable("PostgreSQL", f"{type(error).__name__}: {error}")
    engine = db.bind(db.engine_from_url(url))
    await db.start()
    await db.migrate()
    await _remember_seeds()
    yield Database(kind=request.param, url=url, engine=engine)
    await db.stop()
    if request.param == "postgres":
        await _admin(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_KEEP = {"migration"}
# Rows the migrations seed (the default tier rules): restored before every test.
_SEEDED = ("tier_criterion", "reward_rule")
_seed_rows: dict[str, list[dict]] = {}


async def _remember_seeds() -> None:
    for table in db.all_tables():
        if table._meta.tablename in _SEEDED:
            _seed_rows[table._meta.tablename] = await table.select()


async def _restore_seeds() -> None:
    for table in db.all_tables():
        rows = _seed_rows.get(table._meta.tablename)
        if rows:
            await table.insert(*[table(**row) for row in rows])
            if db.is_postgres():  # TRUNCATE ... RESTART IDENTITY reset the sequence to 1
                name = table._meta.tablename
                await table.raw(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))")


async def _empty_tables() -> None:
    # Children before parents, for SQLite's foreign-key checks.
    tables = [t for t in reversed(sort_table_classes(db.all_tables())) if t._meta.tablename not in _KEEP]
    names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
    if db.is_postgres():
        await tables[0].raw(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            await table.raw(f'DELETE FROM "{table._meta.tablename}"')
        # Piccolo's SQLite keys are plain INTEGER PRIMARY KEYs: ids restart at 1 once empty.


@pytest.fixture
async def database(database_engine: Database, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The database under test, bound and emptied. Afterwards every points balance the test
    left behind must still equal its ledger and its lots: `audit_ledger` runs after every
    scenario of the suite, not only in the tests about it."""
    db.bind(database_engine.engine)
    # Jobs and services that read the process settings get this database's, whatever app an
    # earlier test built (a test that builds its own app configures its own).
    jobs.configure(database_engine.settings())
    await _empty_tables()
    await _restore_seeds()
    yield database_engine
    if request.node.get_closest_marker("ledger_drift_expected"):
        return
    from loyalty.points.service import audit_ledger

    db.bind(database_engine.engine)
    drifts = await audit_ledger()
    assert drifts == [], f"the points ledger drifted in this test: {drifts}"


@pytest.fixture
def settings(database: Database) -> Settings:
    return database.settings()


@pytest.fixture
async def client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop (so it shares the test's pool).
    The app's start-up check is tested on its own in tests/test_app_start.py."""
    app = create_app(settings, engine=database.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        unavailable("Redis", str(error))
    return REDIS_URL


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: about PostgreSQL itself (row locks, several processes); not run on SQLite"
    )
    config.addinivalue_line("markers", "ledger_drift_expected: the test breaks the ledger on purpose")
    config.addinivalue_line(
        "markers", "sqlite_only: does not depend on the database (the pages' words); not run on PostgreSQL"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A `postgres_only` test has no [sqlite] variant, a `sqlite_only` one no [postgres] variant:
    deselected, not skipped (CI fails on a skip)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("database_engine") if callspec is not None else None
        unwanted = (engine == "sqlite" and item.get_closest_marker("postgres_only")) or (
            engine == "postgres" and item.get_closest_marker("sqlite_only")
        )
        (drop if unwanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


FIXTURES = Path(__file__).parent / "fixtures"


# The OpenAPI contract (loyalty/openapi_contract.py): every problem any test makes the app
# answer must be listed, in the document the app serves, for the operation that answered it.
# A route that starts raising a new error without declaring it (`@raises`) fails the test that
# first makes it happen, naming the operation and the type. 500s are bugs, never documented.
UNDOCUMENTED_EXEMPT = {"internal-error"}


def undocumented_problem(request: object, slug: str) -> str | None:
    """Why answering `slug` for `request` breaks the document, or None if it is listed (or the
    path is not in the document: static files, /admin, an unknown path or method)."""
    scope = getattr(request, "scope", {})
    template = scope.get("path_template")
    app = scope.get("app")
    if not template or app is None or slug in UNDOCUMENTED_EXEMPT:
        return None
    item = (app.openapi_schema.paths or {}).get(template)
    operation = getattr(item, str(scope.get("method", "")).lower(), None) if item is not None else None
    if operation is None or "_extensions" not in operation.__dict__:  # not a document of create_app's
        return None
    listed = operation.__dict__["_extensions"].get("x-problem-types", [])
    if f"/problems/{slug}" in listed:
        return None
    return f"{operation.operation_id} ({scope['method']} {template}) answered /problems/{slug}, which it does not list"


def unreadable_problem(request: Any, body: dict[str, Any]) -> str | None:
    """Every problem any test causes is read in its locale: no English words in a Chinese title,
    detail or reason (nor Chinese in an English one), beyond the names of the fields in question."""
    from loyalty.i18n import request_locale
    from tests.i18n_words import foreign_words

    try:
        locale = request_locale(request)
    except Exception:  # a bare ASGI scope (the unit tests of the mapper): the header decides
        locale = "zh-CN"
    errors = body.get("errors") or []
    fields = [str(e.get("field", "")) for e in errors] + [str(e.get("field", "")).split(".")[-1] for e in errors]
    texts = [body.get("title", ""), body.get("detail", ""), *(str(e.get("reason", "")) for e in errors)]
    words = [w for text in texts for w in foreign_words(str(text), locale, allowed=[f for f in fields if f])]
    if not words:
        return None
    path = getattr(getattr(request, "url", None), "path", "?")
    return f"{locale} {body.get('type')} at {path}: {words} in {body.get('detail')!r}"


@pytest.fixture(autouse=True)
def problems_are_documented(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from loyalty import problems

    found: list[str] = []
    answer = problems._problem

    def recording(request: Any, status: int, slug: str, *args: Any, **kwargs: Any) -> Any:
        why = undocumented_problem(request, slug)
        if why and why not in found:
            found.append(why)
        response = answer(request, status, slug, *args, **kwargs)
        foreign = unreadable_problem(request, response.content)
        if foreign and foreign not in unreadable:
            unreadable.append(foreign)
        return response

    unreadable: list[str] = []
    monkeypatch.setattr(problems, "_problem", recording)
    yield
    if unreadable:
        pytest.fail("a problem's words are not in the reader's language (mark them with _() in the code and "
                    "translate them in loyalty/i18n/locales, see loyalty/i18n):\n" + "\n".join(unreadable), pytrace=False)
    if found:
        pytest.fail("the OpenAPI document does not list a problem this test caused (declare it with "
                    "@raises next to the route, see loyalty/openapi_contract.py):\n" + "\n".join(found), pytrace=False)
