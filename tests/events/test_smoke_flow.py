"""The whole free-event path once, through HTTP: list, sign up, ticket, check in, points."""

from __future__ import annotations

from loyalty.points import service as points
from tests.events.builders import event, member_client, owners, phone, staff_client


async def test_a_member_signs_up_gets_a_ticket_and_is_checked_in_once(database, settings, frozen, tmp_path):
    [member] = await owners(tmp_path, 1)
    event_id = await event()

    async with member_client(database, settings, phone(0)) as me:
        listed = (await me.get("/api/v1/events")).json()
        signed = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
        again = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 1})
        ticket = signed.json()[0]["ticket_code"]
        png = await me.get(f"/api/v1/me/signups/{signed.json()[0]['id']}/ticket.png")
    frozen.move_to(listed[0]["starts_at"])
    async with staff_client(database, settings) as door:
        first = await door.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": ticket, "gate": "东门"})
        second = await door.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": ticket, "gate": "西门"})

    assert [e["id"] for e in listed] == [event_id] and listed[0]["can_sign_up"] and listed[0]["why_not"] is None
    assert signed.status_code == 201, signed.text
    assert signed.json()[0]["status"] == "confirmed" and ticket
    assert again.status_code == 409 and again.json()["type"] == "/problems/already-signed-up"
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.json()["result"] == "checked_in", first.text
    assert first.json()["points_earned"] == 50 and first.json()["count"]["checked_in"] == 1
    assert second.json()["result"] == "already_checked_in" and second.json()["first_gate"] == "东门"
    assert (await points.balance(member)).available == 50
