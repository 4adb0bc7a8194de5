"""Seats coming free and the waitlist: promotion (waitlisted signups take freed seats, in
signup order), releasing seats held for unpaid signups, and `release_unpaid`, the job that
opens the payments promotions could not open and ends holds that ran out.

The hold (the owner's time to pay) starts when the payment's PaymentIntent exists; see
`payments.open_payment`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from loyalty import clock, db, jobs
from loyalty.events import capacity
from loyalty.events.payments import cancel_unneeded_intent, new_payment, open_payment
from loyalty.events.stripe_gateway import PaymentProviderError, gateway_for
from loyalty.events.tables import Event, Signup
from loyalty.i18n.format import datetime as written_datetime
from loyalty.labels import label

log = logging.getLogger("loyalty.events")


@dataclass(frozen=True)
class Promotion:
    """What a freed seat set in motion, to be done once its transaction has committed."""

    notices: Sequence[int] = ()
    payments: Sequence[int] = ()


async def promote(event_id: int, now: datetime, hold_minutes: int) -> Promotion:
    """Inside the transaction that freed seats: waitlisted signups take them in signup order
    (a party too large for what is free is passed over, not blocking those behind it). Free
    events confirm at once; paid ones hold the seat for `hold_minutes` from when the owner can
    pay (`open_payment` starts the hold). Once the event has started nobody is promoted: a seat
    then is of no use, and the owner would be asked to pay for an event under way."""
    from loyalty.care import outbox as care
    from loyalty.members.tables import Member

    event = await Event.select().where(Event.id == event_id).first()
    if event is None or event["status"] != "published" or event["starts_at"] <= now:
        return Promotion()
    waiting = await Signup.select().where((Signup.event == event_id) & (Signup.status == "waitlisted")).order_by(Signup.id)
    notices: list[int] = []
    payments: list[int] = []
    for signup in waiting:
        if event["seats_taken"] >= event["capacity"]:
            break
        if not await capacity.take_seats(event_id, signup["party_size"]):
            continue
        paid = signup["fee_fen"] > 0
        promoted = await Signup.update(
            {
                Signup.status: "pending_payment" if paid else "confirmed",
                # No hold yet for a paid seat: it starts when the PaymentIntent exists, so a
                # lost job or Stripe being down never eats into the owner's time to pay.
                Signup.hold_expires_at: None,
                Signup.confirmed_at: None if paid else now,
            }
        ).where((Signup.id == signup["id"]) & (Signup.status == "waitlisted")).returning(Signup.id)
        if not promoted:  # left the waitlist since we read it: the seat goes back
            await capacity.free_seats(event_id, signup["party_size"])
            continue
        event["seats_taken"] += signup["party_size"]
        if paid:
            payments.append(await new_payment(signup["member"], [signup]))
        member = await Member.select(Member.phone, Member.language).where(Member.id == signup["member"]).first()
        if member is not None:
            language = member["language"] or "zh-CN"
            title = event["title_zh"] if language == "zh-CN" or not event["title_en"] else event["title_en"]
            body = (
                label("notice.promoted_pay", language, title=title, minutes=hold_minutes)
                if paid
                else label("notice.promoted", language, title=title, at=written_datetime(event["starts_at"], language))
            )
            notices.append(
                await care.queue_message(
                    kind="event_update", member_id=signup["member"],
                    channel_name="log", recipient=member["phone"], template="event_promoted", language=language,
                    body=body, payload={"event_id": event_id, "signup_id": signup["id"], "pay": paid},
                )
            )
    return Promotion(notices=notices, payments=payments)


async def after_commit(promotion: Promotion) -> None:
    for message_id in promotion.notices:
        if message_id is not None:
            await jobs.enqueue("loyalty.care.deliver_message", message_id)
    for payment_id in promotion.payments:
        await jobs.enqueue("loyalty.events.open_payment", payment_id)


async def _hold_minutes() -> int:
    return jobs.current_settings().payment_hold_minutes


async def release(signup_ids: Sequence[int], reason: str, now: datetime, *, still: Any = None) -> int:
    """Cancel unpaid signups and give their seats to the waitlist; then cancel the Stripe
    intents no live signup needs any more. `still`: a condition each signup must still meet
    (it was read outside this transaction). Returns how many were released."""
    released, promotions, payments = 0, [], set()
    for signup_id in signup_ids:
        async with db.transaction():
            condition = (Signup.id == signup_id) & (Signup.status == "pending_payment")
            if still is not None:
                condition &= still
            rows = await Signup.update(
                {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: reason}
            ).where(condition).returning(Signup.event, Signup.party_size, Signup.payment)
            if not rows:
                continue
            released += 1
            await capacity.free_seats(rows[0]["event"], rows[0]["party_size"])
            promotions.append(await promote(rows[0]["event"], now, await _hold_minutes()))
            if rows[0]["payment"] is not None:
                payments.add(rows[0]["payment"])
    for payment_id in payments:
        await cancel_unneeded_intent(payment_id)
    for promotion in promotions:
        await after_commit(promotion)
    return released


async def release_unpaid(now: datetime | None = None) -> int:
    """The job (every minute): payments that a promotion could not open (the job was lost, or
    Stripe did not answer) are opened, which starts their hold; seats held longer than the
    hold for unpaid signups go back; a seat still waiting for its payment when the event
    starts goes back then. Returns how many seats went back."""
    now = now or clock.now()
    too_late = await Signup.select(Signup.id).where(_waiting_for_intent() & _of_events(Event.starts_at <= now))
    released = await release([row["id"] for row in too_late], "payment_setup_failed", now, still=Signup.hold_expires_at.is_null())
    await _open_waiting_payments(now)
    due = await Signup.select(Signup.id).where((Signup.status == "pending_payment") & (Signup.hold_expires_at <= now))
    return released + await release([row["id"] for row in due], "hold_expired", now, still=Signup.hold_expires_at <= now)


def _waiting_for_intent() -> Any:
    # A pending payment with no hold yet: only a promotion leaves one so (`promote`).
    return (Signup.status == "pending_payment") & Signup.hold_expires_at.is_null() & Signup.payment.is_not_null()


def _of_events(where: Any) -> Any:
    return Signup.event.is_in(Event.select(Event.id).where(where))


async def _open_waiting_payments(now: datetime) -> int:
    """Open (and so start the hold of) the payments of promoted seats that have none yet; one
    Stripe failure does not stop the others. Returns how many Stripe answered for.

    Rule: a promoted owner keeps the seat until they can pay, and then gets the full hold.
    While the intent cannot be created nobody can pay for that seat (the owners behind on the
    waitlist could not pay either), so passing it on would only use up their turns; the
    event's start is the limit (`release_unpaid`). Stripe's idempotency key per payment makes
    a retry return the intent an earlier, unanswered try may have created."""
    settings = jobs.current_settings()
    due = await Signup.select(Signup.payment).where(_waiting_for_intent() & _of_events(Event.starts_at > now)).order_by(Signup.id)
    payment_ids = list(dict.fromkeys(row["payment"] for row in due))
    if not payment_ids:
        return 0
    gateway = gateway_for(settings)
    if gateway is None:
        log.warning("%d promoted seat(s) wait for Stripe, which is not configured", len(payment_ids))
        return 0
    opened = 0
    for payment_id in payment_ids:
        try:
            await open_payment(payment_id, gateway, hold_minutes=settings.payment_hold_minutes)
        except PaymentProviderError:
            continue  # logged by the gateway; tried again next minute, the seat still kept
        opened += 1
    return opened
