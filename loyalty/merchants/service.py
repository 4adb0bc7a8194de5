"""Rules for alliance merchants: keys, tier discounts, sales paid partly in points, reversals
and the monthly settlement. A merchant only ever sees its own sales, and never an owner's
phone or full name."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.cards import service as cards
from loyalty.cards.codes import CodeSigner
from loyalty.errors import DomainError, InvalidField, NotAuthenticated, NotFound
from loyalty.merchants.tables import CATEGORIES, ApiKey, DiscountSchedule, Merchant, Sale, SaleReversal, Store
from loyalty.points import service as points

KEY_PREFIX = "ocm_live_"
FEN_PER_CNY = 100


class MerchantSuspended(DomainError):
    type = "merchant-suspended"
    status = 403
    title_en = "This merchant is suspended"
    title_zh = "该商家已暂停合作"


class DiscountNotAllowed(DomainError):
    type = "discount-exceeds-schedule"
    status = 422
    title_en = "The discount is more than this member's tier allows here"
    title_zh = "折扣超出该会员等级在本商家的优惠"


class PointsExceedPayable(DomainError):
    type = "points-exceed-payable"
    status = 422
    title_en = "Points can pay at most what is left after the discount"
    title_zh = "积分抵扣不能超过折后应付金额"


class ReversalTooLarge(DomainError):
    type = "reversal-exceeds-sale"
    status = 422
    title_en = "More than what is left of the sale"
    title_zh = "超出该笔交易可撤销的金额"


class StoreNotFound(InvalidField):
    type = "store-not-found"
    title_en = "No such store for this merchant"
    title_zh = "本商家没有该门店"


@dataclass(frozen=True)
class KeyContext:
    key_id: int
    merchant_id: int
    store_id: int | None
    prefix: str


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _ledger_keys(merchant_id: int, client_key: str, kind: str = "sale") -> tuple[str, str, str]:
    """The ledger keys a till's Idempotency-Key maps to: (paid with points, points earned,
    ledger source id). Distinct prefixes, so no client key can collide with a derived one;
    the source id is a short digest (the ledger column is 64 characters)."""
    return (
        f"{kind}-pay:{merchant_id}:{client_key}",
        f"{kind}-earn:{merchant_id}:{client_key}",
        f"{merchant_id}:{_hash(client_key)[:40]}",
    )


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳晓明 → 欧***: enough for the cashier to greet, not to identify."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"


# --- merchants, stores, schedules (staff) ----------------------------------------------------


async def create_merchant(name: str, category: str = "other", *, points_per_cny: int = 0, contact_name: str = "", contact_phone: str = "") -> int:
    if not 1 <= len(name.strip()) <= 100:
        raise InvalidField("the name needs 1 to 100 characters", field="name")
    if category not in CATEGORIES:
        raise InvalidField(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    if not 0 <= points_per_cny <= 100:
        raise InvalidField("points_per_cny must be between 0 and 100", field="points_per_cny")
    rows = await Merchant.insert(
        Merchant(name=name.strip(), category=category, points_per_cny=points_per_cny, contact_name=contact_name, contact_phone=contact_phone)
    ).returning(Merchant.id)
    return rows[0]["id"]


async def set_merchant_status(merchant_id: int, status: str, reason: str, staff_id: int) -> None:
    """Suspend a merchant (its keys answer `merchant-suspended` at once; its sales and
    statements stay) or reactivate it. Audited with the reason."""
    if status not in ("active", "suspended"):
        raise InvalidField("status must be active or suspended", field="status")
    text = audit.required_reason(reason)
    async with db.transaction():
        rows = await Merchant.update({Merchant.status: status}).where(Merchant.id == merchant_id).returning(Merchant.id)
        if not rows:
            raise NotFound(f"merchant {merchant_id} does not exist")
        await audit.record(
            action=f"merchant.{'suspend' if status == 'suspended' else 'reactivate'}",
            subject_kind="merchant", subject_id=merchant_id, reason=text, actor_id=staff_id,
        )


async def add_store(merchant_id: int, code: str, name: str) -> int:
    if not code.strip() or not name.strip():
        raise InvalidField("a store needs a code and a name", field="code")
    if not await Merchant.exists().where(Merchant.id == merchant_id):
        raise NotFound(f"merchant {merchant_id} does not exist")
    if await Store.exists().where((Store.merchant == merchant_id) & (Store.code == code.strip())):
        raise InvalidField(f"store code {code!r} is taken", field="code")
    rows = await Store.insert(Store(merchant=merchant_id, code=code.strip(), name=name.strip())).returning(Store.id)
    return rows[0]["id"]


async def set_discount(
    merchant_id: int, tier: str, percent_bp: int, *, valid_from: date, valid_to: date | None = None, cap_fen: int | None = None
) -> int:
    """A tier discount at this merchant: basis points off (1000 = 10%), optional cap per sale."""
    from loyalty.cards.tables import TIERS

    if tier not in TIERS:
        raise InvalidField(f"tier must be one of {', '.join(TIERS)}", field="tier")
    if not 0 < percent_bp <= 10000:
        raise InvalidField("percent_bp must be between 1 and 10000", field="percent_bp")
    if cap_fen is not None and cap_fen <= 0:
        raise InvalidField("a cap must be positive", field="cap_fen")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidField("valid_to is before valid_from", field="valid_to")
    rows = await DiscountSchedule.insert(
        DiscountSchedule(merchant=merchant_id, tier=tier, percent_bp=percent_bp, cap_fen=cap_fen, valid_from=valid_from, valid_to=valid_to)
    ).returning(DiscountSchedule.id)
    return rows[0]["id"]


# --- API keys ---------------------------------------------------------------------------


async def create_api_key(merchant_id: int, *, store_id: int | None = None, label: str = "") -> tuple[str, int]:
    """A new key: the full text is returned once and never stored."""
    if not await Merchant.exists().where(Merchant.id == merchant_id):
        raise NotFound(f"merchant {merchant_id} does not exist")
    if store_id is not None and not await Store.exists().where((Store.id == store_id) & (Store.merchant == merchant_id)):
        raise StoreNotFound(field="store_id")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    rows = await ApiKey.insert(
        ApiKey(merchant=merchant_id, store=store_id, prefix=raw[: len(KEY_PREFIX) + 6], key_hash=_hash(raw), label=label)
    ).returning(ApiKey.id)
    return raw, rows[0]["id"]


async def rotate_api_key(key_id: int, *, grace: timedelta = timedelta(hours=24)) -> tuple[str, int]:
    """A replacement key; the old one keeps working for `grace`, so tills can be updated."""
    now = clock.now()
    old = await ApiKey.select().where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null()).first()
    if old is None or (old["expires_at"] is not None and old["expires_at"] <= now):
        raise NotFound(f"no active key {key_id}")
    async with db.transaction():
        raw, new_id = await create_api_key(old["merchant"], store_id=old["store"], label=old["label"])
        # Never extends a grace already running (rotating twice must not revive a key).
        ends = now + grace if old["expires_at"] is None else min(old["expires_at"], now + grace)
        await ApiKey.update({ApiKey.expires_at: ends}).where(ApiKey.id == key_id)
    return raw, new_id


async def revoke_api_key(key_id: int) -> None:
    updated = await ApiKey.update({ApiKey.revoked_at: clock.now()}).where(
        (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
    ).returning(ApiKey.id)
    if not updated:
        raise NotFound(f"no active key {key_id}")


_KEY_COLUMNS = (
    "api_key.id AS key_id, api_key.merchant, api_key.store, api_key.prefix, api_key.revoked_at, "
    "api_key.expires_at, api_key.last_used_at, merchant.status AS merchant_status"
)
_KEY_SQL = f"SELECT {_KEY_COLUMNS} FROM api_key JOIN merchant ON merchant.id = api_key.merchant WHERE api_key.key_hash = {{}}"


def key_digest(raw_key: str) -> str:
    """What a bearer key is looked up (and rate-limited) by; refuses what is not one of ours
    before anything is counted or queried."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        raise NotAuthenticated("send `Authorization: Bearer ocm_live_…`")
    return _hash(raw_key)


