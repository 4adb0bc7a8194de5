"""Capacity under real concurrency on PostgreSQL: many signups at once over the pool's
connections never give out more seats than the event has, cancellations racing signups keep
`seats_taken` equal to the seats held (and hand freed seats to those waiting), and one member
signing up twice at once gets one signup.

The service calls share the test's event loop and Piccolo's PostgreSQL pool (opened by the
`database` fixture), so `asyncio.gather` puts them in flight on separate connections at once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loyalty import jobs
from loyalty.events import capacity, signups
from loyalty.events.tables import Signup
from tests.events.builders import event, owners, seats, staff

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def jobs_configured(settings):
    """Jobs (a promotion's notice) run inline with the test's settings, as the app sets them."""
    jobs.configure(settings)


async def test_100_concurrent_signups_for_10_seats_confirm_exactly_10_and_waitlist_90(database, settings, frozen, tmp_path):
    members = await owners(tmp_path, 100)
    event_id = await event(capacity=10)

    results = await asyncio.gather(
        *(signups.sign_up(m, event_id, settings=settings, join_waitlist=True) for m in members), return_exceptions=True
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    rows = await Signup.select(Signup.member, Signup.status).where(Signup.event == event_id)
    assert Counter(r["status"] for r in rows) == {"confirmed": 10, "waitlisted": 90}
    assert sorted(r["member"] for r in rows) == sorted(members)  # one signup each
    assert await seats(event_id) == (10, 10)


async def test_100_concurrent_signups_of_mixed_party_sizes_never_exceed_capacity(database, settings, frozen, tmp_path):
    members = await owners(tmp_path, 100)
    event_id = await event(capacity=25, party_size_limit=3)

    await asyncio.gather(
        *(signups.sign_up(m, event_id, settings=settings, party_size=1 + n % 3, join_waitlist=True) for n, m in enumerate(members))
    )

    taken, held = await seats(event_id)
    assert taken == held <= 25
    assert taken >= 23  # a party of up to 3 is refused only when fewer than 3 seats are left
    waiting = await Signup.select(Signup.party_size).where((Signup.event == event_id) & (Signup.status == "waitlisted"))
    assert waiting and all(taken + w["party_size"] > 25 for w in waiting)


@pytest.mark.parametrize("round_", range(3))
async def test_concurrent_cancellations_and_signups_keep_seats_within_capacity_and_fill_freed_ones(
    database, settings, frozen, tmp_path, round_
):
    members = await owners(tmp_path, 40)
    event_id = await event(await staff("maker"), capacity=10)
    held = {m: (await signups.sign_up(m, event_id, settings=settings))[0] for m in members[:10]}
    for m in members[10:15]:
        await signups.sign_up(m, event_id, settings=settings, join_waitlist=True)

    cancels = [signups.cancel(m, held[m], settings=settings) for m in members[:5]]
    joins = [signups.sign_up(m, event_id, settings=settings, join_waitlist=True) for m in members[15:]]
    calls = [c for pair in zip(joins, cancels + [None] * len(joins)) for c in pair if c is not None]
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    rows = await Signup.select(Signup.member, Signup.status).where(Signup.event == event_id)
    counts = Counter(r["status"] for r in rows)
    # 5 cancelled; of the 35 live signups exactly 10 hold the 10 seats, the other 25 wait
    assert counts == {"cancelled": 5, "confirmed": 10, "waitlisted": 25}, counts
    assert await seats(event_id) == (10, 10)


async def test_one_member_signing_up_twice_at_once_gets_one_signup(database, settings, frozen, tmp_path):
    [member] = await owners(tmp_path, 1)
    event_id = await event(capacity=10)

    results = await asyncio.gather(
        *(signups.sign_up(member, event_id, settings=settings, party_size=2) for _ in range(2)), return_exceptions=True
    )

    created = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(created) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], signups.AlreadySignedUp), repr(refused[0])
    assert await Signup.count().where(Signup.event == event_id) == 1
    assert await seats(event_id) == (2, 2)


async def test_one_member_signing_up_ten_times_at_once_gets_one_signup_and_one_seat(database, settings, frozen, tmp_path):
    [member] = await owners(tmp_path, 1)
    event_id = await event(capacity=10)

    results = await asyncio.gather(
        *(signups.sign_up(member, event_id, settings=settings, join_waitlist=True) for _ in range(10)), return_exceptions=True
    )

    assert sum(isinstance(r, list) for r in results) == 1
    assert all(isinstance(r, signups.AlreadySignedUp) for r in results if not isinstance(r, list)), results
    assert await Signup.count().where(Signup.event == event_id) == 1
    assert await seats(event_id) == (1, 1)


@pytest.mark.parametrize("round_", range(3))
async def test_seats_freed_while_others_join_the_waitlist_never_stay_empty(database, settings, frozen, tmp_path, round_):
    members = await owners(tmp_path, 40)
    event_id = await event(await staff("maker"), capacity=20)
    held = {m: (await signups.sign_up(m, event_id, settings=settings))[0] for m in members[:20]}

    cancels = [signups.cancel(m, held[m], settings=settings) for m in members[:20]]
    joins = [signups.sign_up(m, event_id, settings=settings, join_waitlist=True) for m in members[20:]]
    results = await asyncio.gather(*[c for pair in zip(joins, cancels) for c in pair], return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    counts = Counter(r["status"] for r in await Signup.select(Signup.status).where(Signup.event == event_id))
    # every newcomer ends with a seat: each either took a free one or was waiting when one freed
    assert counts == {"cancelled": 20, "confirmed": 20}, counts
    assert await seats(event_id) == (20, 20)


async def test_a_seat_freed_between_a_refused_seat_and_the_waitlist_place_goes_to_that_member(
    database, settings, frozen, tmp_path, monkeypatch
):
    """The narrow race the test above samples, forced: a newcomer's seat UPDATE is refused
    (full), then — before its waitlist place commits — the holder cancels. The freed seat must
    not stay empty while the newcomer waits."""
    holder, newcomer = await owners(tmp_path, 2)
    event_id = await event(capacity=1)
    [held] = await signups.sign_up(holder, event_id, settings=settings)
    refused, cancelled = asyncio.Event(), asyncio.Event()
    take_seats = capacity.take_seats

    async def take_then_wait_for_the_cancellation(event_id: int, seats: int) -> bool:
        taken = await take_seats(event_id, seats)
        if not taken and not refused.is_set():
            refused.set()
            await cancelled.wait()
        return taken

    async def cancel_once_refused() -> None:
        await refused.wait()
        try:
            await signups.cancel(holder, held, settings=settings)
        finally:
            cancelled.set()

    monkeypatch.setattr(capacity, "take_seats", take_then_wait_for_the_cancellation)
    [joined], _ = await asyncio.gather(
        signups.sign_up(newcomer, event_id, settings=settings, join_waitlist=True), cancel_once_refused()
    )

    assert (await Signup.select(Signup.status).where(Signup.id == joined).first())["status"] == "confirmed"
    assert await seats(event_id) == (1, 1)


async def test_a_waitlisted_member_leaving_while_being_promoted_stays_gone_and_frees_the_seat(
    database, settings, frozen, tmp_path, monkeypatch
):
    """Forced race: a cancellation promotes the first waitlisted member; that member leaves the
    waitlist after the promotion read the queue but before it wrote. Leaving must win, and the
    seat must not be held for nobody."""
    holder, waiting, behind = await owners(tmp_path, 3)
    event_id = await event(capacity=1)
    [held] = await signups.sign_up(holder, event_id, settings=settings)
    [queued] = await signups.sign_up(waiting, event_id, settings=settings, join_waitlist=True)
    promoting, left = asyncio.Event(), asyncio.Event()
    take_seats = capacity.take_seats

    async def take_then_wait_for_the_leaver(event_id: int, seats: int) -> bool:
        taken = await take_seats(event_id, seats)
        if not promoting.is_set():
            promoting.set()
            await left.wait()
        return taken

    async def leave_while_promoted() -> None:
        await promoting.wait()
        try:
            await signups.cancel(waiting, queued, settings=settings)
        finally:
            left.set()

    monkeypatch.setattr(capacity, "take_seats", take_then_wait_for_the_leaver)
    await asyncio.gather(signups.cancel(holder, held, settings=settings), leave_while_promoted())
    monkeypatch.undo()

    assert (await Signup.select(Signup.status).where(Signup.id == queued).first())["status"] == "cancelled"
    assert await seats(event_id) == (0, 0)
    [next_one] = await signups.sign_up(behind, event_id, settings=settings)
    assert (await Signup.select(Signup.status).where(Signup.id == next_one).first())["status"] == "confirmed"
