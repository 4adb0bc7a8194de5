"""The door: `POST /api/v1/staff/checkins` answers exactly one result per scan, exactly once.

Every result code through HTTP as a door scanner (role `event_staff`) sees it, with the live
count in each answer and at `GET /api/v1/staff/events/{id}/door`; tickets and member cards
(static and dynamic codes); a scanner's retry with the same nonce; bad input; attendance
points once; no-shows after the event; and, on PostgreSQL, scanners racing on one ticket.

Default event (tests/events/builders.py): starts a week after NOW, 10 seats, parties of up to
4, 50 attendance points; the door opens `checkin_opens_minutes` (120) before the start.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from loyalty.cards import service as cards
from loyalty.events import checkin, signups
from loyalty.events.tables import Scan, Signup
from loyalty.i18n import format
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from tests.events.builders import NOW, event, owners, seats, staff, staff_client

STARTS = NOW + timedelta(days=7)
OPENS = STARTS - timedelta(minutes=120)  # the first moment the door takes a ticket
ENDS = STARTS + timedelta(hours=3)
CHECKINS = "/api/v1/staff/checkins"


def door(event_id: int) -> str:
    return f"/api/v1/staff/events/{event_id}/door"


async def sign_up(member: int, event_id: int, settings: Any, party_size: int = 1, join_waitlist: bool = False) -> int:
    [signup_id] = await signups.sign_up(member, event_id, settings=settings, party_size=party_size, join_waitlist=join_waitlist)
    return signup_id


async def scan(http: httpx.AsyncClient, event_id: int, code: str, gate: str = "东门", nonce: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id, "code": code, "gate": gate}
    if nonce is not None:
        body["nonce"] = nonce
    response = await http.post(CHECKINS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def count(answer: dict[str, Any]) -> tuple[int, int, int, int]:
    c = answer["count"]
    return c["checked_in"], c["expected"], c["people_in"], c["people_expected"]


def at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def attendance_entries(signup_id: int) -> list[dict[str, Any]]:
    return await LedgerEntry.select().where(LedgerEntry.idempotency_key == f"event-attend:{signup_id}")


async def status_of(signup_id: int) -> dict[str, Any]:
    row = await Signup.select(Signup.status, Signup.checked_in_at, Signup.checked_in_gate).where(Signup.id == signup_id).first()
    assert row is not None
    return row


# --- who may scan ---------------------------------------------------------------------------


async def test_only_event_staff_may_scan_or_read_the_door(database, settings, client, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    signup_id = await sign_up(member, event_id, settings)
    ticket = signer.sign("ticket", signup_id)
    frozen.move_to(OPENS)

    anonymous = await client.post(CHECKINS, json={"event_id": event_id, "code": ticket, "gate": "东门"})
    anonymous_door = await client.get(door(event_id))
    async with staff_client(database, settings, "seller1", role="sales") as sales:
        refused = await sales.post(CHECKINS, json={"event_id": event_id, "code": ticket, "gate": "东门"})
        refused_door = await sales.get(door(event_id))

    assert anonymous.status_code == 401 and anonymous.json()["type"] == "/problems/not-authenticated"
    assert anonymous_door.status_code == 401
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/forbidden", refused.text
    assert refused_door.status_code == 403
    # Nobody got in, nothing was logged, no points moved.
    assert (await status_of(signup_id))["status"] == "confirmed"
    assert await Scan.count() == 0 and await attendance_entries(signup_id) == []


# --- checked_in and already_checked_in -------------------------------------------------------


async def test_a_ticket_checks_its_party_in_at_the_opening_minute_and_earns_the_attendance_points_once(
    database, settings, frozen, tmp_path, signer
):
    first, second, third = await owners(tmp_path, 3)
    event_id = await event(await staff("maker"), attendance_points=50)
    signup_id = await sign_up(first, event_id, settings, party_size=2)
    await sign_up(second, event_id, settings, party_size=3)
    await sign_up(third, event_id, settings, party_size=1)
    frozen.move_to(OPENS)  # exactly the opening minute

    async with staff_client(database, settings) as http:
        answer = await scan(http, event_id, signer.sign("ticket", signup_id), gate="东门")
        at_door = (await http.get(door(event_id))).json()

    assert answer["result"] == "checked_in", answer
    assert answer["result_label_en"] == "Checked in" and answer["result_label_zh"] == "签到成功"
    assert answer["event_id"] == event_id and answer["signup_id"] == signup_id
    assert answer["member_name"] == "业主0" and answer["party_size"] == 2
    assert answer["points_earned"] == 50 and answer["replayed"] is False
    assert at(answer["first_checked_in_at"]) == OPENS and answer["first_gate"] == "东门"
    assert count(answer) == (1, 3, 2, 6)
    assert at_door == {"event_id": event_id, "checked_in": 1, "expected": 3, "people_in": 2, "people_expected": 6, "conflicts": 0}
    row = await status_of(signup_id)
    assert row["status"] == "attended" and row["checked_in_at"] == OPENS and row["checked_in_gate"] == "东门"
    [entry] = await attendance_entries(signup_id)
    assert entry["member"] == first and entry["kind"] == "earn" and entry["available_delta"] == 50
    assert await LedgerEntry.count().where(LedgerEntry.member == first) == 1
    assert (await points.balance(first)).available == 50
    assert await LedgerEntry.count().where(LedgerEntry.member.is_in([second, third])) == 0


async def test_the_same_ticket_at_a_second_gate_is_already_checked_in_with_the_first_time_and_gate_and_no_more_points(
    database, settings, frozen, tmp_path, signer
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=50)
    signup_id = await sign_up(member, event_id, settings, party_size=2)
    ticket = signer.sign("ticket", signup_id)
    first_time = OPENS + timedelta(minutes=30)
    frozen.move_to(first_time)

    async with staff_client(database, settings) as http:
        first = await scan(http, event_id, ticket, gate="东门")
        frozen.move_to(first_time + timedelta(minutes=5))
        second = await scan(http, event_id, ticket, gate="西门")
        by_card = await scan(http, event_id, await cards.static_code(member, signer), gate="南门")

    assert first["result"] == "checked_in" and first["points_earned"] == 50
    for again in (second, by_card):
        assert again["result"] == "already_checked_in", again
        assert again["result_label_en"] == "Already checked in"
        assert again["signup_id"] == signup_id and again["member_name"] == "业主0" and again["party_size"] == 2
        assert at(again["first_checked_in_at"]) == first_time and again["first_gate"] == "东门"
        assert again["points_earned"] == 0
        assert count(again) == (1, 1, 2, 2)
    row = await status_of(signup_id)
    assert row["checked_in_at"] == first_time and row["checked_in_gate"] == "东门"
    assert len(await attendance_entries(signup_id)) == 1
    assert await LedgerEntry.count().where(LedgerEntry.member == member) == 1
    assert (await points.balance(member)).available == 50
    # Every scan is logged with its answer and gate.
    scans = await Scan.select(Scan.gate, Scan.result, Scan.signup).order_by(Scan.id)
    assert [(s["gate"], s["result"], s["signup"]) for s in scans] == [
        ("东门", "checked_in", signup_id), ("西门", "already_checked_in", signup_id), ("南门", "already_checked_in", signup_id),
    ]


async def test_an_event_without_attendance_points_checks_in_without_touching_the_ledger(
    database, settings, frozen, tmp_path, signer
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=0)
    signup_id = await sign_up(member, event_id, settings)
    frozen.move_to(OPENS)

    async with staff_client(database, settings) as http:
        answer = await scan(http, event_id, signer.sign("ticket", signup_id))

    assert answer["result"] == "checked_in" and answer["points_earned"] == 0
    assert await LedgerEntry.count() == 0


# --- member cards ---------------------------------------------------------------------------


async def test_a_member_card_static_or_dynamic_checks_its_holder_in_like_the_ticket(
    database, settings, frozen, tmp_path, signer
):
    printed, phone_code, late = await owners(tmp_path, 3)
    event_id = await event(await staff("maker"), attendance_points=50)
    printed_signup = await sign_up(printed, event_id, settings, party_size=2)
    phone_signup = await sign_up(phone_code, event_id, settings, party_size=1)
    await sign_up(late, event_id, settings, party_size=1)
    frozen.move_to(OPENS + timedelta(minutes=10))
    static = await cards.static_code(printed, signer)
    dynamic = (await cards.dynamic_code(phone_code, signer, time.time())).code
    stale = (await cards.dynamic_code(late, signer, time.time() - 180)).code  # a screenshot from 3 minutes ago

    async with staff_client(database, settings) as http:
        by_static = await scan(http, event_id, static, gate="东门")
        by_dynamic = await scan(http, event_id, dynamic, gate="西门")
        ticket_after_card = await scan(http, event_id, signer.sign("ticket", printed_signup), gate="西门")
        dynamic_again = await scan(http, event_id, dynamic, gate="东门")
        expired = await http.post(CHECKINS, json={"event_id": event_id, "code": stale, "gate": "东门"})

    assert by_static["result"] == "checked_in" and by_static["signup_id"] == printed_signup
    assert by_static["member_name"] == "业主0" and by_static["party_size"] == 2 and by_static["points_earned"] == 50
    assert by_dynamic["result"] == "checked_in" and by_dynamic["signup_id"] == phone_signup
    assert by_dynamic["member_name"] == "业主1" and by_dynamic["points_earned"] == 50
    assert count(by_static) == (1, 3, 2, 4) and count(by_dynamic) == (2, 3, 3, 4)
    assert ticket_after_card["result"] == "already_checked_in" and ticket_after_card["first_gate"] == "东门"
    assert dynamic_again["result"] == "already_checked_in" and dynamic_again["first_gate"] == "西门"
    assert expired.status_code == 422 and expired.json()["type"] == "/problems/code-expired", expired.text
    assert (await status_of(printed_signup))["status"] == "attended" and (await status_of(phone_signup))["status"] == "attended"
    assert (await points.balance(printed)).available == 50 and (await points.balance(phone_code)).available == 50
    assert await LedgerEntry.count() == 2


# --- the refusals ---------------------------------------------------------------------------


async def test_not_signed_up_for_an_owner_without_a_signup_or_with_only_a_waitlist_place(
    database, settings, frozen, tmp_path, signer
):
    seated, waiting, stranger = await owners(tmp_path, 3)
    event_id = await event(await staff("maker"), capacity=1)
    await sign_up(seated, event_id, settings)
    waitlisted = await sign_up(waiting, event_id, settings, join_waitlist=True)
    assert (await status_of(waitlisted))["status"] == "waitlisted"
    frozen.move_to(OPENS)

    async with staff_client(database, settings) as http:
        no_signup = await scan(http, event_id, await cards.static_code(stranger, signer))
        on_waitlist_card = await scan(http, event_id, await cards.static_code(waiting, signer))
        on_waitlist_ticket = await scan(http, event_id, signer.sign("ticket", waitlisted))

    assert no_signup["result"] == "not_signed_up" and no_signup["result_label_en"] == "Not signed up"
    assert no_signup["signup_id"] is None and no_signup["points_earned"] == 0
    for answer in (on_waitlist_card, on_waitlist_ticket):
        assert answer["result"] == "not_signed_up", answer
        assert answer["signup_id"] == waitlisted and answer["member_name"] == "业主1"
        assert answer["detail"] == "该报名状态为「候补中」，尚未确认名额" and answer["points_earned"] == 0
        assert count(answer) == (0, 1, 0, 1)
    assert (await status_of(waitlisted))["status"] == "waitlisted"
    assert await LedgerEntry.count() == 0


async def test_a_ticket_for_another_event_is_the_wrong_event_even_for_an_owner_signed_up_for_both(
    database, settings, frozen, tmp_path, signer
):
    both, only_a = await owners(tmp_path, 2)
    maker = await staff("maker")
    event_a = await event(maker, title_zh="中秋游园会")
    event_b = await event(maker, title_zh="业主见面会")
    ticket_a = signer.sign("ticket", await sign_up(both, event_a, settings))
    signup_b = await sign_up(both, event_b, settings)
    only_a_ticket = signer.sign("ticket", await sign_up(only_a, event_a, settings))
    frozen.move_to(OPENS)

    async with staff_client(database, settings) as http:
        wrong = await scan(http, event_b, ticket_a)
        wrong_too = await scan(http, event_b, only_a_ticket)
        right = await scan(http, event_a, ticket_a)
        b_door = (await http.get(door(event_b))).json()

    for answer in (wrong, wrong_too):
        assert answer["result"] == "wrong_event", answer
        assert answer["result_label_en"] == "Ticket for another event"
        assert answer["event_id"] == event_b and answer["signup_id"] is None and answer["points_earned"] == 0
        assert count(answer) == (0, 1, 0, 1)
    assert right["result"] == "checked_in" and count(right) == (1, 2, 1, 2)
    # The owner's seat at B is untouched by A's ticket.
    assert (await status_of(signup_b))["status"] == "confirmed"
    assert b_door["checked_in"] == 0 and b_door["expected"] == 1
    assert (await points.balance(both)).available == 50


async def test_the_ticket_or_card_of_a_cancelled_signup_is_cancelled(database, settings, frozen, tmp_path, signer):
    leaver, stayer = await owners(tmp_path, 2)
    event_id = await event(await staff("maker"))
    cancelled = await sign_up(leaver, event_id, settings, party_size=2)
    await sign_up(stayer, event_id, settings)
    ticket = signer.sign("ticket", cancelled)  # issued while it was confirmed
    await signups.cancel(leaver, cancelled, settings=settings)
    frozen.move_to(OPENS)

    async with staff_client(database, settings) as http:
        by_ticket = await scan(http, event_id, ticket)
        by_card = await scan(http, event_id, await cards.static_code(leaver, signer))

    for answer in (by_ticket, by_card):
        assert answer["result"] == "cancelled", answer
        assert answer["result_label_en"] == "Signup cancelled"
        assert answer["signup_id"] == cancelled and answer["points_earned"] == 0
        assert count(answer) == (0, 1, 0, 1)  # the cancelled party is not expected
    assert (await status_of(cancelled))["status"] == "cancelled"
    assert await LedgerEntry.count() == 0


async def test_not_open_yet_until_the_opening_minute_then_the_same_ticket_works(
    database, settings, frozen, tmp_path, signer
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    signup_id = await sign_up(member, event_id, settings, party_size=3)
    ticket = signer.sign("ticket", signup_id)

    answers = []
    async with staff_client(database, settings) as http:
        for moment in (NOW, OPENS - timedelta(minutes=1), OPENS - timedelta(seconds=1)):
            frozen.move_to(moment)
            answers.append(await scan(http, event_id, ticket))
        in_english = await http.post(
            CHECKINS, json={"event_id": event_id, "code": ticket, "gate": "东门"}, headers={"Accept-Language": "en"}
        )
        frozen.move_to(OPENS)
        opened = await scan(http, event_id, ticket)

    # The door's words, Beijing time: the time of day on the day itself, the date too before it.
    assert answers[0]["detail"] == f"{format.date(OPENS, 'zh-CN')} 10:00 开始签到"
    assert answers[1]["detail"] == answers[2]["detail"] == "10:00 开始签到"
    assert in_english.json()["detail"] == "Check-in opens at 10:00"
    for answer in answers:
        assert answer["result"] == "not_open_yet", answer
        assert answer["result_label_en"] == "Check-in not open yet"
        assert answer["signup_id"] == signup_id and answer["points_earned"] == 0
        assert answer["first_checked_in_at"] is None and answer["first_gate"] == ""
        assert count(answer) == (0, 1, 0, 3)
    assert opened["result"] == "checked_in" and opened["points_earned"] == 50
    assert at(opened["first_checked_in_at"]) == OPENS and count(opened) == (1, 1, 3, 3)
    assert len(await attendance_entries(signup_id)) == 1


async def test_the_opening_follows_the_setting(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    ticket = signer.sign("ticket", await sign_up(member, event_id, settings))
    later = settings.with_overrides(checkin_opens_minutes=30)

    async with staff_client(database, later) as http:
        frozen.move_to(OPENS)  # open by the default, not by this setting
        early = await scan(http, event_id, ticket)
        frozen.move_to(STARTS - timedelta(minutes=30))
        opened = await scan(http, event_id, ticket)

    assert early["result"] == "not_open_yet" and opened["result"] == "checked_in"


# --- the live count -------------------------------------------------------------------------


async def test_the_live_count_moves_with_each_check_in_and_matches_the_door(database, settings, frozen, tmp_path, signer):
    a, b, c, quitter, waiting = await owners(tmp_path, 5)
    event_id = await event(await staff("maker"), capacity=7)
    tickets = [signer.sign("ticket", await sign_up(m, event_id, settings, party_size=n)) for m, n in ((a, 1), (b, 2), (c, 3))]
    gone = await sign_up(quitter, event_id, settings, party_size=1)
    await signups.cancel(quitter, gone, settings=settings)
    await sign_up(waiting, event_id, settings, party_size=2, join_waitlist=True)  # 6 of 7 seats taken: no room for 2
    frozen.move_to(OPENS)

    seen, doors = [], []
    async with staff_client(database, settings) as http:
        doors.append((await http.get(door(event_id))).json())
        for ticket in tickets:
            seen.append(count(await scan(http, event_id, ticket)))
            doors.append((await http.get(door(event_id))).json())
        seen.append(count(await scan(http, event_id, tickets[1])))  # a repeat moves nothing
        unknown = await http.get(door(987654))

    assert seen == [(1, 3, 1, 6), (2, 3, 3, 6), (3, 3, 6, 6), (3, 3, 6, 6)]
    assert [(d["checked_in"], d["expected"], d["people_in"], d["people_expected"]) for d in doors] == [
        (0, 3, 0, 6), (1, 3, 1, 6), (2, 3, 3, 6), (3, 3, 6, 6),
    ]
    assert all(d["event_id"] == event_id for d in doors)
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/not-found"


# --- the scanner's nonce ----------------------------------------------------------------------


async def test_a_retry_with_the_same_nonce_gets_the_same_answer_and_a_new_nonce_is_already_checked_in(
    database, settings, frozen, tmp_path, signer
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=50)
    signup_id = await sign_up(member, event_id, settings, party_size=2)
    ticket = signer.sign("ticket", signup_id)
    frozen.move_to(OPENS + timedelta(minutes=1))

    async with staff_client(database, settings) as http:
        first = await scan(http, event_id, ticket, gate="东门", nonce="scanner-1:0001")
        frozen.move_to(OPENS + timedelta(minutes=2))
        retry = await scan(http, event_id, ticket, gate="东门", nonce="scanner-1:0001")
        retry_again = await scan(http, event_id, ticket, gate="东门", nonce="scanner-1:0001")
        next_scan = await scan(http, event_id, ticket, gate="东门", nonce="scanner-1:0002")

    assert first["result"] == "checked_in" and first["replayed"] is False and first["points_earned"] == 50
    for again in (retry, retry_again):
        assert again["replayed"] is True
        assert {k: v for k, v in again.items() if k != "replayed"} == {k: v for k, v in first.items() if k != "replayed"}
    assert next_scan["result"] == "already_checked_in" and next_scan["replayed"] is False
    assert at(next_scan["first_checked_in_at"]) == OPENS + timedelta(minutes=1) and next_scan["first_gate"] == "东门"
    assert next_scan["points_earned"] == 0
    # One scan row per nonce, one attendance entry.
    assert await Scan.count() == 2
    assert len(await attendance_entries(signup_id)) == 1 and (await points.balance(member)).available == 50


async def test_a_retried_refusal_is_replayed_too(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    await sign_up(member, event_id, settings)
    frozen.move_to(OPENS)
    stranger_card = await cards.static_code((await owners(tmp_path, 1, start=1))[0], signer)

    async with staff_client(database, settings) as http:
        first = await scan(http, event_id, stranger_card, nonce="n-1")
        retry = await scan(http, event_id, stranger_card, nonce="n-1")

    assert first["result"] == "not_signed_up" and first["replayed"] is False
    assert retry["result"] == "not_signed_up" and retry["replayed"] is True and retry["signup_id"] is None
    assert await Scan.count() == 1


# --- bad input ----------------------------------------------------------------------------------


async def test_bad_input_is_a_problem_naming_the_field_and_leaves_no_trace(database, settings, frozen, tmp_path, signer):
    [member] = await owners(tmp_path, 1)
    maker = await staff("maker")
    event_id = await event(maker)
    draft_id = await event(maker, status="draft")
    ticket = signer.sign("ticket", await sign_up(member, event_id, settings))
    frozen.move_to(OPENS)

    def fields(response: httpx.Response) -> list[str]:
        return [e["field"] for e in response.json().get("errors", [])]

    async with staff_client(database, settings) as http:
        async def post(**body: Any) -> httpx.Response:
            return await http.post(CHECKINS, json=body)

        malformed = await post(event_id=event_id, code="not-a-code", gate="东门")
        malformed_en = await http.post(
            CHECKINS, json={"event_id": event_id, "code": "not-a-code", "gate": "东门"}, headers={"Accept-Language": "en"}
        )
        tampered = await post(event_id=event_id, code=ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB"), gate="东门")
        no_gate = await post(event_id=event_id, code=ticket)
        empty_gate = await post(event_id=event_id, code=ticket, gate="")
        blank_gate = await post(event_id=event_id, code=ticket, gate="   ")
        long_gate = await post(event_id=event_id, code=ticket, gate="门" * 51)
        long_nonce = await post(event_id=event_id, code=ticket, gate="东门", nonce="n" * 65)
        no_code = await post(event_id=event_id, gate="东门")
        unknown_event = await post(event_id=987654, code=ticket, gate="东门")
        draft_event = await post(event_id=draft_id, code=ticket, gate="东门")

    assert malformed.status_code == 422 and malformed.json()["type"] == "/problems/code-malformed", malformed.text
    assert fields(malformed) == ["code"]
    assert malformed.json()["detail"] == "这不是业主俱乐部的门票或会员卡，请扫描业主门票或会员卡上的二维码"
    assert malformed_en.json()["detail"] == (
        "This is not an Owner Club ticket or member card: scan the QR code of the owner's ticket or card"
    )
    assert tampered.status_code == 422 and tampered.json()["type"] in ("/problems/code-bad-signature", "/problems/code-malformed")
    for response in (no_gate, empty_gate, long_gate):
        assert response.status_code == 400 and response.json()["type"] == "/problems/validation-error", response.text
        assert fields(response) == ["gate"], response.text
    assert blank_gate.status_code == 422 and blank_gate.json()["type"] == "/problems/invalid-field"
    assert fields(blank_gate) == ["gate"]
    assert long_nonce.status_code == 400 and fields(long_nonce) == ["nonce"]
    assert no_code.status_code == 400 and fields(no_code) == ["code"]
    assert unknown_event.status_code == 404 and unknown_event.json()["type"] == "/problems/not-found"
    assert draft_event.status_code == 404
    assert await Scan.count() == 0 and await LedgerEntry.count() == 0
    assert await Signup.count().where(Signup.status == "attended") == 0


# --- after the event ----------------------------------------------------------------------------


async def test_after_the_event_the_job_marks_everyone_not_checked_in_as_a_no_show(
    database, settings, frozen, tmp_path, signer
):
    came, missed, also_missed, waiting = await owners(tmp_path, 4)
    event_id = await event(await staff("maker"), capacity=5)
    came_signup = await sign_up(came, event_id, settings, party_size=2)
    missed_signups = [await sign_up(m, event_id, settings, party_size=n) for m, n in ((missed, 1), (also_missed, 2))]
    waitlisted = await sign_up(waiting, event_id, settings, party_size=1, join_waitlist=True)
    frozen.move_to(OPENS)
    async with staff_client(database, settings) as http:
        await scan(http, event_id, signer.sign("ticket", came_signup))

    during = await signups.mark_no_shows(ENDS - timedelta(seconds=1))
    frozen.move_to(ENDS)
    marked = await signups.mark_no_shows()
    again = await signups.mark_no_shows()
    final = await checkin.door_count(event_id)

    assert during == 0
    assert marked == 2 and again == 0
    assert (await status_of(came_signup))["status"] == "attended"
    assert [(await status_of(s))["status"] for s in missed_signups] == ["no_show", "no_show"]
    assert (await status_of(waitlisted))["status"] == "waitlisted"
    assert (final.checked_in, final.expected, final.people_in, final.people_expected) == (1, 3, 2, 5)
    assert len(await attendance_entries(came_signup)) == 1
    for missed_signup in missed_signups:
        assert await attendance_entries(missed_signup) == []


async def test_a_late_arrival_after_the_no_show_job_is_checked_in_and_holds_a_seat_again(
    database, settings, frozen, tmp_path, signer
):
    (late,) = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), capacity=5)
    signup_id = await sign_up(late, event_id, settings, party_size=2)
    frozen.move_to(ENDS)
    await signups.mark_no_shows()
    freed = await seats(event_id)
    async with staff_client(database, settings) as http:
        answer = await scan(http, event_id, signer.sign("ticket", signup_id))

    assert freed == (0, 0)
    assert answer["result"] == "checked_in"
    assert (await status_of(signup_id))["status"] == "attended"
    assert await seats(event_id) == (2, 2)
    assert len(await attendance_entries(signup_id)) == 1


# --- scanners racing (PostgreSQL: row locks) --------------------------------------------------------


@pytest.mark.postgres_only
async def test_two_scanners_scanning_the_same_ticket_at_once_check_it_in_once(
    database, settings, frozen, tmp_path, signer, monkeypatch
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"), attendance_points=50)
    signup_id = await sign_up(member, event_id, settings, party_size=2)
    ticket = signer.sign("ticket", signup_id)
    frozen.move_to(OPENS)

    # Both scans have judged the ticket `confirmed` and opened their transaction before either
    # writes: only the door's one conditional write can tell them apart.
    both_inside = asyncio.Barrier(2)
    enter = checkin._enter

    async def racing_enter(*args: Any, **kwargs: Any) -> checkin.ScanAnswer:
        await asyncio.wait_for(both_inside.wait(), timeout=10)
        return await enter(*args, **kwargs)

    monkeypatch.setattr(checkin, "_enter", racing_enter)
    async with staff_client(database, settings, "door1") as east, staff_client(database, settings, "door2") as west:
        answers = await asyncio.gather(scan(east, event_id, ticket, gate="东门"), scan(west, event_id, ticket, gate="西门"))

    results = sorted(a["result"] for a in answers)
    assert results == ["already_checked_in", "checked_in"], answers
    winner = next(a for a in answers if a["result"] == "checked_in")
    loser = next(a for a in answers if a["result"] == "already_checked_in")
    assert winner["points_earned"] == 50 and loser["points_earned"] == 0
    assert loser["first_gate"] == winner["first_gate"] == (await status_of(signup_id))["checked_in_gate"]
    assert count(winner) == count(loser) == (1, 1, 2, 2)
    assert len(await attendance_entries(signup_id)) == 1 and (await points.balance(member)).available == 50


@pytest.mark.postgres_only
async def test_the_same_nonce_sent_twice_at_once_is_one_scan_with_one_answer(
    database, settings, frozen, tmp_path, signer, monkeypatch
):
    [member] = await owners(tmp_path, 1)
    event_id = await event(await staff("maker"))
    signup_id = await sign_up(member, event_id, settings)
    frozen.move_to(OPENS)
    both_inside = asyncio.Barrier(2)
    enter = checkin._enter

    async def racing_enter(*args: Any, **kwargs: Any) -> checkin.ScanAnswer:
        await asyncio.wait_for(both_inside.wait(), timeout=10)
        return await enter(*args, **kwargs)

    monkeypatch.setattr(checkin, "_enter", racing_enter)
    answers = await asyncio.gather(*(
        checkin.check_in(event_id, signer.sign("ticket", signup_id), gate="东门", signer=signer, nonce="retry-me")
        for _ in range(2)
    ))

    assert [a.result for a in answers] == ["checked_in", "checked_in"]
    assert sorted(a.replayed for a in answers) == [False, True]
    assert await Scan.count() == 1 and len(await attendance_entries(signup_id)) == 1


@pytest.mark.postgres_only
async def test_twenty_concurrent_scans_of_ten_tickets_check_each_in_exactly_once(database, settings, frozen, tmp_path, signer):
    members = await owners(tmp_path, 10)
    event_id = await event(await staff("maker"), attendance_points=50)
    signup_ids = [await sign_up(m, event_id, settings) for m in members]
    frozen.move_to(OPENS)

    async def scanned(signup_id: int, gate: str) -> checkin.ScanAnswer:
        return await checkin.check_in(event_id, signer.sign("ticket", signup_id), gate=gate, signer=signer)

    answers = await asyncio.gather(*(scanned(s, gate) for s in signup_ids for gate in ("东门", "西门")))

    by_signup: dict[int, list[str]] = {}
    for answer in answers:
        by_signup.setdefault(answer.signup_id, []).append(answer.result)
    assert sorted(a.result for a in answers) == ["already_checked_in"] * 10 + ["checked_in"] * 10
    assert all(sorted(results) == ["already_checked_in", "checked_in"] for results in by_signup.values()), by_signup
    assert sum(a.points_earned for a in answers) == 500
    assert await Signup.count().where(Signup.status == "attended") == 10
    assert await LedgerEntry.count() == 10
    for member in members:
        assert (await points.balance(member)).available == 50
    final = await checkin.door_count(event_id)
    assert (final.checked_in, final.expected) == (10, 10)
