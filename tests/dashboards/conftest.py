from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from piccolo.apps.user.tables import BaseUser

from loyalty.cards import codes
from loyalty.cards import service as cards
from loyalty.settings import Settings
from tests.events.builders import NOW


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds in these tests."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """Time stands still at NOW (noon, Beijing); tests move it with `frozen.move_to(...)`."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signer(settings: Settings) -> codes.CodeSigner:
    return cards.signer_for(settings)
