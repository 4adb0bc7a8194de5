"""Events, programs, signups, their payments and the door's scans.

Seats are people (owner + family): `Event.seats_taken` counts the party sizes of signups
holding a seat (pending payment, confirmed, attended) and only ever moves by a conditional
UPDATE, so capacity holds under concurrent signups without a read-then-write."""

from piccolo.columns import BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member, Project

EVENT_KINDS = ("club_activity", "owner_meetup", "festival_gathering", "site_open_day", "decoration_seminar", "other")
EVENT_STATUSES = ("draft", "published", "cancelled")
# pending_payment and confirmed hold seats; attended and no_show come after the event.
SIGNUP_STATUSES = ("pending_payment", "confirmed", "waitlisted", "cancelled", "attended", "no_show")
HOLDING = ("pending_payment", "confirmed", "attended")


class Program(Table):
    """A seasonal set of sessions (e.g. the spring program, March–May); each session is an Event."""

    title_zh = Varchar(length=100)
    title_en = Varchar(length=100, default="")
    body_zh = Text(default="")
    body_en = Text(default="")
    project = ForeignKey(references=Project, null=True, default=None, on_delete=OnDelete.restrict)
    status = Varchar(length=16, default="published")
    created_at = Timestamptz(default=TimestamptzNow())


class Event(Table):
    kind = Varchar(length=24)
    program = ForeignKey(references=Program, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    project = ForeignKey(references=Project, null=True, default=None, on_delete=OnDelete.restrict)  # where, whose
    title_zh = Varchar(length=100)
    title_en = Varchar(length=100, default="")
    body_zh = Text(default="")
    body_en = Text(default="")
    venue = Varchar(length=200, default="")
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    signup_opens_at = Timestamptz()
    signup_closes_at = Timestamptz()
    cancel_deadline = Timestamptz()
    capacity = Integer()
    party_size_limit = Integer(default=1)
    seats_taken = Integer(default=0)
    # Eligibility: comma-separated; empty means everyone.
    eligible_tiers = Varchar(length=64, default="")
    eligible_stages = Varchar(length=120, default="")
    eligible_projects = Varchar(length=200, default="")
    # Fee per person by tier, in fen (0 = free); members without a card pay the blue fee.
    fee_platinum_fen = BigInt(default=0)
    fee_gold_fen = BigInt(default=0)
    fee_silver_fen = BigInt(default=0)
    fee_blue_fen = BigInt(default=0)
    attendance_points = Integer(default=0)
    status = Varchar(length=16, default="published")
    created_at = Timestamptz(default=TimestamptzNow())


class Payment(Table):
    """One Stripe PaymentIntent paying for one or more signups of a member."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    amount_fen = BigInt()
    currency = Varchar(length=3, default="cny")
    stripe_intent_id = Varchar(length=100, default="", index=True)
    client_secret = Varchar(length=200, default="")
    # requires_payment | succeeded | failed | cancelled
    status = Varchar(length=20, default="requires_payment")
    last_error = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    succeeded_at = Timestamptz(null=True, default=None)


class Signup(Table):
    event = ForeignKey(references=Event, null=False, index=True, on_delete=OnDelete.restrict)
    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    party_size = Integer(default=1)
    status = Varchar(length=16, index=True)
    fee_fen = BigInt(default=0)  # for the whole party
    payment = ForeignKey(references=Payment, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    hold_expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Varchar(length=32, default="")
    refund_fen = BigInt(default=0)
    stripe_refund_id = Varchar(length=100, default="")
    refund_status = Varchar(length=20, default="")
    checked_in_at = Timestamptz(null=True, default=None)
    checked_in_gate = Varchar(length=50, default="")


class StripeEvent(Table):
    """Each Stripe webhook event handled once: the unique id is the guard."""

    event_id = Varchar(length=100, unique=True)
    type = Varchar(length=64)
    received_at = Timestamptz(default=TimestamptzNow())


class Scan(Table):
    """Every scan at a door, with its answer: the live log, and a scanner's retry (same
    nonce) gets the first answer back."""

    event = ForeignKey(references=Event, null=False, index=True, on_delete=OnDelete.restrict)
    signup = Integer(null=True, default=None)
    nonce = Varchar(length=64, null=True, default=None)
    gate = Varchar(length=50, default="")
    result = Varchar(length=24)
    staff = Integer(null=True, default=None)
    scanned_at = Timestamptz(default=TimestamptzNow())
    # A scan made offline and synced later: the device, and what it told the door then
    # (`checked_in` here with another `result` is a conflict: two doors let one ticket in).
    device = Varchar(length=64, default="")
    offline_result = Varchar(length=24, default="")
    # What staff must look at (door_sync): `admitted` (a door let in someone the server would not
    # have, or a second time) or `turned_away` (an offline door refused a valid ticket); else ''.
    conflict = Varchar(length=16, default="")
    # The scanned code's hash: the same nonce with another code is not a retry (checkin._replay).
    code_hash = Varchar(length=64, default="")


class DoorDeviceToken(Table):
    """A one-time code a staff member shows as a QR so a volunteer's phone becomes a door scanner
    for one event and gate without a password: only its hash is kept, it dies in minutes, and
    one phone may use it once."""

    token_hash = Varchar(length=64, unique=True)
    staff = Integer()
    event = Integer(index=True)
    gate = Varchar(length=50)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    # Once used, the row is the phone's session (its cookie names it): it ends at the end of the
    # event day (at most a day), or when the phone logs out or staff switch it off.
    session_expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)

