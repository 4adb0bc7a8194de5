"""The client's address (loyalty.ops.client_address): the socket peer, and X-Forwarded-For only
when the peer is one of LOYALTY_TRUSTED_PROXIES (none by default, loopback included)."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
import time_machine

from loyalty.app import create_app
from loyalty.ops.client_address import client_address
from loyalty.settings import Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET


def scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 50000), "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def test_x_forwarded_for_from_a_loopback_peer_is_ignored_by_default():
    assert Settings().trusted_proxies == ""
    assert client_address(scope("127.0.0.1", "198.51.100.7"), Settings()) == "127.0.0.1"
    assert client_address(scope("::1", "198.51.100.7"), Settings()) == "::1"


def test_x_forwarded_for_is_honoured_when_the_peer_is_a_trusted_proxy():
    settings = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8")
    assert client_address(scope("127.0.0.1", "198.51.100.7"), settings) == "198.51.100.7"
    assert client_address(scope("203.0.113.1", "198.51.100.7"), settings) == "203.0.113.1"  # not a proxy of ours


def test_the_client_is_the_right_most_address_a_trusted_proxy_did_not_write():
    settings = Settings(trusted_proxies="10.0.0.0/8")
    # The caller wrote "1.2.3.4" itself; the edge proxy appended the address it saw, and an
    # inner proxy appended the edge's; both headers lines count, in order.
    assert client_address(scope("10.0.0.2", "1.2.3.4, 198.51.100.7", "10.0.0.1"), settings) == "198.51.100.7"
    assert client_address(scope("10.0.0.2", "10.0.0.9"), settings) == "10.0.0.9"  # only proxies: the first one
    assert client_address(scope("10.0.0.2"), settings) == "10.0.0.2"  # no header
    assert client_address(scope("10.0.0.2", "garbage, 10.0.0.1"), settings) == "10.0.0.1"


def test_a_bad_trusted_proxies_setting_stops_the_start_naming_it():
    with pytest.raises(SettingsError, match="LOYALTY_TRUSTED_PROXIES"):
        load_settings({"LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
    assert load_settings({"LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}).trusted_proxies


async def test_a_caller_cannot_dodge_the_per_address_limit_with_a_forged_forwarded_for(database, settings):
    """Over HTTP: from a peer that is not a trusted proxy, a made-up X-Forwarded-For per request
    does not make a new address (the login-code limit per address, 2 an hour here)."""
    app = create_app(settings.with_overrides(login_codes_per_address="2/hour"), engine=database.engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    with time_machine.travel(datetime(2030, 3, 1, 9, 0, 5, tzinfo=timezone.utc), tick=False):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answers = [
                (await http.post("/api/v1/auth/login-codes", json={"phone": f"+861390000{n:04d}"},
                                 headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
                for n in range(3)
            ]
    assert answers == [202, 202, 429]


async def test_metrics_behind_a_trusted_proxy_go_by_the_forwarded_client(database, settings):
    app = create_app(settings.with_overrides(trusted_proxies="127.0.0.1"), engine=database.engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        from_outside = await http.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        from_the_host = await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert (from_outside.status_code, from_the_host.status_code) == (403, 200)
