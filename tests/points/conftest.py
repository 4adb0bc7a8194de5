from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from loyalty.app import create_app


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds here (same code path, much faster)."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


@pytest.fixture
async def new_client(database, settings) -> AsyncIterator[Callable[[], Awaitable[httpx.AsyncClient]]]:
    """More HTTP clients on one app, one per person (each keeps its own session cookie)."""
    app = create_app(settings, engine=database.engine)
    opened: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()
