"""Stripe, as the events context uses it: PaymentIntents in CNY, their cancellation, refunds
read back from the Refund object, and webhook signatures (DESIGN.md, "Decisions": PaymentIntents,
not Checkout Sessions; each event handled once, deduplicated in our database).

Only this module imports `stripe`; the services get a `Gateway` (or None when no key is set,
and then paid events refuse signups with a clear message)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import stripe

from loyalty.i18n import _, _n
from loyalty.errors import DomainError
from loyalty.settings import Settings

log = logging.getLogger("loyalty.events.stripe")


class PaymentProviderError(DomainError):
    type = "payment-provider-error"
    status = 502
    title = _("The payment provider did not answer as expected; please try again")


class WebhookSignatureInvalid(DomainError):
    type = "webhook-signature-invalid"
    status = 400
    title = _("The webhook's signature does not verify")


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount_fen: int


class Gateway:
    def __init__(
        self, api_key: str, webhook_secret: str | None, api_base: str | None = None, *, webhook_tolerance_seconds: int = 300,
        payment_methods: tuple[str, ...] = ("card",),
    ) -> None:
        bases = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            api_key, base_addresses=bases or {}, max_network_retries=2, http_client=stripe.HTTPXClient()
        )
        self._webhook_secret = webhook_secret
        self._webhook_tolerance = webhook_tolerance_seconds
        self._payment_methods = payment_methods

    async def create_intent(self, *, payment_id: int, amount_fen: int, member_id: int, description: str) -> Intent:
        """A PaymentIntent for `amount_fen` in CNY, named by our payment id (metadata and the
        idempotency key, so a retried request never charges twice where Stripe honours it)."""
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params={
                    "amount": amount_fen,
                    "currency": "cny",
                    **payment_method_params(self._payment_methods),
                    "metadata": {"payment_id": str(payment_id), "member_id": str(member_id), "for": description[:200]},
                },
                options={"idempotency_key": f"owner-club-payment-{payment_id}"},
            )
        except stripe.StripeError as error:
            log.warning("stripe: creating the intent for payment %s failed: %s", payment_id, error)
            # Stripe's own words (in the log above) are for us; the owner hears what to do.
            raise PaymentProviderError(_("The payment could not be prepared just now; please try again in a moment")) from None
        return Intent(id=intent.id, client_secret=intent.client_secret or "", status=intent.status)

    async def cancel_intent(self, intent_id: str) -> None:
        """Best effort: an unpaid intent whose seat was released can no longer be paid."""
        try:
            await self._client.v1.payment_intents.cancel_async(intent_id)
        except stripe.StripeError as error:
            log.warning("stripe: cancelling %s failed (left to expire): %s", intent_id, error)

    async def refund(self, *, intent_id: str, amount_fen: int, signup_id: int) -> RefundResult:
        try:
            refund = await self._client.v1.refunds.create_async(
                params={"payment_intent": intent_id, "amount": amount_fen, "metadata": {"signup_id": str(signup_id)}},
                options={"idempotency_key": f"owner-club-refund-{signup_id}"},
            )
            # The refund's state is read back from the Refund object, not from a webhook.
            refund = await self._client.v1.refunds.retrieve_async(refund.id)
        except stripe.StripeError as error:
            log.warning("stripe: refund of signup %s failed: %s", signup_id, error)
            return RefundResult(id="", status="failed", amount_fen=0)
        return RefundResult(id=refund.id, status=refund.status or "", amount_fen=int(refund.amount or 0))

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, if the signature verifies with our webhook secret and was made within the
        tolerance of now, in the past or the future; else a 400."""
        if not self._webhook_secret:
            raise WebhookSignatureInvalid(_("No webhook secret is configured here (`STRIPE_WEBHOOK_SECRET`)"))
        if not signature:
            raise WebhookSignatureInvalid(_("The `Stripe-Signature` header is missing"))
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret, tolerance=self._webhook_tolerance)
        except stripe.SignatureVerificationError as error:
            if "tolerance" in str(error):  # stripe-python's words for a timestamp too old
                raise WebhookSignatureInvalid(self._too_far(int(time.time()) - _signed_at(signature))) from None
            raise WebhookSignatureInvalid(_("The `Stripe-Signature` header does not match this body and our webhook secret")) from None
        except ValueError:
            raise WebhookSignatureInvalid(_("The body is not valid JSON")) from None
        # Stripe's library only refuses old timestamps; a signature dated ahead would stay
        # replayable until that future moment had passed by the tolerance.
        ahead = _signed_at(signature or "") - time.time()
        if ahead > self._webhook_tolerance:
            raise WebhookSignatureInvalid(self._too_far(-int(ahead)))
        return event.to_dict()

    def _too_far(self, seconds_old: int) -> Any:
        """Why a signature dated too far from now is refused (old, or from the future)."""
        if seconds_old >= 0:
            return _n(
                "The signature is {count} second old; at most {tolerance} seconds are allowed",
                "The signature is {count} seconds old; at most {tolerance} seconds are allowed",
                seconds_old, tolerance=self._webhook_tolerance,
            )
        return _n(
            "The signature is dated {count} second ahead of our clock; at most {tolerance} seconds are allowed",
            "The signature is dated {count} seconds ahead of our clock; at most {tolerance} seconds are allowed",
            -seconds_old, tolerance=self._webhook_tolerance,
        )


def payment_method_params(methods: tuple[str, ...]) -> dict[str, Any]:
    """The PaymentIntent's payment methods: WeChat Pay needs to know where its QR code is shown
    (`client: web`: Stripe.js draws it on our page)."""
    params: dict[str, Any] = {"payment_method_types": list(methods)}
    if "wechat_pay" in methods:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return params


def _signed_at(header: str) -> int:
    """The `t=` of a Stripe-Signature header, read as stripe-python reads it (the first one);
    only called once the header has verified, so it is there and is a number."""
    return int(next(value for key, _, value in (item.partition("=") for item in header.split(",")) if key == "t"))


@lru_cache(maxsize=8)
def _gateway(
    api_key: str, webhook_secret: str | None, api_base: str | None, webhook_tolerance_seconds: int, payment_methods: tuple[str, ...]
) -> Gateway:
    return Gateway(
        api_key, webhook_secret, api_base, webhook_tolerance_seconds=webhook_tolerance_seconds, payment_methods=payment_methods
    )


def gateway_for(settings: Settings) -> Gateway | None:
    """The gateway for these settings, or None when Stripe is not configured."""
    if not settings.stripe_api_key:
        return None
    return _gateway(
        settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_base,
        settings.stripe_webhook_tolerance_seconds, settings.stripe_payment_methods,
    )
