"""Cards, the tier rules (as data), staff tier assignments and the tier history."""

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member

TIERS = ("platinum", "gold", "silver", "blue")  # highest first
TIER_RANK = {"platinum": 4, "gold": 3, "silver": 2, "blue": 1}
CARD_STATUSES = ("active", "suspended", "replaced")
CRITERION_KINDS = ("units_owned", "delivered_units", "contract_value_fen", "stage", "signed_referrals")
# Why a card has its tier (CardView.why_kind): the criterion that matched, a staff assignment, or
# no rule holds any more and the tier is kept until the next yearly review.
WHY_KINDS = (*CRITERION_KINDS, "assignment", "kept_until_review")


class Card(Table):
    """A member's membership card. At most one card per member is not `replaced` (a partial
    unique index in migrations/cards); reissuing replaces the row, so every code signed for
    the old card id stops verifying."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    number = Varchar(length=16, unique=True)  # 16 digits, the last a Luhn check digit
    tier = Varchar(length=10, default="blue")
    tier_criterion = Integer(null=True, default=None)  # the TierCriterion that matched, if any
    tier_reason = Varchar(length=20, default="rule")  # rule | assignment
    tier_since = Timestamptz(default=TimestamptzNow())
    status = Varchar(length=10, default="active", index=True)
    status_reason = Text(default="")
    issued_at = Timestamptz(default=TimestamptzNow())
    replaced_at = Timestamptz(null=True, default=None)


class TierCriterion(Table):
    """One way to reach a tier: `kind` ≥ `threshold` (referrals within `window_months`).
    Seeded with DESIGN.md's defaults; admins edit the rows."""

    tier = Varchar(length=10)
    kind = Varchar(length=24)
    threshold = BigInt()
    window_months = Integer(null=True, default=None)
    position = Integer(default=0)  # order within the tier: the first that matches is "why"
    active = Boolean(default=True)


class TierAssignment(Table):
    """A tier given by staff, with a reason, until an end date (inclusive)."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    tier = Varchar(length=10)
    reason = Text()
    ends_on = Date()
    previous_tier = Varchar(length=10, default="")
    staff_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class TierChange(Table):
    """The tier history: every change with the previous tier and why."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    card = Integer(null=True, default=None)
    from_tier = Varchar(length=10, default="")
    to_tier = Varchar(length=10)
    criterion = Integer(null=True, default=None)
    cause = Varchar(length=20)  # upgrade | review | assignment | assignment_ended | issue
    changed_at = Timestamptz(default=TimestamptzNow(), index=True)


class TypedCode(Table):
    """The 18 digits shown under a dynamic QR, for a cashier to type when the scan fails. They
    name the same (card, step, nonce) as the QR's signed code, so both are one payment: the
    sale that consumes one consumes the other. Random, never derived from the card number;
    rows are purged a day after they expire (`service.purge_typed_codes`)."""

    digits = Varchar(length=18, unique=True)
    card = ForeignKey(references=Card, null=False, on_delete=OnDelete.cascade)
    step = Integer()
    nonce = BigInt()  # the signed code's nonce: 32 bits, unsigned
    expires_at = Timestamptz(index=True)
