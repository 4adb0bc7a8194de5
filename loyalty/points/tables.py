"""The points ledger. Points are money: integers, append-only entries, one unique
idempotency key per operation, and a per-member account row that every change locks first.

Balance = SUM(available_delta) and SUM(pending_delta) over a member's entries; the account
row holds the same two numbers, updated in the same transaction, so reading a balance is one
row and `loyalty audit-ledger` proves the two never drift. Lots say which points expire when
and are spent oldest first.
"""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member

ENTRY_KINDS = ("earn", "redeem", "expire", "adjust", "reverse", "vest", "void")
LOT_STATUSES = ("pending", "available", "expired", "void")
# What caused an entry (LedgerEntry.source_kind; a reversal keeps the source of what it undoes).
# tests/test_openapi_contract.py fails if the code writes a source_kind missing here.
SOURCE_KINDS = ("sale", "referral", "event", "staff", "lot", "erasure", "reward")


class PointsAccount(Table):
    member = ForeignKey(references=Member, null=False, unique=True, on_delete=OnDelete.restrict)
    available = BigInt(default=0)
    pending = BigInt(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())


class LedgerEntry(Table):
    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=10)
    available_delta = BigInt(default=0)
    pending_delta = BigInt(default=0)
    # What caused it (one of SOURCE_KINDS): ("referral", "12:signed"), ("sale", "345"), ("staff", ""), ("lot", "7")...
    source_kind = Varchar(length=20)
    source_id = Varchar(length=64, default="")
    actor_kind = Varchar(length=10, default="system")  # system | staff | member | merchant
    actor_id = Integer(null=True, default=None)
    reason = Text(default="")
    idempotency_key = Varchar(length=200, unique=True)
    request_hash = Varchar(length=64, default="")
    lot = Integer(null=True, default=None)  # the lot an earn created or a vest/expire/void touched
    reverses = Integer(null=True, default=None, index=True)  # the entry a reversal undoes
    reversed_points = BigInt(default=0)  # how much of this entry has been reversed so far
    available_after = BigInt(default=0)
    pending_after = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class PointsLot(Table):
    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    entry = Integer()  # the earn (or adjust, or restore) entry that created it
    amount = BigInt()
    remaining = BigInt()
    status = Varchar(length=10, index=True)
    vests_on = Date(null=True, default=None)
    expires_on = Date(null=True, default=None, index=True)
    expiry_notice_sent = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class LotDraw(Table):
    """Which lots a redemption (or debit adjustment, or clawback) took points from, so a
    reversal can give them back where they came from."""

    entry = Integer(index=True)
    lot = Integer(index=True)
    amount = BigInt()


class PointsAdjustmentRequest(Table):
    """A staff adjustment above the approval threshold: not applied at once, but held until
    a second staff member (an admin, never the requester) approves it, which writes the
    ledger entry exactly once (key `adjust-request:<id>`), or rejects it with a reason."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    points = BigInt()
    reason = Text(default="")
    idempotency_key = Varchar(length=200, unique=True)  # the requester's key: a retried request finds its first answer
    request_hash = Varchar(length=64, default="")
    status = Varchar(length=10, default="pending", index=True)  # pending | approved | rejected
    requested_by = Integer()
    requested_at = Timestamptz(default=TimestamptzNow())
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")
    entry = Integer(null=True, default=None)  # the ledger entry an approval wrote
