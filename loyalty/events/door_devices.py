"""Setting a volunteer's phone up as a door scanner without a password: a staff member asks for
a one-time code for an event and gate, shows it as a QR, and the phone that opens it gets a
session that may only scan at that door (loyalty.identity.guards, DOOR_KEY). Only the code's
hash is kept; it dies after a few minutes and works once.

The used code's row is then the phone's session: the cookie names it, and every request checks
it (loyalty.identity.guards), so the phone is tied to its event and gate, its session ends with
the event day (a day at most), and logging the phone out or switching it off kills every copy of
its cookie."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from loyalty import clock, db
from loyalty.errors import DomainError, InvalidField, NotAuthenticated, NotFound
from loyalty.events.tables import DoorDeviceToken, Event
from loyalty.i18n import _

LIFETIME = timedelta(minutes=10)
# A door phone scans on the event's day: its session never outlives that day, nor a day in all.
SESSION_AT_MOST = timedelta(hours=24)


class DoorSetupCodeInvalid(DomainError):
    status = 410
    type = "door-setup-code-invalid"
    title = _("This set-up code has expired or has been used; ask for a new one")


class DoorElsewhere(DomainError):
    status = 403
    type = "door-scanner-elsewhere"
    title = _("This phone scans at another door")


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class DoorDevice:
    id: int
    staff_id: int
    event_id: int
    gate: str
    session_expires_at: datetime | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(staff_id: int, event_id: int, gate: str, now: datetime | None = None) -> Issued:
    now = now or clock.now()
    gate = (gate or "").strip()
    if not 1 <= len(gate) <= 50:
        raise InvalidField(_("Name the gate (1 to 50 characters)"), field="gate")
    if not await Event.exists().where((Event.id == event_id) & (Event.status != "draft")):
        raise NotFound(_("There is no event {event_id}", event_id=event_id))
    token = secrets.token_urlsafe(24)
    expires_at = now + LIFETIME
    await DoorDeviceToken.insert(
        DoorDeviceToken(token_hash=_hash(token), staff=staff_id, event=event_id, gate=gate, expires_at=expires_at)
    )
    return Issued(token=token, expires_at=expires_at)


def _session_end(event_ends_at: datetime, now: datetime) -> datetime:
    """The end of the event's last day (Beijing time), or of today when that has passed; never
    more than a day from now."""
    day = max(event_ends_at, now).astimezone(clock.LOCAL_ZONE).date() + timedelta(days=1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=clock.LOCAL_ZONE)
    return min(midnight, now + SESSION_AT_MOST)


async def redeem(token: str, now: datetime | None = None) -> DoorDevice:
    """The code's door, once: a second phone with the same code (or a late one) is refused."""
    now = now or clock.now()
    rows = await db.fetch(
        "UPDATE door_device_token SET used_at = {} WHERE token_hash = {} AND used_at IS NULL AND expires_at > {} "
        "RETURNING id, staff, event, gate",
        now, _hash(token or ""), now,
    )
    if not rows:
        raise DoorSetupCodeInvalid(_("Open the door scanner from a new QR code on the staff member's screen"), field="token")
    row = rows[0]
    event = await Event.select(Event.ends_at).where(Event.id == row["event"]).first()
    until = _session_end(event["ends_at"] if event else now, now)
    await db.fetch("UPDATE door_device_token SET session_expires_at = {} WHERE id = {} RETURNING id", until, row["id"])
    return DoorDevice(id=row["id"], staff_id=row["staff"], event_id=row["event"], gate=row["gate"], session_expires_at=until)


async def check_session(device_id: int, now: datetime | None = None) -> DoorDevice:
    """The phone's session as it stands now: refused (401) once it has expired or been ended."""
    now = now or clock.now()
    rows = await db.fetch(
        "SELECT id, staff, event, gate, session_expires_at FROM door_device_token WHERE id = {} AND used_at IS NOT NULL "
        "AND revoked_at IS NULL AND session_expires_at > {}",
        device_id, now,
    )
    if not rows:
        raise NotAuthenticated(_("This door scanner has been switched off or its day is over: open it again from a new QR code."))
    row = rows[0]
    return DoorDevice(row["id"], row["staff"], row["event"], row["gate"], row["session_expires_at"])


def check_scope(device: DoorDevice, event_id: int, gates: dict[str, str] | None = None) -> None:
    """A door phone scans only at the event and gate it was set up for (`gates`: field → gate)."""
    if event_id != device.event_id:
        raise DoorElsewhere(_("This phone is a door scanner for another event: ask for a new QR code for this one."), field="event_id")
    for field, gate in (gates or {}).items():
        if (gate or "").strip() != device.gate:
            raise DoorElsewhere(_("This phone is a door scanner for the gate “{gate}” only.", gate=device.gate), field=field)


async def end(device_id: int, now: datetime | None = None) -> None:
    """The phone logged out: its session ends here, so a saved copy of its cookie dies too."""
    await db.fetch(
        "UPDATE door_device_token SET revoked_at = {} WHERE id = {} AND revoked_at IS NULL RETURNING id", now or clock.now(), device_id
    )


async def active(event_id: int, now: datetime | None = None) -> list[dict]:
    """The phones scanning at an event now: which gate, set up by whom, until when."""
    now = now or clock.now()
    rows = await db.fetch(
        "SELECT door_device_token.id, door_device_token.gate, door_device_token.used_at, door_device_token.session_expires_at, "
        "staff_account.display_name AS staff_name FROM door_device_token LEFT JOIN staff_account ON staff_account.id = door_device_token.staff "
        "WHERE door_device_token.event = {} AND door_device_token.used_at IS NOT NULL AND door_device_token.revoked_at IS NULL "
        "AND door_device_token.session_expires_at > {} ORDER BY door_device_token.id",
        event_id, now,
    )
    return [dict(r) for r in rows]


async def revoke(event_id: int, device_id: int, now: datetime | None = None) -> None:
    """Staff switch a phone off: its next request is refused."""
    rows = await db.fetch(
        "UPDATE door_device_token SET revoked_at = {} WHERE id = {} AND event = {} AND used_at IS NOT NULL AND revoked_at IS NULL "
        "RETURNING id",
        now or clock.now(), device_id, event_id,
    )
    if not rows:
        raise NotFound(_("No door scanner {device_id} is switched on for this event", device_id=device_id))
