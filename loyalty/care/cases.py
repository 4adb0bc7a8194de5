"""Feedback and complaints with their three clocks (DESIGN.md, "Care"): a first reply within
48 hours, a result within 7 days, a follow-up call within 24 hours of the result (settings).
A job flags what runs late, once per clock, and tells the assignee (or the service team)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care import outbox
from loyalty.care.tables import CASE_KINDS, CASE_SEVERITIES, Case, CaseMessage, CasePhoto
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import DEFAULT_LOCALE, LOCALES, _, _n
from loyalty.i18n.enums import ENUMS, enum_list
from loyalty.i18n.format import Later
from loyalty.images import check_image
from loyalty.labels import label
from loyalty.settings import Settings

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class CaseClosed(DomainError):
    type = "case-closed"
    status = 409
    title = _("This case is already resolved")


# A case takes messages and photos (from the owner or the care desk) only while it is being
# handled. Once resolved, the outcome is written and the follow-up call hears what the owner
# still has to say; a new matter is a new case. (A photo or a message sent to a resolved case
# would land on a case nobody is answering any more: no clock runs for it.)
TAKES_ADDITIONS = ("open", "in_progress")


def _still_open(case: dict[str, Any], field: str) -> None:
    if case["status"] not in TAKES_ADDITIONS:
        raise CaseClosed(
            _("This case is resolved, so nothing more can be added to it; to raise something new, file a new case"),
            field=field,
        )


def _text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not 1 <= len(text) <= limit:
        raise InvalidField(_("must be 1 to {limit} characters long", limit=limit), field=field)
    return text


async def open_case(
    member_id: int, kind: str, title: str, text: str, *, unit_id: int | None = None, opened_by_staff: int | None = None,
    settings: Settings | None = None, now: datetime | None = None,
) -> int:
    """An owner (or staff for them, e.g. from a phone call) opens a case; its clocks start now."""
    from loyalty.members.tables import Member, Ownership, Unit

    settings = settings or jobs.current_settings()
    now = now or clock.now()
    if kind not in CASE_KINDS:
        raise InvalidField(_("the kind of case is one of {kinds}", kinds=Later(enum_list, "case_kind", CASE_KINDS, style="or")), field="kind")
    title, text = _text(title, "title", 200), _text(text, "text", 5000)
    if not await Member.exists().where(Member.id == member_id):
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    project_id = None
    if unit_id is not None:
        unit = await Unit.select(Unit.project).where(
            (Unit.id == unit_id) & Unit.id.is_in(Ownership.select(Ownership.unit).where(Ownership.member == member_id))
        ).first()
        if unit is None:
            raise InvalidField(_("not one of this owner's units"), field="unit_id")
        project_id = unit["project"]
    else:
        first = await Ownership.select(Ownership.unit.project).where(Ownership.member == member_id).order_by(Ownership.id).first()
        project_id = first["unit.project"] if first else None
    async with db.transaction():
        rows = await Case.insert(
            Case(
                member=member_id, kind=kind, project=project_id, unit=unit_id, title=title, text=text,
                opened_by="staff" if opened_by_staff else "member", opened_by_staff=opened_by_staff, opened_at=now,
                first_reply_due=now + timedelta(hours=reply_hours(kind, settings)),
                result_due=now + timedelta(days=settings.case_result_days),
            )
        ).returning(Case.id)
        if opened_by_staff:
            await audit.record(action="case.open", subject_kind="case", subject_id=rows[0]["id"], actor_id=opened_by_staff)
    return rows[0]["id"]


def reply_hours(kind: str, settings: Settings) -> int:
    """The first reply's clock: 72 hours for a special need (help an owner cannot do without,
    which may take a visit to answer), 48 for every other case."""
    return settings.case_special_need_hours if kind == "special_need" else settings.case_reply_hours


async def get_case(case_id: int, member_id: int | None = None) -> dict[str, Any]:
    """A case (an owner only sees their own: others are 404)."""
    query = Case.select().where(Case.id == case_id)
    if member_id is not None:
        query = query.where(Case.member == member_id)
    case = await query.first()
    if case is None:
        raise NotFound(_("no case {case_id}", case_id=case_id))
    return case


async def messages(case_id: int) -> list[dict[str, Any]]:
    return await CaseMessage.select().where(CaseMessage.case == case_id).order_by(CaseMessage.id)


async def add_photo(case_id: int, member_id: int | None, data: bytes, settings: Settings | None = None) -> int:
    """A photo for a case (JPEG, PNG or WebP, at most 5 MB and the pixel ceiling, at most 5 per
    case), verified by Pillow before it is stored: staff open these in their browser."""
    settings = settings or jobs.current_settings()
    _still_open(await get_case(case_id, member_id), "photo")
    kind = check_image(
        data, field="photo", formats=tuple(PHOTO_TYPES), max_bytes=MAX_PHOTO_BYTES, max_pixels=settings.upload_max_pixels
    )
    async with db.transaction():
        # Again inside the transaction: the case may have been resolved while the photo was checked.
        _still_open(await get_case(case_id, member_id), "photo")
        if await CasePhoto.count().where(CasePhoto.case == case_id) >= MAX_PHOTOS:
            raise InvalidField(_n("at most {count} photo per case", "at most {count} photos per case", MAX_PHOTOS), field="photo")
        rows = await CasePhoto.insert(
            CasePhoto(case=case_id, content_type=PHOTO_TYPES[kind], data=data, size=len(data))
        ).returning(CasePhoto.id)
    return rows[0]["id"]


async def photo(case_id: int, photo_id: int, member_id: int | None = None) -> dict[str, Any]:
    await get_case(case_id, member_id)
    row = await CasePhoto.select().where((CasePhoto.id == photo_id) & (CasePhoto.case == case_id)).first()
    if row is None:
        raise NotFound(_("no photo {photo_id}", photo_id=photo_id))
    return row


async def _notify_owner(case: dict[str, Any], key: str, **values: Any) -> None:
    texts = {lang: (label("care.case.subject", lang), label(key, lang, title=case["title"], **values)) for lang in LOCALES}
    message_id = await outbox.message_member(case["member"], kind="case_update", template=key.replace(".", "_"), texts=texts,
                                             payload={"case_id": case["id"]})
    if message_id is not None:
        await jobs.enqueue("loyalty.care.deliver_message", message_id)


async def owner_reply(case_id: int, member_id: int, text: str, now: datetime | None = None) -> int:
    _still_open(await get_case(case_id, member_id), "text")
    rows = await CaseMessage.insert(
        CaseMessage(case=case_id, author_kind="member", author_id=member_id, text=_text(text, "text", 5000), created_at=now or clock.now())
    ).returning(CaseMessage.id)
    return rows[0]["id"]


async def staff_reply(case_id: int, staff_id: int, text: str, now: datetime | None = None) -> int:
    """A reply to the owner; the first one stops the 48-hour clock."""
    now = now or clock.now()
    text = _text(text, "text", 5000)
    async with db.transaction():
        case = await get_case(case_id)
        _still_open(case, "text")
        rows = await CaseMessage.insert(
            CaseMessage(case=case_id, author_kind="staff", author_id=staff_id, text=text, created_at=now)
        ).returning(CaseMessage.id)
        await Case.update({Case.first_reply_at: now, Case.status: "in_progress"}).where(
            (Case.id == case_id) & Case.first_reply_at.is_null()
        )
        # Every staff write is audited (DESIGN.md): the message row says what was written, the
        # audit log says who acted on which case, with the desk's other actions.
        await audit.record(action="case.reply", subject_kind="case", subject_id=case_id, actor_id=staff_id,
                           data={"message": rows[0]["id"]})
    await _notify_owner(case, "care.case.reply")
    return rows[0]["id"]


async def assign(case_id: int, assignee_id: int, staff_id: int) -> None:
    from loyalty.identity.tables import StaffAccount

    # Only someone who can open the desk can answer the case (the desk's handlers: service, admin).
    if not await StaffAccount.exists().where(
        (StaffAccount.id == assignee_id) & (StaffAccount.active == True) & StaffAccount.role.is_in(["service", "admin"])  # noqa: E712
    ):
        raise InvalidField(_("no active service staff member {staff_id}", staff_id=assignee_id), field="staff_id")
    async with db.transaction():
        if (await get_case(case_id))["status"] == "followed_up":  # done with: nothing left for anyone to do
            raise CaseClosed(field="staff_id")
        await Case.update({Case.assigned_to: assignee_id}).where(Case.id == case_id)
        await audit.record(action="case.assign", subject_kind="case", subject_id=case_id, actor_id=staff_id,
                           data={"assignee": assignee_id})


async def set_severity(case_id: int, severity: str, staff_id: int) -> None:
    """The care desk weighs a case (normal or major); a change is audited with what it was."""
    if severity not in CASE_SEVERITIES:
        raise InvalidField(
            _("the severity is one of {severities}", severities=Later(enum_list, "case_severity", CASE_SEVERITIES, style="or")),
            field="severity",
        )
    async with db.transaction():
        case = await get_case(case_id)
        if case["severity"] == severity:
            return
        await Case.update({Case.severity: severity}).where(Case.id == case_id)
        await audit.record(action="case.severity", subject_kind="case", subject_id=case_id, actor_id=staff_id,
                           data={"from": case["severity"], "to": severity})


async def resolve(case_id: int, result: str, staff_id: int, *, settings: Settings | None = None, now: datetime | None = None) -> None:
    """The result for the owner: stops the 7-day clock (and the reply clock, if still
    running), starts the follow-up clock, and sends the owner a satisfaction survey."""
    from loyalty.care import surveys

    settings = settings or jobs.current_settings()
    now = now or clock.now()
    result = _text(result, "result", 5000)
    async with db.transaction():
        case = await get_case(case_id)
        if case["status"] in ("resolved", "followed_up"):
            raise CaseClosed()
        await Case.update(
            {
                Case.status: "resolved", Case.result: result, Case.resolved_at: now,
                Case.first_reply_at: case["first_reply_at"] or now,
                Case.follow_up_due: now + timedelta(hours=settings.case_follow_up_hours),
            }
        ).where(Case.id == case_id)
        await audit.record(action="case.resolve", subject_kind="case", subject_id=case_id, actor_id=staff_id)
        survey_message = await surveys.create_survey(case["member"], "case", case_id, case["project"], case["title"], now=now)
    await _notify_owner(case, "care.case.resolved", result=result[:200])
    if survey_message is not None:
        await jobs.enqueue("loyalty.care.deliver_message", survey_message)


async def follow_up(case_id: int, note: str, staff_id: int, now: datetime | None = None) -> None:
    """The follow-up call after the result is recorded: the case is done."""
    now = now or clock.now()
    note = _text(note, "note", 2000)
    async with db.transaction():
        rows = await Case.update({Case.status: "followed_up", Case.followed_up_at: now, Case.follow_up_note: note}).where(
            (Case.id == case_id) & (Case.status == "resolved")
        ).returning(Case.id)
        if not rows:
            case = await get_case(case_id)
            status = ENUMS["case_status"].get(case["status"], case["status"])
            raise InvalidField(_("a case is followed up after it is resolved (this one is: {status})", status=status), field="status")
        await audit.record(action="case.follow_up", subject_kind="case", subject_id=case_id, actor_id=staff_id)


# --- the clocks ----------------------------------------------------------------------------


CLOCK_NAMES = ("reply", "result", "follow_up")
CLOCK_STATES = ("met", "missed", "running", "overdue", "not_started")


@dataclass(frozen=True)
class Clock:
    name: str  # one of CLOCK_NAMES
    due: datetime | None
    done: datetime | None

    def state(self, now: datetime) -> str:
        """met, missed (done late), running, overdue (not done, past due) or not_started."""
        if self.due is None:
            return "not_started"
        if self.done is not None:
            return "met" if self.done <= self.due else "missed"
        return "overdue" if now > self.due else "running"


def clocks(case: dict[str, Any]) -> list[Clock]:
    return [
        Clock("reply", case["first_reply_due"], case["first_reply_at"]),
        Clock("result", case["result_due"], case["resolved_at"]),
        Clock("follow_up", case["follow_up_due"], case["followed_up_at"]),
    ]


_ESCALATION = {  # clock → (the column that remembers the escalation, the condition of lateness)
    "reply": (Case.reply_escalated_at, lambda now: Case.first_reply_at.is_null() & (Case.first_reply_due < now)),
    "result": (Case.result_escalated_at, lambda now: Case.resolved_at.is_null() & (Case.result_due < now)),
    "follow_up": (
        Case.follow_up_escalated_at,
        lambda now: (Case.status == "resolved") & Case.follow_up_due.is_not_null() & (Case.follow_up_due < now),
    ),
}


def overdue_condition(now: datetime) -> Any:
    """The condition of a case with a clock past due and not done (for a query's where)."""
    return _ESCALATION["reply"][1](now) | _ESCALATION["result"][1](now) | _ESCALATION["follow_up"][1](now)


async def escalate_overdue(now: datetime | None = None) -> int:
    """The job (hourly): each clock that has run out is escalated once — flagged on the case,
    audited, and the assignee (or, with nobody assigned, the service team) is told."""
    from loyalty.care.outbox import queue_message
    from loyalty.identity.tables import StaffAccount

    now = now or clock.now()
    smtp = bool(jobs.current_settings().smtp_host)
    escalated = 0
    for name, (column, late) in _ESCALATION.items():
        rows = await Case.update({column: now}).where(late(now) & column.is_null()).returning(Case.id, Case.assigned_to, Case.title)
        for row in rows:
            escalated += 1
            await audit.record(action=f"case.escalate.{name}", subject_kind="case", subject_id=row["id"], actor_kind="system")
            staff = await StaffAccount.select(StaffAccount.id, StaffAccount.user.username, StaffAccount.user.email).where(
                (StaffAccount.id == row["assigned_to"]) if row["assigned_to"]
                else StaffAccount.role.is_in(["service", "admin"]) & (StaffAccount.active == True)  # noqa: E712
            )
            for person in staff:
                # Staff created without an address carry an undeliverable placeholder
                # (identity.create_staff); they, and everyone when SMTP is not set up, are told in the log.
                # Staff keep no saved language (only a session's), so they are told in the default one.
                email = person["user.email"] if smtp and not (person["user.email"] or "").endswith("@staff.invalid") else ""
                message_id = await queue_message(
                    kind="case_update", channel_name="email" if email else "log",
                    recipient=email or f"staff:{person['user.username']}", template=f"case_overdue_{name}",
                    language=DEFAULT_LOCALE, subject=label("care.overdue.subject", DEFAULT_LOCALE, case_id=row["id"]),
                    body=label(f"care.overdue.{name}", DEFAULT_LOCALE, case_id=row["id"], title=row["title"]),
                    payload={"case_id": row["id"], "clock": name},
                )
                if message_id is not None:
                    await jobs.enqueue("loyalty.care.deliver_message", message_id)
    return escalated


async def list_cases(
    *, status: str | None = None, overdue: bool = False, project_id: int | None = None, assigned_to: int | None = None,
    member_id: int | None = None, limit: int = 100, now: datetime | None = None,
) -> list[dict[str, Any]]:
    now = now or clock.now()
    query = Case.select().order_by(Case.id, ascending=False).limit(limit)
    if status is not None:
        query = query.where(Case.status == status)
    if project_id is not None:
        query = query.where(Case.project == project_id)
    if assigned_to is not None:
        query = query.where(Case.assigned_to == assigned_to)
    if member_id is not None:
        query = query.where(Case.member == member_id)
    if overdue:
        query = query.where(overdue_condition(now))
    return await query
