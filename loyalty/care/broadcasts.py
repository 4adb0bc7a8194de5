"""Messages to a group of owners (群发消息): project bulletins (工程进度通, topping-out, handover
notices), activity news and holiday greetings, written once in Chinese and English and sent to
a segment staff choose (projects and buildings, tiers, stages, tags, birthday month, no contact
for N months, attended an event or not).

- Every kind may be refused: each goes out as an outbox kind an owner can opt out of
  (BROADCAST_KINDS; a greeting is a `holiday` greeting). A bulletin about the owner's own
  project is still not a service message: it goes to a whole segment at once, chosen by staff,
  and the contractual notices (the handover notice itself, 交房通知书) travel by their own
  formal route. An owner may refuse bulletins and still get activity news, or the reverse.
- Through the outbox only (`outbox.message_member`): the owner's language (English falls back
  to Chinese), the owner's channels in their order, opt-outs (kept as `skipped` rows, which is
  how the stats count them) and quiet hours, which the outbox applies to every kind that is not
  transactional, so to all three of these: a broadcast sent at 22:00 waits for the morning.
- Each owner once per broadcast: the outbox's dedupe key `broadcast:<id>:<member>` is unique, so
  a re-run, a resumed run or two workers at once queue nobody twice.
- The segment is counted when staff look (before sending) and taken again when it goes out: a
  scheduled one reaches the owners who are in the segment at that moment.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.care import outbox
from loyalty.care.tables import BROADCAST_KINDS, Broadcast, OutboxMessage
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import _
from loyalty.i18n.format import Later, identifiers

TIERS = ("platinum", "gold", "silver", "blue")  # loyalty.cards.tables.TIERS
STAGES = ("prospect", "pre_owner", "settling", "stable", "veteran")  # loyalty.members.tables.STAGES
SEND_CHUNK = 200  # owners per transaction while sending: a failure loses one chunk's work, never more
QUIET_RUN = timedelta(minutes=10)  # a send run with no chunk done for this long died: resume it
MAX_NO_CONTACT_MONTHS = 120
TITLE_MAX, BODY_MAX = 100, 2000
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2999, 12, 31)  # the club's events; beyond them a day is a typo


class BroadcastClosed(DomainError):
    """The broadcast is no longer in a state that allows this (only a draft can be sent, only a
    draft or a scheduled one cancelled); `status_now` says where it stands."""

    type = "broadcast-closed"
    status = 409
    title = _("This message can no longer be changed")


@dataclass(frozen=True)
class Segment:
    """Which owners: every criterion given must hold (an empty one is no condition). Buildings
    are within the chosen projects; `attended` is a check-in at an event that started between
    `attended_from` and `attended_to` (Beijing days, both included; open-ended if absent)."""

    project_ids: Sequence[int] = ()
    buildings: Sequence[str] = ()
    tiers: Sequence[str] = ()
    stages: Sequence[str] = ()
    tags: Sequence[str] = ()
    birthday_month: int | None = None
    no_contact_months: int | None = None
    attended: bool | None = None
    attended_from: date | None = None
    attended_to: date | None = None


@dataclass(frozen=True)
class BroadcastDraft:
    kind: str
    title_zh: str
    body_zh: str
    title_en: str = ""
    body_en: str = ""
    segment: Segment = field(default_factory=Segment)
    send_at: datetime | None = None  # None: as soon as it is confirmed


@dataclass(frozen=True)
class Reach:
    members: int  # owners in the segment
    opted_out: int  # of whom refused this kind


# --- the segment ------------------------------------------------------------------------------


def _distinct(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _clean(segment: Segment) -> Segment:
    return Segment(
        project_ids=_distinct(segment.project_ids),
        buildings=_distinct(" ".join(b.split()) for b in segment.buildings if b.strip()),
        tiers=_distinct(segment.tiers), stages=_distinct(segment.stages),
        tags=_distinct(t.strip() for t in segment.tags if t.strip()),
        birthday_month=segment.birthday_month, no_contact_months=segment.no_contact_months,
        attended=segment.attended, attended_from=segment.attended_from, attended_to=segment.attended_to,
    )


async def check_segment(segment: Segment) -> Segment:
    """The segment tidied (each choice once), or an InvalidField naming what is wrong."""
    from loyalty.members.tables import Project

    segment = _clean(segment)
    if set(segment.tiers) - set(TIERS):
        raise InvalidField(_("Tiers are among {tiers}", tiers=Later(identifiers, TIERS)), field="tiers")
    if set(segment.stages) - set(STAGES):
        raise InvalidField(_("Stages are among {stages}", stages=Later(identifiers, STAGES)), field="stages")
    if segment.buildings and not segment.project_ids:
        raise InvalidField(_("Choose the project the buildings are in"), field="buildings")
    if segment.birthday_month is not None and not 1 <= segment.birthday_month <= 12:
        raise InvalidField(_("The birthday month is 1 to 12"), field="birthday_month")
    if segment.no_contact_months is not None and not 1 <= segment.no_contact_months <= MAX_NO_CONTACT_MONTHS:
        raise InvalidField(_("No contact for 1 to {most} months", most=MAX_NO_CONTACT_MONTHS), field="no_contact_months")
    if segment.attended is None and (segment.attended_from or segment.attended_to):
        raise InvalidField(_("Say whether the owners attended an event in these dates or not"), field="attended")
    for name in ("attended_from", "attended_to"):
        day = getattr(segment, name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidField(_("Choose a day from {first} to {last}", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()),
                               field=name)
    if segment.attended_from and segment.attended_to and segment.attended_to < segment.attended_from:
        raise InvalidField(_("The last day must not be before the first"), field="attended_to")
    if segment.project_ids:
        found = {row["id"] for row in await Project.select(Project.id).where(Project.id.is_in(list(segment.project_ids)))}
        if missing := [p for p in segment.project_ids if p not in found]:
            raise InvalidField(_("There is no project {project_id}", project_id=missing[0]), field="project_ids")
    return segment


def months_before(moment: datetime, months: int) -> datetime:
    """The same Beijing wall-clock time `months` calendar months earlier (31 March − 1 month is
    28 or 29 February)."""
    local = moment.astimezone(clock.LOCAL_ZONE)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, month_calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), clock.LOCAL_ZONE).astimezone(timezone.utc)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("{}" for _value in values)


def segment_sql(segment: Segment, now: datetime) -> tuple[str, list[Any]]:
    """SELECT member.id for the owners in the segment (erased owners never), set-based."""
    postgres = db.is_postgres()
    sql = ["SELECT member.id FROM member WHERE member.erased_at IS NULL"]
    args: list[Any] = []
    if segment.tiers:
        sql.append(
            "AND COALESCE((SELECT card.tier FROM card WHERE card.member = member.id AND card.status <> 'replaced'), 'blue') "
            f"IN ({_placeholders(segment.tiers)})"
        )
        args += list(segment.tiers)
    if segment.stages:
        sql.append(f"AND member.stage IN ({_placeholders(segment.stages)})")
        args += list(segment.stages)
    if segment.project_ids:
        sql.append(
            "AND EXISTS (SELECT 1 FROM ownership JOIN unit ON unit.id = ownership.unit WHERE ownership.member = member.id "
            f"AND ownership.status = 'active' AND unit.project IN ({_placeholders(segment.project_ids)})"
            + (f" AND unit.building IN ({_placeholders(segment.buildings)})" if segment.buildings else "") + ")"
        )
        args += [*segment.project_ids, *segment.buildings]
    if segment.tags:  # any of the tags (the owner's own hobby tags)
        each = "json_array_elements_text(member.tags) AS tag(value)" if postgres else "json_each(member.tags) AS tag"
        sql.append(f"AND EXISTS (SELECT 1 FROM {each} WHERE tag.value IN ({_placeholders(segment.tags)}))")
        args += list(segment.tags)
    if segment.birthday_month is not None:
        month = "EXTRACT(MONTH FROM member.birthday)::int" if postgres else "CAST(strftime('%m', member.birthday) AS INTEGER)"
        sql.append(f"AND member.birthday IS NOT NULL AND {month} = {{}}")
        args.append(segment.birthday_month)
    if segment.no_contact_months is not None:
        # Contact is a message we sent that went out; a login code is the owner asking, not us.
        sql.append(
            "AND NOT EXISTS (SELECT 1 FROM outbox_message WHERE outbox_message.member = member.id "
            "AND outbox_message.status = 'sent' AND outbox_message.kind <> 'login_code' AND outbox_message.sent_at >= {})"
        )
        args.append(months_before(now, segment.no_contact_months).astimezone(timezone.utc))
    if segment.attended is not None:
        checked_in = [
            "SELECT 1 FROM signup JOIN event ON event.id = signup.event WHERE signup.member = member.id "
            "AND signup.checked_in_at IS NOT NULL"
        ]
        if segment.attended_from:
            checked_in.append("AND event.starts_at >= {}")
            args.append(_start_of(segment.attended_from))
        if segment.attended_to:
            checked_in.append("AND event.starts_at < {}")
            args.append(_start_of(segment.attended_to + timedelta(days=1)))
        sql.append(f"AND {'' if segment.attended else 'NOT '}EXISTS ({' '.join(checked_in)})")
    return " ".join(sql), args


async def count(kind: str, segment: Segment, now: datetime | None = None) -> Reach:
    """How many owners the segment holds now, and how many of them refused this kind (they
    will not get it)."""
    _check_kind(kind)
    segment = await check_segment(segment)
    sql, args = segment_sql(segment, now or clock.now())
    rows = await db.fetch(
        f"SELECT COUNT(*) AS members, COUNT(opt_out.id) AS opted_out FROM ({sql}) AS chosen "
        "LEFT JOIN opt_out ON opt_out.member = chosen.id AND opt_out.kind = {}",
        *args, BROADCAST_KINDS[kind],
    )
    return Reach(members=int(rows[0]["members"]), opted_out=int(rows[0]["opted_out"]))


# --- writing and confirming ---------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in BROADCAST_KINDS:
        raise InvalidField(_("The kind is one of {kinds}", kinds=Later(identifiers, tuple(BROADCAST_KINDS))), field="kind")


def texts(row: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(title, body) per language as the owner reads it: English falls back to Chinese, the
    title and the body each on its own."""
    return {
        "zh-CN": (row["title_zh"], row["body_zh"]),
        "en": (row["title_en"] or row["title_zh"], row["body_en"] or row["body_zh"]),
    }


