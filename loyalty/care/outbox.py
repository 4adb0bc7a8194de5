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
- Every attempt is a DeliveryAttempt row (channel, the provider's answer and id, later its
  delivery receipt). The claim is a lease fenced by the attempt number: a worker whose lease
  lapsed (the dispatcher gave its row to another) cannot write its late result over the newer
  attempt's.
- Fallback: an answer that this channel cannot reach the owner (`blocked`: the address is
  flagged; `gave_up`: no template, no credit, misconfigured) hands the message to the owner's
  next channel (loyalty.care.routing), at once; `throttled` waits until the limit lifts.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

from loyalty import clock, db, jobs

from loyalty.care import routing
from loyalty.care.channels import Envelope, Outcome, channel
from loyalty.care.sealing import seal, unseal
from loyalty.care.tables import MESSAGE_KINDS, TRANSACTIONAL, DeliveryAttempt, OptOut, OutboxMessage
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
    sealed: bool = False, params: list[str] | None = None, expires_at: datetime | None = None,
) -> int | None:
    """Write a message to the outbox; returns its id to enqueue delivery of once the caller's
    transaction has committed, or None if nothing is to be sent (already queued for this
    occasion, or the owner opted out). Quiet hours never hold a message past `urgent_by` (a
    reminder for an early event goes out at night rather than after the event). A `sealed`
    body (it carries a secret) is kept encrypted until delivery (loyalty.care.sealing), and so
    are its `params` (a provider template's parameters: SMS). A message with `expires_at` (a
login code) is never sent after it: it ends `expired` instead."""
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    settings = settings or jobs.current_settings()
    now = clock.now()
    when = not_before or now
    if kind not in TRANSACTIONAL:
        deferred = after_quiet_hours(when, settings.quiet_hours)
        when = deferred if urgent_by is None or deferred <= urgent_by else when
    skipped = member_id is not None and await opted_out(member_id, kind)
    payload = dict(payload or {})
    if expires_at is not None:
        payload["expires_at"] = expires_at.isoformat()
    if params is not None:
        payload["params"] = json.dumps([str(value) for value in params], ensure_ascii=False)
    if sealed:
        body = seal(body, settings.secret_key)
        if params is not None:
            payload["params"] = seal(payload["params"], settings.secret_key)
    query = OutboxMessage.insert(
        OutboxMessage(
            channel=channel_name, recipient=recipient, member=member_id, kind=kind, template=template,
            language=language, subject=subject, body=body, payload=payload, dedupe_key=dedupe_key,
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
    member = await Member.select(Member.id, Member.phone, Member.email, Member.language, Member.erased_at).where(
        Member.id == member_id
    ).first()
    if member is None:
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    if member["erased_at"] is not None:
        return None  # an erased owner has no phone or address left to write to (loyalty.privacy)
    language = member["language"] if member["language"] in texts else DEFAULT_LOCALE
    subject, body = texts[language]
    found = await routing.routes(member, kind, settings)
    if not found:
        log.warning("member %s has no channel for a %s message; not sent", member_id, kind)
        return None
    name, recipient = found[0]
    return await queue_message(
        kind=kind, channel_name=name, recipient=recipient, template=template,
        language=language, subject=subject, body=body, member_id=member_id, payload=payload, dedupe_key=dedupe_key,
        not_before=not_before, urgent_by=urgent_by, settings=settings,
    )


async def deliver_message(message_id: int) -> str:
    """Send one due message through its channel; returns its status afterwards. Only one
    worker can claim a message (the claim is its attempt number); each attempt is recorded;
    a failed attempt is retried later, up to the maximum, and a channel that cannot reach the
    owner hands the message to the next one."""
    settings = jobs.current_settings()
    now = clock.now()
    claimed = await OutboxMessage.update(
        {OutboxMessage.status: "sending", OutboxMessage.attempts: OutboxMessage.attempts + 1, OutboxMessage.claimed_at: now}
    ).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.status == "queued")
        & (OutboxMessage.scheduled_at <= now) & (OutboxMessage.next_attempt_at <= now)
    ).returning(
        OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body, OutboxMessage.attempts,
        OutboxMessage.kind, OutboxMessage.language, OutboxMessage.payload, OutboxMessage.member,
    )
    if not claimed:
        row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
        return row["status"] if row else "missing"
    row = claimed[0]
    attempt = row["attempts"]
    ours = (OutboxMessage.id == message_id) & (OutboxMessage.status == "sending") & (OutboxMessage.attempts == attempt)
    expires = _expires_at(row["payload"])
    if expires is not None and expires <= now:  # a dead login code is worth nothing to the owner
        return await _expire(message_id, ours, "expired before it could be sent")
    record = await DeliveryAttempt.insert(
        DeliveryAttempt(message=message_id, attempt=attempt, channel=row["channel"], recipient=row["recipient"], started_at=now,
                        outcome="retry")
    ).returning(DeliveryAttempt.id)
    try:
        envelope = Envelope(
            message_id=message_id, attempt=attempt, kind=row["kind"], recipient=row["recipient"], subject=row["subject"],
            body=unseal(row["body"], settings.secret_key), language=row["language"], params=_params(row["payload"], settings),
            member_id=row["member"],
        )
        outcome = await channel(row["channel"], settings).deliver(envelope)
    except Exception as error:  # noqa: BLE001 - any channel failure is kept and retried
        outcome = Outcome("retry", code=type(error).__name__, detail=str(error)[:1000])
    await DeliveryAttempt.update({
        DeliveryAttempt.outcome: outcome.status, DeliveryAttempt.code: outcome.code[:80], DeliveryAttempt.detail: outcome.detail,
        DeliveryAttempt.provider_ref: outcome.provider_ref[:120], DeliveryAttempt.finished_at: clock.now(),
    }).where(DeliveryAttempt.id == record[0]["id"])
    if outcome.status == "sent":
        await OutboxMessage.update(
            {OutboxMessage.status: "sent", OutboxMessage.sent_at: clock.now(), OutboxMessage.error: ""}
        ).where(ours)
        return "sent"
    error = f"{row['channel']} {outcome.code}: {outcome.detail}"[:1000]
    if outcome.status == "blocked":
        await routing.block(row["channel"], row["recipient"], f"{outcome.code} {outcome.detail}")
    if outcome.status in ("blocked", "gave_up"):
        return await _fall_back(message_id, row, ours, error, settings)
    final = attempt >= settings.outbox_max_attempts
    if outcome.status == "throttled" and outcome.retry_after is not None:
        retry_at = now + timedelta(seconds=outcome.retry_after)
    else:
        retry_at = now + timedelta(seconds=settings.outbox_retry_seconds * 2 ** (attempt - 1))
    if row["kind"] not in TRANSACTIONAL:  # a greeting's retry waits out the quiet hours too
        retry_at = after_quiet_hours(retry_at, settings.quiet_hours)
    if expires is not None and retry_at >= expires:  # held past its expiry (a daily limit): give it up now
        log.warning("message %s attempt %s %s; expires before it could go: %s", message_id, attempt, outcome.status, error)
        return await _expire(message_id, ours, error)
    log.warning("message %s attempt %s %s%s: %s", message_id, attempt, outcome.status, " (giving up)" if final else "", error)
    await OutboxMessage.update(
        {OutboxMessage.status: "failed" if final else "queued", OutboxMessage.error: error, OutboxMessage.next_attempt_at: retry_at}
    ).where(ours)
    return "failed" if final else "queued"


