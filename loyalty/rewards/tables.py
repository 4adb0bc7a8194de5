"""The rewards catalogue (积分商城): rewards staff publish, the owners' redemptions of them, and
the gifts staff grant to a segment of owners.

Stock only moves by a conditional UPDATE of `Reward.stock_remaining` (never read-then-write),
so concurrent redemptions never take more than there is. A redemption paid with points holds
the key of its ledger entry; giving the points back (cancelled, expired) reverses that entry
through the points service, once (the return has its own key)."""

from piccolo.columns import BigInt, Bytea, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.events.tables import Event
from loyalty.members.tables import Member
from loyalty.merchants.tables import Merchant

REWARD_KINDS = ("gift", "voucher", "event_seat", "service")
REWARD_STATUSES = ("draft", "published", "withdrawn")
# reserved → ready → picked_up; reserved/ready → cancelled (by the owner) or expired (not
# collected in time): both give the points and the stock back.
REDEMPTION_STATUSES = ("reserved", "ready", "picked_up", "cancelled", "expired")
OPEN = ("reserved", "ready")
TIERS = ("platinum", "gold", "silver", "blue")


class Reward(Table):
    kind = Varchar(length=16)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=100, default="")
    description_zh = Text(default="")
    description_en = Text(default="")
    pickup_place = Varchar(length=200, default="")  # a sales office or a property service centre
    pickup_place_en = Varchar(length=200, default="")  # the same place in English ('' = the Chinese one)
    # Points per tier: NULL = not offered to that tier, 0 = free. Members without a card count as blue.
    price_platinum = BigInt(null=True, default=None)
    price_gold = BigInt(null=True, default=None)
    price_silver = BigInt(null=True, default=None)
    price_blue = BigInt(null=True, default=None)
    stock_total = Integer(default=0)
    stock_remaining = Integer(default=0)
    per_owner_limit = Integer(default=1)
    starts_on = Date()
    ends_on = Date()  # the last day it can be redeemed
    # Eligibility: comma-separated; empty means everyone (as events have it).
    eligible_tiers = Varchar(length=64, default="")
    eligible_stages = Varchar(length=120, default="")
    eligible_projects = Varchar(length=200, default="")
    collect_days = Integer(default=14)  # how long a reservation waits to be collected
    status = Varchar(length=16, default="draft")
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    # A voucher names the merchant whose tills accept it; an event seat the event it seats.
    merchant = ForeignKey(references=Merchant, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    event = ForeignKey(references=Event, null=True, default=None, index=True, on_delete=OnDelete.restrict)


GRANT_RULE_OCCASIONS = ("birthday", "holiday")
GRANT_RULE_STATUSES = ("active", "paused")


class RewardGrantRule(Table):
    """A standing gift (loyalty/rewards/standing_grants.py): every owner in the segment gets one
    free reservation of the reward per occasion (their birthday each year, or a holiday), from
    `days_before` the day to the day itself, including owners who join the segment meanwhile."""

    reward = ForeignKey(references=Reward, null=False, index=True, on_delete=OnDelete.restrict)
    occasion_kind = Varchar(length=16)  # birthday | holiday
    holiday = Varchar(length=32, default="")  # a key of loyalty.care.calendar.holidays (holiday rules)
    days_before = Integer(default=7)
    segment_tiers = Varchar(length=64, default="")
    segment_stages = Varchar(length=120, default="")
    segment_projects = Varchar(length=200, default="")
    status = Varchar(length=16, default="active")  # active | paused
    created_by = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class RewardGrant(Table):
    """A gift granted to a segment (a holiday, birthdays): one free reservation for each owner
    in it, made once however often the grant is applied. Staff make one by hand; a standing
    rule makes one per occasion (`rule`, `occasion_key`: unique together, a migration's index)."""

    reward = ForeignKey(references=Reward, null=False, index=True, on_delete=OnDelete.restrict)
    occasion = Varchar(length=100, default="")
    # Found by the unique index on (rule, occasion_key); an index of its own would be named
    # reward_grant_rule, the rules' table's name.
    rule = ForeignKey(references=RewardGrantRule, null=True, default=None, on_delete=OnDelete.restrict)
    occasion_key = Varchar(length=100, default="")  # a rule's occasion: birthday-2027, mid_autumn-2027
    segment_tiers = Varchar(length=64, default="")
    segment_stages = Varchar(length=120, default="")
    segment_projects = Varchar(length=200, default="")
    granted = Integer(default=0)  # reservations it made
    created_by = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class Redemption(Table):
    reward = ForeignKey(references=Reward, null=False, index=True, on_delete=OnDelete.restrict)
    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    points = BigInt(default=0)
    status = Varchar(length=16, index=True)
    # Unique per member (a migration's index): the owner's retry finds its first answer.
    idempotency_key = Varchar(length=200)
    request_hash = Varchar(length=64, default="")
    ledger_key = Varchar(length=200, default="")  # the points spent ('' when free)
    return_entry = Integer(null=True, default=None)  # the ledger entry that gave them back
    code_nonce = BigInt(default=0)  # signed into the pick-up code: names this redemption's code
    granted_by = ForeignKey(references=RewardGrant, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    reserved_at = Timestamptz(default=TimestamptzNow())
    ready_at = Timestamptz(null=True, default=None)
    picked_up_at = Timestamptz(null=True, default=None)
    picked_up_by = Integer(null=True, default=None)
    expires_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)  # cancelled or expired
    reminded_at = Timestamptz(null=True, default=None)
    # A voucher: the SHA-256 of its code (the code itself is derived from the platform's secret
    # when the owner looks at it, never stored); the till's Idempotency-Key that used it, as
    # "<merchant>:<key>" (unique: a retry finds its first answer), that request's fingerprint,
    # and the store it was used at. (SQLite cannot add a UNIQUE column: the indexes are raw.)
    voucher_hash = Varchar(length=64, null=True, default=None)  # unique (a migration's index)
    voucher_used_key = Varchar(length=120, null=True, default=None)  # unique (a migration's index)
    voucher_request_hash = Varchar(length=64, default="")
    voucher_store = Integer(null=True, default=None)
    # An event seat: the owner's signup it made (its ticket is the pick-up).
    signup = Integer(null=True, default=None, index=True)


class RewardPicture(Table):
    """A reward's one picture, re-encoded as JPEG: its own table (not a column of `reward`), so
    the lists and the catalogue, which select whole reward rows, never carry the bytes."""

    reward = ForeignKey(references=Reward, null=False, unique=True, on_delete=OnDelete.cascade)
    data = Bytea()
    etag = Varchar(length=64)  # sha-256 of the JPEG, hex (cut): the reply's ETag
    width = Integer()
    height = Integer()
    updated_by = Integer(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
