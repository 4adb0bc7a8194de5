"""A waitlisted owner promoted to a paid seat whose PaymentIntent could not be created (Stripe
unreachable when the job ran, or the job lost with the broker): the seat is kept and the view
says the payment is being prepared; once Stripe answers, `release_unpaid` creates the intent
exactly once and the hold (the owner's time to pay) starts only then. Against localstripe,
which ignores Idempotency-Key: a second intent would really be a second object here."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from loyalty.events import payments
from loyalty.labels import label
from loyalty.events.stripe_gateway import gateway_for
from loyalty.events.tables import Payment, Signup
from tests.events.builders import (
    NOW,
    event,
    intent_ids,
    intent_now,
    member_client,
    my_signup,
    new_intents_for,
    open_payment_jobs_lost,
    owners,
    paid_settings,
    pay,
    phone,
    post_webhook,
    release_unpaid_as_worker,
    seats,
    sign_up_via,
    statuses,
    stripe_caller,
)
from tests.stripe_server import free_port, webhook_event

BLUE_FEE = 12_000
HOLD = timedelta(minutes=15)


@pytest.fixture
def paid(database, localstripe):
    return paid_settings(database, localstripe)


@pytest.fixture
def unreachable(database, localstripe):
    """Stripe down: the same key, a closed port."""
    return paid_settings(database, localstripe, stripe_api_base=f"http://127.0.0.1:{free_port()}")


def _preparing(view: dict) -> bool:
    payment = view["payment"]
    return (
        view["status"] == "pending_payment" and payment["status"] == "preparing"
        and payment["client_secret"] == "" and payment["stripe_payment_intent"] == "" and view["hold_expires_at"] is None
    )


async def _promoted_while_stripe_is_down(database, paid, unreachable, tmp_path, *, waiting: int = 1) -> tuple[int, list[dict]]:
    """Owner 0 holds the only seat and cancels while Stripe is down; owner 1 (first of
    `waiting` on the waitlist) is promoted, and the promotion's job cannot reach Stripe."""
    await owners(tmp_path, 1 + waiting)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1)
    queued = []
    async with member_client(database, paid, phone(0)) as first:
        held = await sign_up_via(first, event_id)
    for n in range(1, 1 + waiting):
        async with member_client(database, paid, phone(n)) as owner:
            queued.append(await sign_up_via(owner, event_id, join_waitlist=True))
    async with member_client(database, unreachable, phone(0)) as first:
        cancelled = await first.post(f"/api/v1/me/signups/{held['id']}/cancellation")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    return event_id, queued


async def test_a_seat_promoted_while_stripe_is_down_is_kept_and_paid_once_stripe_is_back(
    database, paid, unreachable, localstripe, frozen, tmp_path
):
    event_id, [waiting] = await _promoted_while_stripe_is_down(database, paid, unreachable, tmp_path)
    async with member_client(database, paid, phone(1)) as second:
        promoted = await my_signup(second, waiting["id"])
        frozen.move_to(NOW + 2 * HOLD)  # longer than a hold, Stripe still down
        still_down = await release_unpaid_as_worker(database, unreachable)
        kept = await my_signup(second, waiting["id"])

        back_at = NOW + 2 * HOLD + timedelta(minutes=1)
        frozen.move_to(back_at)
        before = intent_ids(localstripe)
        stripe_back = await release_unpaid_as_worker(database, paid)
        payable = await my_signup(second, waiting["id"])
        frozen.move_to(back_at + timedelta(minutes=1))
        again = await release_unpaid_as_worker(database, paid)
        frozen.move_to(back_at + HOLD - timedelta(seconds=1))
        before_hold_end = await release_unpaid_as_worker(database, paid)
        made = new_intents_for(localstripe, before, payable["payment"]["id"])

        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", pay(localstripe, made[0]["id"])))
        confirmed = await my_signup(second, waiting["id"])

    assert _preparing(promoted), promoted
    assert promoted["status_label_zh"] == label("signup_status.payment_preparing", "zh-CN") == "支付准备中（名额为您保留，可支付时开始计时）"
    assert promoted["status_label_en"] == label("signup_status.payment_preparing", "en")
    assert "Preparing your payment" in promoted["status_label_en"]
    assert still_down == 0 and _preparing(kept), kept

    assert (stripe_back, again, before_hold_end) == (0, 0, 0)
    assert payable["status"] == "pending_payment" and payable["payment"]["status"] == "requires_payment"
    assert payable["payment"]["client_secret"] and payable["payment"]["stripe_payment_intent"].startswith("pi_")
    assert payable["status_label_en"] == "Awaiting payment (seat held)"
    assert datetime.fromisoformat(payable["hold_expires_at"]) == back_at + HOLD, "the full hold, from when the owner can pay"
    assert [intent["id"] for intent in made] == [payable["payment"]["stripe_payment_intent"]], "one intent, made once"
    assert (made[0]["amount"], made[0]["currency"]) == (BLUE_FEE, "cny")

    assert answer.json() == {"result": "handled"}, answer.text
    assert confirmed["status"] == "confirmed" and confirmed["ticket_code"] and confirmed["payment"]["status"] == "succeeded"
    assert await seats(event_id) == (1, 1)


