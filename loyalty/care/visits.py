"""Return visits (回访): calls to owners at the moments of their journey, and the monthly plan.

The journey's visits and when each is due (Beijing time):
- after_subscription: a week after a referred lead subscribed (the lead is not a member yet);
- after_signing: a week after the contract date of an ownership;
- before_handover: seven days before the ownership's delivery date, while the delivery is still
  ahead (an ownership without a delivery date has none);
- after_move_in: a month after the delivery date, once it has come;
- after_repair: 24 hours after a repair case is resolved; after_major_repair: two months after,
  when the case's severity is `major`;
  The same two for a repair record (loyalty.care.repairs) when it is closed, the second one when
  it was major works; these are also created at once when the repair closes;
- after_complaint: three working days after a complaint is resolved (China's statutory
  holidays and adjusted working days, `working_days`).

One hourly job (`create_due_visits`) finds them in the data and inserts each once, whatever how
often or how many copies run: a unique index on (kind, source, member) and ON CONFLICT DO
NOTHING. It is a job, not hooks in members, referrals and cases, because the facts it reads
arrive by many roads (an owner file imported, a lead moved on the sales board, a case resolved),
a hook forgotten on one road is a visit never made, and a job also catches up after an outage.
A visit is created once it is due within a month (CREATE_AHEAD), and not at all when its due time
is already more than `visit_catch_up_days` past: an owner file with years of history must not
flood the desk with calls nobody can still make.

The monthly plan (`plan_month`, on the 1st): enough `monthly_plan` visits that, with the owners
already reached this month or with a visit due this month, `visit_coverage_target_percent` of
active owners are covered; those contacted longest ago first, spread over the service staff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care.tables import VISIT_KINDS, VISIT_OUTCOMES, Case, CaseMessage, OutboxMessage, Repair, ReturnVisit
from loyalty.care.working_days import add_working_days
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import _
from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import Later
from loyalty.members.tables import Member, Ownership
from loyalty.settings import Settings

# A call promised for a day is due by the end of the care desk's working day.
END_OF_DAY = time(18, 0)
# A journey visit is created once its due time is this close: the desk's lists hold the calls of
# the coming weeks, not a handover two years away (it is created when its month comes).
CREATE_AHEAD = timedelta(days=31)
SCOPES = ("mine", "unassigned", "all")
MAX_NOTES = 2000


class VisitAlreadyRecorded(DomainError):
    type = "visit-recorded"
    status = 409
    title = _("This return visit's outcome is already recorded")


def _on(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, clock.LOCAL_ZONE)


# --- the clocks ----------------------------------------------------------------------------


def after_subscription_due(subscribed_at: datetime) -> datetime:
    return subscribed_at + timedelta(days=7)


def after_signing_due(contract_date: date) -> datetime:
    return _on(contract_date + timedelta(days=7))


def before_handover_due(delivery_date: date) -> datetime:
    return _on(delivery_date - timedelta(days=7))


def after_move_in_due(delivery_date: date) -> datetime:
    return _on(delivery_date + relativedelta(months=1))


def case_visits(case: dict[str, Any]) -> list[tuple[str, datetime]]:
    """The visits a resolved case calls for, each with its due time. `severity` is read if the
    case has one (a major repair gets a second visit two months on)."""
    closed = case["resolved_at"]
    if closed is None:
        return []
    if case["kind"] == "repair":
        visits = [("after_repair", closed + timedelta(hours=24))]
        if case.get("severity") == "major":
            visits.append(("after_major_repair", closed + relativedelta(months=2)))
        return visits
    if case["kind"] == "complaint":
        return [("after_complaint", add_working_days(closed, 3))]
    return []


def repair_visits(repair: dict[str, Any]) -> list[tuple[str, datetime]]:
    """The visits a closed repair record calls for: 24 hours after closing, and for major works a
    second one two months after."""
    closed = repair["closed_at"]
    if closed is None:
        return []
    visits = [("after_repair", closed + timedelta(hours=24))]
    if repair["major_works"]:
        visits.append(("after_major_repair", closed + relativedelta(months=2)))
    return visits


# --- creating them ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    kind: str
    source: str
    due_at: datetime
    member: int | None = None
    lead: int | None = None
    assigned_to: int | None = None


async def _journey(now: datetime, catch_up: timedelta) -> list[Due]:
    from loyalty.referrals.tables import Lead

    oldest = now - catch_up
    today = now.astimezone(clock.LOCAL_ZONE).date()
    found: list[Due] = []
    # Subscriptions: leads that subscribed (and were not cancelled), a week on.
    for lead in await Lead.select(Lead.id, Lead.subscribed_at, Lead.new_member).where(
        Lead.subscribed_at.is_not_null() & (Lead.stage != "cancelled") & (Lead.subscribed_at >= oldest - timedelta(days=7))
    ):
        found.append(Due("after_subscription", f"lead:{lead['id']}", after_subscription_due(lead["subscribed_at"]),
                         lead=lead["id"]))
    # Ownerships of members still with us: signing, the handover ahead, moving in.
    owned = Ownership.select(Ownership.id, Ownership.member, Ownership.contract_date, Ownership.delivery_date).where(
        (Ownership.status == "active") & Ownership.member.erased_at.is_null()
        & (
            (Ownership.contract_date >= oldest.date() - timedelta(days=8))
            | (Ownership.delivery_date >= oldest.date() - relativedelta(months=1, days=1))
        )
    )
    for row in await owned:
        source, member = f"ownership:{row['id']}", row["member"]
        if row["contract_date"] is not None:
            found.append(Due("after_signing", source, after_signing_due(row["contract_date"]), member=member))
        delivery = row["delivery_date"]
        if delivery is not None and delivery > today:
            found.append(Due("before_handover", source, before_handover_due(delivery), member=member))
        elif delivery is not None:
            found.append(Due("after_move_in", source, after_move_in_due(delivery), member=member))
    # Cases resolved: repairs and complaints (the case's assignee makes the call).
    for case in await Case.select().where(
        Case.kind.is_in(["repair", "complaint"]) & Case.resolved_at.is_not_null() & Case.member.erased_at.is_null()
        & (Case.resolved_at >= oldest - relativedelta(months=2, days=1))
    ):
        for kind, due_at in case_visits(case):
            found.append(Due(kind, f"case:{case['id']}", due_at, member=case["member"], assigned_to=case["assigned_to"]))
    # Repair records closed (the client ambassador makes the call).
    for repair in await Repair.select().where(
        Repair.closed_at.is_not_null() & Repair.member.erased_at.is_null()
        & (Repair.closed_at >= oldest - relativedelta(months=2, days=1))
    ):
        for kind, due_at in repair_visits(repair):
            found.append(Due(kind, f"repair:{repair['id']}", due_at, member=repair["member"], assigned_to=repair["ambassador"]))
    return [d for d in found if oldest <= d.due_at <= now + CREATE_AHEAD]


async def _insert(dues: list[Due], now: datetime) -> int:
    if not dues:
        return 0
    rows = [
        ReturnVisit(member=d.member, lead=d.lead, kind=d.kind, source=d.source, assigned_to=d.assigned_to,
                    due_at=d.due_at, created_at=now)
        for d in dues
    ]
    created = 0
    for start in range(0, len(rows), 500):
        async with db.transaction():
            # Once per (kind, source, member), however many copies of the job run at once.
            inserted = await ReturnVisit.insert(*rows[start:start + 500]).on_conflict(action="DO NOTHING").returning(
                ReturnVisit.id
            )
        created += len(inserted)
    return created


async def create_repair_visits(repair: dict[str, Any], now: datetime | None = None) -> int:
    """When a repair closes: its return visits at once, both of them (the hourly job would create
    the two-month one only when its month comes; it finds these and adds nothing)."""
    return await _insert([
        Due(kind, f"repair:{repair['id']}", due_at, member=repair["member"], assigned_to=repair["ambassador"])
        for kind, due_at in repair_visits(repair)
    ], now or clock.now())


async def create_due_visits(now: datetime | None = None, settings: Settings | None = None) -> int:
    """The hourly job: every journey visit the data calls for and not yet created is created
    (idempotent; returns how many were new)."""
    settings = settings or jobs.current_settings()
    now = now or clock.now()
    return await _insert(await _journey(now, timedelta(days=settings.visit_catch_up_days)), now)


# --- the monthly plan --------------------------------------------------------------------------


def month_bounds(month: str | date) -> tuple[datetime, datetime]:
    """The Beijing month (YYYY-MM or any day in it) as [start, end)."""
    if isinstance(month, str):
        try:
            year, number = (int(part) for part in month.split("-"))
            first = date(year, number, 1)
        except ValueError:
            raise InvalidField(_("a month is written YYYY-MM"), field="month") from None
        if not 2000 <= year <= 2199:
            raise InvalidField(_("a month is written YYYY-MM"), field="month")
    else:
        first = month.replace(day=1)
    start = datetime.combine(first, time(0), clock.LOCAL_ZONE)
    return start, start + relativedelta(months=1)


def _active_owners():
    return Member.select(Member.id).where(
        Member.erased_at.is_null() & Member.id.is_in(Ownership.select(Ownership.member).where(Ownership.status == "active"))
    )


async def active_owner_ids() -> list[int]:
    """Owners with at least one active ownership who were not erased."""
    return [row["id"] for row in await _active_owners()]


async def reached_visits(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Return visits to members done in [start, end) whose owner was reached (what coverage counts),
    oldest first."""
    return await ReturnVisit.select(ReturnVisit.id, ReturnVisit.member, ReturnVisit.kind, ReturnVisit.done_at).where(
        (ReturnVisit.status == "done") & (ReturnVisit.outcome == "reached") & ReturnVisit.member.is_not_null()
        & (ReturnVisit.done_at >= start) & (ReturnVisit.done_at < end)
    ).order_by(ReturnVisit.done_at).order_by(ReturnVisit.id)