async def _key_in_force(row: Any) -> KeyContext:
    """The rules for a key row (from `_KEY_COLUMNS`): revoked, expired or unknown keys are
    refused alike; a suspended merchant's keys say so."""
    now = clock.now()
    if row is None or row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
        raise NotAuthenticated("this API key is not valid (unknown, revoked or expired)")
    if row["merchant_status"] != "active":
        raise MerchantSuspended()
    # last_used_at is kept to the minute: no write on every request of a busy till.
    if row["last_used_at"] is None or now - row["last_used_at"] > timedelta(minutes=1):
        await db.fetch("UPDATE api_key SET last_used_at = {} WHERE id = {}", now, row["key_id"])
    return KeyContext(key_id=row["key_id"], merchant_id=row["merchant"], store_id=row["store"], prefix=row["prefix"])


async def authenticate(digest: str) -> KeyContext:
    """The merchant behind a bearer key (by `key_digest`)."""
    rows = await db.fetch(_KEY_SQL, digest)
    return await _key_in_force(rows[0] if rows else None)


# --- verify and sell ------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    card_id: int
    member_id: int
    member_name_masked: str
    tier: str
    code_kind: str
    code_expires_at_unix: int | None
    percent_bp: int
    cap_fen: int | None
    points_available: int


# The tier's discount here: the newest schedule in force for the tier.
_SCHEDULE_WHERE = (
    "FROM discount_schedule WHERE discount_schedule.merchant = {} AND discount_schedule.tier = {} "
    "AND discount_schedule.valid_from <= {} AND (discount_schedule.valid_to IS NULL OR discount_schedule.valid_to >= {}) "
    "ORDER BY discount_schedule.id DESC LIMIT 1"
)


