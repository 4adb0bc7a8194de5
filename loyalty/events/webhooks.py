"""Stripe's webhook: signature verified, each event id handled once (a unique row written in
the same transaction as its effects, so an event whose handling failed is handled again when
Stripe retries it), refunds made after that transaction commits."""

from __future__ import annotations

from typing import Any

from loyalty import clock, db
from loyalty.events import payments
from loyalty.events.stripe_gateway import Gateway, WebhookSignatureInvalid
from loyalty.i18n import _

HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed")


async def handle(payload: bytes, signature: str | None, gateway: Gateway | None) -> str:
    """→ "handled", "duplicate" or "ignored" (an event type we do not act on)."""
    if gateway is None:
        raise WebhookSignatureInvalid(_("Stripe is not configured here"))
    event: dict[str, Any] = gateway.verify_webhook(payload, signature)
    event_id, kind = str(event.get("id", "")), str(event.get("type", ""))
    if not event_id:
        raise WebhookSignatureInvalid(_("The Stripe event has no ID"))
    to_refund: list[int] = []
    async with db.transaction():
        inserted = await db.fetch(
            "INSERT INTO stripe_event (event_id, type, received_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            event_id, kind[:64], clock.now(),
        )
        if not inserted:
            return "duplicate"
        if kind not in HANDLED:
            return "ignored"
        intent = (event.get("data") or {}).get("object") or {}
        if kind == "payment_intent.succeeded":
            to_refund = await payments.payment_succeeded(str(intent.get("id", "")))
        else:
            error = intent.get("last_payment_error") or {}
            await payments.payment_failed(str(intent.get("id", "")), str(error.get("message") or "declined"))
    for signup_id in to_refund:
        await payments.refund_signup(signup_id, gateway)
    return "handled"

