"""A volunteer's phone set up as a door scanner from a one-time QR: no password typed at the
door; the phone may scan (and read the door) but nothing else a staff member may; the code works
once and for ten minutes; the phone logging out does not log the staff member out."""

from __future__ import annotations

from datetime import timedelta

import httpx

from loyalty.app import create_app
from loyalty.events import signups
from tests.events.builders import NOW, event, owners, staff_client

STARTS = NOW + timedelta(days=7)
OPENS = STARTS - timedelta(minutes=120)


async def test_a_phone_opened_from_the_qr_scans_at_its_door_and_nothing_more(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event()
    [signup_id] = await signups.sign_up(member, event_id, settings=settings)
    frozen.move_to(OPENS + timedelta(minutes=5))
    async with staff_client(database, settings, "lead1", role="admin") as lead:
        issued = await lead.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": "北门"})
        assert issued.status_code == 201, issued.text
        setup = issued.json()
        token = setup["url"].split("#door-setup=", 1)[1]
        assert setup["url"].startswith("http://testserver/staff#door-setup=") and setup["qr_png_base64"].startswith("iVBOR")

        app = create_app(settings, engine=database.engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as phone:
            opened = await phone.post("/api/v1/auth/door-device-sessions", json={"token": token})
            assert opened.status_code == 201, opened.text
            assert opened.json() == {"event_id": event_id, "gate": "北门"}
            me = (await phone.get("/api/v1/staff/me")).json()
            assert me["role"] == "admin" and me["door_event_id"] == event_id and me["door_gate"] == "北门"
            scanned = await phone.post("/api/v1/staff/checkins",
                                        json={"event_id": event_id, "code": signer.sign("ticket", signup_id), "gate": "北门"})
            assert scanned.status_code == 200 and scanned.json()["result"] == "checked_in", scanned.text
            assert (await phone.get(f"/api/v1/staff/events/{event_id}/admission-list")).status_code == 200
            # The issuer is an admin; the phone is only a door.
            for refused in (await phone.get(f"/api/v1/staff/events/{event_id}/signups"), await phone.get("/api/v1/staff/dashboards/kpis"),
                            await phone.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": "北门"})):
                assert refused.status_code == 403, refused.text
            again = await phone.post("/api/v1/auth/door-device-sessions", json={"token": token})
            assert again.status_code == 410 and again.json()["type"] == "/problems/door-setup-code-invalid"
            assert (await phone.delete("/api/v1/auth/staff-sessions/current")).status_code == 204
            assert (await phone.get("/api/v1/staff/me")).status_code == 401
        assert (await lead.get("/api/v1/staff/me")).status_code == 200  # the phone logged only itself out

        late = (await lead.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": "北门"})).json()
        frozen.move_to(OPENS + timedelta(minutes=16))  # eleven minutes later
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as phone:
            expired = await phone.post("/api/v1/auth/door-device-sessions", json={"token": late["url"].split("#door-setup=")[1]})
            forged = await phone.post("/api/v1/auth/door-device-sessions", json={"token": "made-up"})
        assert expired.status_code == 410 and forged.status_code == 410
        no_gate = await lead.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": " "})
        no_event = await lead.post("/api/v1/staff/door-devices", json={"event_id": 999999, "gate": "北门"})
        assert no_gate.status_code == 422 and no_event.status_code == 404
    async with staff_client(database, settings, "seller1", role="sales") as sales:
        assert (await sales.post("/api/v1/staff/door-devices", json={"event_id": event_id, "gate": "北门"})).status_code == 403