async def reached_in(start: datetime, end: datetime) -> set[int]:
    return {row["member"] for row in await reached_visits(start, end)}


async def plan_month(now: datetime | None = None, settings: Settings | None = None) -> int:
    """On the 1st: monthly_plan visits for the owners contacted longest ago (never first), so
    that owners reached this month plus owners with an open visit due this month make the
    coverage target; spread evenly over the active service staff. Running it again the same
    month adds nothing (its own visits now count). Returns how many were created."""
    from loyalty.identity.tables import StaffAccount

    settings = settings or jobs.current_settings()
    now = now or clock.now()
    start, end = month_bounds(now.astimezone(clock.LOCAL_ZONE).date())
    active = await active_owner_ids()
    target = math.ceil(len(active) * settings.visit_coverage_target_percent / 100)
    covered = await reached_in(start, end)
    planned = await ReturnVisit.select(ReturnVisit.member).where(
        (ReturnVisit.status == "open") & ReturnVisit.member.is_not_null() & (ReturnVisit.due_at >= start) & (ReturnVisit.due_at < end)
    )
    covered |= {row["member"] for row in planned}
    needed = target - len(covered & set(active))
    if needed <= 0:
        return 0
    last_reached = {
        row["member"]: row["last"]
        for row in await ReturnVisit.select(ReturnVisit.member, ReturnVisit.done_at.as_alias("last")).where(
            (ReturnVisit.outcome == "reached") & ReturnVisit.member.is_not_null()
        ).order_by(ReturnVisit.done_at)  # later rows overwrite: the last contact stays
    }
    never = datetime(1970, 1, 1, tzinfo=clock.LOCAL_ZONE)
    candidates = sorted((m for m in active if m not in covered), key=lambda m: (last_reached.get(m) or never, m))[:needed]
    staff = [row["id"] for row in await StaffAccount.select(StaffAccount.id).where(
        (StaffAccount.role == "service") & (StaffAccount.active == True)  # noqa: E712
    ).order_by(StaffAccount.id)]
    month = f"{start.year:04d}-{start.month:02d}"
    due_at = _on((end - timedelta(days=1)).date())  # by the month's last day
    return await _insert([
        Due("monthly_plan", f"plan:{month}", due_at, member=member, assigned_to=staff[n % len(staff)] if staff else None)
        for n, member in enumerate(candidates)
    ], now)


