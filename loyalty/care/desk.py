"""The care desk's queue (/staff#desk): cases sorted by the clock that runs out next, so what is
overdue comes first and what is due soon after it; filtered by kind, project, assignee and state;
one page at a time. Also who a case can be given to (the service and admin staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from piccolo.query import OrderByRaw

from loyalty import clock
from loyalty.care import cases
from loyalty.care.tables import CASE_KINDS, CASE_STATUSES, Case, Survey
from loyalty.errors import InvalidField
from loyalty.i18n import _
from loyalty.i18n.format import Later, identifiers
from loyalty.phones import mask_phone

ASSIGNEES = ("anyone", "me", "unassigned")
SORTS = ("newest", "deadline")
# The states the desk filters by: a case status, or `active` (not yet followed up: it still has a
# clock running), or `overdue` (a clock ran out and is not done).
STATES = ("active", "overdue", *CASE_STATUSES)
HANDLER_ROLES = ("service", "admin")

# The next clock to run out: the reply while there is none, then the result, then (resolved, not
# yet called back) the follow-up; a followed-up case has none. One SQL expression, so the database
# sorts and pages; on both engines a NULL would sort differently, so "has none" sorts first.
_NEXT_DUE = (
    "CASE WHEN first_reply_at IS NULL THEN first_reply_due WHEN resolved_at IS NULL THEN result_due "
    "WHEN status = 'resolved' THEN follow_up_due END"
)


def next_clock(case: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """The clock a case waits on now and when it runs out (the same rule as the queue's order)."""
    if case["first_reply_at"] is None:
        return "reply", case["first_reply_due"]
    if case["resolved_at"] is None:
        return "result", case["result_due"]
    if case["status"] == "resolved":
        return "follow_up", case["follow_up_due"]
    return None, None


async def queue(
    *, kind: str | None = None, project_id: int | None = None, member_id: int | None = None, assignee: str = "anyone", staff_id: int | None = None,
    assigned_to: int | None = None, state: str | None = None, status: str | None = None, overdue: bool = False,
    sort: str = "deadline", limit: int = 50, offset: int = 0, now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The desk's queue, one page: by the deadline that comes next (overdue first), or newest first.
    Filters add up. `status` is the older exact filter (any text: an unknown one matches none);
    `state` is checked, and also offers `active` and `overdue`."""
    now = now or clock.now()
    if kind is not None and kind not in CASE_KINDS:
        raise InvalidField(_("The kind is one of {kinds}", kinds=Later(identifiers, CASE_KINDS)), field="kind")
    if state is not None and state not in STATES:
        raise InvalidField(_("The state is one of {states}", states=Later(identifiers, STATES)), field="state")
    if assignee not in ASSIGNEES:
        raise InvalidField(_("The assignee is one of {choices}", choices=Later(identifiers, ASSIGNEES)), field="assignee")
    if sort not in SORTS:
        raise InvalidField(_("The order is one of {choices}", choices=Later(identifiers, SORTS)), field="sort")
    query = Case.select().limit(limit).offset(offset)
    if sort == "deadline":
        query = query.order_by(OrderByRaw(f"({_NEXT_DUE}) IS NULL"), OrderByRaw(_NEXT_DUE), Case.id)
    else:
        query = query.order_by(Case.id, ascending=False)
    if kind is not None:
        query = query.where(Case.kind == kind)
    if project_id is not None:
        query = query.where(Case.project == project_id)
    if member_id is not None:
        query = query.where(Case.member == member_id)
    if assigned_to is not None:
        query = query.where(Case.assigned_to == assigned_to)
    if status is not None:
        query = query.where(Case.status == status)
    if overdue or state == "overdue":
        query = query.where(cases.overdue_condition(now))
    if assignee == "me":
        query = query.where(Case.assigned_to == staff_id)
    elif assignee == "unassigned":
        query = query.where(Case.assigned_to.is_null())
    if state == "active":
        query = query.where(Case.status != "followed_up")
    elif state is not None and state != "overdue":
        query = query.where(Case.status == state)
    return await query


async def owners(member_ids: set[int]) -> dict[int, dict[str, str]]:
    """Each case's owner as the desk shows them: the name and the masked phone."""
    from loyalty.members.tables import Member

    if not member_ids:
        return {}
    rows = await Member.select(Member.id, Member.name, Member.phone).where(Member.id.is_in(list(member_ids)))
    return {row["id"]: {"name": row["name"], "phone": mask_phone(row["phone"] or "")} for row in rows}


async def handlers(staff_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """The staff a case can be given to (active service and admin staff); with `staff_ids`, those
    accounts whatever their role now (a case keeps the name of whoever has it)."""
    from loyalty.identity.tables import StaffAccount

    query = StaffAccount.select(StaffAccount.id, StaffAccount.display_name, StaffAccount.user.username, StaffAccount.role)
    if staff_ids is None:
        query = query.where(StaffAccount.role.is_in(list(HANDLER_ROLES)) & (StaffAccount.active == True))  # noqa: E712
    elif not staff_ids:
        return []
    else:
        query = query.where(StaffAccount.id.is_in(list(staff_ids)))
    rows = await query.order_by(StaffAccount.id)
    return [
        {"staff_id": r["id"], "name": r["display_name"] or r["user.username"], "role": r["role"]} for r in rows
    ]


async def rating(case_id: int) -> dict[str, Any] | None:
    """The owner's answer to the survey sent when the case was resolved, if they gave one."""
    return await Survey.select(
        Survey.satisfaction, Survey.recommend, Survey.comment, Survey.answered_at
    ).where((Survey.kind == "case") & (Survey.subject_id == case_id) & Survey.answered_at.is_not_null()).first()
