"""Paid signups cancelled, against localstripe: by the member (refunded before the deadline,
refused after it), by the end of the hold (the seat goes to the waitlist, whose next owner
gets a payment of their own), by staff calling the event off (every paid signup refunded);
a program's one payment with one session cancelled; and localstripe itself delivering the
webhook to the app on a real port. Money arriving after a cancellation:
test_paid_late_payments.py."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import httpx
import pytest
import uvicorn

from loyalty.app import create_app
from loyalty.clock import LOCAL_ZONE
from loyalty.events.tables import Payment, Signup
from tests.events.builders import (
    NOW,
    WEBHOOK_SECRET,
    event,
    intent_now,
    member_client,
    my_signup,
    owners,
    paid_settings,
    pay,
    phone,
    post_webhook,
    problem,
    refunds_of,
    release_unpaid_as_worker,
    seats,
    sign_up_via,
    staff,
    staff_client,
    stripe_caller,
)
from tests.stripe_server import free_port, webhook_event

BLUE_FEE, GOLD_FEE = 12_000, 8_000
HOLD = timedelta(minutes=15)


@pytest.fixture
def paid(database, localstripe):
    return paid_settings(database, localstripe)


async def _row(signup_id: int) -> dict:
    return await Signup.select().where(Signup.id == signup_id).first()


async def _seats_left(me, event_id: int) -> int:
    return (await me.get(f"/api/v1/events/{event_id}")).json()["seats_left"]


# --- refunds on cancel ---------------------------------------------------------------------


async def _confirmed(me, stripe_http, localstripe, event_id: int, party_size: int = 1) -> dict:
    signed = await sign_up_via(me, event_id, party_size)
    intent = pay(localstripe, signed["payment"]["stripe_payment_intent"])
    answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", intent))
    assert answer.json() == {"result": "handled"}, answer.text
    view = await my_signup(me, signed["id"])
    assert view["status"] == "confirmed", view
    return view


async def test_cancelling_a_paid_signup_before_the_deadline_refunds_the_fee(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        confirmed = await _confirmed(me, stripe_http, localstripe, event_id, party_size=2)
        frozen.move_to(NOW + timedelta(days=5) - timedelta(seconds=1))  # the last second before the deadline
        cancelled = await me.post(f"/api/v1/me/signups/{confirmed['id']}/cancellation")
        seats_left = await _seats_left(me, event_id)

    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "cancelled" and view["ticket_code"] is None
    assert (view["refund_fen"], view["refund_status"]) == (2 * BLUE_FEE, "succeeded")
    assert seats_left == 10
    signup = await Signup.select().where(Signup.id == confirmed["id"]).first()
    refund = localstripe.client().v1.refunds.retrieve(signup["stripe_refund_id"])
    assert (refund.status, refund.amount, refund.currency) == ("succeeded", 2 * BLUE_FEE, "cny")
    assert refund.payment_intent == confirmed["payment"]["stripe_payment_intent"]
    assert refund.metadata.to_dict() == {"signup_id": str(confirmed["id"])}


async def test_after_the_deadline_a_paid_signup_is_not_cancelled_nor_refunded(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        confirmed = await _confirmed(me, stripe_http, localstripe, event_id)
        frozen.move_to(NOW + timedelta(days=5))  # the deadline itself
        refused = await me.post(f"/api/v1/me/signups/{confirmed['id']}/cancellation")
        after = await my_signup(me, confirmed["id"])

    assert refused.status_code == 409 and problem(refused) == "/problems/cancel-deadline-passed", refused.text
    assert after["status"] == "confirmed" and after["ticket_code"]
    assert (after["refund_fen"], after["refund_status"]) == (0, "")
    refunds = localstripe.client().v1.refunds.list(params={"payment_intent": confirmed["payment"]["stripe_payment_intent"]})
    assert list(refunds.data) == []


async def test_cancelling_before_paying_releases_the_seat_and_cancels_the_intent(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me:
        signed = await sign_up_via(me, event_id, party_size=2)
        cancelled = await me.post(f"/api/v1/me/signups/{signed['id']}/cancellation")
        seats_left = await _seats_left(me, event_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["refund_status"] == ""
    assert cancelled.json()["payment"]["status"] == "cancelled"
    assert seats_left == 10
    assert intent_now(localstripe, signed["payment"]["stripe_payment_intent"])["status"] == "canceled"



# --- unpaid seats go back after the hold -------------------------------------------------


async def test_an_unpaid_seat_goes_to_the_waitlist_which_gets_its_own_payment(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=2, party_size_limit=2)
    async with member_client(database, paid, phone(0)) as first, member_client(database, paid, phone(1)) as second:
        held = await sign_up_via(first, event_id, party_size=2)
        waiting = await sign_up_via(second, event_id, join_waitlist=True)
        old_intent = held["payment"]["stripe_payment_intent"]

        frozen.move_to(NOW + HOLD - timedelta(seconds=1))
        released_early = await release_unpaid_as_worker(database, paid)
        frozen.move_to(NOW + HOLD)
        released = await release_unpaid_as_worker(database, paid)
        released_again = await release_unpaid_as_worker(database, paid)

        gone = await my_signup(first, held["id"])
        promoted = await my_signup(second, waiting["id"])
        seats_left = (await second.get(f"/api/v1/events/{event_id}")).json()["seats_left"]

    assert held["status"] == "pending_payment" and waiting["status"] == "waitlisted"
    assert (released_early, released, released_again) == (0, 1, 0)

    assert gone["status"] == "cancelled" and gone["ticket_code"] is None
    assert (await _row(held["id"]))["cancel_reason"] == "hold_expired"
    assert gone["payment"]["status"] == "cancelled" and gone["payment"]["client_secret"] == ""
    assert intent_now(localstripe, old_intent)["status"] == "canceled"

    assert promoted["status"] == "pending_payment" and promoted["waitlist_position"] is None
    assert datetime.fromisoformat(promoted["hold_expires_at"]) == NOW + HOLD + HOLD
    payment = promoted["payment"]
    assert payment is not None and payment["id"] != held["payment"]["id"]
    assert (payment["amount_fen"], payment["status"]) == (BLUE_FEE, "requires_payment")
    assert payment["stripe_payment_intent"].startswith("pi_") and payment["client_secret"]
    new_intent = intent_now(localstripe, payment["stripe_payment_intent"])
    assert (new_intent["amount"], new_intent["currency"]) == (BLUE_FEE, "cny")
    assert new_intent["metadata"]["payment_id"] == str(payment["id"])
    assert seats_left == 1 and await seats(event_id) == (1, 1)


async def test_the_promoted_owner_pays_and_is_confirmed(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 2)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1)
    async with member_client(database, paid, phone(0)) as first, member_client(database, paid, phone(1)) as second:
        await sign_up_via(first, event_id)
        waiting = await sign_up_via(second, event_id, join_waitlist=True)
        frozen.move_to(NOW + HOLD)
        assert await release_unpaid_as_worker(database, paid) == 1
        intent_id = (await my_signup(second, waiting["id"]))["payment"]["stripe_payment_intent"]
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", pay(localstripe, intent_id)))
        confirmed = await my_signup(second, waiting["id"])

    assert answer.json() == {"result": "handled"}, answer.text
    assert confirmed["status"] == "confirmed" and confirmed["ticket_code"]
    assert confirmed["payment"]["status"] == "succeeded"
    assert await seats(event_id) == (1, 1)


# --- a program: one payment for its paid sessions ------------------------------------------


async def test_a_program_is_paid_once_and_a_cancelled_session_refunds_only_its_fee(database, paid, localstripe, frozen, tmp_path):
    from loyalty.events import catalog

    await owners(tmp_path, 1)
    maker = await staff("maker")
    program_id = await catalog.create_program("春季课程", maker, title_en="Spring program")
    first = await event(maker, program_id=program_id, fee_blue_fen=BLUE_FEE)
    second = await event(
        maker, program_id=program_id, fee_blue_fen=2 * BLUE_FEE, starts_at=NOW + timedelta(days=14),
        ends_at=NOW + timedelta(days=14, hours=3), signup_closes_at=NOW + timedelta(days=13), cancel_deadline=NOW + timedelta(days=12),
    )
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await me.post(f"/api/v1/programs/{program_id}/signups", json={"party_size": 2})
        assert signed.status_code == 201, signed.text
        by_event = {view["event_id"]: view for view in signed.json()}
        intent_id = by_event[first]["payment"]["stripe_payment_intent"]
        answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", pay(localstripe, intent_id)))
        cancelled = await me.post(f"/api/v1/me/signups/{by_event[second]['id']}/cancellation")
        kept = await my_signup(me, by_event[first]["id"])

    assert by_event[first]["payment"]["id"] == by_event[second]["payment"]["id"]
    assert by_event[second]["payment"]["stripe_payment_intent"] == intent_id
    assert intent_now(localstripe, intent_id)["amount"] == 2 * BLUE_FEE + 2 * 2 * BLUE_FEE
    assert answer.json() == {"result": "handled"}
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["refund_fen"], cancelled.json()["refund_status"]) == (2 * 2 * BLUE_FEE, "succeeded")
    assert kept["status"] == "confirmed" and kept["refund_status"] == ""
    [refund] = refunds_of(localstripe, intent_id)
    assert refund.amount == 2 * 2 * BLUE_FEE


# --- staff call a paid event off ---------------------------------------------------------


async def test_staff_calling_a_paid_event_off_refund_every_paid_signup(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1, units=2)  # gold
    await owners(tmp_path, 3, start=1)  # blue
    event_id = await event(fee_blue_fen=BLUE_FEE, fee_gold_fen=GOLD_FEE, capacity=4, party_size_limit=2)
    views: dict[str, dict] = {}
    async with stripe_caller(database, paid) as stripe_http:
        for name, n, party in (("gold", 0, 1), ("blue", 1, 2), ("unpaid", 2, 1)):
            async with member_client(database, paid, phone(n)) as me:
                views[name] = await sign_up_via(me, event_id, party_size=party)
        async with member_client(database, paid, phone(3)) as me:
            views["waiting"] = await sign_up_via(me, event_id, join_waitlist=True)
        for name in ("gold", "blue"):
            intent = pay(localstripe, views[name]["payment"]["stripe_payment_intent"])
            assert (await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", intent))).json() == {
                "result": "handled"
            }

        async with staff_client(database, paid) as door:
            called_off = await door.post(f"/api/v1/staff/events/{event_id}/cancellation", json={"reason": "台风预警，活动取消"})
            again = await door.post(f"/api/v1/staff/events/{event_id}/cancellation", json={"reason": "再次取消"})

    assert called_off.status_code == 200 and again.status_code == 200, (called_off.text, again.text)
    rows = {name: await _row(view["id"]) for name, view in views.items()}
    assert {name: row["status"] for name, row in rows.items()} == dict.fromkeys(views, "cancelled")
    assert {name: row["cancel_reason"] for name, row in rows.items()} == dict.fromkeys(views, "event_cancelled")
    for name, fee in (("gold", GOLD_FEE), ("blue", 2 * BLUE_FEE)):
        assert (rows[name]["refund_fen"], rows[name]["refund_status"]) == (fee, "succeeded"), name
        [refund] = refunds_of(localstripe, views[name]["payment"]["stripe_payment_intent"])
        assert (refund.id, refund.status, refund.amount) == (rows[name]["stripe_refund_id"], "succeeded", fee)
    # Not paid: nothing to refund, and the intent can no longer be paid.
    assert (rows["unpaid"]["refund_fen"], rows["unpaid"]["refund_status"]) == (0, "")
    assert intent_now(localstripe, views["unpaid"]["payment"]["stripe_payment_intent"])["status"] == "canceled"
    assert (await Payment.select(Payment.status).where(Payment.id == views["unpaid"]["payment"]["id"]).first())["status"] == "cancelled"
    assert views["waiting"]["payment"] is None and rows["waiting"]["refund_status"] == ""
    assert await seats(event_id) == (0, 0)


# --- localstripe delivers the webhook itself (a real port, real time) ----------------------


async def test_localstripe_delivers_a_signed_webhook_that_confirms_the_signup(database, localstripe, tmp_path):
    """No frozen clock here: localstripe signs with its own (real) time."""
    settings = paid_settings(database, localstripe)
    await owners(tmp_path, 1)
    now = datetime.now(LOCAL_ZONE)
    event_id = await event(
        await staff("maker"), fee_blue_fen=BLUE_FEE, starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=3),
        signup_opens_at=now - timedelta(days=1), signup_closes_at=now + timedelta(days=6), cancel_deadline=now + timedelta(days=5),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine=database.engine), host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    endpoint = None
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        endpoint = localstripe.register_webhook(
            f"http://127.0.0.1:{port}/api/v1/payments/stripe/webhook", WEBHOOK_SECRET, events=["payment_intent.succeeded"]
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            async with member_client(database, settings, phone(0)) as me:
                held = await sign_up_via(me, event_id)
                pay(localstripe, held["payment"]["stripe_payment_intent"])
                deadline = time.monotonic() + 15  # localstripe waits ~1 s before delivering
                while (view := await my_signup(me, held["id"]))["status"] == "pending_payment" and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
            health = await http.get("/health")
    finally:
        if endpoint is not None:
            localstripe.unregister_webhook(endpoint)
        server.should_exit = True
        await serving

    assert health.status_code == 200
    assert view["status"] == "confirmed" and view["ticket_code"], (view, localstripe.log()[-2000:])
    assert view["payment"]["status"] == "succeeded"


async def test_a_refund_that_failed_is_retried_by_the_job_until_stripe_takes_it(database, paid, localstripe, frozen, tmp_path):
    """Stripe unreachable when the owner cancels: the signup is cancelled, the refund recorded
    as failed and shown to staff; the job refunds it once Stripe answers, and only once."""
    from loyalty import jobs
    from loyalty.events import payments

    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    unreachable = paid_settings(database, localstripe, stripe_api_base=f"http://127.0.0.1:{free_port()}")
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        confirmed = await _confirmed(me, stripe_http, localstripe, event_id)
    async with member_client(database, unreachable, phone(0)) as me:
        cancelled = await me.post(f"/api/v1/me/signups/{confirmed['id']}/cancellation")
    jobs.configure(unreachable)
    still_down = await payments.retry_failed_refunds()
    jobs.configure(paid)
    retried = await payments.retry_failed_refunds()
    again = await payments.retry_failed_refunds()
    async with staff_client(database, paid) as door:
        listed = (await door.get(f"/api/v1/staff/events/{event_id}/signups")).json()

    assert cancelled.status_code == 200 and cancelled.json()["refund_status"] == "failed", cancelled.text
    assert (still_down, retried, again) == (0, 1, 0)
    signup = await _row(confirmed["id"])
    assert (signup["refund_status"], signup["refund_fen"]) == ("succeeded", BLUE_FEE)
    assert [(s["refund_status"], s["refund_fen"]) for s in listed] == [("succeeded", BLUE_FEE)]
    assert len(refunds_of(localstripe, confirmed["payment"]["stripe_payment_intent"])) == 1