# --- the desk's work ---------------------------------------------------------------------------


async def get_visit(visit_id: int) -> dict[str, Any]:
    row = await ReturnVisit.select().where(ReturnVisit.id == visit_id).first()
    if row is None:
        raise NotFound(_("no return visit {visit_id}", visit_id=visit_id))
    return row


async def list_visits(
    staff_id: int, *, scope: str = "mine", status: str = "open", due_before: datetime | None = None,
    limit: int = 50, offset: int = 0,
) -> list[dict[str, Any]]:
    """Visits for the desk: mine, unassigned or all; open ones by due time (so the overdue come
    first), done ones newest first."""
    if scope not in SCOPES:
        raise InvalidField(_("the scope is one of {choices}", choices=Later(enum_list, "visit_scope", SCOPES, style="or")),
                           field="scope")
    if status not in ("open", "done"):
        raise InvalidField(_("the status is one of {choices}", choices=Later(enum_list, "visit_status", ("open", "done"), style="or")),
                           field="status")
    query = ReturnVisit.select().where(ReturnVisit.status == status).limit(limit).offset(offset)
    if scope == "mine":
        query = query.where(ReturnVisit.assigned_to == staff_id)
    elif scope == "unassigned":
        query = query.where(ReturnVisit.assigned_to.is_null())
    if due_before is not None:
        query = query.where(ReturnVisit.due_at <= due_before)
    if status == "open":
        query = query.order_by(ReturnVisit.due_at).order_by(ReturnVisit.id)
    else:
        query = query.order_by(ReturnVisit.done_at, ascending=False).order_by(ReturnVisit.id, ascending=False)
    return await query