# A till's scan is the busiest request there is (DESIGN.md: ≥ 60% of one indexed SELECT), so
# the key, the merchant, the card and its owner, the tier's discount here and the points are
# one statement; the rules applied to the row are the same functions the other routes use.
_CORRELATED = _SCHEDULE_WHERE.replace("merchant = {}", "merchant = api_key.merchant").replace("tier = {}", "tier = card.tier")
_VERIFY_SQL = (
    f"SELECT {_KEY_COLUMNS}, card.id, card.member, card.number, card.tier, card.status, member.name AS member_name, "
    f"(SELECT percent_bp {_CORRELATED}) AS percent_bp, (SELECT cap_fen {_CORRELATED}) AS cap_fen, "
    "(SELECT available FROM points_account WHERE points_account.member = card.member) AS available "
    "FROM api_key JOIN merchant ON merchant.id = api_key.merchant "
    "LEFT JOIN card ON card.id = {} LEFT JOIN member ON member.id = card.member "
    "WHERE api_key.key_hash = {}"
)


async def verify(digest: str, code: str, signer: CodeSigner, unix_time: float, today: date | None = None) -> tuple[KeyContext, Offer]:
    """A scanned card code → tier, this merchant's discount today, masked name, points.
    The key is judged first: a bad key is 401 whatever the code."""
    today = today or clock.today()
    try:
        payload, expires_at = cards.open_card_code(code, signer, unix_time)
    except DomainError:
        await authenticate(digest)
        raise
    rows = await db.fetch(_VERIFY_SQL, today, today, today, today, payload.subject_id, digest)
    row = rows[0] if rows else None
    ctx = await _key_in_force(row)
    card = cards.card_in_force(row, payload, expires_at)
    return ctx, Offer(
        card_id=card.card_id,
        member_id=card.member_id,
        member_name_masked=mask_name(card.member_name),
        tier=card.tier,
        code_kind=card.kind,
        code_expires_at_unix=card.expires_at_unix,
        percent_bp=row["percent_bp"] or 0,
        cap_fen=row["cap_fen"] if row["percent_bp"] is not None else None,
        points_available=int(row["available"] or 0),
    )


def max_discount(gross_fen: int, percent_bp: int, cap_fen: int | None) -> int:
    discount = gross_fen * percent_bp // 10000
    return min(discount, cap_fen) if cap_fen is not None else discount


def _store_in_force(ctx: KeyContext, store_code: str | None, found: int | None) -> int:
    """The store a sale is recorded at: a store key's own (naming another store is refused),
    or the one a merchant-wide key must name. `found`: the merchant's store with that code
    (for a store key, only if it is the key's own)."""
    if ctx.store_id is not None:
        if store_code is not None and found is None:
            raise StoreNotFound("this key belongs to another store", field="store")
        return ctx.store_id
    if store_code is None:
        raise InvalidField("name the store (its code)", field="store")
    if found is None:
        raise StoreNotFound(f"no store {store_code!r}", field="store")
    return found