async def create(draft: BroadcastDraft, staff_id: int, now: datetime | None = None) -> int:
    """A draft broadcast (nothing goes out until it is confirmed): audited."""
    now = now or clock.now()
    _check_kind(draft.kind)
    title_zh, title_en = " ".join(draft.title_zh.split()), " ".join(draft.title_en.split())
    body_zh, body_en = draft.body_zh.strip(), draft.body_en.strip()
    if not title_zh:
        raise InvalidField(_("Write the title in Chinese"), field="title_zh")
    if not body_zh:
        raise InvalidField(_("Write the message in Chinese"), field="body_zh")
    for name, value, most in (("title_zh", title_zh, TITLE_MAX), ("title_en", title_en, TITLE_MAX),
                              ("body_zh", body_zh, BODY_MAX), ("body_en", body_en, BODY_MAX)):
        if len(value) > most:
            raise InvalidField(_("At most {most} characters", most=most), field=name)
    if draft.send_at is not None and draft.send_at <= now:
        raise InvalidField(_("The time to send is in the past; choose a later one or send it now"), field="send_at")
    segment = await check_segment(draft.segment)
    async with db.transaction():
        rows = await Broadcast.insert(Broadcast(
            kind=draft.kind, title_zh=title_zh, title_en=title_en, body_zh=body_zh, body_en=body_en,
            segment=_segment_json(segment), send_at=draft.send_at, status="draft", created_by=staff_id, created_at=now,
        )).returning(Broadcast.id)
        broadcast_id = rows[0]["id"]
        await audit.record(action="broadcast.create", subject_kind="broadcast", subject_id=broadcast_id, actor_id=staff_id,
                           data={"kind": draft.kind})
    return broadcast_id


