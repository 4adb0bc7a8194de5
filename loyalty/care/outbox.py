"""The outbox: every message to an owner is a row first (in the transaction of the change that
causes it), delivered afterwards through its channel.

- Once per occasion: a message with a `dedupe_key` is queued at most once, however often the
  job that schedules it runs.
- Opt-outs: an owner who refused a kind gets nothing of it (the row is kept as `skipped`);
  transactional kinds (login codes, event and case updates) cannot be refused.
- Quiet hours: greetings and reminders queued inside them wait for their end.
- Delivery claims a row exclusively (`queued → sending`), so two workers never send one
  message twice; a failure goes back to `queued` with a doubling wait, and after the last
  attempt ends as `failed` with the error kept. The dispatcher job (every minute) hands due
  rows to workers and returns rows whose worker died mid-send (at-least-once, then).
- The broker down: the change that queues a message commits and answers as usual; only the
  hand-over to a worker fails (`jobs.enqueue` logs it and gives up within a second), so the
  row stays `queued` and the dispatcher sends it once Redis is back. Delivery then claims
  each row once, so a message handed over twice (its first hand-over late, not lost) still
  goes out once (tests/faults/test_redis_down.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from loyalty import clock, db, jobs
from loyalty.care.channels import channel, route
from loyalty.care.sealing import seal, unseal
from loyalty.care.tables import MESSAGE_KINDS, TRANSACTIONAL, OptOut, OutboxMessage
from loyalty.errors import InvalidField, NotFound
from loyalty.i18n import DEFAULT_LOCALE, _
from loyalty.settings import Settings

log = logging.getLogger("loyalty.outbox")

STALE_SENDING = timedelta(minutes=10)
DISPATCH_BATCH = 500


def after_quiet_hours(moment: datetime, quiet_hours: str) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (Beijing time)."""
    if not quiet_hours:
        return moment
    start, end = (time.fromisoformat(part.strip()) for part in quiet_hours.split("-"))
    local = moment.astimezone(clock.LOCAL_ZONE)
    now = local.time()
    inside = (start <= now or now < end) if start > end else (start <= now < end)
    if not inside:
        return moment
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, clock.LOCAL_ZONE)


async def opted_out(member_id: int, kind: str) -> bool:
    return kind not in TRANSACTIONAL and await OptOut.exists().where((OptOut.member == member_id) & (OptOut.kind == kind))


async def queue_message(
    *, kind: str, channel_name: str, recipient: str, template: str, language: str, body: str, subject: str = "",
    member_id: int | None = None, payload: dict[str, Any] | None = None, dedupe_key: str | None = None,
    not_before: datetime | None = None, urgent_by: datetime | None = None, settings: Settings | None = None,
    sealed: bool = False,
) -> int | None:
    """Write a message to the outbox; returns its id to enqueue delivery of once the caller's
    transaction has committed, or None if nothing is to be sent (already queued for this
    occasion, or the owner opted out). Quiet hours never hold a message past `urgent_by` (a
    reminder for an early event goes out at night rather than after the event). A `sealed`
    body (it carries a secret) is kept encrypted until delivery (loyalty.care.sealing)."""
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    settings = settings or jobs.current_settings()
    now = clock.now()
    when = not_before or now
    if kind not in TRANSACTIONAL:
        deferred = after_quiet_hours(when, settings.quiet_hours)
        when = deferred if urgent_by is None or deferred <= urgent_by else when
    skipped = member_id is not None and await opted_out(member_id, kind)
    if sealed:
        body = seal(body, settings.secret_key)
    query = OutboxMessage.insert(
        OutboxMessage(
            channel=channel_name, recipient=recipient, member=member_id, kind=kind, template=template,
            language=language, subject=subject, body=body, payload=payload or {}, dedupe_key=dedupe_key,
            status="skipped" if skipped else "queued", created_at=now, scheduled_at=when, next_attempt_at=when,
        )
    )
    if dedupe_key is not None:
        query = query.on_conflict(target=OutboxMessage.dedupe_key, action="DO NOTHING")
    rows = await query.returning(OutboxMessage.id)
    if not rows or skipped:
        return None
    return rows[0]["id"]


async def message_member(
    member_id: int, *, kind: str, template: str, texts: dict[str, tuple[str, str]], payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None, not_before: datetime | None = None, urgent_by: datetime | None = None,
    settings: Settings | None = None,
) -> int | None:
    """A message to an owner in their language, by their channel. `texts` maps a language to
    (subject, body)."""
    from loyalty.members.tables import Member

    settings = settings or jobs.current_settings()
    member = await Member.select(Member.phone, Member.email, Member.language, Member.erased_at).where(
        Member.id == member_id
    ).first()
    if member is None:
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    if member["erased_at"] is not None:
        return None  # an erased owner has no phone or address left to write to (loyalty.privacy)
    language = member["language"] if member["language"] in texts else DEFAULT_LOCALE
    subject, body = texts[language]
    name = route(member["email"], settings)
    return await queue_message(
        kind=kind, channel_name=name, recipient=member["email"] if name == "email" else member["phone"], template=template,
        language=language, subject=subject, body=body, member_id=member_id, payload=payload, dedupe_key=dedupe_key,
        not_before=not_before, urgent_by=urgent_by, settings=settings,
    )