async def _store_id(ctx: KeyContext, store_code: str | None) -> int:
    found = None
    if store_code is not None:
        query = Store.select(Store.id).where((Store.merchant == ctx.merchant_id) & (Store.code == store_code))
        if ctx.store_id is not None:
            query = query.where(Store.id == ctx.store_id)
        row = await query.first()
        found = row["id"] if row else None
    return _store_in_force(ctx, store_code, found)


async def _replayed_sale(ctx: KeyContext, key: str, fingerprint: str) -> dict[str, Any] | None:
    sale = await Sale.select().where((Sale.merchant == ctx.merchant_id) & (Sale.idempotency_key == key)).first()
    if sale is None:
        return None
    if sale["request_hash"] != fingerprint:
        raise points.IdempotencyConflict(f"Idempotency-Key {key!r} was used for another sale", field="Idempotency-Key")
    return sale


# A sale is the busiest write there is (DESIGN.md: ≥ 40% of one INSERT and one UPDATE), so,
# as for a verify, the key and its merchant, the store named, the card and its owner, the
# tier's discount here, the owner's points and whether the Idempotency-Key was used already
# are one statement; the rules applied to the row are the same functions the other routes use.
_SALE_CONTEXT_SQL = (
    f"SELECT {_KEY_COLUMNS}, merchant.points_per_cny, "
    "card.id, card.member, card.number, card.tier, card.status, member.name AS member_name, "
    "(SELECT store.id FROM store WHERE store.merchant = api_key.merchant AND store.code = {} "
    "AND (api_key.store IS NULL OR store.id = api_key.store) ORDER BY store.id LIMIT 1) AS store_found, "
    f"(SELECT percent_bp {_CORRELATED}) AS percent_bp, (SELECT cap_fen {_CORRELATED}) AS cap_fen, "
    "(SELECT available FROM points_account WHERE points_account.member = card.member) AS available, "
    "(SELECT sale.id FROM sale WHERE sale.merchant = api_key.merchant AND sale.idempotency_key = {}) AS sold "
    "FROM api_key JOIN merchant ON merchant.id = api_key.merchant "
    "LEFT JOIN card ON card.id = {} LEFT JOIN member ON member.id = card.member "
)
_SALE_BY_DIGEST_SQL = _SALE_CONTEXT_SQL + "WHERE api_key.key_hash = {}"
_SALE_BY_KEY_ID_SQL = _SALE_CONTEXT_SQL + "WHERE api_key.id = {}"