async def people(visits: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, str]]:
    """Name and phone of whom each visit calls: the member, or the lead before it is one."""
    from loyalty.referrals.tables import Lead

    found: dict[tuple[str, int], dict[str, str]] = {}
    members = {v["member"] for v in visits if v["member"]}
    leads = {v["lead"] for v in visits if v["lead"] and not v["member"]}
    if members:
        for row in await Member.select(Member.id, Member.name, Member.phone).where(Member.id.is_in(list(members))):
            found[("member", row["id"])] = {"name": row["name"], "phone": row["phone"]}
    if leads:
        for row in await Lead.select(Lead.id, Lead.name, Lead.phone).where(Lead.id.is_in(list(leads))):
            found[("lead", row["id"])] = {"name": row["name"], "phone": row["phone"]}
    return found


async def assign(visit_id: int, assignee_id: int, staff_id: int) -> None:
    """Give an open visit to an active service (or admin) staff member; audited."""
    from loyalty.identity.tables import StaffAccount

    if not await StaffAccount.exists().where(
        (StaffAccount.id == assignee_id) & (StaffAccount.active == True) & StaffAccount.role.is_in(["service", "admin"])  # noqa: E712
    ):
        raise InvalidField(_("no active service staff member {staff_id}", staff_id=assignee_id), field="staff_id")
    async with db.transaction():
        visit = await get_visit(visit_id)
        if visit["status"] != "open":
            raise VisitAlreadyRecorded()
        await ReturnVisit.update({ReturnVisit.assigned_to: assignee_id}).where(ReturnVisit.id == visit_id)
        await audit.record(action="visit.assign", subject_kind="return_visit", subject_id=visit_id, actor_id=staff_id,
                           data={"assignee": assignee_id, "previous": visit["assigned_to"]})


