"""Care plans (关怀计划, the seeds' owner-maintenance system): a segment of owners who need a call
beyond the journey's, each plan making return visits for its segment through the visits service.

- elderly_alone (独居老人关怀): owners tagged as elderly people living alone (a member tag,
  `ELDERLY_TAGS`); one visit a month, source `care:elderly_alone:YYYY-MM`;
- silent (沉默业主唤醒): owners nobody has been in touch with for `SILENT_MONTHS` months — no
  return visit done, no care-desk reply on their cases and no message sent to them (what the
  contact log, `visits.contacts`, shows; a login code is the owner asking, not us); one visit a
  month, source `care:silent:YYYY-MM`;
- care_315 (“315” 交付关怀): every ownership handed over in the last three months gets one
  basic-care visit, due two months after the handover, and one in-depth interview
  (`care_315_interview`), due by the end of the three months; source `ownership:<id>`. The five
  improvement actions recorded after it, per handover batch, are loyalty.care.improvements.

One daily job (`run_plans`) makes them; it is idempotent per period: the visits' unique index on
(kind, source, member) with ON CONFLICT DO NOTHING (`visits._insert`), so running it again, or two
copies at once, adds nothing. Visits are spread over the active service staff, as the monthly plan's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from dateutil.relativedelta import relativedelta

from loyalty import clock
from loyalty.care import visits
from loyalty.care.tables import CaseMessage, OutboxMessage, ReturnVisit
from loyalty.i18n import Message, _
from loyalty.i18n.catalog import translate
from loyalty.members.tables import Member, Ownership

ELDERLY_TAGS = ("独居老人", "elderly_alone")
SILENT_MONTHS = 6
HANDOVER_CARE_MONTHS = 3
# The job runs daily at this Beijing hour (loyalty/worker.py's beat entry says the same).
RUN_HOUR, RUN_MINUTE = 1, 20


@dataclass(frozen=True)
class Plan:
    key: str
    kind: str  # the return visit's kind (the first, where a plan makes several)
    name: Message
    segment: Message
    cadence: Message
    find: Callable[[datetime], Awaitable[list[visits.Due]]]
    also: tuple[str, ...] = ()  # the plan's other visit kinds

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind, *self.also)


def _month(now: datetime) -> tuple[str, datetime]:
    start, end = visits.month_bounds(now.astimezone(clock.LOCAL_ZONE).date())
    return f"{start.year:04d}-{start.month:02d}", visits._on((end - timedelta(days=1)).date())


async def _active_owners() -> list[dict[str, Any]]:
    return await Member.select(Member.id, Member.tags).where(
        Member.erased_at.is_null() & Member.id.is_in(Ownership.select(Ownership.member).where(Ownership.status == "active"))
    ).order_by(Member.id)


async def elderly_alone(now: datetime) -> list[visits.Due]:
    month, due_at = _month(now)
    return [
        visits.Due("care_elderly_alone", f"care:elderly_alone:{month}", due_at, member=row["id"])
        for row in await _active_owners() if any(tag in ELDERLY_TAGS for tag in _tags(row["tags"]))
    ]


def _tags(value: Any) -> list[str]:
    """A member's tags (a JSON list, as stored or as read back)."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return [str(tag) for tag in value] if isinstance(value, list) else []


async def last_contacts() -> dict[int, datetime]:
    """Each member's last contact: a return visit done, a care-desk reply on their case, a message
    sent to them (not a login code)."""
    last: dict[int, datetime] = {}

    def seen(member: int | None, at: datetime | None) -> None:
        if member and at and (member not in last or at > last[member]):
            last[member] = at

    for row in await ReturnVisit.select(ReturnVisit.member, ReturnVisit.done_at).where(
        (ReturnVisit.status == "done") & ReturnVisit.member.is_not_null()
    ):
        seen(row["member"], row["done_at"])
    for row in await CaseMessage.select(CaseMessage.case.member.as_alias("member"), CaseMessage.created_at).where(
        CaseMessage.author_kind == "staff"
    ):
        seen(row["member"], row["created_at"])
    for row in await OutboxMessage.select(OutboxMessage.member, OutboxMessage.sent_at).where(
        (OutboxMessage.status == "sent") & (OutboxMessage.kind != "login_code") & OutboxMessage.member.is_not_null()
    ):
        seen(row["member"], row["sent_at"])
    return last


