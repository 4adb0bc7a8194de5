"""The door: a scanned ticket or member card → exactly one answer, exactly once.

Who was first is settled by one conditional UPDATE of the signup row (`status` from confirmed
to attended): of two scanners scanning the same ticket at once, the second waits for the row
lock, re-reads the row and finds it attended. Attendance points are earned in the same
transaction under a key per signup. A scanner that retries with the same nonce gets the
first answer again (a unique index on event + nonce)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from loyalty import clock, db
from loyalty.cards import codes
from loyalty.cards import service as cards
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events.tables import Event, Scan
from loyalty.i18n import Message, _
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.format import Later, datetime as written_datetime, time_of_day
from loyalty.points import service as points

NOT_OUR_CODE = _("This is not an Owner Club ticket or member card: scan the QR code of the owner's ticket or card")
NOT_GENUINE = _("This ticket or card is not genuine: its signature does not match; ask the owner to show it again")


class NonceReused(DomainError):
    status = 409
    type = "nonce-reused"
    title = _("This scan's nonce was already used for another code")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


RESULTS = ("checked_in", "already_checked_in", "not_signed_up", "wrong_event", "cancelled", "not_open_yet")


@dataclass(frozen=True)
class DoorCount:
    checked_in: int  # signups (households) through the door
    expected: int  # signups holding a confirmed seat, in or not yet
    people_in: int
    people_expected: int
    conflicts: int = 0  # offline admissions the server would not have made (door_sync)


@dataclass(frozen=True)
class ScanAnswer:
    result: str
    event_id: int
    signup_id: int | None = None
    member_name: str = ""
    party_size: int = 0
    first_checked_in_at: datetime | None = None
    first_gate: str = ""
    points_earned: int = 0
    detail: Message | str = ""  # rendered in the scanner's locale by the API
    count: DoorCount | None = None
    replayed: bool = False
    conflict: str = ""  # door_sync: `admitted` or `turned_away` when the door and the server disagree


_COUNT_SQL = (
    "SELECT COALESCE(SUM(CASE WHEN status = 'attended' THEN 1 ELSE 0 END), 0) AS checked_in, "
    "COUNT(*) AS expected, "
    "COALESCE(SUM(CASE WHEN status = 'attended' THEN party_size ELSE 0 END), 0) AS people_in, "
    "COALESCE(SUM(party_size), 0) AS people_expected "
    "FROM signup WHERE event = {} AND status IN ('confirmed', 'attended', 'no_show')"
)
_CONFLICTS_SQL = "SELECT COUNT(*) AS n FROM scan WHERE event = {} AND conflict <> ''"


async def door_count(event_id: int) -> DoorCount:
    row = (await db.fetch(_COUNT_SQL, event_id))[0]
    conflicts = (await db.fetch(_CONFLICTS_SQL, event_id))[0]["n"]
    return DoorCount(
        int(row["checked_in"]), int(row["expected"]), int(row["people_in"]), int(row["people_expected"]), int(conflicts)
    )


_SIGNUP_SQL = (
    "SELECT signup.id, signup.event, signup.status, signup.party_size, signup.checked_in_at, signup.checked_in_gate, "
    "member.name AS member_name, member.id AS member_id FROM signup JOIN member ON member.id = signup.member "
)


async def _signup_for(event_id: int, code: str, signer: codes.CodeSigner, unix_time: float) -> tuple[dict[str, Any] | None, bool]:
    """The signup the code names → (row or None, named another event). A ticket names its
    signup; a member card names the member, whose signup for this event counts."""
    try:
        payload = signer.open(code)
    except codes.CodeMalformed:
        # What the door needs to hear: whatever was scanned, it is no ticket or card of ours.
        raise codes.CodeMalformed(NOT_OUR_CODE, field="code") from None
    except codes.CodeBadSignature:
        raise codes.CodeBadSignature(NOT_GENUINE, field="code") from None
    if payload.kind == "ticket":
        rows = await db.fetch(_SIGNUP_SQL + "WHERE signup.id = {}", payload.subject_id)
        if not rows:
            raise codes.CodeBadSignature(_("No signup has this ticket"), field="code")
        row = dict(rows[0])
        return (None, True) if row["event"] != event_id else (row, False)
    card = await cards.verify_code(code, signer, unix_time)
    rows = await db.fetch(
        _SIGNUP_SQL + "WHERE signup.event = {} AND signup.member = {} ORDER BY signup.status = 'cancelled', signup.id DESC LIMIT 1",
        event_id, card.member_id,
    )
    return (dict(rows[0]) if rows else None), False


def _answer(result: str, event_id: int, signup: dict[str, Any] | None, **more: Any) -> ScanAnswer:
    if signup is None:
        return ScanAnswer(result=result, event_id=event_id, **more)
    return ScanAnswer(
        result=result, event_id=event_id, signup_id=signup["id"], member_name=signup["member_name"],
        party_size=signup["party_size"], **more,
    )


async def _replay(event_id: int, nonce: str, code: str, with_count: bool = True) -> ScanAnswer | None:
    rows = await db.fetch("SELECT result, signup, code_hash, conflict FROM scan WHERE event = {} AND nonce = {}", event_id, nonce)
    if not rows:
        return None
    if rows[0]["code_hash"] and rows[0]["code_hash"] != code_hash(code):
        # Not a retry: another ticket's answer must not come back under this nonce.
        raise NonceReused(_("This nonce was already used for another code: give each scan its own nonce"), field="nonce")
    signup = None
    if rows[0]["signup"] is not None:
        found = await db.fetch(_SIGNUP_SQL + "WHERE signup.id = {}", rows[0]["signup"])
        signup = dict(found[0]) if found else None
    first = {}
    if signup is not None and signup["checked_in_at"] is not None:
        first = {"first_checked_in_at": signup["checked_in_at"], "first_gate": signup["checked_in_gate"]}
    if rows[0]["result"] == "checked_in" and signup is not None:  # the same answer: with the points that scan earned
        earned = await db.fetch(
            "SELECT available_delta + pending_delta AS points FROM ledger_entry WHERE idempotency_key = {}",
            f"event-attend:{signup['id']}",
        )
        first["points_earned"] = int(earned[0]["points"]) if earned else 0
    answer = replace(_answer(rows[0]["result"], event_id, signup, **first), replayed=True, conflict=rows[0]["conflict"])
    return replace(answer, count=await door_count(event_id)) if with_count else answer


async def check_in(
    event_id: int, code: str, *, gate: str, signer: codes.CodeSigner, staff_id: int | None = None,
    nonce: str | None = None, opens_minutes: int = 120, now: datetime | None = None, unix_time: float | None = None,
    device: str = "", offline_result: str = "", with_count: bool = True,
) -> ScanAnswer:
    now = now or clock.now()
    gate = (gate or "").strip()
    if not 1 <= len(gate) <= 50:
        raise InvalidField(_("Name the gate (1 to 50 characters)"), field="gate")
    if nonce is not None and not 1 <= len(nonce) <= 64:
        raise InvalidField(_("A nonce has 1 to 64 characters"), field="nonce")
    event = await Event.select(Event.id, Event.starts_at, Event.attendance_points, Event.title_zh).where(
        (Event.id == event_id) & (Event.status != "draft")
    ).first()
    if event is None:
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    if nonce is not None and (replayed := await _replay(event_id, nonce, code, with_count)) is not None:
        return replayed
    signup, elsewhere = await _signup_for(event_id, code, signer, unix_time if unix_time is not None else now.timestamp())
    answer = _decide(event, signup, elsewhere, now, opens_minutes)
    turned_away = offline_result not in ("", "checked_in")
    try:
        async with db.transaction():
            if answer.result == "checked_in" and turned_away:
                # The offline door said no and the person went away: nobody came in, but the
                # ticket was good, so staff hear of it (door_sync.conflicts).
                answer = replace(_answer(offline_result, event_id, signup), conflict="turned_away")
            elif answer.result == "checked_in":
                answer = await _enter(event, signup, gate, now)
            elif offline_result == "checked_in":
                answer = await _admitted_offline(answer, signup, gate, now)
            await Scan.insert(
                Scan(event=event_id, signup=answer.signup_id, nonce=nonce, gate=gate, result=answer.result,
                     staff=staff_id, scanned_at=now, device=device, offline_result=offline_result,
                     conflict=answer.conflict, code_hash=code_hash(code))
            )
    except Exception as error:
        if nonce is not None and db.is_unique_violation(error):  # the same scanner's retry, at once
            replayed = await _replay(event_id, nonce, code, with_count)
            if replayed is not None:
                return replayed
        raise
    # A sync of offline scans counts once at the end, not after each scan.
    return replace(answer, count=await door_count(event_id)) if with_count else answer


async def record_unreadable(
    event_id: int, code: str, *, gate: str, nonce: str, staff_id: int | None, now: datetime, device: str, offline_result: str,
) -> ScanAnswer:
    """An offline scan of a code that is no valid ticket or card of ours now (forged, an unknown
    key, a card replaced or suspended since): kept, so a resend replays it and an offline door
    that let it in is a conflict staff see."""
    if (replayed := await _replay(event_id, nonce, code, with_count=False)) is not None:
        return replayed
    conflict = "admitted" if offline_result == "checked_in" else ""
    try:
        async with db.transaction():
            await Scan.insert(
                Scan(event=event_id, signup=None, nonce=nonce, gate=gate, result="invalid_code", staff=staff_id, scanned_at=now,
                     device=device, offline_result=offline_result, conflict=conflict, code_hash=code_hash(code))
            )
    except Exception as error:
        if db.is_unique_violation(error) and (replayed := await _replay(event_id, nonce, code, with_count=False)) is not None:
            return replayed
        raise
    return ScanAnswer(result="invalid_code", event_id=event_id, conflict=conflict)


async def _admitted_offline(answer: ScanAnswer, signup: dict[str, Any] | None, gate: str, now: datetime) -> ScanAnswer:
    """An offline door let in someone the server would not have. When the signup had come in
    through another door *later* than this scan, this scan was the real first admission: the
    attendance moves to it and the later admission becomes the conflict, so staff read the two
    in the order they happened."""
    first = answer.first_checked_in_at
    if answer.result == "already_checked_in" and signup is not None and first is not None and first > now:
        moved = await db.fetch(
            "UPDATE signup SET checked_in_at = {}, checked_in_gate = {} WHERE id = {} AND status = 'attended' AND checked_in_at > {} "
            "RETURNING id",
            now, gate, signup["id"], now,
        )
        if moved:
            await db.fetch(
                "UPDATE scan SET conflict = 'admitted' WHERE signup = {} AND result = 'checked_in' AND conflict = '' RETURNING id",
                signup["id"],
            )
            return replace(answer, result="checked_in", first_checked_in_at=now, first_gate=gate)
    return replace(answer, conflict="admitted")


def _when(moment: datetime, now: datetime) -> Later:
    """A time at the door: the time of day when it is today (Beijing time), else day and time."""
    if moment.astimezone(clock.LOCAL_ZONE).date() == now.astimezone(clock.LOCAL_ZONE).date():
        return Later(time_of_day, moment)
    return Later(written_datetime, moment)


def _decide(event: dict[str, Any], signup: dict[str, Any] | None, elsewhere: bool, now: datetime, opens_minutes: int) -> ScanAnswer:
    """The answer before the door's write: all but `checked_in` are final."""
    event_id = event["id"]
    if elsewhere:
        return ScanAnswer(result="wrong_event", event_id=event_id, detail=_("This ticket is for another event"))
    if signup is None:
        return ScanAnswer(result="not_signed_up", event_id=event_id)
    if signup["status"] == "cancelled":
        return _answer("cancelled", event_id, signup)
    if signup["status"] in ("waitlisted", "pending_payment"):
        return _answer(
            "not_signed_up", event_id, signup,
            detail=_("The signup is “{status}”, not a confirmed seat", status=ENUMS["signup_status"][signup["status"]]),
        )
    if signup["status"] == "attended":
        return _answer(
            "already_checked_in", event_id, signup,
            first_checked_in_at=signup["checked_in_at"], first_gate=signup["checked_in_gate"],
        )
    opens_at = event["starts_at"] - timedelta(minutes=opens_minutes)
    if now < opens_at:
        return _answer("not_open_yet", event_id, signup, detail=_("Check-in opens at {at}", at=_when(opens_at, now)))
    return _answer("checked_in", event_id, signup)


