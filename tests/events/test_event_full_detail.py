"""The "event full" refusal states the seats as they were when they were refused, in the member's
language: a review saw "20 seat(s) left for a party of 1" on a refusal, because the detail
came from the event row as read before the signup's transaction, and others had taken the 20
seats in between."""

from __future__ import annotations

import asyncio
import json

import pytest

from loyalty.events import signups
from loyalty.events.tables import Signup
from tests.events.builders import event, member_client, owners, phone, problem, seats, speaks


def stale_event_reads(monkeypatch: pytest.MonkeyPatch, snapshot: dict) -> None:
    """Every signup reads the event as it was in `snapshot`: what a request sees when others
    sign up between its read of the event and its own transaction."""

    async def as_it_was(event_id: int) -> dict:
        assert event_id == snapshot["id"]
        return dict(snapshot)

    monkeypatch.setattr(signups, "visible_event", as_it_was)


async def test_a_refusal_after_others_took_the_seats_says_none_are_left_not_what_was_read_before(
    database, settings, frozen, tmp_path, monkeypatch
):
    first, second, latecomer = await owners(tmp_path, 3)
    event_id = await event(capacity=2)
    stale_event_reads(monkeypatch, await signups.visible_event(event_id))  # read while 2 seats were free
    for member in (first, second):
        await signups.sign_up(member, event_id, settings=settings)

    async with member_client(database, settings, phone(2)) as me:
        in_chinese = await me.post(f"/api/v1/events/{event_id}/signups", json={})
        await speaks(me, "en")
        in_english = await me.post(f"/api/v1/events/{event_id}/signups", json={})

    for refused in (in_english, in_chinese):
        assert (refused.status_code, problem(refused)) == (409, "/problems/event-full"), refused.text
        assert (refused.json()["seats_left"], refused.json()["party_size"], refused.json()["waitlist"]) == (0, 1, True)
    assert in_english.json()["detail"] == "No seats left (of 2): you can join the waitlist"
    assert in_english.json()["title"] == "Not enough seats left: you can join the waitlist"
    assert in_chinese.json()["detail"] == "名额已满（共 2 个），可加入候补"
    assert in_chinese.json()["title"] == "剩余名额不足，可加入候补"
    assert await seats(event_id) == (2, 2)
    assert await Signup.count().where(Signup.member == latecomer) == 0


async def test_a_party_too_large_for_the_seats_left_is_told_how_many_are_left(database, settings, frozen, tmp_path):
    first, _ = await owners(tmp_path, 2)
    event_id = await event(capacity=5, party_size_limit=4)
    await signups.sign_up(first, event_id, settings=settings, party_size=3)

    async with member_client(database, settings, phone(1)) as me:
        in_chinese = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 4})
        await speaks(me, "en")
        in_english = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 4})

    assert in_english.status_code == 409 and in_english.json()["seats_left"] == 2
    assert in_english.json()["detail"] == "Only 2 seats left, not enough for a party of 4: you can join the waitlist"
    assert in_chinese.json()["detail"] == "仅剩 2 个名额，不够 4 人报名，可加入候补"


async def test_of_a_rush_of_signups_every_refusal_states_the_seats_it_was_refused_on(database, settings, frozen, tmp_path):
    await owners(tmp_path, 6)
    event_id = await event(capacity=3)
    clients = [member_client(database, settings, phone(n)) for n in range(6)]
    members = [await c.__aenter__() for c in clients]
    try:
        answers = await asyncio.gather(
            *(me.post(f"/api/v1/events/{event_id}/signups", json={}) for me in members)
        )
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)

    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 3, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["seats_left"] == 0, json.dumps(refused.json(), ensure_ascii=False)
        assert refused.json()["detail"] == "名额已满（共 3 个），可加入候补"
    assert await seats(event_id) == (3, 3)
