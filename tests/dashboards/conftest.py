"""The same set-up as the events tests: time frozen at NOW (noon, Beijing), quick staff
passwords, the app's code signer."""

from tests.events.conftest import fast_password_hashing, frozen, signer  # noqa: F401
