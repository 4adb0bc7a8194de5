"""The door without a network: the admission list a scanner keeps, and its offline scans synced
back through `POST /api/v1/staff/checkins/offline` — each applied exactly once by nonce, at the
moment it was made, with a ticket let in at two offline doors reported as a conflict."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from loyalty.events import signups
from loyalty.events.tables import Scan, Signup
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from tests.events.builders import NOW, event, owners, staff, staff_client

STARTS = NOW + timedelta(days=7)
OPENS = STARTS - timedelta(minutes=120)
SYNC = "/api/v1/staff/checkins/offline"


async def sign_up(member: int, event_id: int, settings: Any, party_size: int = 1) -> int:
    [signup_id] = await signups.sign_up(member, event_id, settings=settings, party_size=party_size)
    return signup_id


def offline(nonce: str, code: str, minutes: int, result: str = "checked_in", gate: str = "东门") -> dict[str, Any]:
    return {"nonce": nonce, "code": code, "gate": gate, "scanned_at": (OPENS + timedelta(minutes=minutes)).isoformat(),
            "offline_result": result}


async def sync(http: httpx.AsyncClient, event_id: int, device: str, scans: list[dict[str, Any]]) -> dict[str, Any]:
    response = await http.post(SYNC, json={"event_id": event_id, "device": device, "scans": scans})
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_admission_list_names_every_signup_and_who_came_in_where_without_phones(database, settings, frozen, tmp_path, signer):
    first, second = await owners(tmp_path, 2)
    event_id = await event(await staff("maker"))
    a = await sign_up(first, event_id, settings, party_size=3)
    b = await sign_up(second, event_id, settings)
    frozen.move_to(OPENS + timedelta(minutes=2))
    async with staff_client(database, settings) as http:
        await http.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": signer.sign("ticket", a), "gate": "东门"})
        listed = (await http.get(f"/api/v1/staff/events/{event_id}/admission-list")).json()
        missing = await http.get("/api/v1/staff/events/999999/admission-list")
        keys = (await http.get("/api/v1/code-keys")).json()

    assert listed["event_id"] == event_id and datetime.fromisoformat(listed["opens_at"]) == OPENS
    rows = {r["signup_id"]: r for r in listed["signups"]}
    assert set(rows) == {a, b}
    assert rows[a]["status"] == "attended" and rows[a]["checked_in_gate"] == "东门" and rows[a]["party_size"] == 3
    assert rows[b]["status"] == "confirmed" and rows[b]["checked_in_at"] is None and rows[b]["member_id"] == second
    assert all("phone" not in r for r in listed["signups"])
    assert missing.status_code == 404
    assert keys["algorithm"] == "Ed25519" and keys["keys"]


async def test_offline_scans_apply_once_by_nonce_and_a_ticket_let_in_at_two_doors_is_one_conflict(
    database, settings, frozen, tmp_path, signer
):
    members = await owners(tmp_path, 3)
    event_id = await event(await staff("maker"), attendance_points=50)
    ids = [await sign_up(m, event_id, settings, party_size=2) for m in members]
    tickets = [signer.sign("ticket", i) for i in ids]
    frozen.move_to(OPENS + timedelta(minutes=30))  # back online half an hour after the door opened

    east = [offline("e1", tickets[0], 1), offline("e2", tickets[1], 2), offline("e3", "not a code", 3, "invalid_code")]
    west = [offline("w1", tickets[0], 5, gate="西门"), offline("w2", tickets[2], 6, gate="西门")]
    async with staff_client(database, settings) as http:
        first = await sync(http, event_id, "phone-east", east)
        second = await sync(http, event_id, "phone-west", west)
        again = await sync(http, event_id, "phone-east", east)  # a lost answer: the device sends it all again
        conflicts = (await http.get(f"/api/v1/staff/events/{event_id}/door/conflicts")).json()
        door = (await http.get(f"/api/v1/staff/events/{event_id}/door")).json()

    assert [(s["nonce"], s["result"], s["conflict"]) for s in first["scans"]] == [
        ("e1", "checked_in", False), ("e2", "checked_in", False), ("e3", "invalid_code", False)]
    assert [(s["nonce"], s["result"], s["conflict"]) for s in second["scans"]] == [
        ("w1", "already_checked_in", True), ("w2", "checked_in", False)]
    assert [s["replayed"] for s in again["scans"][:2]] == [True, True]
    assert [s["result"] for s in again["scans"][:2]] == ["checked_in", "checked_in"]
    [conflict] = conflicts
    assert conflict["signup_id"] == ids[0] and conflict["member_name"] == "业主0" and conflict["party_size"] == 2
    assert (conflict["gate"], conflict["device"], conflict["first_gate"]) == ("西门", "phone-west", "东门")
    assert door["checked_in"] == 3 and door["people_in"] == 6 and door["conflicts"] == 1
    # Checked in when the door said so (the device's clock), not when the network came back.
    row = await Signup.select(Signup.checked_in_at, Signup.checked_in_gate).where(Signup.id == ids[1]).first()
    assert row == {"checked_in_at": OPENS + timedelta(minutes=2), "checked_in_gate": "东门"}
    assert await Scan.count().where(Scan.event == event_id) == 5  # e1, e2, e3 (kept though no ticket), w1, w2: once each
    assert await LedgerEntry.count().where(LedgerEntry.idempotency_key.like("event-attend:%")) == 3
    assert await points.audit_ledger() == []


async def test_a_sync_that_cannot_be_applied_is_refused_naming_the_field(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    ticket = signer.sign("ticket", await sign_up(member, event_id, settings))
    frozen.move_to(OPENS + timedelta(minutes=30))
    future = offline("f1", ticket, 60)  # 30 minutes after this server's now
    async with staff_client(database, settings) as http:
        from_the_future = await http.post(SYNC, json={"event_id": event_id, "device": "d1", "scans": [future]})
        unknown_event = await http.post(SYNC, json={"event_id": 999999, "device": "d1", "scans": []})
        no_device = await http.post(SYNC, json={"event_id": event_id, "device": "  ", "scans": []})
        bad_result = await http.post(SYNC, json={"event_id": event_id, "device": "d1", "scans": [offline("x", ticket, 1, "ok")]})
    async with staff_client(database, settings, "seller1", role="sales") as sales:
        forbidden = await sales.post(SYNC, json={"event_id": event_id, "device": "d1", "scans": []})

    # One scan the server cannot take is refused on its own (tests/events/test_door_sync_per_scan.py).
    assert from_the_future.status_code == 200 and from_the_future.json()["scans"][0]["status"] == "refused", from_the_future.text
    assert unknown_event.status_code == 404
    assert no_device.status_code == 422 and fields(no_device) == ["device"]
    assert bad_result.status_code in (400, 422) and "offline_result" in bad_result.text
    assert forbidden.status_code == 403
    assert await Scan.count() == 0


def fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]
