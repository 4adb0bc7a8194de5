"""What the club offers: staff create programs and events, publish and cancel them; members
see what they may join and, for the rest, why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.cards.tables import TIERS
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events import payments, rules, signups
from loyalty.events.stripe_gateway import gateway_for
from loyalty.events.tables import EVENT_KINDS, Event, Program, Signup
from loyalty.i18n import _, _n
from loyalty.i18n.format import Later, identifiers, items, number
from loyalty.labels import message
from loyalty.members.stages import STAGES
from loyalty.members.tables import Project
from loyalty.settings import Settings

MAX_FEE_FEN = 100_000_000  # 1,000,000 元 per person: anything above is a typo
CHINESE_TITLE_NEEDED = _("A Chinese title is required")


@dataclass(frozen=True)
class EventDraft:
    """What staff give for a new event (times are aware datetimes)."""

    kind: str
    title_zh: str
    starts_at: datetime
    ends_at: datetime
    signup_opens_at: datetime
    signup_closes_at: datetime
    cancel_deadline: datetime
    capacity: int
    title_en: str = ""
    body_zh: str = ""
    body_en: str = ""
    venue: str = ""
    project_id: int | None = None
    program_id: int | None = None
    party_size_limit: int = 1
    eligible_tiers: Sequence[str] = ()
    eligible_stages: Sequence[str] = ()
    eligible_project_ids: Sequence[int] = ()
    fee_platinum_fen: int = 0
    fee_gold_fen: int = 0
    fee_silver_fen: int = 0
    fee_blue_fen: int = 0
    attendance_points: int = 0
    status: str = "published"


def _check(draft: EventDraft) -> None:
    if draft.kind not in EVENT_KINDS:
        raise InvalidField(_("The kind is one of {kinds}", kinds=Later(identifiers, EVENT_KINDS)), field="kind")
    if not draft.title_zh.strip():
        raise InvalidField(CHINESE_TITLE_NEEDED, field="title_zh")
    if draft.ends_at <= draft.starts_at:
        raise InvalidField(_("The event must end after it starts"), field="ends_at")
    if draft.signup_closes_at <= draft.signup_opens_at:
        raise InvalidField(_("Sign-up must close after it opens"), field="signup_closes_at")
    if draft.signup_closes_at > draft.ends_at:
        raise InvalidField(_("Sign-up must close by the end of the event"), field="signup_closes_at")
    if draft.cancel_deadline > draft.starts_at:
        raise InvalidField(_("The cancellation deadline must be no later than the start of the event"), field="cancel_deadline")
    if not 1 <= draft.capacity <= 100_000:
        raise InvalidField(_("The capacity is 1 to {most} people", most=Later(number, 100_000)), field="capacity")
    if not 1 <= draft.party_size_limit <= 20:
        raise InvalidField(_("The party size limit is 1 to 20 people"), field="party_size_limit")
    if unknown := set(draft.eligible_tiers) - set(TIERS):
        raise InvalidField(
            _("Unknown tiers {unknown}; the tiers are {tiers}", unknown=Later(identifiers, sorted(unknown), style="standard"),
              tiers=Later(identifiers, TIERS)),
            field="eligible_tiers",
        )
    if unknown := set(draft.eligible_stages) - set(STAGES):
        raise InvalidField(
            _("Unknown stages {unknown}; the stages are {stages}", unknown=Later(identifiers, sorted(unknown), style="standard"),
              stages=Later(identifiers, STAGES)),
            field="eligible_stages",
        )
    for tier in TIERS:
        fee = getattr(draft, f"fee_{tier}_fen")
        if not 0 <= fee <= MAX_FEE_FEN:
            raise InvalidField(
                _("A fee is 0 to {most} fen per person", most=Later(number, MAX_FEE_FEN)), field=f"fee_{tier}_fen"
            )
    if not 0 <= draft.attendance_points <= 100_000:
        raise InvalidField(_("Attendance points are 0 to {most}", most=Later(number, 100_000)), field="attendance_points")
    if draft.status not in ("draft", "published"):
        raise InvalidField(_("A new event is {statuses}", statuses=Later(identifiers, ("draft", "published"))), field="status")


async def _check_references(draft: EventDraft) -> None:
    projects = set(draft.eligible_project_ids) | ({draft.project_id} if draft.project_id is not None else set())
    if projects:
        found = {row["id"] for row in await Project.select(Project.id).where(Project.id.is_in(list(projects)))}
        if missing := projects - found:
            field = "project_id" if draft.project_id in missing else "eligible_project_ids"
            ids = sorted(missing)
            raise InvalidField(
                _n("There is no project {ids}", "There are no projects {ids}", len(ids), ids=Later(items, ids)), field=field
            )
    if draft.program_id is not None and not await Program.exists().where(Program.id == draft.program_id):
        raise InvalidField(_("There is no program {program_id}", program_id=draft.program_id), field="program_id")


async def create_event(draft: EventDraft, staff_id: int) -> int:
    _check(draft)
    await _check_references(draft)
    async with db.transaction():
        rows = await Event.insert(
            Event(
                kind=draft.kind, program=draft.program_id, project=draft.project_id,
                title_zh=draft.title_zh.strip(), title_en=draft.title_en.strip(), body_zh=draft.body_zh, body_en=draft.body_en,
                venue=draft.venue.strip(), starts_at=draft.starts_at, ends_at=draft.ends_at,
                signup_opens_at=draft.signup_opens_at, signup_closes_at=draft.signup_closes_at,
                cancel_deadline=draft.cancel_deadline, capacity=draft.capacity, party_size_limit=draft.party_size_limit,
                eligible_tiers=",".join(dict.fromkeys(draft.eligible_tiers)),
                eligible_stages=",".join(dict.fromkeys(draft.eligible_stages)),
                eligible_projects=",".join(str(p) for p in dict.fromkeys(draft.eligible_project_ids)),
                fee_platinum_fen=draft.fee_platinum_fen, fee_gold_fen=draft.fee_gold_fen,
                fee_silver_fen=draft.fee_silver_fen, fee_blue_fen=draft.fee_blue_fen,
                attendance_points=draft.attendance_points, status=draft.status,
            )
        ).returning(Event.id)
        await audit.record(action="event.create", subject_kind="event", subject_id=rows[0]["id"], actor_id=staff_id)
    return rows[0]["id"]


async def create_program(
    title_zh: str, staff_id: int, *, title_en: str = "", body_zh: str = "", body_en: str = "", project_id: int | None = None
) -> int:
    if not title_zh.strip():
        raise InvalidField(CHINESE_TITLE_NEEDED, field="title_zh")
    if project_id is not None and not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("There is no project {project_id}", project_id=project_id), field="project_id")
    async with db.transaction():
        rows = await Program.insert(
            Program(title_zh=title_zh.strip(), title_en=title_en.strip(), body_zh=body_zh, body_en=body_en, project=project_id)
        ).returning(Program.id)
        await audit.record(action="program.create", subject_kind="program", subject_id=rows[0]["id"], actor_id=staff_id)
    return rows[0]["id"]


async def publish_event(event_id: int, staff_id: int) -> None:
    async with db.transaction():
        rows = await Event.update({Event.status: "published"}).where(
            (Event.id == event_id) & (Event.status == "draft")
        ).returning(Event.id)
        if not rows:
            if not await Event.exists().where(Event.id == event_id):
                raise NotFound(_("There is no event {event_id}", event_id=event_id))
            return  # published already (or cancelled: stays cancelled)
        await audit.record(action="event.publish", subject_kind="event", subject_id=event_id, actor_id=staff_id)


async def cancel_event(event_id: int, reason: str, staff_id: int, settings: Settings, now: datetime | None = None) -> int:
    """Staff call an event off: every live signup is cancelled and every paid one refunded
    in full. Returns how many signups were cancelled."""
    now = now or clock.now()
    reason = audit.required_reason(reason)
    async with db.transaction():
        rows = await Event.update({Event.status: "cancelled"}).where(
            (Event.id == event_id) & (Event.status != "cancelled")
        ).returning(Event.id)
        if not rows:
            if not await Event.exists().where(Event.id == event_id):
                raise NotFound(_("There is no event {event_id}", event_id=event_id))
            return 0
        cancelled = await Signup.update(
            {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: "event_cancelled"}
        ).where((Signup.event == event_id) & Signup.status.is_in(["pending_payment", "confirmed", "waitlisted"])).returning(
            Signup.id, Signup.payment
        )
        await Event.update({Event.seats_taken: 0}).where(Event.id == event_id)
        await audit.record(
            action="event.cancel", subject_kind="event", subject_id=event_id, reason=reason, actor_id=staff_id
        )
    gateway = gateway_for(settings)
    for row in cancelled:
        if row["payment"] is not None:
            await payments.refund_signup(row["id"], gateway)
    for payment_id in {row["payment"] for row in cancelled if row["payment"] is not None}:
        await payments.cancel_unneeded_intent(payment_id)
    return len(cancelled)


# --- what a member sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    event: dict[str, Any]
    fee_per_person_fen: int
    seats_left: int
    my_signup: dict[str, Any] | None
    why_not: DomainError | None


async def offers(
    member_id: int, settings: Settings, *, event_ids: Sequence[int] | None = None, language: str | None = None,
    now: datetime | None = None,
) -> list[Offer]:
    """Upcoming events (or the given ones) with what this member pays, seats left, their own
    signup and, when they may not sign up now, why not."""
    now = now or clock.now()
    facts = await signups.member_facts(member_id, language)
    query = Event.select().where(Event.status != "draft").order_by(Event.starts_at)
    if event_ids is None:
        query = query.where(Event.ends_at > now)
    else:
        query = query.where(Event.id.is_in(list(event_ids) or [0]))
    events = await query
    mine = {
        row["event"]: row
        for row in await Signup.select().where(
            (Signup.member == member_id) & Signup.event.is_in([e["id"] for e in events] or [0]) & (Signup.status != "cancelled")
        )
    }
    payments_ready = gateway_for(settings) is not None
    result = []
    for event in events:
        fee = rules.fee_per_person(event, facts.tier)
        seats_left = max(event["capacity"] - event["seats_taken"], 0)
        why_not = rules.refusal(event, facts, now, await signups.project_names(event))
        if why_not is None and event["id"] in mine:
            why_not = signups.AlreadySignedUp(message("why_not.already"))
        if why_not is None and fee and not payments_ready:
            why_not = signups.PaymentsUnavailable(message("why_not.payments"))
        if why_not is None and seats_left == 0:
            why_not = signups.EventFull(message("why_not.full"), waitlist=True)
        result.append(Offer(event, fee, seats_left, mine.get(event["id"]), why_not))
    return result


async def programs(now: datetime | None = None) -> list[dict[str, Any]]:
    """Published programs that still have a session ahead, with their sessions' ids."""
    now = now or clock.now()
    rows = await Program.select().where(Program.status == "published").order_by(Program.id)
    sessions = await Event.select(Event.id, Event.program, Event.starts_at, Event.ends_at).where(
        Event.program.is_not_null() & (Event.status == "published")
    ).order_by(Event.starts_at)
    result = []
    for program in rows:
        own = [s for s in sessions if s["program"] == program["id"]]
        if own and own[-1]["ends_at"] > now:
            result.append({**program, "event_ids": [s["id"] for s in own],
                           "starts_at": own[0]["starts_at"], "ends_at": own[-1]["ends_at"]})
    return result