async def record_outcome(
    visit_id: int, staff_id: int, outcome: str, notes: str = "", satisfaction: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What came of the call: reached (with a 1–5 satisfaction score if the owner gave one),
    not reached, or refused; notes. Recorded once (a second time is `visit-recorded`), audited."""
    now = now or clock.now()
    if outcome not in VISIT_OUTCOMES:
        raise InvalidField(_("the outcome is one of {choices}", choices=Later(enum_list, "visit_outcome", VISIT_OUTCOMES, style="or")),
                           field="outcome")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidField(_("must be 1 to {limit} characters long", limit=MAX_NOTES), field="notes")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise InvalidField(_("a score from 1 to 5"), field="satisfaction")
    if satisfaction is not None and outcome != "reached":
        raise InvalidField(_("only an owner who was reached gives a score"), field="satisfaction")
    async with db.transaction():
        # A conditional update: of two staff recording the same call at once, one wins.
        rows = await ReturnVisit.update({
            ReturnVisit.status: "done", ReturnVisit.outcome: outcome, ReturnVisit.notes: notes,
            ReturnVisit.satisfaction: satisfaction, ReturnVisit.done_at: now, ReturnVisit.done_by: staff_id,
        }).where((ReturnVisit.id == visit_id) & (ReturnVisit.status == "open")).returning(ReturnVisit.id)
        if not rows:
            await get_visit(visit_id)  # 404 if there is none
            raise VisitAlreadyRecorded()
        await audit.record(action="visit.record", subject_kind="return_visit", subject_id=visit_id, actor_id=staff_id,
                           data={"outcome": outcome, "satisfaction": satisfaction})
    return await get_visit(visit_id)


# --- coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    month: str
    active_owners: int
    reached_owners: int
    target: float

    @property
    def rate(self) -> float | None:
        return round(self.reached_owners / self.active_owners, 4) if self.active_owners else None


async def coverage(month: str, settings: Settings | None = None) -> Coverage:
    """Visit coverage of a Beijing month: owners reached by a return visit done in the month
    (outcome `reached`) who are active owners, over active owners (now)."""
    settings = settings or jobs.current_settings()
    start, end = month_bounds(month)
    active = set(await active_owner_ids())
    reached = await reached_in(start, end)
    return Coverage(f"{start.year:04d}-{start.month:02d}", len(active), len(reached & active),
                    settings.visit_coverage_target_percent / 100)


# --- the contact log ----------------------------------------------------------------------------

CONTACT_KINDS = ("visit", "case_message", "message")


async def contacts(member_id: int, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Everything said to an owner, newest first: return visits done, the care desk's messages
    on their cases, and messages sent to them (the outbox), as one timeline."""
    from loyalty.referrals.tables import Lead

    if not await Member.exists().where(Member.id == member_id):
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    take = offset + limit
    leads = Lead.select(Lead.id).where(Lead.new_member == member_id)
    visits = await ReturnVisit.select().where(
        (ReturnVisit.status == "done") & ((ReturnVisit.member == member_id) | ReturnVisit.lead.is_in(leads))
    ).order_by(ReturnVisit.done_at, ascending=False).limit(take)
    replies = await CaseMessage.select(
        CaseMessage.id, CaseMessage.text, CaseMessage.created_at, CaseMessage.author_id, CaseMessage.case.id.as_alias("case_id"),
        CaseMessage.case.title.as_alias("case_title"),
    ).where((CaseMessage.case.member == member_id) & (CaseMessage.author_kind == "staff")).order_by(
        CaseMessage.created_at, ascending=False
    ).limit(take)
    sent = await OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.channel, OutboxMessage.kind, OutboxMessage.subject, OutboxMessage.sent_at,
    ).where((OutboxMessage.member == member_id) & (OutboxMessage.status == "sent")).order_by(
        OutboxMessage.sent_at, ascending=False
    ).limit(take)
    timeline = [
        {"kind": "visit", "id": v["id"], "at": v["done_at"], "visit_kind": v["kind"], "outcome": v["outcome"],
         "notes": v["notes"], "satisfaction": v["satisfaction"], "staff_id": v["done_by"]}
        for v in visits
    ] + [
        {"kind": "case_message", "id": r["id"], "at": r["created_at"], "case_id": r["case_id"], "case_title": r["case_title"],
         "text": r["text"], "staff_id": r["author_id"]}
        for r in replies
    ] + [
        {"kind": "message", "id": m["id"], "at": m["sent_at"], "channel": m["channel"], "message_kind": m["kind"],
         "subject": m["subject"]}
        for m in sent
    ]
    timeline.sort(key=lambda e: (e["at"], CONTACT_KINDS.index(e["kind"]), e["id"]), reverse=True)
    return timeline[offset:take]