async def _enter(event: dict[str, Any], signup: dict[str, Any], gate: str, now: datetime) -> ScanAnswer:
    """Inside the door's transaction: the one conditional write that decides who was first."""
    won = await db.fetch(
        "UPDATE signup SET status = 'attended', checked_in_at = {}, checked_in_gate = {} "
        "WHERE id = {} AND status = 'confirmed' RETURNING id",
        now, gate, signup["id"],
    )
    if not won:
        # A late arrival after the no-show job: in they come, and their seat counts again
        # (the job gave it back; `seats_taken` counts the seats attendees hold).
        won = await db.fetch(
            "UPDATE signup SET status = 'attended', checked_in_at = {}, checked_in_gate = {} "
            "WHERE id = {} AND status = 'no_show' RETURNING event, party_size",
            now, gate, signup["id"],
        )
        if won:
            await db.fetch("UPDATE event SET seats_taken = seats_taken + {} WHERE id = {} RETURNING id", won[0]["party_size"], won[0]["event"])
    if not won:
        rows = await db.fetch(_SIGNUP_SQL + "WHERE signup.id = {}", signup["id"])
        current = dict(rows[0])
        if current["status"] == "attended":
            return _answer(
                "already_checked_in", event["id"], current,
                first_checked_in_at=current["checked_in_at"], first_gate=current["checked_in_gate"],
            )
        return _answer("cancelled" if current["status"] == "cancelled" else "not_signed_up", event["id"], current)
    earned = 0
    if event["attendance_points"] > 0:
        await points.earn(
            signup["member_id"], event["attendance_points"], key=f"event-attend:{signup['id']}",
            source_kind="event", source_id=str(event["id"]), reason=event["title_zh"][:100],
        )
        earned = event["attendance_points"]
    return _answer("checked_in", event["id"], signup, first_checked_in_at=now, first_gate=gate, points_earned=earned)
