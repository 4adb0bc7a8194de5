"""Seats and the waitlist of free events: a full event offers the waitlist, waitlisted members
are promoted in signup order when seats free (a party too large for them is passed over, not
blocking those behind it) and hear about it through the care outbox; the cancellation
deadline; `Event.seats_taken` always equals the party sizes of the signups holding seats;
programs (all sessions or chosen ones, one refusal refuses all); and the no-show job.

Setup goes through the services; what members and staff do goes through HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

from loyalty.care.tables import OutboxMessage
from loyalty.events import catalog, checkin, signups
from loyalty.events.tables import Signup
from tests.events.builders import NOW, event, member_client, owners, phone, problem, seats, speaks, staff, statuses


async def join(settings, member: int, event_id: int, party: int = 1, waitlist: bool = False) -> int:
    [signup_id] = await signups.sign_up(member, event_id, settings=settings, party_size=party, join_waitlist=waitlist)
    return signup_id


async def status_of(signup_id: int) -> str:
    row = await Signup.select(Signup.status).where(Signup.id == signup_id).first()
    assert row is not None
    return row["status"]


async def promotions() -> list[dict]:
    rows = await OutboxMessage.select().where(OutboxMessage.template == "event_promoted").order_by(OutboxMessage.id)
    return [{**row, "payload": json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]} for row in rows]


# --- a full event and its waitlist ------------------------------------------------------------


async def test_a_full_event_answers_409_offering_the_waitlist_and_the_list_says_so(database, settings, frozen, tmp_path):
    first, _ = await owners(tmp_path, 2)
    event_id = await event(capacity=3)
    await join(settings, first, event_id, party=2)

    async with member_client(database, settings, phone(1)) as me:
        too_big = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
        shown = [e for e in (await me.get("/api/v1/events", headers={"Accept-Language": "en"})).json() if e["id"] == event_id][0]
        fits = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 1})
        full = [e for e in (await me.get("/api/v1/events")).json() if e["id"] == event_id][0]

    assert too_big.status_code == 409 and problem(too_big) == "/problems/event-full", too_big.text
    assert too_big.json()["waitlist"] is True
    assert shown["seats_left"] == 1 and shown["can_sign_up"] is True
    assert fits.status_code == 201 and fits.json()[0]["status"] == "confirmed", fits.text
    assert full["seats_left"] == 0 and full["my_signup"]["status"] == "confirmed"
    assert await seats(event_id) == (3, 3)


async def test_a_full_event_shows_why_not_to_others_and_refuses_without_taking_a_seat(database, settings, frozen, tmp_path):
    first, _ = await owners(tmp_path, 2)
    event_id = await event(capacity=1)
    await join(settings, first, event_id)

    async with member_client(database, settings, phone(1)) as me:
        refused = await me.post(f"/api/v1/events/{event_id}/signups", json={})
        await speaks(me, "en")
        shown = [e for e in (await me.get("/api/v1/events")).json() if e["id"] == event_id][0]

    assert shown["can_sign_up"] is False and shown["seats_left"] == 0
    assert shown["why_not"]["type"] == "/problems/event-full"
    assert shown["why_not"]["message"] == "Full: you can join the waitlist"
    assert refused.status_code == 409 and problem(refused) == "/problems/event-full"
    assert refused.json()["detail"] == "名额已满（共 1 个），可加入候补"
    assert await Signup.count().where(Signup.event == event_id) == 1
    assert await seats(event_id) == (1, 1)


async def test_joining_the_waitlist_gives_positions_in_signup_order_that_move_up_when_one_leaves(database, settings, frozen, tmp_path):
    first, *_ = await owners(tmp_path, 4)
    event_id = await event(capacity=1)
    await join(settings, first, event_id)

    answers = []
    for n in (1, 2, 3):
        async with member_client(database, settings, phone(n)) as me:
            answers.append(await me.post(f"/api/v1/events/{event_id}/signups", json={"join_waitlist": True}))
    async with member_client(database, settings, phone(1)) as leaving:
        left = await leaving.post(f"/api/v1/me/signups/{answers[0].json()[0]['id']}/cancellation")
    async with member_client(database, settings, phone(3)) as last:
        now_second = (await last.get(f"/api/v1/me/signups/{answers[2].json()[0]['id']}")).json()

    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert [a.json()[0]["status"] for a in answers] == ["waitlisted"] * 3
    assert [a.json()[0]["waitlist_position"] for a in answers] == [1, 2, 3]
    assert all(a.json()[0]["ticket_code"] is None for a in answers)
    assert left.status_code == 200 and left.json()["status"] == "cancelled", left.text
    assert now_second["waitlist_position"] == 2
    assert await seats(event_id) == (1, 1)


# --- promotion --------------------------------------------------------------------------------


async def test_a_freed_seat_goes_to_the_first_waitlisted_member_with_a_notice(database, settings, frozen, tmp_path):
    a, b, c, d = await owners(tmp_path, 4)
    event_id = await event(capacity=2)
    a_signup = await join(settings, a, event_id)
    await join(settings, b, event_id)
    c_signup, d_signup = [await join(settings, m, event_id, waitlist=True) for m in (c, d)]

    async with member_client(database, settings, phone(0)) as first:
        cancelled = await first.post(f"/api/v1/me/signups/{a_signup}/cancellation")
    async with member_client(database, settings, phone(2)) as promoted:
        mine = (await promoted.get(f"/api/v1/me/signups/{c_signup}")).json()
    async with member_client(database, settings, phone(3)) as still_waiting:
        theirs = (await still_waiting.get(f"/api/v1/me/signups/{d_signup}")).json()

    assert cancelled.status_code == 200, cancelled.text
    assert mine["status"] == "confirmed" and mine["ticket_code"] and mine["waitlist_position"] is None
    assert theirs["status"] == "waitlisted" and theirs["waitlist_position"] == 1
    [notice] = await promotions()
    assert notice["recipient"] == f"+86{phone(2)}"
    assert notice["payload"]["signup_id"] == c_signup and notice["payload"]["event_id"] == event_id
    assert notice["payload"]["pay"] is False
    assert "亲子烘焙课" in notice["body"]
    assert await seats(event_id) == (2, 2)


async def test_a_waitlisted_party_too_large_for_the_freed_seats_is_passed_over_until_enough_free(database, settings, frozen, tmp_path):
    single, pair, big_party, late_single = await owners(tmp_path, 4)
    event_id = await event(capacity=3, party_size_limit=3)
    single_signup = await join(settings, single, event_id, party=1)
    pair_signup = await join(settings, pair, event_id, party=2)
    big_signup = await join(settings, big_party, event_id, party=2, waitlist=True)  # first in line
    late_signup = await join(settings, late_single, event_id, party=1, waitlist=True)

    async with member_client(database, settings, phone(0)) as one:
        await one.post(f"/api/v1/me/signups/{single_signup}/cancellation")  # frees 1 seat: too few for the pair
    after_one = (await status_of(big_signup), await status_of(late_signup), await seats(event_id))
    async with member_client(database, settings, phone(1)) as two:
        await two.post(f"/api/v1/me/signups/{pair_signup}/cancellation")  # frees 2: now the pair fits
    after_two = (await status_of(big_signup), await status_of(late_signup), await seats(event_id))

    assert after_one == ("waitlisted", "confirmed", (3, 3))
    assert after_two == ("confirmed", "confirmed", (3, 3))
    assert [n["payload"]["signup_id"] for n in await promotions()] == [late_signup, big_signup]


async def test_nobody_is_promoted_while_the_freed_seats_fit_no_waiting_party(database, settings, frozen, tmp_path):
    single, other, big_party = await owners(tmp_path, 3)
    event_id = await event(capacity=2, party_size_limit=2)
    single_signup = await join(settings, single, event_id)
    await join(settings, other, event_id)
    big_signup = await join(settings, big_party, event_id, party=2, waitlist=True)

    async with member_client(database, settings, phone(0)) as me:
        await me.post(f"/api/v1/me/signups/{single_signup}/cancellation")

    assert await status_of(big_signup) == "waitlisted"
    assert await promotions() == []
    assert await seats(event_id) == (1, 1)


# --- the cancellation deadline ----------------------------------------------------------------


async def test_after_the_deadline_a_confirmed_signup_cannot_be_cancelled_but_a_waitlisted_one_can_leave(database, settings, frozen, tmp_path):
    early, confirmed, waiting = await owners(tmp_path, 3)
    deadline = NOW + timedelta(days=2)
    event_id = await event(capacity=2, cancel_deadline=deadline)
    early_signup = await join(settings, early, event_id)
    confirmed_signup = await join(settings, confirmed, event_id)
    waiting_signup = await join(settings, waiting, event_id, waitlist=True)

    frozen.move_to(deadline - timedelta(seconds=1))
    async with member_client(database, settings, phone(0)) as me:
        in_time = await me.post(f"/api/v1/me/signups/{early_signup}/cancellation")
    # the freed seat went to the waitlist; now a new waiter joins
    late_waiting_signup = await join(settings, early, event_id, waitlist=True)
    frozen.move_to(deadline + timedelta(seconds=1))
    async with member_client(database, settings, phone(1)) as me:
        too_late = await me.post(f"/api/v1/me/signups/{confirmed_signup}/cancellation")
    async with member_client(database, settings, phone(0)) as me:
        leaves = await me.post(f"/api/v1/me/signups/{late_waiting_signup}/cancellation")

    assert in_time.status_code == 200, in_time.text
    assert await status_of(waiting_signup) == "confirmed"
    assert too_late.status_code == 409 and problem(too_late) == "/problems/cancel-deadline-passed", too_late.text
    assert await status_of(confirmed_signup) == "confirmed"
    assert leaves.status_code == 200 and leaves.json()["status"] == "cancelled", leaves.text
    assert await seats(event_id) == (2, 2)


# --- seats_taken always equals the seats held -------------------------------------------------


async def test_seats_taken_equals_the_held_party_sizes_through_signups_cancellations_and_promotions(database, settings, frozen, tmp_path):
    a, b, c, d, e, f = await owners(tmp_path, 6)
    event_id = await event(capacity=6, party_size_limit=4)
    seen = []

    a_signup = await join(settings, a, event_id, party=3)
    b_signup = await join(settings, b, event_id, party=2)
    await join(settings, c, event_id, party=2, waitlist=True)  # 1 seat left: waits
    await join(settings, d, event_id, party=1)  # takes the last seat
    await join(settings, e, event_id, party=1, waitlist=True)
    seen.append(await seats(event_id))
    async with member_client(database, settings, phone(5)) as latecomer:
        refused = await latecomer.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 4})
    seen.append(await seats(event_id))
    async with member_client(database, settings, phone(0)) as first:
        await first.post(f"/api/v1/me/signups/{a_signup}/cancellation")  # 3 free: c (2) and e (1) move up
    seen.append(await seats(event_id))
    async with member_client(database, settings, phone(1)) as second:
        await second.post(f"/api/v1/me/signups/{b_signup}/cancellation")  # 2 free, nobody waiting
    seen.append(await seats(event_id))
    await join(settings, f, event_id, party=2)
    seen.append(await seats(event_id))

    assert problem(refused) == "/problems/event-full"
    assert seen == [(6, 6), (6, 6), (6, 6), (4, 4), (6, 6)]
    assert await statuses(event_id) == {a: "cancelled", b: "cancelled", c: "confirmed", d: "confirmed", e: "confirmed", f: "confirmed"}


# --- programs ---------------------------------------------------------------------------------


async def program_with_sessions(count: int = 3, overrides: dict[int, dict] | None = None) -> tuple[int, list[int]]:
    """A program of `count` weekly sessions; `overrides` changes session n's event fields."""
    maker = await staff("program-maker")
    program_id = await catalog.create_program("春季课程", maker, title_en="Spring program")
    sessions = [
        await event(
            maker, program_id=program_id, title_zh=f"春季课程第{n + 1}课", starts_at=NOW + timedelta(days=7 + 7 * n),
            ends_at=NOW + timedelta(days=7 + 7 * n, hours=2), **(overrides or {}).get(n, {}),
        )
        for n in range(count)
    ]
    return program_id, sessions


