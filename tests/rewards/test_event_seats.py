"""Event seats: redeeming one signs the owner up (confirmed, free) in the same transaction; a
full event refuses it and nothing is spent; cancelling gives the seat and the points back once;
checked in at the door, the redemption is picked up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.cards import service as cards
from loyalty.errors import InvalidField
from loyalty.events import checkin
from loyalty.events.tables import Signup
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from loyalty.rewards import seats, service
from loyalty.rewards.tables import Redemption, Reward
from tests.events.builders import event, seats as seats_held, staff
from tests.rewards.builders import NOW, give_points, member_client, owners, phone, reward


async def seat_reward(event_id: int, **overrides) -> int:
    return await reward(kind="event_seat", name_zh="亲子烘焙课名额", event_id=event_id, pickup_place="", **overrides)


async def test_redeeming_a_seat_signs_the_owner_up_confirmed_and_free(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    event_id = await event(fee_blue_fen=5000)
    reward_id = await seat_reward(event_id)
    async with member_client(database, settings, phone(0)) as owner:
        made = await owner.post(f"/api/v1/me/rewards/{reward_id}/redemptions", headers={"Idempotency-Key": "tap-1"})
        assert made.status_code == 201, made.text
        code = await owner.get(f"/api/v1/me/redemptions/{made.json()['id']}/code.svg")

    body = made.json()
    signup = await Signup.select().where(Signup.member == me).first()
    assert signup["status"] == "confirmed" and signup["fee_fen"] == 0 and signup["event"] == event_id
    assert body["status"] == "ready" and body["event_id"] == event_id and body["signup_id"] == signup["id"]
    assert await seats_held(event_id) == (1, 1)
    assert await points.available(me) == 600
    assert code.status_code == 404  # its ticket is the signup's, not a pick-up code


async def test_a_full_event_refuses_the_seat_and_nothing_is_spent(database, settings, frozen, tmp_path):
    first, me = await owners(tmp_path, 2)
    await give_points(me, 1000)
    await give_points(first, 1000)
    event_id = await event(capacity=1)
    reward_id = await seat_reward(event_id, stock=5)
    await service.redeem(first, reward_id, "k")
    async with member_client(database, settings, phone(1)) as owner:
        refused = await owner.post(f"/api/v1/me/rewards/{reward_id}/redemptions", headers={"Idempotency-Key": "tap-1"})

    assert refused.status_code == 409 and refused.json()["type"].endswith("/reward-event-full"), refused.text
    assert await points.available(me) == 1000
    assert (await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first())["stock_remaining"] == 4
    assert await Redemption.count().where(Redemption.member == me) == 0
    assert await Signup.count().where(Signup.member == me) == 0


async def test_cancelling_the_seat_cancels_the_signup_and_gives_the_points_back_once(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    event_id = await event()
    reward_id = await seat_reward(event_id)
    made = await service.redeem(me, reward_id, "k")

    await service.cancel(me, made.redemption_id)
    with pytest.raises(service.RedemptionClosed):
        await service.cancel(me, made.redemption_id)

    signup = await Signup.select().where(Signup.member == me).first()
    assert signup["status"] == "cancelled" and signup["cancel_reason"] == "reward_cancelled"
    assert await seats_held(event_id) == (0, 0)
    assert await points.available(me) == 1000
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reverse") == 1
    assert (await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first())["stock_remaining"] == 10
    assert await points.audit_ledger() == []


async def test_after_the_events_cancellation_deadline_the_seat_stays(database, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    event_id = await event()
    made = await service.redeem(me, await seat_reward(event_id), "k")

    frozen.move_to(NOW + timedelta(days=5, hours=1))
    from loyalty.events.signups import CancelDeadlinePassed

    with pytest.raises(CancelDeadlinePassed):
        await service.cancel(me, made.redemption_id)

    assert (await Redemption.select(Redemption.status).first())["status"] == "ready"
    assert (await Signup.select(Signup.status).first())["status"] == "confirmed"
    assert await points.available(me) == 600


async def test_checked_in_at_the_door_the_seat_is_picked_up_and_never_expires(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    event_id = await event()
    made = await service.redeem(me, await seat_reward(event_id), "k")
    signer = cards.signer_for(settings)

    frozen.move_to(NOW + timedelta(days=7))
    answer = await checkin.check_in(event_id, await cards.static_code(me, signer), gate="A", signer=signer,
                                    staff_id=await staff("door9"))
    assert answer.result == "checked_in", answer
    mine = await service.owner_redemptions(me)
    expired = await service.expire_due(NOW + timedelta(days=8))

    assert [(r["id"], r["status"]) for r in mine] == [(made.redemption_id, "picked_up")]
    assert mine[0]["picked_up_at"] is not None
    assert expired == 0 and await points.available(me) == 600 + 50  # attendance points


async def test_a_seat_reward_names_an_event_that_exists(database, frozen):
    with pytest.raises(InvalidField) as missing:
        await reward(kind="event_seat")
    with pytest.raises(InvalidField) as unknown:
        await reward(kind="event_seat", event_id=999_999)

    assert missing.value.field == unknown.value.field == "event_id"
    assert await seats.sync_checked_in() == 0


async def test_a_signup_cancelled_on_the_events_side_gives_the_redemption_back_once(database, settings, frozen, tmp_path):
    from loyalty.events import signups

    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    event_id = await event()
    reward_id = await seat_reward(event_id)
    made = await service.redeem(me, reward_id, "k")
    signup = await Signup.select().where(Signup.member == me).first()

    await signups.cancel(me, signup["id"], settings=settings)
    first = await service.owner_redemptions(me)
    again = await service.owner_redemptions(me)

    assert [(r["id"], r["status"]) for r in first] == [(made.redemption_id, "cancelled")] == [
        (r["id"], r["status"]) for r in again
    ]
    assert await points.available(me) == 1000
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reverse") == 1
    assert (await Reward.select(Reward.stock_remaining).where(Reward.id == reward_id).first())["stock_remaining"] == 10


async def test_a_seat_cannot_be_granted_to_a_group_for_it_would_be_a_reservation_without_a_seat(database, frozen, tmp_path):
    await owners(tmp_path, 2)
    admin = await staff("admin-seats", "admin")
    reward_id = await seat_reward(await event(), stock=5)

    for attempt in (service.grant(reward_id, staff_id=admin, occasion="2027 春节"),
                    service.grant_preview(reward_id, occasion="2027 春节")):
        with pytest.raises(InvalidField) as refused:
            await attempt
        assert (refused.value.field, refused.value.source) == ("reward_id", "path")

    assert await Redemption.count() == 0
    assert (await Reward.select(Reward.stock_remaining).first())["stock_remaining"] == 5
