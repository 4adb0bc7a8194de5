"""Real-browser tests: Debian's Chromium, driven by Playwright, against the real app served by
uvicorn on a free loopback port.

The server runs as a task in the test's own event loop, so it shares the test's database
engine (SQLite or PostgreSQL, like every database test) and the process clock: a test that
moves time with time_machine moves the server's time too (the browser keeps its own clock,
which Playwright's `page.clock` controls). Never `playwright install`: the browser is
/usr/bin/chromium (`scripts/test` installs Debian's `chromium` when it is missing)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from piccolo.apps.user.tables import BaseUser
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from loyalty import jobs
from loyalty.app import create_app
from loyalty.settings import Settings
from tests.stripe_server import free_port

if TYPE_CHECKING:
    from tests.conftest import Database

CHROMIUM = os.environ.get("LOYALTY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# Playwright's waits in these tests: generous for a loaded CI machine, never a fixed sleep.
WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds here (same code path, much faster)."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


def chromium_missing() -> str | None:
    """What to do when the browser the tests drive is not there; None when it is."""
    if Path(CHROMIUM).is_file():
        return None
    return (
        f"Chromium not found at {CHROMIUM}: run scripts/test (it installs Debian's chromium), "
        "or apt-get install chromium; or leave the browser tests out with --ignore=tests/browser"
    )


@pytest.hookimpl(trylast=True)  # after -k/-m have deselected: only the tests that will run count
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, a run that includes browser tests stops before running anything, with
    one line saying how to get it, rather than an error per browser test at the end of a long
    run. Runs without browser tests (and --collect-only) are not concerned."""
    if config.option.collectonly or not any("browser" in getattr(item, "fixturenames", ()) for item in items):
        return
    missing = chromium_missing()
    if missing:
        raise pytest.UsageError(missing)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    missing = chromium_missing()
    if missing:  # not reached through pytest_collection_modifyitems; kept for direct fixture use
        pytest.fail(missing, pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Server:
    url: str
    settings: Settings


@pytest.fixture
async def server(database: Database, settings: Settings) -> AsyncIterator[Server]:
    """The real application (create_app) on http://127.0.0.1:<free port>, in this event loop."""
    port = free_port()
    # Served here, so public here: links the app makes for others (WeChat's redirect_uri) come back to it.
    settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, engine=database.engine)
    running = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False)
    )
    serving = asyncio.create_task(running.serve())
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline and not serving.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        running.should_exit = True
        await asyncio.wait_for(serving, 15)
        jobs.configure(database.settings())


@dataclass
class Pages:
    """Browser contexts for the test (one per person: each has its own cookies), closed after
    it. Any uncaught exception in a page's JavaScript fails the test."""

    browser: Browser
    server: Server
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def new(self, *, locale: str = "zh-CN", **options: Any) -> Page:
        context = await self.browser.new_context(
            base_url=self.server.url, locale=locale, timezone_id="Asia/Shanghai", **{**DESKTOP, **options}
        )
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page


@pytest.fixture
async def pages(browser: Browser, server: Server) -> AsyncIterator[Pages]:
    opened = Pages(browser=browser, server=server)
    try:
        yield opened
    finally:
        for context in opened.contexts:
            await context.close()
    assert opened.errors == [], f"JavaScript errors in the pages: {opened.errors}"
