"""localstripe through the real `stripe` client: what the paid event signups will rely on.

PaymentIntents in CNY with metadata, a successful and a declined card, refunds, customers,
the async client, and webhooks delivered to a real local HTTP server and verified with
`stripe.Webhook.construct_event`.
"""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Iterator

import pytest
import stripe

if TYPE_CHECKING:
    from tests.stripe_server import LocalStripe

# The `localstripe` fixture comes from tests/conftest.py's plugins.

WEBHOOK_SECRET = "whsec_owner_club_test"


@pytest.fixture
def stripe_globals(localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch) -> LocalStripe:
    localstripe.configure(monkeypatch)
    return localstripe


def _paid_intent(**extra: object) -> stripe.PaymentIntent:
    return stripe.PaymentIntent.create(
        amount=29900,  # 299.00 元, in fen
        currency="cny",
        metadata={"event_id": "17", "signup_id": "42"},
        **extra,
    )


def test_payment_intent_in_cny_with_metadata_is_confirmed(stripe_globals):
    intent = _paid_intent(payment_method="pm_card_visa")
    assert intent.status == "requires_confirmation"
    assert (intent.amount, intent.currency) == (29900, "cny")

    confirmed = stripe.PaymentIntent.confirm(intent.id)
    assert confirmed.status == "succeeded"  # synchronous for cards

    again = stripe.PaymentIntent.retrieve(intent.id)
    assert again.status == "succeeded"
    assert again.metadata.to_dict() == {"event_id": "17", "signup_id": "42"}
    # Unlike real Stripe, latest_charge comes back as the whole charge, not its id.
    assert again.latest_charge.id.startswith("ch_")
    assert again.latest_charge.paid is True


