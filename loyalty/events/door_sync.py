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
from loyalty.i18n import Message, _
from loyalty.i18n.format import Later, datetime as written_datetime

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
    status: str  # applied | replay | refused (not applied; `reason` says why, the device drops it)
    result: str | None = None  # the server's record: a check-in result, or `invalid_code`
    conflict: str = ""  # admitted | turned_away: staff must look (see `conflicts`)
    reason: Message | str = ""

    @property
    def replayed(self) -> bool:
        return self.status == "replay"


def _validate(device: str, scans: list[OfflineScan]) -> str:
    """The whole body, before anything is applied: a bad field anywhere is a 422 naming it."""
    device = device.strip()
    if not 1 <= len(device) <= 64:
        raise InvalidField(_("Name the device (1 to 64 characters)"), field="device")
    if len(scans) > MAX_BATCH:
        raise InvalidField(_("Send at most {count} scans at a time", count=MAX_BATCH), field="scans")
    for index, scan in enumerate(scans):
        if not 1 <= len((scan.gate or "").strip()) <= 50:
            raise InvalidField(_("Name the gate (1 to 50 characters)"), field=f"scans[{index}].gate")
        if not 1 <= len(scan.nonce or "") <= 64:
            raise InvalidField(_("A nonce has 1 to 64 characters"), field=f"scans[{index}].nonce")
        if not scan.code:
            raise InvalidField(_("Scan a code"), field=f"scans[{index}].code")
    return device


async def sync(
    event_id: int, device: str, scans: list[OfflineScan], *, signer: codes.CodeSigner, staff_id: int | None,
    opens_minutes: int, now: datetime | None = None,
) -> list[SyncedScan]:
    """Apply a device's offline scans in the order they were made, each exactly once by nonce.
    Each scan has its own outcome: one the server cannot take (a clock far off, a nonce reused)
    is refused on its own and never holds the rest back."""
    now = now or clock.now()
    device = _validate(device, scans)
    if not await Event.exists().where((Event.id == event_id) & (Event.status != "draft")):
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    done = []
    for scan in sorted(scans, key=lambda s: s.scanned_at):
        if scan.scanned_at > now + CLOCK_SLACK or scan.scanned_at < now - OLDEST_SCAN:
            done.append(SyncedScan(scan.nonce, "refused", reason=_(
                "Scanned at a time this server cannot accept ({at}): is the device's clock right?", at=Later(written_datetime, scan.scanned_at),
            )))
            continue
        when = min(scan.scanned_at, now)
        try:
            answer = await checkin.check_in(
                event_id, scan.code, gate=scan.gate, signer=signer, staff_id=staff_id, nonce=scan.nonce,
                opens_minutes=opens_minutes, now=when, unix_time=when.timestamp(), device=device,
                offline_result=scan.offline_result, with_count=False,
            )
        except checkin.NonceReused as error:
            done.append(SyncedScan(scan.nonce, "refused", reason=error.detail))
            continue
        except (NotFound, InvalidField):
            raise
        except DomainError:
            # A forged or foreign code (the device said 票码无效 too: it checks the same signature),
            # or a card replaced or suspended since the list was downloaded: kept, and a conflict
            # when the door let it in.
            answer = await checkin.record_unreadable(
                event_id, scan.code, gate=scan.gate.strip(), nonce=scan.nonce, staff_id=staff_id, now=when, device=device,
                offline_result=scan.offline_result,
            )
        done.append(SyncedScan(scan.nonce, "replay" if answer.replayed else "applied", answer.result, answer.conflict))
    return done


_CONFLICTS_SQL = (
    "SELECT scan.id, scan.signup, scan.nonce, scan.gate, scan.device, scan.result, scan.offline_result, scan.conflict, scan.scanned_at, "
    "signup.party_size, signup.checked_in_at, signup.checked_in_gate, member.name AS member_name "
    "FROM scan LEFT JOIN signup ON signup.id = scan.signup LEFT JOIN member ON member.id = signup.member "
    "WHERE scan.event = {} AND scan.conflict <> '' ORDER BY scan.scanned_at, scan.id"
)


async def conflicts(event_id: int) -> list[dict[str, Any]]:
    """What staff must look at: each admission the server would not have made (a ticket let in a
    second time, or one not valid), and each valid ticket an offline door turned away; who, at
    which door and device, and where and when the signup came in first."""
    return [dict(r) for r in await db.fetch(_CONFLICTS_SQL, event_id)]
