"""Setting a volunteer's phone up as a door scanner without a password: a staff member asks for
a one-time code for an event and gate, shows it as a QR, and the phone that opens it gets a
session that may only scan at that door (loyalty.identity.guards, DOOR_KEY). Only the code's
hash is kept; it dies after a few minutes and works once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from loyalty import clock, db
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events.tables import DoorDeviceToken, Event
from loyalty.i18n import _

LIFETIME = timedelta(minutes=10)


class DoorSetupCodeInvalid(DomainError):
    status = 410
    type = "door-setup-code-invalid"
    title = _("This set-up code has expired or has been used; ask for a new one")


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class DoorDevice:
    staff_id: int
    event_id: int
    gate: str


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


async def redeem(token: str, now: datetime | None = None) -> DoorDevice:
    """The code's door, once: a second phone with the same code (or a late one) is refused."""
    now = now or clock.now()
    rows = await db.fetch(
        "UPDATE door_device_token SET used_at = {} WHERE token_hash = {} AND used_at IS NULL AND expires_at > {} "
        "RETURNING staff, event, gate",
        now, _hash(token or ""), now,
    )
    if not rows:
        raise DoorSetupCodeInvalid(_("Open the door scanner from a new QR code on the staff member's screen"), field="token")
    return DoorDevice(staff_id=rows[0]["staff"], event_id=rows[0]["event"], gate=rows[0]["gate"])
