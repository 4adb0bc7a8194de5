"""Repairs (维修): the record the front desk fills in when an owner reports something broken, the
works through acceptance, rework and closing, the owner's rating, and what it means for the
contractor.

- The intake clock: the repair form is filled in within `repair_intake_minutes` (10) of the
  owner's report; a form filled in later is flagged (`intake_late`), for ever.
- States: reported → in_repair → awaiting_acceptance → accepted → closed. At acceptance the
  owner (or staff for them) either accepts the works, or does not: the repair goes to rework,
  counted (`rework_count`), and back to awaiting_acceptance when the works are redone.
- Second repairs: a repair of the same unit and item reported within `second_repair_days` (90)
  of an earlier one is a second repair (`second_repair_of` names the earlier one).
- Closing creates the return visits through the visits service (loyalty.care.visits): one due
  24 hours after, and for major works a second one two months after.
- The contractor's reward or penalty follows the owner's satisfaction (1–5) as a share of the
  contract sum: 5 → +2%, 4 → +1%, 3 → 0, 2 → −2%, 1 → −5%; summed per contractor per month.
- The KPI figures (`repair_kpis`): satisfaction (share of 4–5 ratings), pass rate (accepted at
  the first acceptance / accepted), second-repair rate (second repairs / repairs), each as a
  numerator, a denominator and the records counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care.tables import ACCEPTORS, REPAIR_ITEMS, REPAIR_STATES, Repair
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import _
from loyalty.i18n.enums import ENUMS, enum_list
from loyalty.i18n.format import Later
from loyalty.settings import Settings

# Satisfaction → the contractor's reward (+) or penalty (−), in percent of the contract sum.
RATING_PERCENT = {5: 2, 4: 1, 3: 0, 2: -2, 1: -5}
# Where each state may go next (rework is reached only from awaiting_acceptance, by not accepting).
NEXT: dict[str, tuple[str, ...]] = {
    "reported": ("in_repair",),
    "in_repair": ("awaiting_acceptance",),
    "rework": ("awaiting_acceptance",),
    "awaiting_acceptance": ("accepted", "rework"),
    "accepted": ("closed",),
    "closed": (),
}
MAX_CONTRACT_SUM_FEN = 10**12  # ten billion 元: more is a typing mistake
# The front desk may write down a report a little ahead of the server's clock (a wall clock a
# minute fast); later than this is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)


class RepairStateError(DomainError):
    type = "repair-state"
    status = 409
    title = _("The repair is not in a state for this step")


class RepairRated(DomainError):
    type = "repair-rated"
    status = 409
    title = _("The owner has already rated this repair")


def _state_words(state: str) -> str:
    return ENUMS["repair_state"].get(state, state)


def _text(value: str | None, field: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > limit:
        if required:
            raise InvalidField(_("must be 1 to {limit} characters long", limit=limit), field=field)
        raise InvalidField(_("at most {limit} characters", limit=limit), field=field)
    return text


def contractor_amount_fen(contract_sum_fen: int, satisfaction: int) -> int:
    """The contractor's reward (> 0) or penalty (< 0) in fen for one rated repair: the rating's
    percentage of the contract sum, rounded to the fen (halves away from zero)."""
    if satisfaction not in RATING_PERCENT:
        raise InvalidField(_("a score from 1 to 5"), field="satisfaction")
    exact = Decimal(contract_sum_fen) * RATING_PERCENT[satisfaction] / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def _check_ambassador(staff_id: int | None) -> None:
    from loyalty.identity.tables import StaffAccount

    if staff_id is None:
        return
    if not await StaffAccount.exists().where(
        (StaffAccount.id == staff_id) & (StaffAccount.active == True) & StaffAccount.role.is_in(["service", "admin"])  # noqa: E712
    ):
        raise InvalidField(_("no active service staff member {staff_id}", staff_id=staff_id), field="ambassador_id")


async def record(
    *, member_id: int, unit_id: int, item: str, contractor: str, staff_id: int, description: str = "",
    major_works: bool = False, supervisor: str = "", ambassador_id: int | None = None, contract_sum_fen: int = 0,
    reported_at: datetime | None = None, settings: Settings | None = None, now: datetime | None = None,
) -> int:
    """The front desk fills in the repair form for an owner's report (made at `reported_at`, by
    default now). Late against the intake clock is flagged; a repeat of the same unit and item
    within the window is marked a second repair. Audited."""
    from loyalty.members.tables import Member, Ownership, Unit

    settings = settings or jobs.current_settings()
    now = now or clock.now()
    reported_at = reported_at or now
    if reported_at.tzinfo is None:
        raise InvalidField(_("a time with its time zone (e.g. +08:00)"), field="reported_at")
    if reported_at > now + FUTURE_TOLERANCE:
        raise InvalidField(_("the report cannot be in the future"), field="reported_at")
    if item not in REPAIR_ITEMS:
        raise InvalidField(_("the item is one of {items}", items=Later(enum_list, "repair_item", REPAIR_ITEMS, style="or")),
                           field="item")
    contractor = _text(contractor, "contractor", 100, required=True)
    supervisor = _text(supervisor, "supervisor", 100, required=False)
    description = _text(description, "description", 2000, required=False)
    if not 0 <= contract_sum_fen <= MAX_CONTRACT_SUM_FEN:
        raise InvalidField(_("from 0 to {limit}", limit=MAX_CONTRACT_SUM_FEN // 100), field="contract_sum_fen")
    if not await Member.exists().where((Member.id == member_id) & Member.erased_at.is_null()):
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    unit = await Unit.select(Unit.project).where(
        (Unit.id == unit_id) & Unit.id.is_in(Ownership.select(Ownership.unit).where(Ownership.member == member_id))
    ).first()
    if unit is None:
        raise InvalidField(_("not one of this owner's units"), field="unit_id")
    await _check_ambassador(ambassador_id)
    intake_due = reported_at + timedelta(minutes=settings.repair_intake_minutes)
    async with db.transaction():
        earlier = await Repair.select(Repair.id).where(
            (Repair.unit == unit_id) & (Repair.item == item)
            & (Repair.reported_at >= reported_at - timedelta(days=settings.second_repair_days))
            & (Repair.reported_at <= reported_at)
        ).order_by(Repair.reported_at, ascending=False).first()
        rows = await Repair.insert(Repair(
            member=member_id, unit=unit_id, project=unit["project"], item=item, description=description,
            major_works=major_works, contractor=contractor, supervisor=supervisor, ambassador=ambassador_id,
            contract_sum_fen=contract_sum_fen, reported_at=reported_at, recorded_at=now, recorded_by=staff_id,
            intake_due=intake_due, intake_late=now > intake_due, second_repair_of=earlier["id"] if earlier else None,
        )).returning(Repair.id)
        repair_id = rows[0]["id"]
        await audit.record(action="repair.record", subject_kind="repair", subject_id=repair_id, actor_id=staff_id,
                           data={"intake_late": now > intake_due, "second_repair_of": earlier["id"] if earlier else None})
    return repair_id


async def get_repair(repair_id: int, member_id: int | None = None) -> dict[str, Any]:
    query = Repair.select().where(Repair.id == repair_id)
    if member_id is not None:
        query = query.where(Repair.member == member_id)
    row = await query.first()
    if row is None:
        raise NotFound(_("no repair {repair_id}", repair_id=repair_id))
    return row


async def list_repairs(
    *, state: str | None = None, member_id: int | None = None, project_id: int | None = None, limit: int = 50, offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest report first; `state` is a state, or `active` (not closed)."""
    if state is not None and state != "active" and state not in REPAIR_STATES:
        raise InvalidField(_("the state is one of {states}", states=Later(enum_list, "repair_state", REPAIR_STATES, style="or")),
                           field="state")
    query = Repair.select().order_by(Repair.reported_at, ascending=False).order_by(Repair.id, ascending=False)
    if state == "active":
        query = query.where(Repair.state != "closed")
    elif state is not None:
        query = query.where(Repair.state == state)
    if member_id is not None:
        query = query.where(Repair.member == member_id)
    if project_id is not None:
        query = query.where(Repair.project == project_id)
    return await query.limit(limit).offset(offset)


