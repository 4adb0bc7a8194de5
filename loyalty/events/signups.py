"""Signing up for events and programs (a seat, held until paid when there is a fee, or a
place on the waitlist), cancelling, and no-shows.

Seats move through `capacity`; payments and refunds through `payments`; freed seats go to
the waitlist through `waitlist`. Calls to Stripe happen after the transaction that decided
them has committed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from loyalty.i18n import _, _n
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.format import Later, items
from loyalty import clock, db
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events import capacity, payments, rules, waitlist
from loyalty.events.rules import MemberFacts
from loyalty.events.stripe_gateway import PaymentProviderError, gateway_for
from loyalty.events.tables import HOLDING, Event, Program, Signup
from loyalty.labels import message
from loyalty.settings import Settings


class EventFull(DomainError):
    type = "event-full"
    status = 409
    title = _("Not enough seats left: you can join the waitlist")


class AlreadySignedUp(DomainError):
    type = "already-signed-up"
    status = 409
    title = _("You have already signed up for this event")


class PaymentsUnavailable(DomainError):
    type = "payments-unavailable"
    status = 422
    title = _("Online payment is not available; paid events cannot take signups here (free events can)")


class CancelDeadlinePassed(DomainError):
    type = "cancel-deadline-passed"
    status = 409
    title = _("The cancellation deadline has passed; please contact customer service")


class SignupNotCancellable(DomainError):
    type = "signup-not-cancellable"
    status = 409
    title = _("This signup can no longer be cancelled")


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
        raise NotFound(_("There is no member {member_id}", member_id=member_id))
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
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    return event


async def project_names(event: Mapping[str, Any]) -> dict[int, str]:
    from loyalty.members.tables import Project

    ids = [int(p) for p in rules.split(event["eligible_projects"])]
    if not ids:
        return {}
    return {row["id"]: row["name"] for row in await Project.select(Project.id, Project.name).where(Project.id.is_in(ids))}


# --- signing up ----------------------------------------------------------------------------


async def _seats_left(event_id: int) -> tuple[int, int]:
    """(capacity, seats left) as the event row is now, inside the signup's transaction."""
    row = (await db.fetch("SELECT capacity, seats_taken FROM event WHERE id = {}", event_id))[0]
    return row["capacity"], max(row["capacity"] - row["seats_taken"], 0)


async def _place(
    event: Mapping[str, Any], member: MemberFacts, party_size: int, join_waitlist: bool, now: datetime, hold_until: datetime,
    *, free: bool = False,
) -> dict[str, Any]:
    """Inside the signup's transaction: a seat (confirmed, or held until paid) or a place on
    the waitlist. `free`: the fee is waived (a seat paid for otherwise, e.g. with a reward)."""
    if await Signup.exists().where(
        (Signup.event == event["id"]) & (Signup.member == member.member_id) & (Signup.status != "cancelled")
    ):
        raise AlreadySignedUp(event_id=event["id"])
    fee = 0 if free else rules.fee_per_person(event, member.tier) * party_size
    taken = await capacity.take_seats(event["id"], party_size)
    if not taken and join_waitlist and db.is_postgres():
        # A refused UPDATE locks nothing: hold the event row until this waitlist place commits,
        # so a cancellation freeing seats meanwhile waits for it and promotes it (rather than
        # looking at the waitlist before it is there); with the row held, look at the seats again.
        await db.fetch("SELECT id FROM event WHERE id = {} FOR UPDATE", event["id"])
        taken = await capacity.take_seats(event["id"], party_size)
    # Why the seats were refused comes from the event row now, not from `event`, read before
    # this transaction began: others may have signed up in between (a rush of signups each read
    # "20 seats left" and were then refused with those words). Seats freed since the UPDATE
    # looked are taken after all; each lost race means someone else took seats, so this ends.
    capacity_now = left = 0
    for _attempt in range(10):
        if taken:
            break
        capacity_now, left = await _seats_left(event["id"])
        if left < party_size:
            break
        taken = await capacity.take_seats(event["id"], party_size)
    if taken:
        status = "pending_payment" if fee else "confirmed"
    elif join_waitlist:
        status = "waitlisted"
    else:
        detail = (
            message("event_full.none", capacity=capacity_now) if left == 0
            else message("event_full.party", left=left, party=party_size)
        )
        raise EventFull(detail, event_id=event["id"], waitlist=True, seats_left=left, party_size=party_size)
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
        raise NotFound(_("There is no program {program_id}", program_id=program_id))
    sessions = await Event.select().where((Event.program == program_id) & (Event.status == "published")).order_by(Event.starts_at)
    if event_ids is not None:
        chosen = set(event_ids)
        unknown = chosen - {session["id"] for session in sessions}
        if not chosen:
            raise InvalidField(_("Choose at least one session of the program"), field="event_ids")
        if unknown:
            ids = sorted(unknown)
            raise InvalidField(
                _n(
                    "Event {ids} is not a session of program {program_id}",
                    "Events {ids} are not sessions of program {program_id}",
                    len(ids), ids=Later(items, ids), program_id=program_id,
                ),
                field="event_ids",
            )
        sessions = [session for session in sessions if session["id"] in chosen]
    now = now or clock.now()
    # Sessions already over are not offered as part of "the whole program".
    sessions = [session for session in sessions if event_ids is not None or session["signup_closes_at"] > now]
    if not sessions:
        raise InvalidField(_("No session of the program is open for sign-up"), field="event_ids")
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
            raise PaymentsUnavailable(message("why_not.payments"))
    hold_until = now + timedelta(minutes=settings.payment_hold_minutes)
    payment_id = None
    try:
        async with db.transaction():
            placed = [await _place(event, facts, party_size, join_waitlist, now, hold_until) for event in events]
            unpaid = [signup for signup in placed if signup["status"] == "pending_payment"]
            if unpaid:
                payment_id = await payments.new_payment(member_id, unpaid)
    except Exception as error:
        if db.is_unique_violation(error):  # a concurrent signup of the same member won
            raise AlreadySignedUp() from None
        raise
    if payment_id is not None:
        assert gateway is not None
        try:
            await payments.open_payment(payment_id, gateway, hold_minutes=settings.payment_hold_minutes)
        except PaymentProviderError:
            await waitlist.release([signup["id"] for signup in unpaid], "payment_setup_failed", now)
            raise
    return [signup["id"] for signup in placed]