async def confirm(broadcast_id: int, staff_id: int, now: datetime | None = None) -> str:
    """Staff confirmed (having seen the count): a draft goes out now, or waits for its time
    (`scheduled`). Returns the status it now has. Audited."""
    now = now or clock.now()
    async with db.transaction():
        row = await _get(broadcast_id)
        status = "scheduled" if row["send_at"] is not None and row["send_at"] > now else "sending"
        changed = await Broadcast.update({
            Broadcast.status: status, Broadcast.confirmed_by: staff_id, Broadcast.confirmed_at: now,
            Broadcast.progressed_at: now if status == "sending" else None,
        }).where((Broadcast.id == broadcast_id) & (Broadcast.status == "draft")).returning(Broadcast.id)
        if not changed:
            raise BroadcastClosed(status_now=row["status"])
        await audit.record(action="broadcast.confirm", subject_kind="broadcast", subject_id=broadcast_id, actor_id=staff_id,
                           data={"status": status})
    if status == "sending":
        await jobs.enqueue("loyalty.care.send_broadcast", broadcast_id)
    return status


async def cancel(broadcast_id: int, staff_id: int, now: datetime | None = None) -> None:
    """A draft or a scheduled broadcast will not go out. One already sending or sent cannot be
    called back (messages may be on their way). Audited."""
    now = now or clock.now()
    async with db.transaction():
        row = await _get(broadcast_id)
        changed = await Broadcast.update(
            {Broadcast.status: "cancelled", Broadcast.cancelled_by: staff_id, Broadcast.cancelled_at: now}
        ).where((Broadcast.id == broadcast_id) & Broadcast.status.is_in(["draft", "scheduled"])).returning(Broadcast.id)
        if not changed:
            raise BroadcastClosed(status_now=row["status"])
        await audit.record(action="broadcast.cancel", subject_kind="broadcast", subject_id=broadcast_id, actor_id=staff_id)


