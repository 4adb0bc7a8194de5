"""Offline scans synced one by one: a door that turned someone away did not let them in (and
staff hear when the ticket was good); unreadable codes an offline door let in are kept and
listed; one bad scan never blocks the rest; an admission is the earliest, whichever door synced
first; a nonce names one scan of one code."""

from __future__ import annotations

from datetime import timedelta

from loyalty.events.tables import Scan, Signup
from loyalty.points.tables import LedgerEntry
from tests.events.builders import event, owners, staff, staff_client
from tests.events.test_door_sync import OPENS, SYNC, fields, offline, sign_up, sync


async def test_a_valid_ticket_the_offline_door_turned_away_is_not_admitted_and_is_a_conflict(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=20)
    signup_id = await sign_up(member, event_id, settings)
    frozen.move_to(OPENS + timedelta(minutes=30))
    async with staff_client(database, settings) as http:
        done = await sync(http, event_id, "phone-east", [offline("t1", signer.sign("ticket", signup_id), 3, "wrong_event")])
        conflicts = (await http.get(f"/api/v1/staff/events/{event_id}/door/conflicts")).json()
    [scan] = done["scans"]
    assert (scan["status"], scan["result"], scan["conflict"], scan["conflict_kind"]) == ("applied", "wrong_event", True, "turned_away")
    assert (await Signup.select(Signup.status).where(Signup.id == signup_id).first())["status"] == "confirmed"
    assert await LedgerEntry.count().where(LedgerEntry.idempotency_key.like("event-attend:%")) == 0
    assert [(c["kind"], c["offline_result"], c["signup_id"]) for c in conflicts] == [("turned_away", "wrong_event", signup_id)]
    assert done["count"]["checked_in"] == 0 and done["count"]["conflicts"] == 1


async def test_unreadable_codes_an_offline_door_let_in_are_kept_and_listed(database, settings, frozen, tmp_path, signer):
    event_id = await event(await staff("maker"))
    frozen.move_to(OPENS + timedelta(minutes=30))
    forged = signer.sign("ticket", 4242)[:-4] + "AAAA"
    async with staff_client(database, settings) as http:
        done = await sync(http, event_id, "phone-east", [offline("x1", forged, 1), offline("x2", "not a code", 2, "invalid_code")])
        again = await sync(http, event_id, "phone-east", [offline("x1", forged, 1)])
        conflicts = (await http.get(f"/api/v1/staff/events/{event_id}/door/conflicts")).json()
    assert [(s["result"], s["conflict"]) for s in done["scans"]] == [("invalid_code", True), ("invalid_code", False)]
    assert again["scans"][0]["status"] == "replay" and again["scans"][0]["conflict"]
    assert [(c["kind"], c["result"], c["gate"]) for c in conflicts] == [("admitted", "invalid_code", "东门")]
    assert done["count"]["conflicts"] == 1 and await Scan.count().where(Scan.event == event_id) == 2


async def test_one_bad_scan_is_refused_on_its_own_and_the_rest_are_applied(database, settings, frozen, tmp_path, signer):
    first, second = await owners(tmp_path, 2)
    event_id = await event(await staff("maker"))
    a, b = await sign_up(first, event_id, settings), await sign_up(second, event_id, settings)
    frozen.move_to(OPENS + timedelta(minutes=30))
    scans = [offline("ok1", signer.sign("ticket", a), 1), offline("late", signer.sign("ticket", b), 60), offline("old", signer.sign("ticket", b), -5 * 24 * 60)]
    async with staff_client(database, settings) as http:
        done = await sync(http, event_id, "phone-east", scans)
        bad_gate = await http.post(SYNC, json={"event_id": event_id, "device": "d1", "scans": [
            offline("g1", signer.sign("ticket", b), 2), {**offline("g2", signer.sign("ticket", b), 3), "gate": "   "}]})
    by_nonce = {s["nonce"]: s for s in done["scans"]}
    assert by_nonce["ok1"]["status"] == "applied" and by_nonce["ok1"]["result"] == "checked_in"
    assert by_nonce["late"]["status"] == by_nonce["old"]["status"] == "refused"
    assert "手机时间" in by_nonce["late"]["reason"]
    assert bad_gate.status_code == 422 and fields(bad_gate) == ["scans[1].gate"], bad_gate.text
    # Nothing of the refused body was applied: g1 (before the bad gate) left no trace.
    assert (await Signup.select(Signup.status).where(Signup.id == b).first())["status"] == "confirmed"
    assert await Scan.count().where(Scan.nonce == "g1") == 0


async def test_the_earliest_admission_is_the_attendance_and_the_later_one_the_conflict(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=20)
    signup_id = await sign_up(member, event_id, settings)
    ticket = signer.sign("ticket", signup_id)
    frozen.move_to(OPENS + timedelta(minutes=10))
    async with staff_client(database, settings) as http:
        live = await http.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": ticket, "gate": "东门"})
        assert live.json()["result"] == "checked_in"
        frozen.move_to(OPENS + timedelta(minutes=30))
        done = await sync(http, event_id, "phone-west", [offline("w1", ticket, 4, gate="西门")])  # 6 minutes before the live scan
        conflicts = (await http.get(f"/api/v1/staff/events/{event_id}/door/conflicts")).json()
    assert done["scans"][0]["result"] == "checked_in" and not done["scans"][0]["conflict"]
    row = await Signup.select(Signup.checked_in_at, Signup.checked_in_gate).where(Signup.id == signup_id).first()
    assert row == {"checked_in_at": OPENS + timedelta(minutes=4), "checked_in_gate": "西门"}
    [conflict] = conflicts
    assert (conflict["first_gate"], conflict["gate"], conflict["kind"]) == ("西门", "东门", "admitted")
    assert conflict["first_checked_in_at"] < conflict["scanned_at"]
    assert await LedgerEntry.count().where(LedgerEntry.idempotency_key.like("event-attend:%")) == 1


async def test_a_nonce_reused_with_another_code_is_refused_not_replayed(database, settings, frozen, tmp_path, signer):
    first, second = await owners(tmp_path, 2)
    event_id = await event(await staff("maker"))
    a, b = await sign_up(first, event_id, settings), await sign_up(second, event_id, settings)
    frozen.move_to(OPENS + timedelta(minutes=10))
    async with staff_client(database, settings) as http:
        ok = await http.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": signer.sign("ticket", a), "gate": "东门", "nonce": "n1"})
        reused = await http.post("/api/v1/staff/checkins", json={"event_id": event_id, "code": signer.sign("ticket", b), "gate": "东门", "nonce": "n1"})
        synced = await sync(http, event_id, "d1", [offline("n1", signer.sign("ticket", b), 5)])
    assert ok.json()["result"] == "checked_in"
    assert reused.status_code == 409 and reused.json()["type"] == "/problems/nonce-reused", reused.text
    assert "member_name" not in reused.json()
    assert synced["scans"][0]["status"] == "refused" and synced["scans"][0]["reason"]
    assert (await Signup.select(Signup.status).where(Signup.id == b).first())["status"] == "confirmed"
