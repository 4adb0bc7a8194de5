"""Money that arrives after the seat was given up, against localstripe: the owner paid in
time but Stripe's webhook comes after the hold ended (the seat is taken again if one is free,
else the fee is refunded), after the owner signed up again, after the owner or staff
cancelled, or after the event was called off. Refunds are read back from localstripe."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.events.tables import Signup
from tests.events.builders import (
    NOW,
    event,
    intent_now,
    member_client,
    my_signup,
    owners,
    paid_settings,
    pay,
    phone,
    post_webhook,
    refunds_of,
    release_unpaid_as_worker,
    seats,
    sign_up_via,
    staff_client,
    stripe_caller,
)
from tests.stripe_server import webhook_event

BLUE_FEE = 12_000
HOLD = timedelta(minutes=15)


@pytest.fixture
def paid(database, localstripe):
    return paid_settings(database, localstripe)


async def _row(signup_id: int) -> dict:
    return await Signup.select().where(Signup.id == signup_id).first()


# --- money that comes after the seat was released ----------------------------------------


async def test_a_late_payment_takes_a_free_seat_again(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me:
        held = await sign_up_via(me, event_id, party_size=2)
        intent_id = held["payment"]["stripe_payment_intent"]
        paid_intent = pay(localstripe, intent_id)  # paid in time, but the webhook comes late
        frozen.move_to(NOW + HOLD + timedelta(minutes=1))
        assert await release_unpaid_as_worker(database, paid) == 1
        released = await my_signup(me, held["id"])
        seats_after_release = await seats(event_id)
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        after = await my_signup(me, held["id"])

    assert released["status"] == "cancelled" and seats_after_release == (0, 0)
    assert answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "confirmed" and after["ticket_code"], after
    assert after["payment"]["status"] == "succeeded"
    assert (after["refund_fen"], after["refund_status"]) == (0, "")
    row = await _row(held["id"])
    assert row["cancel_reason"] == "" and row["cancelled_at"] is None
    assert await seats(event_id) == (2, 2)
    assert intent_now(localstripe, intent_id)["status"] == "succeeded" and refunds_of(localstripe, intent_id) == []


async def test_a_late_payment_without_a_free_seat_is_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1)
    async with member_client(database, paid, phone(0)) as late, member_client(database, paid, phone(1)) as next_one:
        held = await sign_up_via(late, event_id)
        waiting = await sign_up_via(next_one, event_id, join_waitlist=True)
        intent_id = held["payment"]["stripe_payment_intent"]
        paid_intent = pay(localstripe, intent_id)
        frozen.move_to(NOW + HOLD)
        assert await release_unpaid_as_worker(database, paid) == 1  # the seat goes to the waitlist
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        after = await my_signup(late, held["id"])
        promoted = await my_signup(next_one, waiting["id"])

    assert answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "cancelled" and after["ticket_code"] is None
    assert (after["refund_fen"], after["refund_status"]) == (BLUE_FEE, "succeeded")
    assert after["payment"]["status"] == "succeeded"
    [refund] = refunds_of(localstripe, intent_id)
    assert (refund.status, refund.amount) == ("succeeded", BLUE_FEE)
    assert promoted["status"] == "pending_payment", "the promoted owner keeps the seat"
    assert await seats(event_id) == (1, 1)


async def test_a_late_payment_for_an_owner_who_signed_up_again_is_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me:
        old = await sign_up_via(me, event_id)
        paid_intent = pay(localstripe, old["payment"]["stripe_payment_intent"])
        frozen.move_to(NOW + HOLD)
        assert await release_unpaid_as_worker(database, paid) == 1
        new = await sign_up_via(me, event_id)  # the owner tries again, with a new payment
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        old_after, new_after = await my_signup(me, old["id"]), await my_signup(me, new["id"])

    assert answer.status_code == 200 and answer.json() == {"result": "handled"}, answer.text
    assert old_after["status"] == "cancelled" and (old_after["refund_fen"], old_after["refund_status"]) == (BLUE_FEE, "succeeded")
    assert new_after["status"] == "pending_payment" and new_after["payment"]["status"] == "requires_payment"
    assert await seats(event_id) == (1, 1)


async def test_a_late_payment_for_an_event_called_off_meanwhile_is_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me:
        held = await sign_up_via(me, event_id)
        paid_intent = pay(localstripe, held["payment"]["stripe_payment_intent"])
        frozen.move_to(NOW + HOLD)
        assert await release_unpaid_as_worker(database, paid) == 1
        async with staff_client(database, paid) as door:
            called_off = await door.post(f"/api/v1/staff/events/{event_id}/cancellation", json={"reason": "暴雨预警"})
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        after = await my_signup(me, held["id"])

    assert called_off.status_code == 200 and answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "cancelled" and after["ticket_code"] is None, "no seat at a cancelled event"
    assert (after["refund_fen"], after["refund_status"]) == (BLUE_FEE, "succeeded")
    assert await seats(event_id) == (0, 0)


async def test_money_arriving_after_the_owner_cancelled_is_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        held = await sign_up_via(me, event_id)
        paid_intent = pay(localstripe, held["payment"]["stripe_payment_intent"])
        cancelled = await me.post(f"/api/v1/me/signups/{held['id']}/cancellation")
        answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        after = await my_signup(me, held["id"])

    assert cancelled.status_code == 200 and cancelled.json()["refund_status"] == "", cancelled.text
    assert answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "cancelled" and (after["refund_fen"], after["refund_status"]) == (BLUE_FEE, "succeeded")
    assert len(refunds_of(localstripe, held["payment"]["stripe_payment_intent"])) == 1
    assert await seats(event_id) == (0, 0)


async def test_money_arriving_after_staff_called_the_event_off_is_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        held = await sign_up_via(me, event_id)
        paid_intent = pay(localstripe, held["payment"]["stripe_payment_intent"])
        async with staff_client(database, paid) as door:
            called_off = await door.post(f"/api/v1/staff/events/{event_id}/cancellation", json={"reason": "场地维修"})
        answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_intent))
        after = await my_signup(me, held["id"])

    assert called_off.status_code == 200, called_off.text
    assert answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "cancelled" and after["ticket_code"] is None
    assert (after["refund_fen"], after["refund_status"]) == (BLUE_FEE, "succeeded")
    assert len(refunds_of(localstripe, held["payment"]["stripe_payment_intent"])) == 1
    assert await seats(event_id) == (0, 0)