# --- sending --------------------------------------------------------------------------------------


async def send(broadcast_id: int) -> int:
    """The job: queue the broadcast to every owner in its segment, a chunk per transaction,
    each owner once (the dedupe key), then mark it sent. Safe to run twice or side by side.
    Returns how many messages this run queued."""
    row = await Broadcast.select().where(Broadcast.id == broadcast_id).first()
    if row is None or row["status"] != "sending":
        return 0  # cancelled before its time, already sent, or never confirmed
    settings = jobs.current_settings()
    kind = BROADCAST_KINDS[row["kind"]]
    by_language = texts(row)
    sql, args = segment_sql(_segment_from(row["segment"]), clock.now())
    members = [r["id"] for r in await db.fetch(sql + " ORDER BY member.id", *args)]
    queued = 0
    for start in range(0, len(members), SEND_CHUNK):
        made: list[int] = []
        async with db.transaction():
            for member_id in members[start:start + SEND_CHUNK]:
                message_id = await outbox.message_member(
                    member_id, kind=kind, template=f"broadcast:{broadcast_id}", texts=by_language,
                    payload={"broadcast": broadcast_id}, dedupe_key=f"broadcast:{broadcast_id}:{member_id}", settings=settings,
                )
                if message_id is not None:
                    made.append(message_id)
            await Broadcast.update({Broadcast.progressed_at: clock.now()}).where(Broadcast.id == broadcast_id)
        for message_id in made:  # after the commit; a hand-over that fails is retried by the dispatcher
            await jobs.enqueue("loyalty.care.deliver_message", message_id)
        queued += len(made)
    in_outbox = await OutboxMessage.count().where(
        (OutboxMessage.template == f"broadcast:{broadcast_id}") & (OutboxMessage.status != "skipped")
    )
    await Broadcast.update({
        Broadcast.status: "sent", Broadcast.finished_at: clock.now(), Broadcast.audience: len(members),
        Broadcast.queued: in_outbox,
    }).where((Broadcast.id == broadcast_id) & (Broadcast.status == "sending"))
    return queued