async def test_a_lost_open_payment_job_is_redone_by_the_next_release_run(database, paid, localstripe, frozen, monkeypatch, tmp_path):
    first_id, second_id = await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1)
    async with member_client(database, paid, phone(0)) as first, member_client(database, paid, phone(1)) as second:
        held = await sign_up_via(first, event_id)
        waiting = await sign_up_via(second, event_id, join_waitlist=True)
        frozen.move_to(NOW + HOLD)
        with open_payment_jobs_lost(monkeypatch) as lost:
            released = await release_unpaid_as_worker(database, paid)  # promotes; its job is lost
            promoted = await my_signup(second, waiting["id"])
            before = intent_ids(localstripe)
            frozen.move_to(NOW + HOLD + timedelta(minutes=1))
            next_run = await release_unpaid_as_worker(database, paid)
        payable = await my_signup(second, waiting["id"])

    assert released == 1 and lost == [(promoted["payment"]["id"],)]
    assert _preparing(promoted), promoted
    assert next_run == 0
    assert payable["payment"]["status"] == "requires_payment" and payable["payment"]["client_secret"]
    assert datetime.fromisoformat(payable["hold_expires_at"]) == NOW + HOLD + timedelta(minutes=1) + HOLD
    made = new_intents_for(localstripe, before, payable["payment"]["id"])
    assert [intent["id"] for intent in made] == [payable["payment"]["stripe_payment_intent"]]
    assert intent_now(localstripe, held["payment"]["stripe_payment_intent"])["status"] == "canceled"
    assert await statuses(event_id) == {first_id: "cancelled", second_id: "pending_payment"}
    assert await seats(event_id) == (1, 1)


async def test_two_runs_opening_one_payment_at_once_leave_one_payable_intent(
    database, paid, localstripe, frozen, monkeypatch, tmp_path
):
    """The promotion's job and `release_unpaid` overlapping. Real Stripe answers both with one
    intent (the idempotency key); localstripe makes two, and the one not kept is cancelled."""
    await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1)
    async with member_client(database, paid, phone(0)) as first, member_client(database, paid, phone(1)) as second:
        await sign_up_via(first, event_id)
        waiting = await sign_up_via(second, event_id, join_waitlist=True)
        frozen.move_to(NOW + HOLD)
        with open_payment_jobs_lost(monkeypatch):
            assert await release_unpaid_as_worker(database, paid) == 1
        payment_id = (await my_signup(second, waiting["id"]))["payment"]["id"]

        gateway = gateway_for(paid)
        both_read = asyncio.Barrier(2)

        class BothAtOnce:
            """Lets each run call Stripe only once both have read the payment without an intent."""

            async def create_intent(self, **fields):
                await both_read.wait()
                return await gateway.create_intent(**fields)

            async def cancel_intent(self, intent_id):
                await gateway.cancel_intent(intent_id)

        before = intent_ids(localstripe)
        await asyncio.gather(*(payments.open_payment(payment_id, BothAtOnce(), hold_minutes=15) for _ in range(2)))
        payable = await my_signup(second, waiting["id"])
        async with stripe_caller(database, paid) as stripe_http:
            kept = payable["payment"]["stripe_payment_intent"]
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", pay(localstripe, kept)))
        confirmed = await my_signup(second, waiting["id"])

    made = {intent["id"]: intent["status"] for intent in new_intents_for(localstripe, before, payment_id)}
    assert len(made) == 2 and kept in made, made
    assert [status for intent_id, status in made.items() if intent_id != kept] == ["canceled"]
    assert datetime.fromisoformat(payable["hold_expires_at"]) == NOW + 2 * HOLD
    assert answer.json() == {"result": "handled"} and confirmed["status"] == "confirmed", answer.text
    assert await seats(event_id) == (1, 1)


async def test_a_seat_still_waiting_for_stripe_when_the_event_starts_goes_back_and_nobody_is_promoted(
    database, paid, unreachable, localstripe, frozen, tmp_path
):
    event_id, [second, third] = await _promoted_while_stripe_is_down(database, paid, unreachable, tmp_path, waiting=2)
    frozen.move_to(NOW + timedelta(days=7) - timedelta(minutes=1))
    before_start = await release_unpaid_as_worker(database, unreachable)
    frozen.move_to(NOW + timedelta(days=7))
    at_start = await release_unpaid_as_worker(database, unreachable)
    after = await release_unpaid_as_worker(database, paid)  # Stripe back: nothing opened for a started event
    rows = {row["id"]: row for row in await Signup.select().where(Signup.id.is_in([second["id"], third["id"]]))}

    assert (before_start, at_start, after) == (0, 1, 0)
    assert (rows[second["id"]]["status"], rows[second["id"]]["cancel_reason"]) == ("cancelled", "payment_setup_failed")
    assert rows[third["id"]]["status"] == "waitlisted", "nobody is asked to pay for an event under way"
    payment = await Payment.select().where(Payment.id == rows[second["id"]]["payment"]).first()
    assert (payment["status"], payment["stripe_intent_id"]) == ("cancelled", "")
    assert await seats(event_id) == (0, 0)