async def silent(now: datetime) -> list[visits.Due]:
    month, due_at = _month(now)
    since = now - relativedelta(months=SILENT_MONTHS)
    last = await last_contacts()
    return [
        visits.Due("care_silent", f"care:silent:{month}", due_at, member=row["id"])
        for row in await _active_owners() if last.get(row["id"]) is None or last[row["id"]] < since
    ]


async def handover_315(now: datetime) -> list[visits.Due]:
    today = now.astimezone(clock.LOCAL_ZONE).date()
    oldest = today - relativedelta(months=HANDOVER_CARE_MONTHS)
    rows = await Ownership.select(Ownership.id, Ownership.member, Ownership.delivery_date).where(
        (Ownership.status == "active") & Ownership.member.erased_at.is_null() & Ownership.delivery_date.is_not_null()
        & (Ownership.delivery_date >= oldest) & (Ownership.delivery_date <= today)
    )
    found = []
    for row in rows:
        source, delivered = f"ownership:{row['id']}", row["delivery_date"]
        found.append(visits.Due("care_315", source, visits._on(delivered + relativedelta(months=2)), member=row["member"]))
        found.append(visits.Due("care_315_interview", source,
                                visits._on(delivered + relativedelta(months=HANDOVER_CARE_MONTHS) - timedelta(days=1)),
                                member=row["member"]))
    return found


PLANS: dict[str, Plan] = {plan.key: plan for plan in (
    Plan("elderly_alone", "care_elderly_alone", _("Elderly owners living alone"),
         _("active owners with the tag for elderly people living alone"), _("a call every month"), elderly_alone),
    Plan("silent", "care_silent", _("Silent owners"),
         _("active owners nobody has contacted for {months} months (no return visit, no reply on a case, no message sent)",
           months=SILENT_MONTHS),
         _("a call every month"), silent),
    Plan("care_315", "care_315", _("“315” handover care"),
         _("owners whose home was handed over in the last {months} months", months=HANDOVER_CARE_MONTHS),
         _("one basic-care call two months after the handover, one in-depth interview within three months"), handover_315,
         also=("care_315_interview",)),
)}


async def _spread(dues: list[visits.Due]) -> list[visits.Due]:
    from loyalty.identity.tables import StaffAccount

    staff = [row["id"] for row in await StaffAccount.select(StaffAccount.id).where(
        (StaffAccount.role == "service") & (StaffAccount.active == True)  # noqa: E712
    ).order_by(StaffAccount.id)]
    if not staff:
        return dues
    return [visits.Due(d.kind, d.source, d.due_at, d.member, d.lead, staff[n % len(staff)]) for n, d in enumerate(dues)]


async def run_plans(now: datetime | None = None) -> dict[str, int]:
    """The daily job: each plan's visits for its segment, once per period; returns how many each made."""
    now = now or clock.now()
    made = {}
    for plan in PLANS.values():
        made[plan.key] = await visits._insert(await _spread(await plan.find(now)), now)
    return made


def next_run(now: datetime) -> datetime:
    local = now.astimezone(clock.LOCAL_ZONE)
    at = local.replace(hour=RUN_HOUR, minute=RUN_MINUTE, second=0, microsecond=0)
    return at if at > local else at + timedelta(days=1)


async def overview(locale: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The plans for the admin page: words, the next run, the owners in the segment now, the visits
    made for this period (this month; all of them for 315) and the open ones."""
    now = now or clock.now()
    month, _due = _month(now)
    found = []
    for plan in PLANS.values():
        segment = await plan.find(now)
        rows = await ReturnVisit.select(ReturnVisit.source, ReturnVisit.status).where(ReturnVisit.kind.is_in(list(plan.kinds)))
        this_period = [r for r in rows if plan.key == "care_315" or r["source"].endswith(f":{month}")]
        found.append({
            "key": plan.key, "visit_kind": plan.kind, "name": translate(plan.name, locale),
            "segment": translate(plan.segment, locale), "cadence": translate(plan.cadence, locale),
            "next_run": next_run(now), "segment_owners": len({d.member for d in segment}),
            "visits_made": len(this_period), "visits_open": sum(r["status"] == "open" for r in this_period),
            "visits_total": len(rows),
        })
    return found

