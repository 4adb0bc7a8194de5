"""Merchants, their stores, discount schedules, API keys, and the sales their tills record."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member

CATEGORIES = ("decoration", "dining", "education", "health", "retail", "services", "other")


class Merchant(Table):
    name = Varchar(length=100)
    category = Varchar(length=20, default="other")
    contact_name = Varchar(length=50, default="")
    contact_phone = Varchar(length=20, default="")
    status = Varchar(length=10, default="active")  # active | suspended
    # Optional earning rule: points per whole CNY the owner pays in cash (0 = none).
    points_per_cny = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class Store(Table):
    merchant = ForeignKey(references=Merchant, null=False, index=True, on_delete=OnDelete.restrict)
    code = Varchar(length=32)
    name = Varchar(length=100)


class DiscountSchedule(Table):
    """Percent off (in basis points: 1000 = 10%) for a tier, with an optional cap per sale."""

    merchant = ForeignKey(references=Merchant, null=False, index=True, on_delete=OnDelete.restrict)
    tier = Varchar(length=10)
    percent_bp = Integer()
    cap_fen = BigInt(null=True, default=None)
    valid_from = Date()
    valid_to = Date(null=True, default=None)


class ApiKey(Table):
    """Shown once; only its SHA-256 is kept (the key is 32 random bytes, so a fast hash is
    enough). `prefix` (e.g. ocm_live_ab12cd) names it in logs and lists."""

    merchant = ForeignKey(references=Merchant, null=False, index=True, on_delete=OnDelete.restrict)
    store = Integer(null=True, default=None)  # a key may be limited to one store
    prefix = Varchar(length=24, index=True)
    key_hash = Varchar(length=64, unique=True, secret=True)  # never served (piccolo-admin, exports)
    label = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)  # set when rotated: the grace period
    revoked_at = Timestamptz(null=True, default=None)


class Sale(Table):
    """A sale at a merchant's till. Its (merchant, idempotency_key) is unique: the row is also
    the stored answer a replay gets."""

    merchant = ForeignKey(references=Merchant, null=False, index=True, on_delete=OnDelete.restrict)
    store = Integer()
    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    card = Integer()
    tier = Varchar(length=10)
    gross_fen = BigInt()
    discount_fen = BigInt()
    points_redeemed = BigInt(default=0)
    points_value_fen = BigInt(default=0)
    points_earned = BigInt(default=0)
    cash_fen = BigInt()
    reversed_fen = BigInt(default=0)
    balance_after = BigInt()
    idempotency_key = Varchar(length=100)
    request_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    # The dynamic code the sale consumed (NULL for a static code): (card, code_step,
    # code_nonce) is unique (migrations/merchants), so a dynamic code makes one sale at most.
    code_step = Integer(null=True, default=None)
    code_nonce = BigInt(null=True, default=None)
    # Points earned are pending until this day (the reversal window); `earn_cap` says which
    # cap cut the earn down ("sale" or "day"), "" if none did.
    earn_vests_on = Date(null=True, default=None)
    earn_cap = Varchar(length=10, default="")


class MerchantEarnDay(Table):
    """Points a merchant's sales earned in one Beijing day, against the day's cap. (merchant,
    day) is unique: every earning sale adds to its row under the row's lock, so concurrent
    sales can never earn more than the cap together."""

    merchant = ForeignKey(references=Merchant, null=False, on_delete=OnDelete.restrict)
    day = Date()
    earned = BigInt(default=0)
    last_grant = BigInt(default=0)  # what the latest sale was allowed (read back by RETURNING)


class SaleReversal(Table):
    sale = ForeignKey(references=Sale, null=False, index=True, on_delete=OnDelete.restrict)
    merchant = Integer(index=True)
    amount_fen = BigInt()
    discount_fen = BigInt()
    points_returned = BigInt()
    points_value_fen = BigInt()
    points_removed = BigInt()
    balance_after = BigInt()
    reason = Text(default="")
    idempotency_key = Varchar(length=100)
    request_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