async def advance(
    repair_id: int, to: str, *, staff_id: int | None = None, member_id: int | None = None, accepted_by: str | None = None,
    satisfaction: int | None = None, note: str = "", now: datetime | None = None,
) -> dict[str, Any]:
    """One step of the works: start (in_repair), done (awaiting_acceptance), accepted (by the
    owner or staff: `accepted_by`) or not (rework, counted), closed (with the owner's rating if
    given). An owner (`member_id`, their own repair) may only accept or send back. Audited."""
    from loyalty.care import visits

    now = now or clock.now()
    if to not in REPAIR_STATES or to == "reported":
        raise InvalidField(_("the next state is one of {states}",
                             states=Later(enum_list, "repair_state", REPAIR_STATES[1:], style="or")), field="to")
    if member_id is not None:
        if to not in ("accepted", "rework"):
            raise InvalidField(_("an owner accepts the works or asks for them to be redone"), field="to")
        accepted_by = "owner"
    if to == "accepted" and accepted_by not in ACCEPTORS:
        raise InvalidField(_("who accepted the works: {choices}", choices=Later(enum_list, "repair_acceptor", ACCEPTORS, style="or")),
                           field="accepted_by")
    if satisfaction is not None and (to != "closed" or satisfaction not in RATING_PERCENT):
        raise InvalidField(_("a score from 1 to 5, given when the repair is closed"), field="satisfaction")
    note = _text(note, "note", 2000, required=False)
    async with db.transaction():
        repair = await get_repair(repair_id, member_id)
        if to not in NEXT[repair["state"]]:
            raise RepairStateError(
                _("a repair that is {state} cannot go to {to}", state=_state_words(repair["state"]), to=_state_words(to)),
                field="to",
            )
        changes: dict[Any, Any] = {Repair.state: to}
        if to == "rework":
            changes[Repair.rework_count] = repair["rework_count"] + 1
        if to == "accepted":
            changes.update({Repair.accepted_by: accepted_by, Repair.accepted_at: now})
        if to == "closed":
            changes[Repair.closed_at] = now
            if satisfaction is not None:
                changes.update({Repair.satisfaction: satisfaction, Repair.rated_at: now})
        # Conditional on the state read: of two people moving the same repair at once, one wins.
        rows = await Repair.update(changes).where((Repair.id == repair_id) & (Repair.state == repair["state"])).returning(Repair.id)
        if not rows:
            raise RepairStateError(field="to")
        data: dict[str, Any] = {"from": repair["state"], "to": to}
        if accepted_by and to == "accepted":
            data["accepted_by"] = accepted_by
        if satisfaction is not None:
            data["satisfaction"] = satisfaction
        if note:
            data["note"] = note
        await audit.record(action=f"repair.{to}", subject_kind="repair", subject_id=repair_id,
                           actor_kind="member" if member_id is not None else "staff",
                           actor_id=member_id if member_id is not None else staff_id, data=data)
    repair = await get_repair(repair_id)
    if to == "closed":
        await visits.create_repair_visits(repair, now=now)
    return repair


