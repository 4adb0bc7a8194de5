"""The events tests' set-up (time frozen at NOW, quick staff passwords, the app's code signer),
jobs run with the test's settings, and the world of tests/privacy/builders.py."""

import pytest

from loyalty import jobs
from tests.events.conftest import fast_password_hashing, frozen, signer  # noqa: F401
from tests.privacy.builders import World, build_world


@pytest.fixture
def job_settings(settings):
    """Services called directly (not through an app) run their jobs with this test's settings."""
    jobs.configure(settings)


@pytest.fixture
async def world(database, settings, tmp_path, frozen, job_settings) -> World:  # noqa: F811 - the imported fixture
    return await build_world(tmp_path, settings)
