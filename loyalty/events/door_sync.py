"""The door without a network: what a scanner downloads before the doors open, and the scans it
brings back.

A scanner keeps the event's admission list and the public code keys, decides offline on its own
and records each scan with its nonce. Back online it sends them here: each is applied through the
same `check_in` as a live scan (so exactly once by nonce, and attendance points once per signup),
at the moment it was made. When an offline door let in a signup the server had already seen
through another door, the door's answer and the server's disagree: that scan is a conflict, kept
and listed for staff rather than hidden."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loyalty import clock, db
from loyalty.cards import codes
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events import checkin
from loyalty.events.tables import Event
from loyalty.i18n import _

MAX_BATCH = 500
# A device's clock may run a little fast; a scan "from the future" beyond this is refused.
CLOCK_SLACK = timedelta(minutes=5)
# Older scans than this are not a door's offline queue but something else.
OLDEST_SCAN = timedelta(days=3)


@dataclass(frozen=True)
class AdmissionList:
    event_id: int
    opens_at: datetime
    starts_at: datetime
    generated_at: datetime
    signups: list[dict[str, Any]]


async def admission_list(event_id: int, opens_minutes: int, now: datetime | None = None) -> AdmissionList:
    """Every signup of the event a door may meet, with who checked in where (no phone numbers)."""
    event = await Event.select(Event.id, Event.starts_at).where((Event.id == event_id) & (Event.status != "draft")).first()
    if event is None:
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    rows = await db.fetch(
        "SELECT signup.id, signup.member, signup.status, signup.party_size, signup.checked_in_at, signup.checked_in_gate, "
        "member.name AS member_name FROM signup JOIN member ON member.id = signup.member WHERE signup.event = {} ORDER BY signup.id",
        event_id,
    )
    return AdmissionList(
        event_id=event_id, opens_at=event["starts_at"] - timedelta(minutes=opens_minutes), starts_at=event["starts_at"],
        generated_at=now or clock.now(), signups=[dict(r) for r in rows],
    )


@dataclass(frozen=True)
class OfflineScan:
    nonce: str
    code: str
    gate: str
    scanned_at: datetime
    offline_result: str  # what the device showed the door


@dataclass(frozen=True)
class SyncedScan:
    nonce: str
    result: str  # the server's answer, or `invalid_code` for a code that is no ticket or card of ours
    conflict: bool
    replayed: bool


async def sync(
    event_id: int, device: str, scans: list[OfflineScan], *, signer: codes.CodeSigner, staff_id: int | None,
    opens_minutes: int, now: datetime | None = None,
) -> list[SyncedScan]:
    """Apply a device's offline scans in the order they were made, each exactly once by nonce."""
    now = now or clock.now()
    device = device.strip()
    if not 1 <= len(device) <= 64:
        raise InvalidField(_("Name the device (1 to 64 characters)"), field="device")
    if len(scans) > MAX_BATCH:
        raise InvalidField(_("Send at most {count} scans at a time", count=MAX_BATCH), field="scans")
    for index, scan in enumerate(scans):
        if scan.scanned_at > now + CLOCK_SLACK or scan.scanned_at < now - OLDEST_SCAN:
            raise InvalidField(
                _("Scan {index} has a time this server cannot accept: is the device's clock right?", index=index + 1),
                field=f"scans[{index}].scanned_at",
            )
    if not await Event.exists().where((Event.id == event_id) & (Event.status != "draft")):
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    done = []
    for scan in sorted(scans, key=lambda s: s.scanned_at):
        when = min(scan.scanned_at, now)
        try:
            answer = await checkin.check_in(
                event_id, scan.code, gate=scan.gate, signer=signer, staff_id=staff_id, nonce=scan.nonce,
                opens_minutes=opens_minutes, now=when, unix_time=when.timestamp(), device=device,
                offline_result=scan.offline_result, with_count=False,
            )
        except (NotFound, InvalidField):
            raise
        except DomainError:
            # A forged or foreign code (the device said 票码无效 too: it checks the same signature),
            # or a card replaced or suspended since the list was downloaded: nothing to apply.
            done.append(SyncedScan(scan.nonce, "invalid_code", conflict=scan.offline_result == "checked_in", replayed=False))
            continue
        conflict = scan.offline_result == "checked_in" and answer.result != "checked_in"
        done.append(SyncedScan(scan.nonce, answer.result, conflict=conflict, replayed=answer.replayed))
    return done


_CONFLICTS_SQL = (
    "SELECT scan.id, scan.signup, scan.nonce, scan.gate, scan.device, scan.result, scan.scanned_at, "
    "signup.party_size, signup.checked_in_at, signup.checked_in_gate, member.name AS member_name "
    "FROM scan LEFT JOIN signup ON signup.id = scan.signup LEFT JOIN member ON member.id = signup.member "
    "WHERE scan.event = {} AND scan.offline_result = 'checked_in' AND scan.result <> 'checked_in' ORDER BY scan.scanned_at, scan.id"
)


async def conflicts(event_id: int) -> list[dict[str, Any]]:
    """Each offline admission the server would not have made: who, at which door and device, and
    where and when the signup had already come in."""
    return [dict(r) for r in await db.fetch(_CONFLICTS_SQL, event_id)]
