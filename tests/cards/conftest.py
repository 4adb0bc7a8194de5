from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

import pytest
import time_machine
from piccolo.apps.user.tables import BaseUser

from loyalty.cards import codes, service
from loyalty.settings import Settings
from tests.cards.builders import TODAY, noon

_RULES_MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "cards" / "cards_2026_11_25t14_23_30_000000.py"


def default_rules() -> list[tuple[str, str, int, int | None, int]]:
    """DEFAULT_RULES of the migration that seeds tier_criterion (its file name is not importable)."""
    spec = importlib.util.spec_from_file_location("cards_default_rules_migration", _RULES_MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.DEFAULT_RULES)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds here (same code path, much faster)."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """Time stands still at noon on TODAY (Beijing); tests move it with `frozen.move_to(...)`."""
    with time_machine.travel(noon(TODAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def signer(settings: Settings) -> codes.CodeSigner:
    """The signer the app uses for these settings."""
    return service.signer_for(settings)