def _payload(payload: Any) -> dict[str, Any]:
    return json.loads(payload or "{}") if isinstance(payload, str) else (payload or {})


def _expires_at(payload: Any) -> datetime | None:
    raw = _payload(payload).get("expires_at")
    return datetime.fromisoformat(raw) if raw else None


async def _expire(message_id: int, ours: Any, error: str) -> str:
    await OutboxMessage.update({OutboxMessage.status: "expired", OutboxMessage.error: error[:1000]}).where(ours)
    return "expired"


def _params(payload: Any, settings: Settings) -> list[str]:
    payload = _payload(payload)
    raw = (payload or {}).get("params")
    return [str(value) for value in json.loads(unseal(raw, settings.secret_key))] if raw else []


async def _fall_back(message_id: int, row: dict[str, Any], ours: Any, error: str, settings: Settings) -> str:
    """Hand the message to the owner's next channel that has not failed it yet; none left: failed."""
    from loyalty.members.tables import Member

    tried = {
        (attempt["channel"], attempt["recipient"])
        for attempt in await DeliveryAttempt.select(DeliveryAttempt.channel, DeliveryAttempt.recipient).where(
            (DeliveryAttempt.message == message_id) & DeliveryAttempt.outcome.is_in(["blocked", "gave_up"])
        )
    }
    member = None
    if row["member"] is not None:
        member = await Member.select(Member.id, Member.phone, Member.email).where(
            (Member.id == row["member"]) & Member.erased_at.is_null()
        ).first()
    following = [route for route in await routing.routes(member, row["kind"], settings) if route not in tried] if member else []
    if not following:
        log.warning("message %s: no channel left (%s)", message_id, error)
        await OutboxMessage.update({OutboxMessage.status: "failed", OutboxMessage.error: error}).where(ours)
        return "failed"
    name, recipient = following[0]
    log.warning("message %s falls back from %s to %s: %s", message_id, row["channel"], name, error)
    moved = await OutboxMessage.update({
        OutboxMessage.status: "queued", OutboxMessage.channel: name, OutboxMessage.recipient: recipient,
        OutboxMessage.error: error, OutboxMessage.next_attempt_at: clock.now(),
    }).where(ours).returning(OutboxMessage.id)
    if moved:
        await jobs.enqueue("loyalty.care.deliver_message", message_id)
    now = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
    return now["status"] if now else "missing"  # "sent" already when it ran in this process


async def dispatch_due(now: datetime | None = None) -> int:
    """The job (every minute): rows whose worker died mid-send go back to the queue, every
    due row is handed to a worker, and the SMS provider's delivery receipts are recorded. Returns how many were handed out: it stops at the
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
    await _pull_receipts()
    return handed


async def _pull_receipts() -> None:
    """The SMS provider's delivery reports, every minute with the dispatch; a provider that does
    not answer delays only the receipts, never the dispatch."""
    from loyalty.care import sms

    try:
        await sms.pull_receipts()
    except Exception as error:  # noqa: BLE001 - receipts are tried again next minute
        log.warning("SMS receipts not pulled: %s", error)


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


async def channel_choice(member_id: int) -> list[str]:
    """The owner's channels for every kind, in order (the configured order if they chose none)."""
    return await routing.chosen_order(member_id, "*", jobs.current_settings())


async def set_channel_choice(member_id: int, channels: list[str]) -> list[str]:
    """The owner's channels for every kind, in order; at least one (service messages must reach them)."""
    from loyalty.care.tables import CHANNELS, ChannelChoice

    chosen = list(dict.fromkeys(channels))
    if not chosen or any(name not in CHANNELS for name in chosen):
        raise InvalidField(
            _("choose one or more of {choices}, in the order you prefer", choices=", ".join(CHANNELS)), field="channels"
        )
    async with db.transaction():
        await ChannelChoice.delete().where((ChannelChoice.member == member_id) & (ChannelChoice.kind == "*"))
        await ChannelChoice.insert(ChannelChoice(member=member_id, kind="*", channels=",".join(chosen)))
    return chosen