async def send_due(now: datetime | None = None) -> int:
    """The periodic job (every minute): scheduled broadcasts whose time has come start sending,
    and a send run gone quiet (its worker died) is resumed. Each is claimed by one conditional
    UPDATE, so two schedulers start it once. Returns how many were handed to a worker."""
    now = now or clock.now()
    due = await Broadcast.update({Broadcast.status: "sending", Broadcast.progressed_at: now}).where(
        (Broadcast.status == "scheduled") & (Broadcast.send_at <= now)
    ).returning(Broadcast.id)
    stuck = await Broadcast.update({Broadcast.progressed_at: now}).where(
        (Broadcast.status == "sending") & (Broadcast.progressed_at < now - QUIET_RUN)
    ).returning(Broadcast.id)
    handed = 0
    for row in [*due, *stuck]:
        handed += await jobs.enqueue("loyalty.care.send_broadcast", row["id"])
    return handed


# --- reading ---------------------------------------------------------------------------------------


async def _get(broadcast_id: int) -> dict[str, Any]:
    row = await Broadcast.select().where(Broadcast.id == broadcast_id).first()
    if row is None:
        raise NotFound(_("There is no message {broadcast_id}", broadcast_id=broadcast_id))
    return row


def _segment_json(segment: Segment) -> dict[str, Any]:
    data = asdict(segment)
    for key in ("attended_from", "attended_to"):
        data[key] = data[key].isoformat() if data[key] else None
    data["project_ids"], data["buildings"] = list(segment.project_ids), list(segment.buildings)
    data["tiers"], data["stages"], data["tags"] = list(segment.tiers), list(segment.stages), list(segment.tags)
    return data


def _segment_from(raw: Any) -> Segment:
    import json

    data = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    for key in ("attended_from", "attended_to"):
        data[key] = date.fromisoformat(data[key]) if data.get(key) else None
    return Segment(**data)


def segment_of(row: dict[str, Any]) -> Segment:
    return _segment_from(row["segment"])


async def stats(broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per broadcast, its outbox messages by where they stand: queued (waiting or being sent),
    sent, failed (every attempt failed, or expired) and opted_out (refused this kind)."""
    out = {b: {"queued": 0, "sent": 0, "failed": 0, "opted_out": 0} for b in broadcast_ids}
    if not broadcast_ids:
        return out
    templates = [f"broadcast:{b}" for b in broadcast_ids]
    rows = await db.fetch(
        f"SELECT template, status, COUNT(*) AS n FROM outbox_message WHERE template IN ({_placeholders(templates)}) "
        "GROUP BY template, status",
        *templates,
    )
    bucket = {"queued": "queued", "sending": "queued", "sent": "sent", "failed": "failed", "expired": "failed",
              "skipped": "opted_out"}
    for row in rows:
        out[int(row["template"].split(":")[1])][bucket[row["status"]]] += int(row["n"])
    return out


async def get(broadcast_id: int) -> dict[str, Any]:
    row = await _get(broadcast_id)
    return {**row, "stats": (await stats([broadcast_id]))[broadcast_id]}


async def recent(limit: int = 100) -> list[dict[str, Any]]:
    """The latest broadcasts, newest first, each with its delivery stats."""
    rows = await Broadcast.select().order_by(Broadcast.id, ascending=False).limit(limit)
    counted = await stats([row["id"] for row in rows])
    return [{**row, "stats": counted[row["id"]]} for row in rows]