async def seat_for_reward(member_id: int, event_id: int, now: datetime) -> tuple[int, datetime]:
    """Inside the caller's transaction (an owner redeeming an event-seat reward): a confirmed
    seat for the owner alone, free whatever the event's fee (the reward paid for it), taken as
    any signup takes one: the event's rules (its sign-up window may not have opened yet: the
    reward is the way in), one signup per member, the capacity (EventFull when full, nothing
    taken). Returns the signup and when the event ends."""
    event = await visible_event(event_id)
    facts = await member_facts(member_id)
    problem = rules.refusal(event, facts, now, await project_names(event))
    if problem is not None and not isinstance(problem, rules.SignupNotOpenYet):
        raise problem
    signup = await _place(event, facts, 1, False, now, now, free=True)
    return signup["id"], event["ends_at"]


async def release_reward_seat(signup_id: int, now: datetime, hold_minutes: int, *, deadline: bool = True) -> waitlist.Promotion:
    """Inside the caller's transaction (the reward that bought the seat is given back): the
    signup is cancelled and its seat goes to the waitlist, as the member's own cancel does,
    and only before the event's cancellation deadline (CancelDeadlinePassed; `deadline=False`:
    whatever the deadline, for a reward taken back without the owner choosing). A signup no
    longer holding a seat (cancelled already, attended, no-show) is left as it is. Run
    `waitlist.after_commit` with the answer once the transaction has committed."""
    signup = await Signup.select().where(Signup.id == signup_id).first()
    if signup is None or signup["status"] != "confirmed":
        return waitlist.Promotion()
    event = await Event.select(Event.cancel_deadline).where(Event.id == signup["event"]).first()
    if deadline and now >= event["cancel_deadline"]:
        raise CancelDeadlinePassed(deadline=event["cancel_deadline"].isoformat())
    rows = await Signup.update(
        {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: "reward_cancelled"}
    ).where((Signup.id == signup_id) & (Signup.status == "confirmed")).returning(Signup.id)
    if not rows:
        return waitlist.Promotion()
    await capacity.free_seats(signup["event"], signup["party_size"])
    return await waitlist.promote(signup["event"], now, hold_minutes)


async def mark_no_shows(now: datetime | None = None) -> int:
    """The job (after events end): confirmed signups nobody checked in become no-shows."""
    now = now or clock.now()
    async with db.transaction():
        rows = await Signup.update({Signup.status: "no_show"}).where(
            (Signup.status == "confirmed") & Signup.event.is_in(Event.select(Event.id).where(Event.ends_at <= now))
        ).returning(Signup.id, Signup.event, Signup.party_size)
        for row in rows:  # a no-show holds no seat (`seats_taken` counts HOLDING signups only)
            await capacity.free_seats(row["event"], row["party_size"])
    return len(rows)


# --- cancelling ----------------------------------------------------------------------------


async def cancel(member_id: int, signup_id: int, *, settings: Settings, now: datetime | None = None) -> None:
    """The member cancels: a held seat goes to the waitlist; a paid seat is refunded in full
    through Stripe (before the deadline; after it, customer service decides)."""
    now = now or clock.now()
    signup = await Signup.select().where((Signup.id == signup_id) & (Signup.member == member_id)).first()
    if signup is None:
        raise NotFound(_("There is no signup {signup_id}", signup_id=signup_id))
    if signup["status"] not in ("pending_payment", "confirmed", "waitlisted"):
        raise SignupNotCancellable(
            _("The signup is “{status}” now", status=ENUMS["signup_status"][signup["status"]]), status_now=signup["status"]
        )
    event = await Event.select(Event.cancel_deadline).where(Event.id == signup["event"]).first()
    if signup["status"] != "waitlisted" and now >= event["cancel_deadline"]:
        raise CancelDeadlinePassed(deadline=event["cancel_deadline"].isoformat())
    promotion = waitlist.Promotion()
    async with db.transaction():
        rows = await Signup.update(
            {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: "member"}
        ).where((Signup.id == signup_id) & (Signup.status == signup["status"])).returning(Signup.id)
        if not rows:
            raise SignupNotCancellable(_("The signup changed in the meantime; please look at it again"))
        if signup["status"] in HOLDING:
            await capacity.free_seats(signup["event"], signup["party_size"])
            promotion = await waitlist.promote(signup["event"], now, settings.payment_hold_minutes)
    if signup["payment"] is not None:
        if signup["status"] == "confirmed":
            await payments.refund_signup(signup_id, gateway_for(settings))
        else:
            await payments.cancel_unneeded_intent(signup["payment"])
    await waitlist.after_commit(promotion)