async def create_sale(
    ctx: KeyContext,
    *,
    key: str,
    code: str,
    store_code: str | None,
    gross_fen: int,
    discount_fen: int,
    points_to_redeem: int,
    signer: CodeSigner,
    unix_time: float,
    points_per_cny: int = 100,
    today: date | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record a sale: the discount is checked against the schedule, points pay part of what
    is left (taken atomically from the ledger), points are earned on the cash part by the
    merchant's rule. Same key and body → the first answer (and `True`); same key, another
    body → IdempotencyConflict."""
    _, sale, replayed = await _sell(
        _SALE_BY_KEY_ID_SQL, ctx.key_id, key=key, code=code, store_code=store_code, gross_fen=gross_fen,
        discount_fen=discount_fen, points_to_redeem=points_to_redeem, signer=signer, unix_time=unix_time,
        points_per_cny=points_per_cny, today=today,
    )
    return sale, replayed


async def create_sale_by_key(
    digest: str,
    *,
    key: str,
    code: str,
    store_code: str | None,
    gross_fen: int,
    discount_fen: int,
    points_to_redeem: int,
    signer: CodeSigner,
    unix_time: float,
    points_per_cny: int = 100,
    today: date | None = None,
) -> tuple[KeyContext, dict[str, Any], bool]:
    """`create_sale` as a till sends it: the bearer key (by `key_digest`) is judged on the
    sale's own first statement, before anything else (a bad key is 401 whatever the sale)."""
    return await _sell(
        _SALE_BY_DIGEST_SQL, digest, key=key, code=code, store_code=store_code, gross_fen=gross_fen,
        discount_fen=discount_fen, points_to_redeem=points_to_redeem, signer=signer, unix_time=unix_time,
        points_per_cny=points_per_cny, today=today,
    )


async def _sell(
    context_sql: str,
    key_ref: int | str,
    *,
    key: str,
    code: str,
    store_code: str | None,
    gross_fen: int,
    discount_fen: int,
    points_to_redeem: int,
    signer: CodeSigner,
    unix_time: float,
    points_per_cny: int,
    today: date | None,
) -> tuple[KeyContext, dict[str, Any], bool]:
    """`create_sale`'s rules, for the key that `context_sql` finds by `key_ref`."""
    today = today or clock.today()
    if not 1 <= len(key) <= 100:
        raise InvalidField("an Idempotency-Key of 1 to 100 characters is required", field="Idempotency-Key")
    # The code is judged where it always was, after the key, an earlier sale under the same
    # Idempotency-Key and the body: a retry whose dynamic code has expired since still gets
    # its first answer.
    try:
        payload, expires_at = cards.open_card_code(code, signer, unix_time)
        refused: DomainError | None = None
    except DomainError as error:
        payload, expires_at, refused = None, None, error
    card_id = payload.subject_id if payload is not None else None
    rows = await db.fetch(context_sql, store_code, today, today, today, today, key, card_id, key_ref)
    row = rows[0] if rows else None
    ctx = await _key_in_force(row)
    # The key is looked up before the body is judged: a retry gets the first answer, and a
    # different body under a used key is a conflict, whatever is wrong with it.
    # A store key's sales are its store's: the same key and body from another store's till
    # is another request (409), never that store's sale replayed.
    fingerprint = points.request_hash(
        code=code, store=store_code, key_store=ctx.store_id, gross=gross_fen, discount=discount_fen, points=points_to_redeem
    )
    if row["sold"] is not None and (replay := await _replayed_sale(ctx, key, fingerprint)):
        return ctx, replay, True
    if not 0 < gross_fen <= 10**11:
        raise InvalidField("gross_fen must be a positive amount in fen", field="gross_fen")
    if not 0 <= discount_fen <= gross_fen:
        raise InvalidField("discount_fen must be between 0 and gross_fen", field="discount_fen")
    if points_to_redeem < 0:
        raise InvalidField("points_to_redeem cannot be negative", field="points_to_redeem")
    store_id = _store_in_force(ctx, store_code, row["store_found"])
    if refused is not None:
        raise refused
    card = cards.card_in_force(row, payload, expires_at)
    allowed = max_discount(gross_fen, row["percent_bp"], row["cap_fen"]) if row["percent_bp"] is not None else 0
    if discount_fen > allowed:
        raise DiscountNotAllowed(
            f"{card.tier} allows at most {allowed} fen off {gross_fen} fen here", field="discount_fen", allowed_fen=allowed
        )
    points_value = points_to_redeem * FEN_PER_CNY // points_per_cny
    if points_value * points_per_cny != points_to_redeem * FEN_PER_CNY:
        raise InvalidField(f"points_to_redeem must be a multiple of {points_per_cny // FEN_PER_CNY or 1}", field="points_to_redeem")
    if points_value > gross_fen - discount_fen:
        raise PointsExceedPayable(field="points_to_redeem")
    cash = gross_fen - discount_fen - points_value
    earned = (cash // FEN_PER_CNY) * row["points_per_cny"]
    sale = {
        "merchant": ctx.merchant_id, "store": store_id, "member": card.member_id, "card": card.card_id, "tier": card.tier,
        "gross_fen": gross_fen, "discount_fen": discount_fen, "points_redeemed": points_to_redeem,
        "points_value_fen": points_value, "points_earned": earned, "cash_fen": cash, "idempotency_key": key,
        "request_hash": fingerprint,
    }
    try:
        if db.is_postgres():
            recorded = await _record_in_one_statement(sale, int(row["available"] or 0), today)
        else:
            recorded = await _record_step_by_step(sale, today)
    except points.InsufficientPoints:
        # A request with the same key may have held the owner's points first and spent them:
        # then its sale is the answer (or the conflict).
        replay = await _replayed_sale(ctx, key, fingerprint)
        if replay:
            return ctx, replay, True
        raise
    except DomainError:
        raise
    except Exception:
        # A concurrent request with the same key won the race (the unique index on
        # merchant + key, or on a ledger key, refused this insert): answer as a replay.
        replay = await _replayed_sale(ctx, key, fingerprint)
        if replay:
            return ctx, replay, True
        raise
    return ctx, recorded, False


_SALE_VALUES = (
    "merchant", "store", "member", "card", "tier", "gross_fen", "discount_fen", "points_redeemed", "points_value_fen",
    "points_earned", "cash_fen", "balance_after", "idempotency_key", "request_hash", "created_at",
)
_INSERT_SALE_SQL = (
    f"INSERT INTO sale ({', '.join(_SALE_VALUES)}, reversed_fen) VALUES ({', '.join('{}' for _ in _SALE_VALUES)}, 0) RETURNING *"
)


async def _record_in_one_statement(sale: dict[str, Any], available: int, today: date) -> dict[str, Any]:
    """PostgreSQL: the sale and its points, one statement (`points.redeem_and_earn`) in one
    transaction; a sale that moves no points is its INSERT alone, with the balance as read."""

    def insert(balance_after: int) -> tuple[str, list[Any]]:
        values = {**sale, "balance_after": balance_after, "created_at": clock.now()}
        return _INSERT_SALE_SQL, [values[name] for name in _SALE_VALUES]

    if not sale["points_redeemed"] and not sale["points_earned"]:
        sql, args = insert(available)
        rows = await db.fetch(sql, *args)
        return dict(rows[0])
    pay_key, earn_key, source_id = _ledger_keys(sale["merchant"], sale["idempotency_key"])
    return await points.redeem_and_earn(
        sale["member"], redeem=sale["points_redeemed"], earn=sale["points_earned"], redeem_key=pay_key, earn_key=earn_key,
        source_kind="sale", source_id=source_id, actor=points.Actor("merchant", sale["merchant"]), record=insert,
        today=today,
    )


async def _record_step_by_step(sale: dict[str, Any], today: date) -> dict[str, Any]:
    """SQLite: the same rows as `_record_in_one_statement`, one operation after another in
    the write transaction."""
    member_id = sale["member"]
    pay_key, earn_key, source_id = _ledger_keys(sale["merchant"], sale["idempotency_key"])
    actor = points.Actor("merchant", sale["merchant"])
    async with db.transaction():
        balance_after = await points.available(member_id)
        if sale["points_redeemed"]:
            balance_after = (
                await points.redeem(
                    member_id, sale["points_redeemed"], key=pay_key, source_kind="sale", source_id=source_id, actor=actor,
                    today=today,
                )
            ).available
        if sale["points_earned"]:
            balance_after = (
                await points.earn(
                    member_id, sale["points_earned"], key=earn_key, source_kind="sale", source_id=source_id, actor=actor,
                    today=today,
                )
            ).available
        rows = await Sale.insert(Sale(**sale, balance_after=balance_after, created_at=clock.now())).returning(
            *Sale.all_columns()
        )
    return rows[0]


async def get_sale(ctx: KeyContext, sale_id: int) -> dict[str, Any]:
    """One of this merchant's sales; another merchant's is 404, so ids don't leak."""
    query = Sale.select().where((Sale.id == sale_id) & (Sale.merchant == ctx.merchant_id))
    if ctx.store_id is not None:  # a store's key sees its store only
        query = query.where(Sale.store == ctx.store_id)
    sale = await query.first()
    if sale is None:
        raise NotFound(f"no sale {sale_id}")
    return sale


async def list_sales(
    ctx: KeyContext, *, start: date | None = None, end: date | None = None, store_code: str | None = None,
    after_id: int | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    query = Sale.select().where(Sale.merchant == ctx.merchant_id).order_by(Sale.id).limit(limit)
    if ctx.store_id is not None:
        query = query.where(Sale.store == ctx.store_id)
    if store_code is not None:
        query = query.where(Sale.store == await _store_id(ctx, store_code))
    if start is not None:
        query = query.where(Sale.created_at >= _local_midnight(_in_range(start, "start")))
    if end is not None:
        query = query.where(Sale.created_at < _local_midnight(_in_range(end, "end") + timedelta(days=1)))
    if after_id is not None:
        query = query.where(Sale.id > after_id)
    return await query


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


def _in_range(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidField(f"dates run from {FIRST_DAY} to {LAST_DAY}", field=field)
    return day


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=clock.LOCAL_ZONE)


async def reverse_sale(
    ctx: KeyContext, sale_id: int, *, key: str, amount_fen: int | None, reason: str = "", today: date | None = None
) -> tuple[dict[str, Any], bool]:
    """Reverse all or part of a sale (a return): points paid go back to the owner in
    proportion, points earned are taken back in proportion (clawback within the balance),
    never more than what is left of the sale."""
    today = today or clock.today()
    if not 1 <= len(key) <= 100:
        raise InvalidField("an Idempotency-Key of 1 to 100 characters is required", field="Idempotency-Key")
    fingerprint = points.request_hash(sale=sale_id, amount=amount_fen, reason=reason)
    existing = await SaleReversal.select().where(
        (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.idempotency_key == key)
    ).first()
    if existing:
        if existing["request_hash"] != fingerprint:
            raise points.IdempotencyConflict(f"Idempotency-Key {key!r} was used for another reversal", field="Idempotency-Key")
        return existing, True
    try:
        async with db.transaction():
            query = Sale.select().where((Sale.id == sale_id) & (Sale.merchant == ctx.merchant_id))
            if ctx.store_id is not None:
                query = query.where(Sale.store == ctx.store_id)
            if db.is_postgres():
                query = query.lock_rows()
            sale = await query.first()
            if sale is None:
                raise NotFound(f"no sale {sale_id}")
            left = sale["gross_fen"] - sale["reversed_fen"]
            amount = left if amount_fen is None else amount_fen
            if amount <= 0 or amount > left:
                raise ReversalTooLarge(f"{left} fen of {sale['gross_fen']} left to reverse", field="amount_fen", left_fen=left)
            # Proportional shares, computed on the running total so the parts add up exactly.
            def share(total: int) -> int:
                done = total * sale["reversed_fen"] // sale["gross_fen"]
                return total * (sale["reversed_fen"] + amount) // sale["gross_fen"] - done

            points_back, points_off = share(sale["points_redeemed"]), share(sale["points_earned"])
            discount, points_value = share(sale["discount_fen"]), share(sale["points_value_fen"])
            pay_key, earn_key, _ = _ledger_keys(ctx.merchant_id, sale["idempotency_key"])
            reversal_pay, reversal_earn, _ = _ledger_keys(ctx.merchant_id, key, kind="reversal")
            actor = points.Actor("merchant", ctx.merchant_id)
            balance_after = await points.available(sale["member"])
            # Paid points go back first, so earned points are taken back out of them.
            if points_back:
                balance_after = (await points.reverse(
                    pay_key, key=reversal_pay, points=points_back, actor=actor, reason=reason, today=today,
                )).available
            taken_back = shortfall = 0
            if points_off:
                result = await points.reverse(
                    earn_key, key=reversal_earn, points=points_off, actor=actor, reason=reason, today=today,
                )
                balance_after, taken_back, shortfall = result.available, result.points, result.shortfall
            await Sale.update({Sale.reversed_fen: Sale.reversed_fen + amount}).where(Sale.id == sale_id)
            if shortfall:
                from loyalty.audit import service as audit

                await audit.record(
                    action="sale.clawback_shortfall", subject_kind="member", subject_id=sale["member"], actor_kind="merchant",
                    actor_id=ctx.merchant_id, reason=f"sale {sale_id} reversed; {shortfall} earned points could not be taken back",
                    data={"sale": sale_id, "shortfall": shortfall},
                )
            rows = await SaleReversal.insert(
                SaleReversal(
                    sale=sale_id, merchant=ctx.merchant_id, amount_fen=amount, discount_fen=discount,
                    points_returned=points_back, points_value_fen=points_value,
                    points_removed=taken_back, balance_after=balance_after, reason=reason, idempotency_key=key,
                    request_hash=fingerprint, created_at=clock.now(),
                )
            ).returning(*SaleReversal.all_columns())
    except DomainError:
        raise
    except Exception:
        existing = await SaleReversal.select().where(
            (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.idempotency_key == key)
        ).first()
        if existing and existing["request_hash"] == fingerprint:
            return existing, True
        raise
    return rows[0], False


# --- settlement -------------------------------------------------------------------------------


@dataclass
class SettlementLine:
    store_code: str
    store_name: str
    sales: int = 0
    gross_fen: int = 0
    discount_fen: int = 0
    points_redeemed: int = 0
    points_value_fen: int = 0  # what the developer owes the merchant
    points_earned: int = 0
    reversals: int = 0
    reversed_fen: int = 0


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        year, number = (int(part) for part in month.split("-"))
        first = _in_range(date(year, number, 1), "month")
    except ValueError:
        raise InvalidField("month is written YYYY-MM", field="month") from None
    following = date(year + (number == 12), number % 12 + 1, 1)
    return _local_midnight(first), _local_midnight(following)


async def settlement(ctx: KeyContext, month: str) -> list[SettlementLine]:
    """The month's statement per store (Beijing time): sales of the month, and reversals by
    the month they happened, so a closed month never changes (a later return lands in the
    month it was made, as a negative line)."""
    start, end = _month_bounds(month)
    stores = {row["id"]: row for row in await Store.select().where(Store.merchant == ctx.merchant_id)}
    lines: dict[int, SettlementLine] = {}

    def line(store_id: int) -> SettlementLine:
        store = stores.get(store_id, {"code": "?", "name": "?"})
        return lines.setdefault(store_id, SettlementLine(store_code=store["code"], store_name=store["name"]))

    for sale in await Sale.select().where(
        (Sale.merchant == ctx.merchant_id) & (Sale.created_at >= start) & (Sale.created_at < end)
    ):
        entry = line(sale["store"])
        entry.sales += 1
        entry.gross_fen += sale["gross_fen"]
        entry.discount_fen += sale["discount_fen"]
        entry.points_redeemed += sale["points_redeemed"]
        entry.points_value_fen += sale["points_value_fen"]
        entry.points_earned += sale["points_earned"]
    for reversal in await SaleReversal.select(*SaleReversal.all_columns(), SaleReversal.sale.store).where(
        (SaleReversal.merchant == ctx.merchant_id) & (SaleReversal.created_at >= start) & (SaleReversal.created_at < end)
    ):
        entry = line(reversal["sale.store"])
        entry.reversals += 1
        entry.reversed_fen += reversal["amount_fen"]
        entry.discount_fen -= reversal["discount_fen"]
        entry.points_redeemed -= reversal["points_returned"]
        entry.points_value_fen -= reversal["points_value_fen"]
        entry.points_earned -= reversal["points_removed"]
    if ctx.store_id is not None:
        return [lines[ctx.store_id]] if ctx.store_id in lines else []
    return sorted(lines.values(), key=lambda entry: entry.store_code)


def settlement_csv(month: str, lines: list[SettlementLine]) -> str:
    """The statement as CSV (UTF-8 with BOM, so Excel opens the Chinese store names)."""
    output = io.StringIO()
    output.write("\ufeff")
    writer = csv.writer(output)
    writer.writerow(
        ["month", "store_code", "store_name", "sales", "gross_fen", "discount_fen", "points_redeemed",
         "points_value_fen", "points_earned", "reversals", "reversed_fen"]
    )
    for entry in lines:
        writer.writerow(
            [month, entry.store_code, entry.store_name, entry.sales, entry.gross_fen, entry.discount_fen,
             entry.points_redeemed, entry.points_value_fen, entry.points_earned, entry.reversals, entry.reversed_fen]
        )
    return output.getvalue()


async def list_api_keys(merchant_id: int) -> list[dict[str, Any]]:
    """A merchant's keys as staff see them: prefix and dates, never the key."""
    return await ApiKey.select(
        ApiKey.id, ApiKey.prefix, ApiKey.label, ApiKey.store, ApiKey.created_at, ApiKey.last_used_at,
        ApiKey.expires_at, ApiKey.revoked_at,
    ).where(ApiKey.merchant == merchant_id).order_by(ApiKey.id)