async def deliver_message(message_id: int) -> str:
    """Send one due message through its channel; returns its status afterwards. Only one
    worker can claim a message; a failed attempt is retried later, up to the maximum."""
    settings = jobs.current_settings()
    now = clock.now()
    claimed = await OutboxMessage.update(
        {OutboxMessage.status: "sending", OutboxMessage.attempts: OutboxMessage.attempts + 1, OutboxMessage.claimed_at: now}
    ).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.status == "queued")
        & (OutboxMessage.scheduled_at <= now) & (OutboxMessage.next_attempt_at <= now)
    ).returning(
        OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body, OutboxMessage.attempts,
        OutboxMessage.kind,
    )
    if not claimed:
        row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
        return row["status"] if row else "missing"
    row = claimed[0]
    try:
        body = unseal(row["body"], settings.secret_key)
        await channel(row["channel"], settings).send(row["recipient"], row["subject"], body, kind=row["kind"])
    except Exception as error:  # noqa: BLE001 - any channel failure is kept on the row and retried
        attempts = row["attempts"]
        final = attempts >= settings.outbox_max_attempts
        wait = timedelta(seconds=settings.outbox_retry_seconds * 2 ** (attempts - 1))
        retry_at = now + wait
        if row["kind"] not in TRANSACTIONAL:  # a greeting's retry waits out the quiet hours too
            retry_at = after_quiet_hours(retry_at, settings.quiet_hours)
        log.warning("message %s attempt %s failed%s: %s", message_id, attempts, " (giving up)" if final else "", error)
        await OutboxMessage.update(
            {
                OutboxMessage.status: "failed" if final else "queued",
                OutboxMessage.error: f"{type(error).__name__}: {error}"[:1000],
                OutboxMessage.next_attempt_at: retry_at,
            }
        ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == "sending"))
        return "failed" if final else "queued"
    await OutboxMessage.update(
        {OutboxMessage.status: "sent", OutboxMessage.sent_at: clock.now(), OutboxMessage.error: ""}
    ).where(OutboxMessage.id == message_id)
    return "sent"


async def dispatch_due(now: datetime | None = None) -> int:
    """The job (every minute): rows whose worker died mid-send go back to the queue, and
    every due row is handed to a worker. Returns how many were handed out: it stops at the
    first row the broker does not take (the rest wait for the next run, not for a timeout
    each)."""
    now = now or clock.now()
    settings = jobs.current_settings()
    stale = (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_SENDING)
    await OutboxMessage.update(
        {OutboxMessage.status: "failed", OutboxMessage.error: "the worker stopped while sending, every attempt"}
    ).where(stale & (OutboxMessage.attempts >= settings.outbox_max_attempts))
    await OutboxMessage.update({OutboxMessage.status: "queued"}).where(stale)
    due = await OutboxMessage.select(OutboxMessage.id).where(
        (OutboxMessage.status == "queued") & (OutboxMessage.scheduled_at <= now) & (OutboxMessage.next_attempt_at <= now)
    ).order_by(OutboxMessage.id).limit(DISPATCH_BATCH)
    handed = 0
    for row in due:
        if not await jobs.enqueue("loyalty.care.deliver_message", row["id"]):
            break
        handed += 1
    return handed


# --- owners' choices -----------------------------------------------------------------------

OPTIONAL_KINDS = tuple(kind for kind in MESSAGE_KINDS if kind not in TRANSACTIONAL)


async def opt_outs(member_id: int) -> list[str]:
    return sorted(row["kind"] for row in await OptOut.select(OptOut.kind).where(OptOut.member == member_id))


async def set_opt_outs(member_id: int, kinds: list[str]) -> list[str]:
    """Replace the member's opt-outs with `kinds` (only optional kinds can be refused)."""
    if refused := [kind for kind in kinds if kind not in OPTIONAL_KINDS]:
        raise InvalidField(
            _("these cannot be refused or do not exist: {refused}; choose from {choices}",
              refused=", ".join(refused), choices=", ".join(OPTIONAL_KINDS)),
            field="opt_outs",
        )
    async with db.transaction():
        await OptOut.delete().where(OptOut.member == member_id)
        if kinds:
            await OptOut.insert(*[OptOut(member=member_id, kind=kind) for kind in dict.fromkeys(kinds)])
    return await opt_outs(member_id)
