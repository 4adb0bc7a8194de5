"""What the owner page gets to pay for a signup in the browser (GET /me/signups/{id}/payment):
the amount, the hold, the client secret, the publishable key and Stripe.js's address, only for
the owner's own signup, and the secret only while paying is possible; the PaymentIntent offers
the deployment's payment methods; the owner page's CSP allows exactly Stripe.js's origins."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from loyalty.events import waitlist
from loyalty.events.stripe_gateway import payment_method_params
from loyalty.ops.edge import owner_page_policy
from tests.events.builders import (
    NOW,
    event,
    intent_now,
    member_client,
    owners,
    paid_settings,
    pay,
    phone,
    post_webhook,
    problem,
    sign_up_via,
    stripe_caller,
)
from tests.stripe_server import PUBLISHABLE_KEY, webhook_event

FEE = 5_000


@pytest.fixture
def paid(database, localstripe):
    return paid_settings(database, localstripe, stripe_publishable_key=PUBLISHABLE_KEY, stripe_js_url=localstripe.js_url)


async def test_the_owner_gets_what_the_page_needs_to_pay_and_the_secret_goes_once_paid(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=FEE)
    async with member_client(database, paid, phone(0)) as me:
        signed = await sign_up_via(me, event_id, party_size=2)
        before = await me.get(f"/api/v1/me/signups/{signed['id']}/payment")
        intent_id = signed["payment"]["stripe_payment_intent"]
        async with stripe_caller(database, paid) as stripe_http:
            answer = await post_webhook(stripe_http, webhook_event("payment_intent.succeeded", pay(localstripe, intent_id)))
        assert answer.status_code == 200, answer.text
        after = (await me.get(f"/api/v1/me/signups/{signed['id']}/payment")).json()

    assert before.status_code == 200, before.text
    setup = before.json()
    assert setup == {
        "signup_id": signed["id"], "signup_status": "pending_payment", "cancel_reason": "", "amount_fen": 2 * FEE,
        "currency": "cny", "payment_status": "requires_payment", "hold_expires_at": setup["hold_expires_at"],
        "client_secret": signed["payment"]["client_secret"], "last_error": "", "publishable_key": PUBLISHABLE_KEY,
        "stripe_js_url": localstripe.js_url, "payment_method_types": ["card"],
    }
    assert datetime.fromisoformat(setup["hold_expires_at"]) == NOW + timedelta(minutes=15)
    assert setup["client_secret"].startswith(intent_id + "_secret")
    assert (after["signup_status"], after["payment_status"], after["client_secret"]) == ("confirmed", "succeeded", "")


async def test_another_owners_signup_and_a_free_signup_are_not_found(database, paid, frozen, tmp_path):
    await owners(tmp_path, 2)
    paid_event, free_event = await event(fee_blue_fen=FEE), await event()
    async with member_client(database, paid, phone(0)) as me:
        mine = await sign_up_via(me, paid_event)
        free = await sign_up_via(me, free_event)
        no_payment = await me.get(f"/api/v1/me/signups/{free['id']}/payment")
    async with member_client(database, paid, phone(1)) as other:
        theirs = await other.get(f"/api/v1/me/signups/{mine['id']}/payment")
        nothing = await other.get("/api/v1/me/signups/999999/payment")

    assert (theirs.status_code, problem(theirs)) == (404, "/problems/not-found")
    assert theirs.json()["title"] == nothing.json()["title"]  # someone else's reads as no such signup
    assert mine["payment"]["client_secret"] not in theirs.text
    assert (no_payment.status_code, problem(no_payment)) == (404, "/problems/not-found")


async def test_a_released_seat_says_so_and_has_no_secret(database, paid, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=FEE)
    async with member_client(database, paid, phone(0)) as me:
        signed = await sign_up_via(me, event_id)
        assert await waitlist.release_unpaid(now=NOW + timedelta(minutes=16)) == 1
        setup = (await me.get(f"/api/v1/me/signups/{signed['id']}/payment")).json()
        listed = (await me.get(f"/api/v1/me/signups/{signed['id']}")).json()

    assert (setup["signup_status"], setup["cancel_reason"], setup["client_secret"]) == ("cancelled", "hold_expired", "")
    assert (listed["status"], listed["cancel_reason"]) == ("cancelled", "hold_expired")


async def test_a_decline_is_shown_and_the_secret_stays_for_another_try(database, paid, localstripe, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=FEE)
    async with member_client(database, paid, phone(0)) as me:
        signed = await sign_up_via(me, event_id)
        intent_id = signed["payment"]["stripe_payment_intent"]
        failed = {**intent_now(localstripe, intent_id), "last_payment_error": {"message": "Your card was declined."}}
        async with stripe_caller(database, paid) as stripe_http:
            await post_webhook(stripe_http, webhook_event("payment_intent.payment_failed", failed))
        setup = (await me.get(f"/api/v1/me/signups/{signed['id']}/payment")).json()

    assert (setup["payment_status"], setup["last_error"]) == ("failed", "Your card was declined.")
    assert setup["client_secret"] == signed["payment"]["client_secret"]


async def test_without_a_publishable_key_the_page_is_told_payments_are_unavailable(database, localstripe, frozen, tmp_path):
    server_only = paid_settings(database, localstripe)  # Stripe for the server, no key for browsers
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=FEE)
    async with member_client(database, server_only, phone(0)) as me:
        signed = await sign_up_via(me, event_id)
        answer = await me.get(f"/api/v1/me/signups/{signed['id']}/payment")
    assert (answer.status_code, problem(answer)) == (422, "/problems/payments-unavailable")


@pytest.mark.parametrize("methods", [("card",), ("card", "wechat_pay", "alipay")])
async def test_the_intent_offers_the_deployments_payment_methods(database, localstripe, frozen, tmp_path, methods):
    settings = paid_settings(database, localstripe, stripe_publishable_key=PUBLISHABLE_KEY, stripe_payment_methods=methods)
    await owners(tmp_path, 1)
    event_id = await event(fee_blue_fen=FEE)
    async with member_client(database, settings, phone(0)) as me:
        signed = await sign_up_via(me, event_id)
        setup = (await me.get(f"/api/v1/me/signups/{signed['id']}/payment")).json()
    assert setup["payment_method_types"] == list(methods)
    assert signed["payment"]["stripe_payment_intent"].startswith("pi_")


def test_wechat_pay_is_shown_on_the_web_page():
    assert payment_method_params(("card",)) == {"payment_method_types": ["card"]}
    assert payment_method_params(("card", "wechat_pay")) == {
        "payment_method_types": ["card", "wechat_pay"], "payment_method_options": {"wechat_pay": {"client": "web"}},
    }


# --- the owner page's Content-Security-Policy ------------------------------------------------


def _directives(policy: bytes) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.decode().split("; ")}


async def test_the_owner_page_allows_stripe_js_and_nothing_else_from_elsewhere(database, paid, localstripe):
    async with stripe_caller(database, paid) as http:
        owner_page = (await http.get("/")).headers["content-security-policy"]
        staff_page = (await http.get("/staff")).headers["content-security-policy"]
    fake = localstripe.base_url  # localstripe serves its Stripe.js and answers it: one origin
    directives = _directives(owner_page.encode())
    assert directives["script-src"] == f"'self' {fake}"
    assert directives["connect-src"] == f"'self' {fake}"
    assert directives["frame-src"] == fake
    assert directives["default-src"] == "'self'" and directives["style-src"] == "'self'"
    assert fake not in staff_page  # only the page where owners pay


async def test_the_owner_page_policy_names_stripes_own_origins_for_real_stripe_and_none_without_it(database, paid):
    real = _directives(owner_page_policy(paid.with_overrides(stripe_js_url="https://js.stripe.com/v3/")))
    assert real["script-src"] == "'self' https://js.stripe.com"
    assert real["frame-src"] == "https://js.stripe.com https://hooks.stripe.com"
    assert real["connect-src"] == "'self' https://api.stripe.com"
    for unconfigured in (paid.with_overrides(stripe_publishable_key=None), paid.with_overrides(stripe_api_key=None)):
        plain = _directives(owner_page_policy(unconfigured))
        assert plain["script-src"] == "'self'" and plain["connect-src"] == "'self'" and "frame-src" not in plain
