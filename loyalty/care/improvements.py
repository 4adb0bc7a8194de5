"""The “315” plan's improvement actions (整改措施): after the basic-care calls and the in-depth
interview of a handover batch, the service team records what it will change, five actions per batch.

A batch is a project and the Beijing month its homes were handed over (`batch_month`, YYYY-MM). An
action names what the owners said (and optionally the survey, case or return visit it came from),
the staff member who carries it out and a due date; it is marked done once, with its result. The
plan asks for `TARGET` actions per batch: a sixth may be recorded, the count shows "6 of 5".

Batches listed: those handed over within the plan's window (care_plans.HANDOVER_CARE_MONTHS, the
months the 315 visits are made for) and any batch that already has actions. Every write is
audited in its transaction."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.care import desk
from loyalty.care.care_plans import HANDOVER_CARE_MONTHS
from loyalty.care.tables import IMPROVEMENT_SOURCES, Case, ImprovementAction, ReturnVisit, Survey
from loyalty.errors import DomainError, InvalidField, MalformedField, NotFound
from loyalty.i18n import _
from loyalty.i18n.enums import enum_label
from loyalty.i18n.format import Later
from loyalty.members.tables import Ownership, Project

TARGET = 5
TITLE_MAX = 200
TEXT_MAX = 4000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_SOURCES = {"survey": Survey, "case": Case, "visit": ReturnVisit}


class ActionDone(DomainError):
    type = "improvement-action-done"
    status = 409
    title = _("This improvement action is already done")


def parse_month(value: str, field: str = "batch_month") -> date:
    found = _MONTH.match(value or "")
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise MalformedField(_("a month is written YYYY-MM"), field=field)
    return date(int(found.group(1)), int(found.group(2)), 1)


_EMPTY = {
    "title": _("the title must not be empty"),
    "owners_said": _("say what the owners said"),
    "result": _("say what came of the action"),
}


def _text(value: str, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidField(_EMPTY[field], field=field)
    if len(value) > limit:
        raise InvalidField(_("at most {limit} characters", limit=limit), field=field)
    return value


async def add(*, project_id: int, batch_month: str, title: str, owners_said: str, owner_staff_id: int, due_on: date,
              staff_id: int, source_kind: str | None = None, source_id: int | None = None) -> dict[str, Any]:
    """Record one improvement action for a batch (audited)."""
    first = parse_month(batch_month)
    title = _text(title, "title", TITLE_MAX)
    owners_said = _text(owners_said, "owners_said", TEXT_MAX)
    if not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("no project {project_id}", project_id=project_id), field="project_id")
    if source_kind is None and source_id is not None:
        raise InvalidField(_("say whether the source is a survey, a case or a return visit"), field="source_kind")
    if source_kind is not None:
        if source_kind not in IMPROVEMENT_SOURCES:
            raise InvalidField(_("the source is a survey, a case or a return visit"), field="source_kind")
        if source_id is None:
            raise InvalidField(_("the source's number is missing"), field="source_id")
        table = _SOURCES[source_kind]
        if not await table.exists().where(table.id == source_id):
            raise InvalidField(_("no {kind} {source_id}", kind=Later(enum_label, "improvement_source", source_kind),
                                 source_id=source_id), field="source_id")
    if not any(h["staff_id"] == owner_staff_id for h in await desk.handlers()):
        raise InvalidField(_("the owner of the action is an active service or admin account"), field="owner_staff_id")
    if due_on < first:
        raise InvalidField(_("the due date is before the batch was handed over"), field="due_on")
    async with db.transaction():
        row = (await ImprovementAction.insert(ImprovementAction(
            project=project_id, batch_month=batch_month, title=title, owners_said=owners_said, source_kind=source_kind,
            source_id=source_id, owner_staff=owner_staff_id, due_on=due_on, created_by=staff_id, created_at=clock.now(),
        )).returning(ImprovementAction.id))[0]
        await audit.record(action="improvement_action.add", subject_kind="improvement_action", subject_id=row["id"],
                           actor_id=staff_id, data={"project": project_id, "batch_month": batch_month, "title": title})
    return await get(row["id"])


async def mark_done(action_id: int, result: str, staff_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The action is carried out: its result, once (audited)."""
    result = _text(result, "result", TEXT_MAX)
    async with db.transaction():
        rows = await ImprovementAction.update({ImprovementAction.done_at: now or clock.now(), ImprovementAction.result: result}).where(
            (ImprovementAction.id == action_id) & ImprovementAction.done_at.is_null()
        ).returning(ImprovementAction.id)
        if not rows:
            if not await ImprovementAction.exists().where(ImprovementAction.id == action_id):
                raise NotFound(_("no improvement action {action_id}", action_id=action_id))
            raise ActionDone()
        await audit.record(action="improvement_action.done", subject_kind="improvement_action", subject_id=action_id,
                           actor_id=staff_id, data={"result": result})
    return await get(action_id)


async def get(action_id: int) -> dict[str, Any]:
    row = await ImprovementAction.select().where(ImprovementAction.id == action_id).first()
    if row is None:
        raise NotFound(_("no improvement action {action_id}", action_id=action_id))
    return (await _named([row]))[0]


async def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {h["staff_id"]: h["name"] for h in await desk.handlers({r["owner_staff"] for r in rows})}
    return [{**r, "owner_staff_name": names.get(r["owner_staff"], "")} for r in rows]


async def batches(project_id: int | None = None, batch_month: str | None = None, today: date | None = None) -> list[dict[str, Any]]:
    """The 315 batches, newest first: the ones handed over within the plan's window and any with actions, each with
    its owners handed over, its actions (oldest first), how many are recorded and done, and the plan's target."""
    if batch_month is not None:
        parse_month(batch_month, "batch_month")
    today = today or clock.today()
    oldest = today - relativedelta(months=HANDOVER_CARE_MONTHS)
    query = Ownership.select(Ownership.member, Ownership.unit.project.as_alias("project"), Ownership.delivery_date).where(
        (Ownership.status == "active") & Ownership.delivery_date.is_not_null()
        & (Ownership.delivery_date >= oldest) & (Ownership.delivery_date <= today)
    )
    if project_id is not None:
        query = query.where(Ownership.unit.project == project_id)
    owners: dict[tuple[int, str], set[int]] = {}
    for row in await query:
        key = (row["project"], row["delivery_date"].strftime("%Y-%m"))
        owners.setdefault(key, set()).add(row["member"])
    actions_query = ImprovementAction.select().order_by(ImprovementAction.id)
    if project_id is not None:
        actions_query = actions_query.where(ImprovementAction.project == project_id)
    actions: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in await _named(await actions_query):
        actions.setdefault((row["project"], row["batch_month"]), []).append(row)
    keys = {k for k in set(owners) | set(actions) if batch_month is None or k[1] == batch_month}
    projects = {p["id"]: p for p in await Project.select(Project.id, Project.name, Project.name_en).where(
        Project.id.is_in([k[0] for k in keys] or [0]))}
    found = []
    for key in sorted(keys, key=lambda k: (k[1], -k[0]), reverse=True):
        listed = actions.get(key, [])
        project = projects.get(key[0], {"name": "", "name_en": ""})
        found.append({
            "project_id": key[0], "project_name": project["name"], "project_name_en": project["name_en"],
            "batch_month": key[1], "owners": len(owners.get(key, ())), "target": TARGET, "recorded": len(listed),
            "done": sum(a["done_at"] is not None for a in listed), "actions": listed,
        })
    return found
