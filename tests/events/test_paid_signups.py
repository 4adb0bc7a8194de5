"""Paid signups against localstripe, through HTTP: the held seat and its CNY PaymentIntent,
success and failure (and a retry) confirmed by the signed webhook, each Stripe event handled
once, bad signatures refused, refunds on cancel before the deadline, and no Stripe key at all.

Cancellations and refunds (by the member, by staff, by the end of the hold) and late
payments are in test_paid_cancellations.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
import stripe

from loyalty.events.tables import Payment, Signup, StripeEvent
from tests.events.builders import (
    NOW,
    WEBHOOK_SECRET,
    event,
    forget_declined_charge,
    intent_now,
    member_client,
    my_signup,
    owners,
    paid_settings,
    pay,
    phone,
    post_webhook,
    problem,
    release_unpaid_as_worker,
    sign_up_via,
    speaks,
    staff,
    stripe_caller,
)
from tests.stripe_server import sign_webhook, webhook_event

BLUE_FEE, GOLD_FEE = 12_000, 8_000  # 120.00 元 / 80.00 元 per person


@pytest.fixture
def paid(database, localstripe):
    return paid_settings(database, localstripe)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _seats_left(me, event_id: int) -> int:
    return (await me.get(f"/api/v1/events/{event_id}")).json()["seats_left"]


# --- the held seat and its PaymentIntent -------------------------------------------------


async def test_a_paid_signup_holds_the_seat_and_opens_a_cny_intent_for_the_party(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)  # blue card
    await owners(tmp_path, 1, units=2, start=1)  # gold card
    event_id = await event(fee_blue_fen=BLUE_FEE, fee_gold_fen=GOLD_FEE)

    async with member_client(database, paid, phone(0)) as blue:
        offered = (await blue.get(f"/api/v1/events/{event_id}")).json()
        signed = await sign_up_via(blue, event_id, party_size=3)
        seats_left = await _seats_left(blue, event_id)
    async with member_client(database, paid, phone(1)) as gold:
        gold_signed = await sign_up_via(gold, event_id, party_size=1)

    assert offered["fee_per_person_fen"] == BLUE_FEE and offered["can_sign_up"], offered
    assert signed["status"] == "pending_payment"
    assert _at(signed["hold_expires_at"]) == NOW + timedelta(minutes=15)
    assert signed["ticket_code"] is None and signed["fee_fen"] == 3 * BLUE_FEE
    payment = signed["payment"]
    assert (payment["amount_fen"], payment["currency"], payment["status"]) == (3 * BLUE_FEE, "cny", "requires_payment")
    assert payment["stripe_payment_intent"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["stripe_payment_intent"] + "_secret")
    assert seats_left == 10 - 3  # a held seat is taken

    intent = intent_now(localstripe, payment["stripe_payment_intent"])
    assert (intent["amount"], intent["currency"], intent["status"]) == (3 * BLUE_FEE, "cny", "requires_payment_method")
    assert intent["metadata"]["payment_id"] == str(payment["id"])
    assert intent["client_secret"] == payment["client_secret"]

    # The fee follows the tier: a gold owner pays the gold fee.
    assert gold_signed["fee_fen"] == GOLD_FEE and gold_signed["payment"]["amount_fen"] == GOLD_FEE
    gold_intent = intent_now(localstripe, gold_signed["payment"]["stripe_payment_intent"])
    assert gold_intent["amount"] == GOLD_FEE and gold_intent["metadata"]["payment_id"] == str(gold_signed["payment"]["id"])


async def test_a_successful_payment_confirmed_by_the_webhook_gives_a_ticket(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me:
        signed = await sign_up_via(me, event_id, party_size=2)
        intent = pay(localstripe, signed["payment"]["stripe_payment_intent"])
        before_webhook = await my_signup(me, signed["id"])
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", intent))
        after = await my_signup(me, signed["id"])
        mine = (await me.get(f"/api/v1/events/{event_id}")).json()

    assert intent["status"] == "succeeded" and intent["amount"] == 2 * BLUE_FEE
    # Paying in Stripe is not enough: only the webhook confirms.
    assert before_webhook["status"] == "pending_payment" and before_webhook["ticket_code"] is None
    assert answer.status_code == 200 and answer.json() == {"result": "handled"}, answer.text
    assert after["status"] == "confirmed" and after["ticket_code"], after
    assert after["hold_expires_at"] is None
    assert after["payment"]["status"] == "succeeded" and after["payment"]["last_error"] == ""
    assert after["payment"]["client_secret"] == ""  # not shown once paid
    assert mine["my_signup"] == {"id": signed["id"], "status": "confirmed"} and mine["seats_left"] == 8


async def test_a_declined_card_keeps_the_seat_held_and_another_card_confirms(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=1, party_size_limit=1)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        intent_id = signed["payment"]["stripe_payment_intent"]
        with pytest.raises(stripe.CardError) as declined:
            pay(localstripe, intent_id, card="pm_card_chargeCustomerFail")
        failed_intent = intent_now(localstripe, intent_id)
        failed = await post_webhook(stripe_http, webhook_event("payment_intent.payment_failed", failed_intent))
        after_failure = await my_signup(me, signed["id"])
        seats_after_failure = await _seats_left(me, event_id)

        frozen.move_to(NOW + timedelta(minutes=14, seconds=59))
        released_early = await release_unpaid_as_worker(database, paid)
        still_held = await my_signup(me, signed["id"])

        forget_declined_charge(localstripe, intent_id)  # localstripe only; real Stripe needs nothing
        retried = pay(localstripe, intent_id, card="pm_card_visa")
        succeeded = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", retried))
        after_retry = await my_signup(me, signed["id"])

    assert declined.value.code == "card_declined"
    assert failed.json() == {"result": "handled"}, failed.text
    assert after_failure["status"] == "pending_payment" and after_failure["ticket_code"] is None
    assert after_failure["payment"]["status"] == "failed"
    assert after_failure["payment"]["last_error"] == failed_intent["last_payment_error"]["message"] != ""
    assert after_failure["payment"]["client_secret"], "the owner may still pay with another card"
    assert seats_after_failure == 0, "a declined card does not give the seat away"
    assert released_early == 0 and still_held["status"] == "pending_payment"

    assert retried["id"] == intent_id and retried["status"] == "succeeded"
    assert succeeded.json() == {"result": "handled"}
    assert after_retry["status"] == "confirmed" and after_retry["ticket_code"]
    assert after_retry["payment"]["status"] == "succeeded" and after_retry["payment"]["last_error"] == ""


async def test_a_second_decline_records_the_newest_error(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        intent_id = signed["payment"]["stripe_payment_intent"]
        first = dict(intent_now(localstripe, intent_id), last_payment_error={"code": "card_declined", "message": "first card"})
        second = dict(first, last_payment_error={"code": "expired_card", "message": "second card"})
        for failed in (first, second):
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.payment_failed", failed))
            assert answer.json() == {"result": "handled"}, answer.text
        after = await my_signup(me, signed["id"])
        # Stripe does not promise order: a failure arriving after the success changes nothing.
        paid_now = pay(localstripe, intent_id)
        await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", paid_now))
        late = await post_webhook(stripe_http, webhook_event("payment_intent.payment_failed", first))
        after_late_failure = await my_signup(me, signed["id"])

    assert after["payment"]["status"] == "failed" and after["payment"]["last_error"] == "second card"
    assert late.json() == {"result": "handled"}
    assert after_late_failure["status"] == "confirmed" and after_late_failure["payment"]["status"] == "succeeded"
    assert after_late_failure["payment"]["last_error"] == ""


# --- the webhook: each event once, signatures checked --------------------------------------


async def test_a_replayed_event_is_a_duplicate_and_changes_nothing(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        body = webhook_event("payment_intent.succeeded", pay(localstripe, signed["payment"]["stripe_payment_intent"]))
        first = await post_webhook(stripe_http, body)
        handled = await my_signup(me, signed["id"])
        frozen.move_to(NOW + timedelta(minutes=3))
        replay = await post_webhook(stripe_http, body)  # Stripe retries: same event id, fresh signature
        after_replay = await my_signup(me, signed["id"])

    assert first.json() == {"result": "handled"}, first.text
    assert replay.status_code == 200 and replay.json() == {"result": "duplicate"}, replay.text
    assert after_replay == handled and after_replay["status"] == "confirmed"
    payment = await Payment.select().where(Payment.id == signed["payment"]["id"]).first()
    assert payment["succeeded_at"] == NOW, "the replay did not handle the payment again"
    signup = await Signup.select().where(Signup.id == signed["id"]).first()
    assert signup["confirmed_at"] == NOW
    assert await StripeEvent.count() == 1


async def test_a_bad_signature_is_refused_and_changes_nothing(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        body = webhook_event("payment_intent.succeeded", pay(localstripe, signed["payment"]["stripe_payment_intent"]))
        now = int(NOW.timestamp())
        refused = {
            "wrong secret": await post_webhook(stripe_http, body, secret="whsec_someone_else"),
            "tampered body": await post_webhook(
                stripe_http, body.replace(b'"succeeded"', b'"Succeeded"', 1), signature=sign_webhook(body, WEBHOOK_SECRET)
            ),
            "too old": await post_webhook(stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=now - 301)),
            "garbage": await post_webhook(stripe_http, body, signature="t=1,v1=00"),
            "missing": await stripe_http.post("/api/v1/payments/stripe/webhook", content=body),
        }
        after = await my_signup(me, signed["id"])
        still_good = await post_webhook(stripe_http, body)  # the same event, signed properly, is then handled

    for why, response in refused.items():
        assert response.status_code == 400, (why, response.text)
        assert problem(response) == "/problems/webhook-signature-invalid", (why, response.text)
    assert after["status"] == "pending_payment" and after["payment"]["status"] == "requires_payment"
    assert still_good.json() == {"result": "handled"}, "a refused delivery must not mark the event as seen"


async def test_a_webhook_signed_ten_minutes_ahead_or_behind_is_refused_and_changes_nothing(
    database, paid, localstripe, frozen, tmp_path
):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        body = webhook_event("payment_intent.succeeded", pay(localstripe, signed["payment"]["stripe_payment_intent"]))
        now = int(NOW.timestamp())
        refused = {
            "10 minutes ahead": await post_webhook(stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=now + 600)),
            "10 minutes behind": await post_webhook(stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=now - 600)),
            "just past the tolerance ahead": await post_webhook(
                stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=now + 301)
            ),
        }
        after = await my_signup(me, signed["id"])
        within = await post_webhook(stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=now + 60))

    for why, response in refused.items():
        assert response.status_code == 400, (why, response.text)
        assert problem(response) == "/problems/webhook-signature-invalid", (why, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert after["status"] == "pending_payment", "a refused delivery changed the signup"
    assert within.json() == {"result": "handled"}, "a clock a minute apart is within the tolerance"


async def test_the_webhook_tolerance_is_a_setting(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    strict = paid.with_overrides(stripe_webhook_tolerance_seconds=30)
    async with member_client(database, strict, phone(0)) as me, stripe_caller(database, strict) as stripe_http:
        signed = await sign_up_via(me, event_id)
        body = webhook_event("payment_intent.succeeded", pay(localstripe, signed["payment"]["stripe_payment_intent"]))
        ahead = await post_webhook(stripe_http, body, signature=sign_webhook(body, WEBHOOK_SECRET, timestamp=int(NOW.timestamp()) + 60))

    assert ahead.status_code == 400, ahead.text
    assert problem(ahead) == "/problems/webhook-signature-invalid"


async def test_event_types_we_do_not_act_on_are_ignored(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        intent = pay(localstripe, signed["payment"]["stripe_payment_intent"])
        answers = [
            await post_webhook(stripe_http, webhook_event(kind, intent))
            for kind in ("payment_intent.created", "charge.succeeded", "payment_intent.canceled")
        ]
        after = await my_signup(me, signed["id"])

    assert [a.json() for a in answers] == [{"result": "ignored"}] * 3, [a.text for a in answers]
    assert after["status"] == "pending_payment" and after["payment"]["status"] == "requires_payment"


async def test_two_deliveries_of_one_event_at_once_are_handled_once(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE)
    async with member_client(database, paid, phone(0)) as me, stripe_caller(database, paid) as stripe_http:
        signed = await sign_up_via(me, event_id)
        body = webhook_event("payment_intent.succeeded", pay(localstripe, signed["payment"]["stripe_payment_intent"]))
        answers = await asyncio.gather(*(post_webhook(stripe_http, body) for _ in range(2)))
        after = await my_signup(me, signed["id"])

    assert sorted(a.json()["result"] for a in answers) == ["duplicate", "handled"], [a.text for a in answers]
    assert after["status"] == "confirmed" and await StripeEvent.count() == 1


# --- the payment provider refuses -----------------------------------------------------------


async def test_when_stripe_refuses_the_intent_the_seat_is_given_back(database, localstripe, frozen, tmp_path):
    refusing = paid_settings(database, localstripe, stripe_api_key="rk_not_a_secret_key")  # localstripe: 401
    working = paid_settings(database, localstripe)
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=BLUE_FEE, capacity=2, party_size_limit=2)
    async with member_client(database, refusing, phone(0)) as me:
        refused = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
        after = (await me.get("/api/v1/me/signups")).json()
        seats_left = await _seats_left(me, event_id)
    async with member_client(database, working, phone(0)) as me:
        again = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})

    assert refused.status_code == 502 and problem(refused) == "/problems/payment-provider-error", refused.text
    assert [(s["status"], s["payment"]["status"]) for s in after] == [("cancelled", "cancelled")]
    assert (await Signup.select(Signup.cancel_reason).first())["cancel_reason"] == "payment_setup_failed"
    assert seats_left == 2, "the held seat went back"
    assert again.status_code == 201 and again.json()[0]["status"] == "pending_payment", again.text


# --- no Stripe key ------------------------------------------------------------------------


async def test_without_a_stripe_key_paid_events_refuse_signups_and_free_ones_work(database, settings, frozen, tmp_path):
    assert settings.stripe_api_key is None
    await owners(tmp_path, 1)
    maker = await staff("maker")
    paid_event = await event(maker, title_zh="游艇出海", title_en="Yacht trip", fee_blue_fen=BLUE_FEE)
    free_event = await event(maker, starts_at=NOW + timedelta(days=8), ends_at=NOW + timedelta(days=8, hours=2))
    async with member_client(database, settings, phone(0)) as me, stripe_caller(database, settings) as stripe_http:
        in_chinese = await me.post(f"/api/v1/events/{paid_event}/signups", json={})
        await speaks(me, "en")
        in_english = await me.post(f"/api/v1/events/{paid_event}/signups", json={})
        free = await me.post(f"/api/v1/events/{free_event}/signups", json={})
        listed = {e["id"]: e for e in (await me.get("/api/v1/events")).json()}
        webhook = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", {"id": "pi_x"}))

    for refused in (in_chinese, in_english):
        assert refused.status_code == 422 and problem(refused) == "/problems/payments-unavailable", refused.text
    assert in_chinese.json()["title"] == "暂不支持在线支付，收费活动无法在线报名（免费活动不受影响）"
    assert "在线支付" in in_chinese.json()["detail"]
    assert in_english.json()["title"].startswith("Online payment is not available")
    assert "Online payment" in in_english.json()["detail"]
    assert await Signup.count().where(Signup.event == paid_event) == 0 and await Payment.count() == 0

    assert free.status_code == 201 and free.json()[0]["status"] == "confirmed" and free.json()[0]["payment"] is None

    why_not = listed[paid_event]["why_not"]
    assert listed[paid_event]["can_sign_up"] is False and listed[paid_event]["seats_left"] == 10
    assert why_not["type"] == "/problems/payments-unavailable"
    assert why_not["title_zh"] and why_not["title_en"] and why_not["message"].startswith("Online payment")
    assert listed[free_event]["my_signup"]["status"] == "confirmed"

    assert webhook.status_code == 400 and problem(webhook) == "/problems/webhook-signature-invalid"
