from __future__ import annotations

from typing import Iterator

import pytest
import time_machine
from piccolo.apps.user.tables import BaseUser

from loyalty import jobs
from tests.rewards.builders import NOW


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds in these tests."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """Time stands still at NOW (noon, Beijing)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def jobs_configured(settings):
    """Jobs (a ready notice) run inline with the test's settings, as the app sets them."""
    jobs.configure(settings)
