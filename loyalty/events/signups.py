"""Signing up for events and programs, cancelling, the waitlist, seats held for unpaid signups,
payments confirmed by Stripe's webhook, and no-shows.

Seats only move by `_take_seats` / `_free_seats`, conditional UPDATEs of the event row: under
concurrent signups the row lock queues them and each re-checks the capacity it sees, so
capacity is never exceeded (PostgreSQL); SQLite's write transaction runs them one at a time.
Calls to Stripe happen after the transaction that decided them has committed.

The hold (how long an unpaid seat is kept) counts from the moment the owner can pay, that is
once the payment's PaymentIntent exists; see `open_payment` and `release_unpaid`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from loyalty import clock, db, jobs
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events import rules
from loyalty.events.rules import MemberFacts
from loyalty.events.stripe_gateway import Gateway, PaymentProviderError, gateway_for
from loyalty.events.tables import HOLDING, Event, Payment, Program, Signup
from loyalty.labels import label
from loyalty.settings import Settings

log = logging.getLogger("loyalty.events")


class EventFull(DomainError):
    type = "event-full"
    status = 409
    title_en = "The event is full: you can join the waitlist"
    title_zh = "名额已满，可加入候补"


class AlreadySignedUp(DomainError):
    type = "already-signed-up"
    status = 409
    title_en = "You have already signed up for this event"
    title_zh = "您已报名本活动"


class PaymentsUnavailable(DomainError):
    type = "payments-unavailable"
    status = 422
    title_en = "Online payment is not available; paid events cannot take signups here (free events can)"
    title_zh = "暂不支持在线支付，收费活动无法在线报名（免费活动不受影响）"


class CancelDeadlinePassed(DomainError):
    type = "cancel-deadline-passed"
    status = 409
    title_en = "The cancellation deadline has passed; please contact customer service"
    title_zh = "已过取消截止时间，请联系客服"


class SignupNotCancellable(DomainError):
    type = "signup-not-cancellable"
    status = 409
    title_en = "This signup can no longer be cancelled"
    title_zh = "该报名已无法取消"


# --- who is signing up ------------------------------------------------------------------------

_FACTS_SQL = (
    "SELECT member.id, member.stage, member.language, "
    "(SELECT card.tier FROM card WHERE card.member = member.id AND card.status <> 'replaced') AS tier "
    "FROM member WHERE member.id = {}"
)
_PROJECTS_SQL = (
    "SELECT DISTINCT unit.project FROM ownership JOIN unit ON unit.id = ownership.unit "
    "WHERE ownership.member = {} AND ownership.status = 'active'"
)


async def member_facts(member_id: int, language: str | None = None) -> MemberFacts:
    rows = await db.fetch(_FACTS_SQL, member_id)
    if not rows:
        raise NotFound(f"member {member_id} does not exist")
    projects = await db.fetch(_PROJECTS_SQL, member_id)
    row = rows[0]
    return MemberFacts(
        member_id=member_id,
        tier=row["tier"],
        stage=row["stage"],
        project_ids=frozenset(int(p["project"]) for p in projects),
        language=language or row["language"] or "zh-CN",
    )


async def visible_event(event_id: int) -> dict[str, Any]:
    """An event members can see (published or cancelled; drafts are staff-only)."""
    event = await Event.select().where((Event.id == event_id) & (Event.status != "draft")).first()
    if event is None:
        raise NotFound(f"no event {event_id}")
    return event


async def project_names(event: Mapping[str, Any]) -> dict[int, str]:
    from loyalty.members.tables import Project

    ids = [int(p) for p in rules.split(event["eligible_projects"])]
    if not ids:
        return {}
    return {row["id"]: row["name"] for row in await Project.select(Project.id, Project.name).where(Project.id.is_in(ids))}


# --- seats ---------------------------------------------------------------------------------


async def _take_seats(event_id: int, seats: int) -> bool:
    rows = await db.fetch(
        "UPDATE event SET seats_taken = seats_taken + {} WHERE id = {} AND seats_taken + {} <= capacity RETURNING id",
        seats, event_id, seats,
    )
    return bool(rows)


async def _free_seats(event_id: int, seats: int) -> None:
    await db.fetch("UPDATE event SET seats_taken = seats_taken - {} WHERE id = {} RETURNING id", seats, event_id)


# --- signing up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """What a freed seat set in motion, to be done once its transaction has committed."""

    notices: Sequence[int] = ()
    payments: Sequence[int] = ()


async def _place(
    event: Mapping[str, Any], member: MemberFacts, party_size: int, join_waitlist: bool, now: datetime, hold_until: datetime
) -> dict[str, Any]:
    """Inside the signup's transaction: a seat (confirmed, or held until paid) or a place on
    the waitlist."""
    if await Signup.exists().where(
        (Signup.event == event["id"]) & (Signup.member == member.member_id) & (Signup.status != "cancelled")
    ):
        raise AlreadySignedUp(f"already signed up for event {event['id']}", event_id=event["id"])
    fee = rules.fee_per_person(event, member.tier) * party_size
    taken = await _take_seats(event["id"], party_size)
    if not taken and join_waitlist and db.is_postgres():
        # A refused UPDATE locks nothing: hold the event row until this waitlist place commits,
        # so a cancellation freeing seats meanwhile waits for it and promotes it (rather than
        # looking at the waitlist before it is there); with the row held, look at the seats again.
        await db.fetch("SELECT id FROM event WHERE id = {} FOR UPDATE", event["id"])
        taken = await _take_seats(event["id"], party_size)
    if taken:
        status = "pending_payment" if fee else "confirmed"
    elif join_waitlist:
        status = "waitlisted"
    else:
        left = max(event["capacity"] - event["seats_taken"], 0)
        raise EventFull(f"{left} seat(s) left for a party of {party_size}", event_id=event["id"], waitlist=True)
    rows = await Signup.insert(
        Signup(
            event=event["id"], member=member.member_id, party_size=party_size, status=status, fee_fen=fee,
            hold_expires_at=hold_until if status == "pending_payment" else None,
            confirmed_at=now if status == "confirmed" else None, created_at=now,
        )
    ).returning(*Signup.all_columns())
    return rows[0]


async def sign_up(
    member_id: int, event_id: int, *, settings: Settings, party_size: int = 1, join_waitlist: bool = False,
    now: datetime | None = None, language: str | None = None,
) -> list[int]:
    """Sign a member (and family) up for one event; returns the signup ids."""
    return await _sign_up(member_id, [await visible_event(event_id)], settings, party_size, join_waitlist, now, language)


async def sign_up_program(
    member_id: int, program_id: int, *, settings: Settings, event_ids: Sequence[int] | None = None, party_size: int = 1,
    join_waitlist: bool = False, now: datetime | None = None, language: str | None = None,
) -> list[int]:
    """Sign up for a whole program, or for the chosen sessions of it: all the sessions are
    judged first (one refusal refuses all); then each gets a seat or a waitlist place; the
    fees due are one payment."""
    if not await Program.exists().where((Program.id == program_id) & (Program.status != "draft")):
        raise NotFound(f"no program {program_id}")
    sessions = await Event.select().where((Event.program == program_id) & (Event.status == "published")).order_by(Event.starts_at)
    if event_ids is not None:
        chosen = set(event_ids)
        unknown = chosen - {session["id"] for session in sessions}
        if unknown or not chosen:
            raise InvalidField(f"not sessions of program {program_id}: {sorted(unknown)}", field="event_ids")
        sessions = [session for session in sessions if session["id"] in chosen]
    now = now or clock.now()
    # Sessions already over are not offered as part of "the whole program".
    sessions = [session for session in sessions if event_ids is not None or session["signup_closes_at"] > now]
    if not sessions:
        raise InvalidField("the program has no session open for sign-up", field="event_ids")
    return await _sign_up(member_id, sessions, settings, party_size, join_waitlist, now, language)


async def _sign_up(
    member_id: int, events: list[dict[str, Any]], settings: Settings, party_size: int, join_waitlist: bool,
    now: datetime | None, language: str | None,
) -> list[int]:
    now = now or clock.now()
    facts = await member_facts(member_id, language)
    gateway = gateway_for(settings)
    for event in events:
        problem = rules.refusal(event, facts, now, await project_names(event))
        if problem is not None:
            raise problem
        rules.check_party(event, party_size)
        if rules.fee_per_person(event, facts.tier) and gateway is None:
            raise PaymentsUnavailable(label("why_not.payments", facts.language))
    hold_until = now + timedelta(minutes=settings.payment_hold_minutes)
    payment_id = None
    try:
        async with db.transaction():
            placed = [await _place(event, facts, party_size, join_waitlist, now, hold_until) for event in events]
            unpaid = [signup for signup in placed if signup["status"] == "pending_payment"]
            if unpaid:
                payment_id = await _new_payment(member_id, unpaid)
    except Exception as error:
        if db.is_unique_violation(error):  # a concurrent signup of the same member won
            raise AlreadySignedUp() from None
        raise
    if payment_id is not None:
        assert gateway is not None
        try:
            await open_payment(payment_id, gateway, hold_minutes=settings.payment_hold_minutes)
        except PaymentProviderError:
            await _release([signup["id"] for signup in unpaid], "payment_setup_failed", now)
            raise
    return [signup["id"] for signup in placed]


async def _new_payment(member_id: int, unpaid: Sequence[Mapping[str, Any]]) -> int:
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


# --- the waitlist --------------------------------------------------------------------------


async def _promote(event_id: int, now: datetime, hold_minutes: int) -> Promotion:
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
        if not await _take_seats(event_id, signup["party_size"]):
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
            await _free_seats(event_id, signup["party_size"])
            continue
        event["seats_taken"] += signup["party_size"]
        if paid:
            payments.append(await _new_payment(signup["member"], [signup]))
        member = await Member.select(Member.phone, Member.language).where(Member.id == signup["member"]).first()
        if member is not None:
            language = member["language"] or "zh-CN"
            title = event["title_zh"] if language == "zh-CN" or not event["title_en"] else event["title_en"]
            body = (
                label("notice.promoted_pay", language, title=title, minutes=hold_minutes)
                if paid
                else label("notice.promoted", language, title=title, at=event["starts_at"].astimezone(clock.LOCAL_ZONE).strftime("%Y-%m-%d %H:%M"))
            )
            notices.append(
                await care.queue_message(
                    kind="event_update", member_id=signup["member"],
                    channel_name="log", recipient=member["phone"], template="event_promoted", language=language,
                    body=body, payload={"event_id": event_id, "signup_id": signup["id"], "pay": paid},
                )
            )
    return Promotion(notices=notices, payments=payments)


async def _after(promotion: Promotion) -> None:
    for message_id in promotion.notices:
        if message_id is not None:
            await jobs.enqueue("loyalty.care.deliver_message", message_id)
    for payment_id in promotion.payments:
        await jobs.enqueue("loyalty.events.open_payment", payment_id)


async def _hold_minutes() -> int:
    return jobs.current_settings().payment_hold_minutes


async def _release(signup_ids: Sequence[int], reason: str, now: datetime, *, still: Any = None) -> int:
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
            await _free_seats(rows[0]["event"], rows[0]["party_size"])
            promotions.append(await _promote(rows[0]["event"], now, await _hold_minutes()))
            if rows[0]["payment"] is not None:
                payments.add(rows[0]["payment"])
    for payment_id in payments:
        await cancel_unneeded_intent(payment_id)
    for promotion in promotions:
        await _after(promotion)
    return released


async def cancel_unneeded_intent(payment_id: int) -> None:
    if await Signup.exists().where((Signup.payment == payment_id) & (Signup.status == "pending_payment")):
        return
    rows = await Payment.update({Payment.status: "cancelled"}).where(
        (Payment.id == payment_id) & Payment.status.is_in(["requires_payment", "failed"])
    ).returning(Payment.stripe_intent_id)
    gateway = gateway_for(jobs.current_settings())
    if rows and rows[0]["stripe_intent_id"] and gateway is not None:
        await gateway.cancel_intent(rows[0]["stripe_intent_id"])


async def release_unpaid(now: datetime | None = None) -> int:
    """The job (every minute): payments that a promotion could not open (the job was lost, or
    Stripe did not answer) are opened, which starts their hold; seats held longer than the
    hold for unpaid signups go back; a seat still waiting for its payment when the event
    starts goes back then. Returns how many seats went back."""
    now = now or clock.now()
    too_late = await Signup.select(Signup.id).where(_waiting_for_intent() & _of_events(Event.starts_at <= now))
    released = await _release([row["id"] for row in too_late], "payment_setup_failed", now, still=Signup.hold_expires_at.is_null())
    await _open_waiting_payments(now)
    due = await Signup.select(Signup.id).where((Signup.status == "pending_payment") & (Signup.hold_expires_at <= now))
    return released + await _release([row["id"] for row in due], "hold_expired", now, still=Signup.hold_expires_at <= now)


def _waiting_for_intent() -> Any:
    # A pending payment with no hold yet: only a promotion leaves one so (`_promote`).
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


async def mark_no_shows(now: datetime | None = None) -> int:
    """The job (after events end): confirmed signups nobody checked in become no-shows."""
    now = now or clock.now()
    async with db.transaction():
        rows = await Signup.update({Signup.status: "no_show"}).where(
            (Signup.status == "confirmed") & Signup.event.is_in(Event.select(Event.id).where(Event.ends_at <= now))
        ).returning(Signup.id, Signup.event, Signup.party_size)
        for row in rows:  # a no-show holds no seat (`seats_taken` counts HOLDING signups only)
            await _free_seats(row["event"], row["party_size"])
    return len(rows)


# --- cancelling ----------------------------------------------------------------------------


async def cancel(member_id: int, signup_id: int, *, settings: Settings, now: datetime | None = None) -> None:
    """The member cancels: a held seat goes to the waitlist; a paid seat is refunded in full
    through Stripe (before the deadline; after it, customer service decides)."""
    now = now or clock.now()
    signup = await Signup.select().where((Signup.id == signup_id) & (Signup.member == member_id)).first()
    if signup is None:
        raise NotFound(f"no signup {signup_id}")
    if signup["status"] not in ("pending_payment", "confirmed", "waitlisted"):
        raise SignupNotCancellable(f"the signup is {signup['status']}", status_now=signup["status"])
    event = await Event.select(Event.cancel_deadline).where(Event.id == signup["event"]).first()
    if signup["status"] != "waitlisted" and now >= event["cancel_deadline"]:
        raise CancelDeadlinePassed(deadline=event["cancel_deadline"].isoformat())
    promotion = Promotion()
    async with db.transaction():
        rows = await Signup.update(
            {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: "member"}
        ).where((Signup.id == signup_id) & (Signup.status == signup["status"])).returning(Signup.id)
        if not rows:
            raise SignupNotCancellable("the signup changed meanwhile; look again")
        if signup["status"] in HOLDING:
            await _free_seats(signup["event"], signup["party_size"])
            promotion = await _promote(signup["event"], now, settings.payment_hold_minutes)
    if signup["payment"] is not None:
        if signup["status"] == "confirmed":
            await refund_signup(signup_id, gateway_for(settings))
        else:
            await cancel_unneeded_intent(signup["payment"])
    await _after(promotion)


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
            if retake and await _take_seats(signup["event"], signup["party_size"]):
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

