from __future__ import annotations

from typing import Iterator

import pytest
from piccolo.apps.user.tables import BaseUser

from tests.identity.builders import add_member


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Piccolo hashes with 600,000 PBKDF2 rounds (~0.3 s a password); identity tests create
    and log in many staff on two databases, so they hash with few rounds. The algorithm and
    the code paths are the same."""
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    yield


@pytest.fixture
async def member_id(database) -> int:
    """One member, 王芳, on +8613800138000 (MEMBER_PHONE)."""
    return await add_member()
