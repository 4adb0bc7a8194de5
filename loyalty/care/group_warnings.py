"""Group-complaint early warning (群诉预警): several open cases of one kind in one project — one
building, when the cases name a unit — opened within a window warn the service lead before they
become a group complaint. The thresholds are settings: `group_warning_cases` (3) cases within
`group_warning_hours` (24).

A job (`detect`, every five minutes) finds the clusters. A cluster warns once: a warning is a row
(unique per cluster), and a case of the same kind, project and building opened while the cluster
is still alive (within the window of its last case) joins that warning instead of raising a new
one; a new warning for the same place needs the threshold reached again after the cluster has
died down. The warning is sent through the outbox to the service staff (the service lead reads
it with them; there is no lead role), shows as a banner on the service desk's queue, and is
acknowledged there (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care.tables import Case, GroupWarning
from loyalty.errors import DomainError, NotFound
from loyalty.i18n import DEFAULT_LOCALE, _
from loyalty.labels import label
from loyalty.settings import Settings

OPEN_STATUSES = ("open", "in_progress")


class WarningAcknowledged(DomainError):
    type = "warning-acknowledged"
    status = 409
    title = _("This warning is already acknowledged")


def _place(kind: str, project: int, building: str) -> str:
    return f"{kind}:{project}:{building}"


async def _notify(warning: dict[str, Any]) -> None:
    from loyalty.care.outbox import queue_message
    from loyalty.identity.tables import StaffAccount
    from loyalty.members.tables import Project

    smtp = bool(jobs.current_settings().smtp_host)
    project = await Project.select(Project.name).where(Project.id == warning["project"]).first()
    where = (project["name"] if project else str(warning["project"])) + (f" {warning['building']}" if warning["building"] else "")
    values = {"count": len(warning["case_ids"]), "kind": label(f"case_kind.{warning['kind']}", DEFAULT_LOCALE), "where": where}
    staff = await StaffAccount.select(StaffAccount.id, StaffAccount.user.username, StaffAccount.user.email).where(
        StaffAccount.role.is_in(["service", "admin"]) & (StaffAccount.active == True)  # noqa: E712
    )
    for person in staff:
        # As an overdue case's escalation: an address that cannot be written to, or no SMTP, is the log.
        email = person["user.email"] if smtp and not (person["user.email"] or "").endswith("@staff.invalid") else ""
        message_id = await queue_message(
            kind="case_update", channel_name="email" if email else "log",
            recipient=email or f"staff:{person['user.username']}", template="group_warning", language=DEFAULT_LOCALE,
            subject=label("care.group_warning.subject", DEFAULT_LOCALE, **values),
            body=label("care.group_warning.body", DEFAULT_LOCALE, **values),
            payload={"group_warning_id": warning["id"], "case_ids": warning["case_ids"]},
        )
        if message_id is not None:
            await jobs.enqueue("loyalty.care.deliver_message", message_id)


async def detect(now: datetime | None = None, settings: Settings | None = None) -> int:
    """The job: each cluster of open cases at the threshold warns once; cases that arrive while a
    cluster is alive join its warning. Returns how many warnings were raised."""
    settings = settings or jobs.current_settings()
    now = now or clock.now()
    window = timedelta(hours=settings.group_warning_hours)
    rows = await Case.select(
        Case.id, Case.kind, Case.project, Case.unit.building.as_alias("building"), Case.opened_at,
    ).where(
        Case.status.is_in(list(OPEN_STATUSES)) & Case.project.is_not_null() & (Case.opened_at >= now - window)
        & (Case.opened_at <= now)
    ).order_by(Case.opened_at).order_by(Case.id)
    clusters: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        clusters.setdefault((row["kind"], row["project"], row["building"] or ""), []).append(row)
    raised = 0
    for (kind, project, building), found in clusters.items():
        async with db.transaction():
            alive = await GroupWarning.select().where(
                (GroupWarning.kind == kind) & (GroupWarning.project == project) & (GroupWarning.building == building)
                & (GroupWarning.last_case_at >= now - window)
            ).order_by(GroupWarning.id, ascending=False).output(load_json=True).first()
            if alive is not None:
                joined = [c["id"] for c in found if c["id"] not in alive["case_ids"]]
                if joined:
                    await GroupWarning.update({
                        GroupWarning.case_ids: sorted(alive["case_ids"] + joined),
                        GroupWarning.last_case_at: max(c["opened_at"] for c in found),
                    }).where(GroupWarning.id == alive["id"])
                continue
            if len(found) < settings.group_warning_cases:
                continue
            inserted = await GroupWarning.insert(GroupWarning(
                key=f"{_place(kind, project, building)}:{found[0]['id']}", kind=kind, project=project, building=building,
                case_ids=[c["id"] for c in found], first_case_at=found[0]["opened_at"], last_case_at=found[-1]["opened_at"],
                raised_at=now,
            )).on_conflict(action="DO NOTHING").returning(GroupWarning.id)
            if not inserted:  # another copy of the job raised it a moment ago
                continue
            warning = await GroupWarning.select().where(GroupWarning.id == inserted[0]["id"]).output(load_json=True).first()
            await audit.record(action="group_warning.raise", subject_kind="group_warning", subject_id=warning["id"],
                               actor_kind="system", data={"cases": warning["case_ids"]})
            await _notify(warning)
            raised += 1
    return raised


async def open_warnings(project_id: int | None = None) -> list[dict[str, Any]]:
    """Warnings nobody has acknowledged yet, newest first (the desk's banner)."""
    query = GroupWarning.select().where(GroupWarning.acknowledged_at.is_null()).order_by(GroupWarning.raised_at, ascending=False)
    if project_id is not None:
        query = query.where(GroupWarning.project == project_id)
    return await query.output(load_json=True)


async def acknowledge(warning_id: int, staff_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The service lead has seen the warning (and acts on it); audited; once."""
    now = now or clock.now()
    async with db.transaction():
        rows = await GroupWarning.update({GroupWarning.acknowledged_by: staff_id, GroupWarning.acknowledged_at: now}).where(
            (GroupWarning.id == warning_id) & GroupWarning.acknowledged_at.is_null()
        ).returning(GroupWarning.id)
        if not rows:
            if not await GroupWarning.exists().where(GroupWarning.id == warning_id):
                raise NotFound(_("no warning {warning_id}", warning_id=warning_id))
            raise WarningAcknowledged()
        await audit.record(action="group_warning.acknowledge", subject_kind="group_warning", subject_id=warning_id,
                           actor_id=staff_id)
    return await GroupWarning.select().where(GroupWarning.id == warning_id).output(load_json=True).first()


@dataclass
class GroupWarnings:
    """For a KPI board: the warnings raised in a range, and how many cases they gathered."""

    warnings: int
    cases: int
    records: list[dict[str, Any]]


async def group_warnings(start: date, end: date, project_id: int | None = None) -> GroupWarnings:
    """Warnings raised over Beijing dates [start, end] (in one project, when given), oldest first."""
    from loyalty.care.repairs import _bounds

    since, until = _bounds(start, end)
    query = GroupWarning.select().where((GroupWarning.raised_at >= since) & (GroupWarning.raised_at < until)).order_by(
        GroupWarning.raised_at
    )
    if project_id is not None:
        query = query.where(GroupWarning.project == project_id)
    records = await query.output(load_json=True)
    return GroupWarnings(len(records), sum(len(r["case_ids"]) for r in records), records)