async def rate(repair_id: int, satisfaction: int, *, staff_id: int | None = None, member_id: int | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """The owner's satisfaction (1–5) with a closed repair, once (told to staff, or from the app)."""
    now = now or clock.now()
    if satisfaction not in RATING_PERCENT:
        raise InvalidField(_("a score from 1 to 5"), field="satisfaction")
    async with db.transaction():
        repair = await get_repair(repair_id, member_id)
        if repair["state"] != "closed":
            raise RepairStateError(_("the owner rates a repair once it is closed"), field="satisfaction")
        rows = await Repair.update({Repair.satisfaction: satisfaction, Repair.rated_at: now}).where(
            (Repair.id == repair_id) & Repair.satisfaction.is_null()
        ).returning(Repair.id)
        if not rows:
            raise RepairRated(field="satisfaction")
        await audit.record(action="repair.rate", subject_kind="repair", subject_id=repair_id,
                           actor_kind="member" if member_id is not None else "staff",
                           actor_id=member_id if member_id is not None else staff_id, data={"satisfaction": satisfaction})
    return await get_repair(repair_id)


# --- contractors ---------------------------------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    first, last = date(2000, 1, 1), date(2199, 12, 31)
    for name, day in (("start", start), ("end", end)):
        if not first <= day <= last:
            raise InvalidField(_("dates run from {first} to {last}", first=first.isoformat(), last=last.isoformat()), field=name)
    if end < start:
        raise InvalidField(_("the range ends before it starts"), field="end")
    return (datetime.combine(start, time(0), clock.LOCAL_ZONE),
            datetime.combine(end + timedelta(days=1), time(0), clock.LOCAL_ZONE))


@dataclass
class ContractorMonth:
    contractor: str
    month: str  # YYYY-MM (Beijing), the month the repairs closed
    repairs: int = 0  # closed in the month
    rated: int = 0
    rating_total: int = 0
    contract_sum_fen: int = 0  # of the rated repairs
    reward_fen: int = 0  # the sum of the rewards (≥ 0)
    penalty_fen: int = 0  # the sum of the penalties (≥ 0)
    ratings: dict[int, int] = field(default_factory=lambda: {s: 0 for s in (5, 4, 3, 2, 1)})

    @property
    def net_fen(self) -> int:
        return self.reward_fen - self.penalty_fen

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_total / self.rated, 2) if self.rated else None


