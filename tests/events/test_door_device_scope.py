"""A phone set up from the device-setup QR is a door for one event and one gate, for that day:
another event or gate is refused (403, in words), its logout kills every copy of its cookie, its
session ends with the event day, and staff may switch it off."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, AsyncIterator

import httpx

from loyalty.app import create_app
from loyalty.events import signups
from tests.events.builders import NOW, event, owners, staff_client

STARTS = NOW + timedelta(days=7)
OPENS = STARTS - timedelta(minutes=120)


@asynccontextmanager
async def door_phone(database: Any, settings: Any, lead: httpx.AsyncClient, event_id: int, gate: str) -> AsyncIterator[httpx.AsyncClient]:
    issued = (await lead.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": gate})).json()
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as phone:
        opened = await phone.post("/api/v1/auth/door-device-sessions", json={"token": issued["url"].split("#door-setup=")[1]})
        assert opened.status_code == 201, opened.text
        yield phone


def copy_of(phone: httpx.AsyncClient, database: Any, settings: Any) -> httpx.AsyncClient:
    app = create_app(settings, engine=database.engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=dict(phone.cookies))


async def test_a_door_phone_is_refused_at_another_event_or_gate(database, settings, frozen, tmp_path, signer):
    first, second = await owners(tmp_path, 2)
    mine, other = await event(), await event()
    [my_signup] = await signups.sign_up(first, mine, settings=settings)
    [their_signup] = await signups.sign_up(second, other, settings=settings)
    frozen.move_to(OPENS + timedelta(minutes=5))
    async with staff_client(database, settings, "lead1", role="admin") as lead, door_phone(database, settings, lead, mine, "北门") as phone:
        names = await phone.get(f"/api/v1/staff/events/{other}/admission-list")
        door = await phone.get(f"/api/v1/staff/events/{other}/door")
        conflicts = await phone.get(f"/api/v1/staff/events/{other}/door/conflicts")
        there = await phone.post("/api/v1/staff/checkins", json={"event_id": other, "code": signer.sign("ticket", their_signup), "gate": "北门"})
        side = await phone.post("/api/v1/staff/checkins", json={"event_id": mine, "code": signer.sign("ticket", my_signup), "gate": "南门"})
        synced = await phone.post("/api/v1/staff/checkins/offline", json={"event_id": mine, "device": "p1", "scans": [
            {"nonce": "a", "code": signer.sign("ticket", my_signup), "gate": "北门", "scanned_at": NOW.isoformat(), "offline_result": "checked_in"},
            {"nonce": "b", "code": signer.sign("ticket", my_signup), "gate": "南门", "scanned_at": NOW.isoformat(), "offline_result": "checked_in"},
        ]})
        for refused in (names, door, conflicts, there, side, synced):
            assert refused.status_code == 403, refused.text
            assert refused.json()["detail"] and "signups" not in refused.json()
        assert side.json()["errors"][0]["field"] == "gate" and synced.json()["errors"][0]["field"] == "scans[1].gate"
        signups_there = (await lead.get(f"/api/v1/staff/events/{other}/signups")).json()
        assert [s["status"] for s in signups_there] == ["confirmed"]
        assert [s["status"] for s in (await lead.get(f"/api/v1/staff/events/{mine}/signups")).json()] == ["confirmed"]
        # Its own event and gate still work.
        ok = await phone.post("/api/v1/staff/checkins", json={"event_id": mine, "code": signer.sign("ticket", my_signup), "gate": "北门"})
        assert ok.status_code == 200 and ok.json()["result"] == "checked_in", ok.text


async def test_a_logged_out_door_phone_leaves_no_cookie_that_works(database, settings, frozen, tmp_path, signer):
    event_id = await event()
    frozen.move_to(OPENS)
    async with staff_client(database, settings, "lead1", role="admin") as lead, door_phone(database, settings, lead, event_id, "北门") as phone:
        async with copy_of(phone, database, settings) as saved:
            assert (await saved.get(f"/api/v1/staff/events/{event_id}/door")).status_code == 200
            assert (await phone.delete("/api/v1/auth/staff-sessions/current")).status_code == 204
            assert (await saved.get(f"/api/v1/staff/events/{event_id}/door")).status_code == 401
            assert (await saved.get(f"/api/v1/staff/events/{event_id}/admission-list")).status_code == 401
        assert (await lead.get("/api/v1/staff/me")).status_code == 200


async def test_a_door_phone_session_ends_with_the_day_and_staff_can_switch_it_off(database, settings, frozen, tmp_path, signer):
    event_id = await event()
    frozen.move_to(OPENS)
    async with staff_client(database, settings, "lead1", role="admin") as lead:
        async with door_phone(database, settings, lead, event_id, "北门") as phone:
            assert (await phone.get(f"/api/v1/staff/events/{event_id}/door")).status_code == 200
            frozen.move_to(OPENS + timedelta(hours=25))
            assert (await phone.get(f"/api/v1/staff/events/{event_id}/door")).status_code == 401
        async with door_phone(database, settings, lead, event_id, "南门") as phone:
            listed = (await lead.get(f"/api/v1/staff/events/{event_id}/door-devices")).json()
            assert [d["gate"] for d in listed] == ["南门"]
            assert (await lead.delete(f"/api/v1/staff/events/{event_id}/door-devices/{listed[0]['id']}")).status_code == 204
            assert (await phone.get(f"/api/v1/staff/events/{event_id}/door")).status_code == 401
            assert (await lead.get(f"/api/v1/staff/events/{event_id}/door-devices")).json() == []
