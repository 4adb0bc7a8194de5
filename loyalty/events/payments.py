"""Paying for seats: a payment row for held seats, its Stripe PaymentIntent (`open_payment`,
and its job), refunds (and the job retrying failed ones), and Stripe's answers confirmed by
the webhook. Calls to Stripe happen after the transaction that decided them has committed.

The hold (how long an unpaid seat is kept) counts from the moment the owner can pay, that is
once the payment's PaymentIntent exists; see `open_payment` and `waitlist.release_unpaid`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from loyalty import clock, jobs
from loyalty.events import capacity
from loyalty.events.stripe_gateway import Gateway, PaymentProviderError, gateway_for
from loyalty.events.tables import Event, Payment, Signup

log = logging.getLogger("loyalty.events")


async def new_payment(member_id: int, unpaid: Sequence[Mapping[str, Any]]) -> int:
    rows = await Payment.insert(
        Payment(member=member_id, amount_fen=sum(signup["fee_fen"] for signup in unpaid))
    ).returning(Payment.id)
    await Signup.update({Signup.payment: rows[0]["id"]}).where(Signup.id.is_in([signup["id"] for signup in unpaid]))
    return rows[0]["id"]


async def open_payment(payment_id: int, gateway: Gateway, *, hold_minutes: int) -> None:
    """Create the payment's PaymentIntent (once: a payment that has one keeps it) and start
    the hold of its seats that were waiting for it: the owner gets `hold_minutes` from the
    moment they can pay. Raises PaymentProviderError when Stripe does not create it."""
    payment = await Payment.select().where(Payment.id == payment_id).first()
    if payment is None or payment["status"] != "requires_payment":
        return
    if not payment["stripe_intent_id"]:
        titles = await Event.select(Event.title_zh).where(
            Event.id.is_in(Signup.select(Signup.event).where(Signup.payment == payment_id))
        )
        intent = await gateway.create_intent(
            payment_id=payment_id, amount_fen=payment["amount_fen"], member_id=payment["member"],
            description=" / ".join(row["title_zh"] for row in titles),
        )
        stored = await Payment.update({Payment.stripe_intent_id: intent.id, Payment.client_secret: intent.client_secret}).where(
            (Payment.id == payment_id) & (Payment.stripe_intent_id == "") & (Payment.status == "requires_payment")
        ).returning(Payment.id)
        if not stored:
            await _drop_if_superseded(payment_id, intent.id, gateway)
            return
    # Also when the intent was already there: a run that stored it and stopped before this
    # line must not leave the seat waiting without a hold for ever.
    await Signup.update({Signup.hold_expires_at: clock.now() + timedelta(minutes=hold_minutes)}).where(
        (Signup.payment == payment_id) & (Signup.status == "pending_payment") & Signup.hold_expires_at.is_null()
    )


async def _drop_if_superseded(payment_id: int, intent_id: str, gateway: Gateway) -> None:
    """Another run opened the payment first (the promotion's job and `release_unpaid` can
    overlap), or it was cancelled meanwhile. Stripe answers both runs with the same intent
    (one idempotency key per payment); should it ever have made a second one, that one is
    cancelled, so only the intent the owner is shown can take money."""
    row = await Payment.select(Payment.stripe_intent_id).where(Payment.id == payment_id).first()
    if row is None or row["stripe_intent_id"] != intent_id:
        log.warning("stripe: intent %s for payment %s is not the one kept; cancelling it", intent_id, payment_id)
        await gateway.cancel_intent(intent_id)


async def open_payment_job(payment_id: int) -> None:
    """The job form, for seats that a promotion holds: Stripe is called outside the request.
    If this job is lost (broker down) or Stripe does not answer, `release_unpaid` opens the
    payment within a minute of Stripe answering again, and the seat is kept until then."""
    settings = jobs.current_settings()
    gateway = gateway_for(settings)
    if gateway is None:
        log.warning("payment %s needs Stripe, which is not configured; its seat waits (at most until the event starts)", payment_id)
        return
    try:
        await open_payment(payment_id, gateway, hold_minutes=settings.payment_hold_minutes)
    except PaymentProviderError:
        log.warning("payment %s not opened (Stripe did not answer); release_unpaid tries again every minute", payment_id)


async def cancel_unneeded_intent(payment_id: int) -> None:
    if await Signup.exists().where((Signup.payment == payment_id) & (Signup.status == "pending_payment")):
        return
    rows = await Payment.update({Payment.status: "cancelled"}).where(
        (Payment.id == payment_id) & Payment.status.is_in(["requires_payment", "failed"])
    ).returning(Payment.stripe_intent_id)
    gateway = gateway_for(jobs.current_settings())
    if rows and rows[0]["stripe_intent_id"] and gateway is not None:
        await gateway.cancel_intent(rows[0]["stripe_intent_id"])


async def refund_signup(signup_id: int, gateway: Gateway | None) -> None:
    """Refund a cancelled, paid signup's fee in full (once: a signup with a refund keeps it)."""
    signup = await Signup.select().where(Signup.id == signup_id).first()
    if signup is None or signup["payment"] is None or signup["stripe_refund_id"] or signup["fee_fen"] <= 0:
        return
    payment = await Payment.select().where(Payment.id == signup["payment"]).first()
    if payment is None or payment["status"] != "succeeded":
        return
    if gateway is None:
        await Signup.update({Signup.refund_status: "failed"}).where(Signup.id == signup_id)
        log.warning("signup %s needs a refund but Stripe is not configured", signup_id)
        return
    result = await gateway.refund(intent_id=payment["stripe_intent_id"], amount_fen=signup["fee_fen"], signup_id=signup_id)
    await Signup.update(
        {Signup.stripe_refund_id: result.id, Signup.refund_status: result.status, Signup.refund_fen: result.amount_fen}
    ).where(Signup.id == signup_id)