async def test_signing_up_for_a_whole_program_takes_a_seat_in_every_session(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    program_id, sessions = await program_with_sessions()

    async with member_client(database, settings, phone(0)) as me:
        programs = (await me.get("/api/v1/programs")).json()
        answer = await me.post(f"/api/v1/programs/{program_id}/signups", json={"party_size": 2})

    assert [p["event_ids"] for p in programs] == [sessions]
    assert answer.status_code == 201, answer.text
    assert [s["event_id"] for s in answer.json()] == sessions
    assert {s["status"] for s in answer.json()} == {"confirmed"}
    assert [await seats(s) for s in sessions] == [(2, 2)] * 3


async def test_signing_up_for_chosen_sessions_takes_seats_in_those_only(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    program_id, sessions = await program_with_sessions()

    async with member_client(database, settings, phone(0)) as me:
        answer = await me.post(f"/api/v1/programs/{program_id}/signups", json={"event_ids": [sessions[0], sessions[2]]})

    assert answer.status_code == 201, answer.text
    assert sorted(s["event_id"] for s in answer.json()) == [sessions[0], sessions[2]]
    assert [await seats(s) for s in sessions] == [(1, 1), (0, 0), (1, 1)]


async def test_one_session_the_member_may_not_join_refuses_the_whole_program_signup(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)  # blue
    program_id, sessions = await program_with_sessions(overrides={1: {"eligible_tiers": ["gold"]}})

    async with member_client(database, settings, phone(0)) as me:
        whole = await me.post(f"/api/v1/programs/{program_id}/signups", json={})
        chosen = await me.post(f"/api/v1/programs/{program_id}/signups", json={"event_ids": sessions[:2]})
        others = await me.post(f"/api/v1/programs/{program_id}/signups", json={"event_ids": [sessions[0], sessions[2]]})

    for refused in (whole, chosen):
        assert refused.status_code == 422 and problem(refused) == "/problems/event-not-eligible", refused.text
        assert refused.json()["rule"] == "tier"
    assert others.status_code == 201, others.text
    assert [await seats(s) for s in sessions] == [(1, 1), (0, 0), (1, 1)]
    assert await Signup.count() == 2


async def test_a_full_session_refuses_the_program_signup_and_leaves_no_seat_taken_elsewhere(database, settings, frozen, tmp_path):
    other, me_id = await owners(tmp_path, 2)
    program_id, sessions = await program_with_sessions(overrides={2: {"capacity": 1}})
    await join(settings, other, sessions[2])

    async with member_client(database, settings, phone(1)) as me:
        refused = await me.post(f"/api/v1/programs/{program_id}/signups", json={})
        between = [await seats(s) for s in sessions]
        waiting = await me.post(f"/api/v1/programs/{program_id}/signups", json={"join_waitlist": True})

    assert refused.status_code == 409 and problem(refused) == "/problems/event-full", refused.text
    assert between == [(0, 0), (0, 0), (1, 1)]
    assert waiting.status_code == 201, waiting.text
    assert [s["status"] for s in waiting.json()] == ["confirmed", "confirmed", "waitlisted"]
    assert [await seats(s) for s in sessions] == [(1, 1), (1, 1), (1, 1)]


async def test_a_session_not_in_the_program_is_a_422_naming_event_ids(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    program_id, sessions = await program_with_sessions(count=2)
    stray = await event(await staff("stray-maker"))

    async with member_client(database, settings, phone(0)) as me:
        answer = await me.post(f"/api/v1/programs/{program_id}/signups", json={"event_ids": [sessions[0], stray]})

    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["event_ids"]
    assert await Signup.count() == 0


# --- no-shows ----------------------------------------------------------------------------------


async def test_mark_no_shows_after_the_end_turns_confirmed_into_no_show_and_leaves_attended_alone(database, settings, frozen, tmp_path, signer):
    came, stayed_home, waited, later = await owners(tmp_path, 4)
    maker = await staff("maker")
    event_id = await event(maker, capacity=2)
    later_event = await event(maker, starts_at=NOW + timedelta(days=14), ends_at=NOW + timedelta(days=14, hours=3))
    came_signup = await join(settings, came, event_id, party=1)
    home_signup = await join(settings, stayed_home, event_id)
    waited_signup = await join(settings, waited, event_id, waitlist=True)
    later_signup = await join(settings, later, later_event)
    starts_at = NOW + timedelta(days=7)
    ends_at = NOW + timedelta(days=7, hours=3)

    frozen.move_to(starts_at)
    scan = await checkin.check_in(event_id, signer.sign("ticket", came_signup), gate="东门", signer=signer)
    frozen.move_to(ends_at - timedelta(seconds=1))
    before_the_end = await signups.mark_no_shows()
    frozen.move_to(ends_at)
    at_the_end = await signups.mark_no_shows()
    again = await signups.mark_no_shows()

    assert scan.result == "checked_in"
    assert (before_the_end, at_the_end, again) == (0, 1, 0)
    assert [await status_of(s) for s in (came_signup, home_signup, waited_signup, later_signup)] == [
        "attended", "no_show", "waitlisted", "confirmed",
    ]
    taken, held = await seats(event_id)
    assert taken == held == 1  # a no-show holds no seat: only the one who came