async def contractor_summary(month: str) -> list[ContractorMonth]:
    """Per contractor, the repairs closed in a Beijing month (YYYY-MM): how many, their ratings,
    and the rewards and penalties the ratings come to (a repair not yet rated counts none)."""
    from loyalty.care.visits import month_bounds

    start, end = month_bounds(month)
    label = f"{start.year:04d}-{start.month:02d}"
    found: dict[str, ContractorMonth] = {}
    for row in await Repair.select(Repair.contractor, Repair.contract_sum_fen, Repair.satisfaction).where(
        (Repair.state == "closed") & (Repair.closed_at >= start) & (Repair.closed_at < end)
    ):
        line = found.setdefault(row["contractor"], ContractorMonth(row["contractor"], label))
        line.repairs += 1
        if row["satisfaction"] is None:
            continue
        amount = contractor_amount_fen(row["contract_sum_fen"], row["satisfaction"])
        line.rated += 1
        line.rating_total += row["satisfaction"]
        line.ratings[row["satisfaction"]] += 1
        line.contract_sum_fen += row["contract_sum_fen"]
        if amount >= 0:
            line.reward_fen += amount
        else:
            line.penalty_fen -= amount
    return sorted(found.values(), key=lambda line: line.contractor)


async def contractors() -> list[str]:
    """The contractors named so far (for the form's suggestions), by name."""
    rows = await Repair.select(Repair.contractor).distinct().order_by(Repair.contractor)
    return [row["contractor"] for row in rows]


# --- KPI figures ----------------------------------------------------------------------------------


@dataclass
class Figure:
    """A ratio as a board shows it: the part, the whole and the records behind them."""

    numerator: int
    denominator: int
    records: list[dict[str, Any]]

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass
class RepairKpis:
    satisfaction: Figure  # ratings of 4–5 / ratings (repairs rated in the range)
    pass_rate: Figure  # accepted at the first acceptance / accepted (in the range)
    second_repair_rate: Figure  # second repairs / repairs (reported in the range)


async def repair_kpis(start: date, end: date, project_id: int | None = None) -> RepairKpis:
    """The repair KPIs over Beijing dates [start, end]: satisfaction by the day rated, pass rate by
    the day accepted, second-repair rate by the day reported."""
    since, until = _bounds(start, end)

    def scoped(query: Any) -> Any:
        return query.where(Repair.project == project_id) if project_id is not None else query

    rows = await scoped(Repair.select().where(
        ((Repair.reported_at >= since) & (Repair.reported_at < until))
        | ((Repair.accepted_at >= since) & (Repair.accepted_at < until))
        | ((Repair.rated_at >= since) & (Repair.rated_at < until))
    ).order_by(Repair.id))
    return repair_figures(rows, since, until)


def repair_figures(rows: list[dict[str, Any]], since: datetime, until: datetime) -> RepairKpis:
    """The repair KPIs of [since, until) counted over `rows` (any repairs, in id order; those
    outside the range are passed over): the one formula the KPI board uses too."""
    def within(at: datetime | None) -> bool:
        return at is not None and since <= at < until

    rated = [r for r in rows if r["satisfaction"] is not None and within(r["rated_at"])]
    accepted = [r for r in rows if within(r["accepted_at"])]
    reported = [r for r in rows if within(r["reported_at"])]
    return RepairKpis(
        satisfaction=Figure(sum(r["satisfaction"] >= 4 for r in rated), len(rated), rated),
        pass_rate=Figure(sum(r["rework_count"] == 0 for r in accepted), len(accepted), accepted),
        second_repair_rate=Figure(sum(r["second_repair_of"] is not None for r in reported), len(reported), reported),
    )