def test_a_card_token_pays_too(stripe_globals):
    token = stripe.Token.create(card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"})
    intent = _paid_intent(payment_method=token.card.id, confirm=True)
    assert intent.status == "succeeded"


def test_a_declined_card_fails_the_payment(stripe_globals):
    # 4000000000000341 (pm_card_chargeCustomerFail) is declined when charged; localstripe's
    # pm_card_visa_chargeDeclined (4000000000000002) is declined only when attached to a customer.
    intent = _paid_intent(payment_method="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.confirm(intent.id)
    assert declined.value.code == "card_declined"
    assert declined.value.http_status == 402

    failed = stripe.PaymentIntent.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "card_declined"
    with pytest.raises(stripe.InvalidRequestError, match="Cannot refund a failed payment"):
        stripe.Refund.create(payment_intent=intent.id)


def test_a_paid_intent_is_refunded(stripe_globals):
    intent = _paid_intent(payment_method="pm_card_visa", confirm=True)
    partial = stripe.Refund.create(payment_intent=intent.id, amount=9900, metadata={"reason": "cancelled"})
    assert (partial.status, partial.amount, partial.currency) == ("succeeded", 9900, "cny")

    read_back = stripe.Refund.retrieve(partial.id)
    assert read_back.status == "succeeded"
    assert read_back.payment_intent == intent.id
    assert read_back.metadata.to_dict() == {"reason": "cancelled"}

    rest = stripe.Refund.create(payment_intent=intent.id)  # no amount: the whole charge again (not the rest!)
    assert rest.amount == 29900
    assert stripe.Charge.retrieve(intent.latest_charge.id).refunded is True


def test_customer_and_the_stripe_client(localstripe: LocalStripe):
    client = localstripe.client()
    customer = client.v1.customers.create({"name": "张伟", "phone": "+8613800138000", "metadata": {"member_id": "7"}})
    assert client.v1.customers.retrieve(customer.id).metadata.to_dict() == {"member_id": "7"}

    intent = client.v1.payment_intents.create(
        {"amount": 100, "currency": "cny", "customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    assert (intent.status, intent.customer) == ("succeeded", customer.id)


async def test_the_async_client(localstripe: LocalStripe):
    client = localstripe.client()
    intent = await client.v1.payment_intents.create_async(
        {"amount": 100, "currency": "cny", "payment_method": "pm_card_visa", "metadata": {"signup_id": "9"}}
    )
    confirmed = await client.v1.payment_intents.confirm_async(intent.id)
    assert confirmed.status == "succeeded"


def test_what_localstripe_refuses(stripe_globals):
    """Parameters it does not know are a 400, payment methods other than card and sepa_debit
    do not exist, and Idempotency-Key is ignored."""
    for unknown in ({"automatic_payment_methods": {"enabled": True}}, {"description": "活动报名"}):
        with pytest.raises(stripe.InvalidRequestError, match="Unexpected"):
            _paid_intent(**unknown)
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentMethod.create(type="alipay")
    # Accepted but ignored: the intent neither keeps nor checks payment_method_types.
    assert _paid_intent(payment_method_types=["wechat_pay"]).status == "requires_payment_method"
    first = _paid_intent(idempotency_key="signup-42")
    second = _paid_intent(idempotency_key="signup-42")
    assert first.id != second.id


# --- webhooks ---------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    deliveries: "queue.Queue[tuple[str | None, bytes]]"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.deliveries.put((self.headers.get("Stripe-Signature"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_receiver(localstripe: LocalStripe) -> Iterator[queue.Queue]:
    deliveries: queue.Queue = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"deliveries": deliveries})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = localstripe.register_webhook(
        f"http://127.0.0.1:{server.server_port}/stripe/webhook",
        WEBHOOK_SECRET,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"],
    )
    yield deliveries
    localstripe.unregister_webhook(endpoint)
    server.shutdown()
    server.server_close()


def _event_for(deliveries: queue.Queue, intent_id: str, timeout: float = 10.0) -> stripe.Event:
    """The first delivered event about `intent_id`, verified as the app will verify it."""
    while True:
        signature, body = deliveries.get(timeout=timeout)
        event = stripe.Webhook.construct_event(body, signature, WEBHOOK_SECRET)
        if event.data.object.id == intent_id:
            return event


def test_webhooks_are_delivered_signed(stripe_globals, webhook_receiver):
    paid = _paid_intent(payment_method="pm_card_visa", confirm=True)
    event = _event_for(webhook_receiver, paid.id)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.status == "succeeded"
    assert event.data.object.metadata.to_dict() == {"event_id": "17", "signup_id": "42"}
    assert event.data.object.amount == 29900 and event.data.object.currency == "cny"
    assert stripe.Event.retrieve(event.id).type == "payment_intent.succeeded"  # stored too

    declined = _paid_intent(payment_method="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError):
        stripe.PaymentIntent.confirm(declined.id)
    event = _event_for(webhook_receiver, declined.id)
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object.last_payment_error.code == "card_declined"


def test_a_wrong_secret_does_not_verify(stripe_globals, webhook_receiver):
    paid = _paid_intent(payment_method="pm_card_visa", confirm=True)
    while True:  # events from earlier tests may still arrive here: skip to ours
        signature, body = webhook_receiver.get(timeout=10)
        if json.loads(body)["data"]["object"]["id"] == paid.id:
            break
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_someone_else")


def test_tests_can_sign_their_own_webhooks():
    """For the app under httpx's ASGI transport (no real port): build and sign the body here."""
    from tests.stripe_server import sign_webhook, webhook_event

    body = webhook_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "status": "succeeded"})
    header = sign_webhook(body, WEBHOOK_SECRET, timestamp=1_800_000_000)
    assert header == stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET, 1_800_000_000)
    event = stripe.Webhook.construct_event(body, sign_webhook(body, WEBHOOK_SECRET), WEBHOOK_SECRET)
    assert (event.type, event.data.object.id) == ("payment_intent.succeeded", "pi_x")
    # Signatures older than 300 s are refused: keep real time (time-machine) around this call.
    stale = sign_webhook(body, WEBHOOK_SECRET, timestamp=1_500_000_000)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, stale, WEBHOOK_SECRET)