async def retry_failed_refunds() -> int:
    """The job (every 15 minutes): refunds that failed (Stripe down, or not configured at the
    time) are tried again until Stripe takes them; the idempotency key per signup keeps a
    retry from refunding twice. Returns how many succeeded now."""
    gateway = gateway_for(jobs.current_settings())
    if gateway is None:
        return 0
    due = await Signup.select(Signup.id).where(
        (Signup.status == "cancelled") & (Signup.refund_status == "failed") & (Signup.stripe_refund_id == "")
    ).order_by(Signup.id)
    done = 0
    for row in due:
        await refund_signup(row["id"], gateway)
        after = await Signup.select(Signup.refund_status).where(Signup.id == row["id"]).first()
        done += after is not None and after["refund_status"] == "succeeded"
    return done


# --- Stripe's answers ----------------------------------------------------------------------


async def payment_succeeded(intent_id: str, now: datetime | None = None) -> list[int]:
    """Inside the webhook's transaction: the payment's held seats are confirmed. A seat
    released meanwhile (the hold ended before the money came) is taken again if one is free;
    otherwise that signup is refunded. Returns the signup ids to refund after commit."""
    now = now or clock.now()
    payment = await Payment.select().where(Payment.stripe_intent_id == intent_id).first()
    if payment is None:
        log.warning("stripe: a payment succeeded for unknown intent %s", intent_id)
        return []
    await Payment.update({Payment.status: "succeeded", Payment.succeeded_at: now, Payment.last_error: ""}).where(
        Payment.id == payment["id"]
    )
    to_refund = []
    for signup in await Signup.select().where(Signup.payment == payment["id"]):
        if signup["status"] == "pending_payment":
            await Signup.update({Signup.status: "confirmed", Signup.confirmed_at: now, Signup.hold_expires_at: None}).where(
                Signup.id == signup["id"]
            )
        elif signup["status"] == "cancelled" and signup["cancel_reason"] == "hold_expired":
            # Taken again only while the event still runs and the owner has no other live
            # signup for it (they may have signed up again meanwhile: one live per member).
            retake = await Event.exists().where(
                (Event.id == signup["event"]) & (Event.status == "published")
            ) and not await Signup.exists().where(
                (Signup.event == signup["event"]) & (Signup.member == signup["member"]) & (Signup.status != "cancelled")
            )
            if retake and await capacity.take_seats(signup["event"], signup["party_size"]):
                await Signup.update(
                    {Signup.status: "confirmed", Signup.confirmed_at: now, Signup.cancelled_at: None, Signup.cancel_reason: ""}
                ).where(Signup.id == signup["id"])
            else:
                to_refund.append(signup["id"])
        elif signup["status"] == "cancelled":
            to_refund.append(signup["id"])  # cancelled by the member before the money came
    return to_refund


async def payment_failed(intent_id: str, message: str) -> None:
    """The card was declined: the seat stays held until the hold ends, so the owner can try
    another card (a later decline replaces the earlier error)."""
    await Payment.update({Payment.status: "failed", Payment.last_error: message[:200]}).where(
        (Payment.stripe_intent_id == intent_id) & Payment.status.is_in(["requires_payment", "failed"])
    )
