"""Rules for alliance merchants: their stores, tier discounts and API keys, and what a till's
scan shows (`verify`). Sales are in `sales`, reversals in `reversals`, the monthly statement in
`settlement`. A merchant only ever sees its own sales, and never an owner's phone or full name."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from loyalty.i18n import _
from loyalty.i18n.format import Later, identifiers
from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.cards import service as cards
from loyalty.cards.codes import CodeSigner
from loyalty.errors import DomainError, InvalidField, NotAuthenticated, NotFound
from loyalty.merchants.tables import CATEGORIES, ApiKey, DiscountSchedule, Merchant, Store

KEY_PREFIX = "ocm_live_"


class MerchantSuspended(DomainError):
    type = "merchant-suspended"
    status = 403
    title = _("This merchant is suspended")


class KeyAlreadyReplaced(DomainError):
    type = "key-already-replaced"
    status = 409
    title = _("This API key has already been replaced")


class StoreNotFound(InvalidField):
    type = "store-not-found"
    title = _("No such store for this merchant")


@dataclass(frozen=True)
class KeyContext:
    key_id: int
    merchant_id: int
    store_id: int | None
    prefix: str


def sha256_hex(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳晓明 → 欧***: enough for the cashier to greet, not to identify."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"


# --- merchants, stores, schedules (staff) ----------------------------------------------------


async def create_merchant(
    name: str, category: str = "other", *, points_per_cny: int = 0, contact_name: str = "", contact_phone: str = "",
    actor_id: int | None = None,
) -> int:
    if not 1 <= len(name.strip()) <= 100:
        raise InvalidField(_("Enter a name of 1 to 100 characters"), field="name")
    if category not in CATEGORIES:
        raise InvalidField(_("The category is one of {categories}", categories=Later(identifiers, CATEGORIES)), field="category")
    if not 0 <= points_per_cny <= 100:
        raise InvalidField(_("points_per_cny is 0 to 100 points per yuan"), field="points_per_cny")
    async with db.transaction():
        rows = await Merchant.insert(
            Merchant(name=name.strip(), category=category, points_per_cny=points_per_cny, contact_name=contact_name, contact_phone=contact_phone)
        ).returning(Merchant.id)
        await audit.record(
            action="merchant.create", subject_kind="merchant", subject_id=rows[0]["id"], actor_id=actor_id,
            data={"name": name.strip(), "category": category},
        )
    return rows[0]["id"]


async def set_merchant_status(merchant_id: int, status: str, reason: str, staff_id: int) -> None:
    """Suspend a merchant (its keys answer `merchant-suspended` at once; its sales and
    statements stay) or reactivate it. Audited with the reason."""
    if status not in ("active", "suspended"):
        raise InvalidField(_("The status is {statuses}", statuses=Later(identifiers, ("active", "suspended"))), field="status")
    text = audit.required_reason(reason)
    async with db.transaction():
        rows = await Merchant.update({Merchant.status: status}).where(Merchant.id == merchant_id).returning(Merchant.id)
        if not rows:
            raise NotFound(_("There is no merchant {merchant_id}", merchant_id=merchant_id))
        await audit.record(
            action=f"merchant.{'suspend' if status == 'suspended' else 'reactivate'}",
            subject_kind="merchant", subject_id=merchant_id, reason=text, actor_id=staff_id,
        )


async def add_store(merchant_id: int, code: str, name: str, *, actor_id: int | None = None) -> int:
    if not code.strip() or not name.strip():
        raise InvalidField(_("A store needs a code and a name"), field="code")
    if not await Merchant.exists().where(Merchant.id == merchant_id):
        raise NotFound(_("There is no merchant {merchant_id}", merchant_id=merchant_id))
    if await Store.exists().where((Store.merchant == merchant_id) & (Store.code == code.strip())):
        raise InvalidField(_("This merchant already has a store with the code “{code}”", code=code.strip()), field="code")
    async with db.transaction():
        rows = await Store.insert(Store(merchant=merchant_id, code=code.strip(), name=name.strip())).returning(Store.id)
        await audit.record(
            action="merchant.store_add", subject_kind="merchant", subject_id=merchant_id, actor_id=actor_id,
            data={"store_id": rows[0]["id"], "code": code.strip()},
        )
    return rows[0]["id"]


async def set_discount(
    merchant_id: int, tier: str, percent_bp: int, *, valid_from: date, valid_to: date | None = None, cap_fen: int | None = None,
    actor_id: int | None = None,
) -> int:
    """A tier discount at this merchant: basis points off (1000 = 10%), optional cap per sale."""
    from loyalty.cards.tables import TIERS

    if tier not in TIERS:
        raise InvalidField(_("The tier is one of {tiers}", tiers=Later(identifiers, TIERS)), field="tier")
    if not 0 < percent_bp <= 10000:
        raise InvalidField(_("percent_bp is 1 to 10000 basis points (0.01% to 100%)"), field="percent_bp")
    if cap_fen is not None and cap_fen <= 0:
        raise InvalidField(_("A cap is a positive amount in fen"), field="cap_fen")
    for name, day in (("valid_from", valid_from), ("valid_to", valid_to)):
        if day is not None and not date(2000, 1, 1) <= day <= date(2199, 12, 31):
            raise InvalidField(_("A discount's days run from 2000-01-01 to 2199-12-31"), field=name)
    if valid_to is not None and valid_to < valid_from:
        raise InvalidField(_("valid_to is before `valid_from`: the discount would never apply"), field="valid_to")
    if not await Merchant.exists().where(Merchant.id == merchant_id):  # else the foreign key refuses it: a 500
        raise NotFound(_("There is no merchant {merchant_id}", merchant_id=merchant_id), field="merchant", source="path")
    async with db.transaction():
        rows = await DiscountSchedule.insert(
            DiscountSchedule(merchant=merchant_id, tier=tier, percent_bp=percent_bp, cap_fen=cap_fen, valid_from=valid_from, valid_to=valid_to)
        ).returning(DiscountSchedule.id)
        await audit.record(
            action="merchant.discount_set", subject_kind="merchant", subject_id=merchant_id, actor_id=actor_id,
            data={"schedule_id": rows[0]["id"], "tier": tier, "percent_bp": percent_bp, "cap_fen": cap_fen,
                  "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat() if valid_to else None},
        )
    return rows[0]["id"]


# --- API keys ---------------------------------------------------------------------------


async def create_api_key(merchant_id: int, *, store_id: int | None = None, label: str = "", actor_id: int | None = None) -> tuple[str, int]:
    """A new key: the full text is returned once and never stored."""
    if not await Merchant.exists().where(Merchant.id == merchant_id):
        raise NotFound(_("There is no merchant {merchant_id}", merchant_id=merchant_id))
    if store_id is not None and not await Store.exists().where((Store.id == store_id) & (Store.merchant == merchant_id)):
        raise StoreNotFound(field="store_id")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.transaction():
        rows = await ApiKey.insert(
            ApiKey(merchant=merchant_id, store=store_id, prefix=raw[: len(KEY_PREFIX) + 6], key_hash=sha256_hex(raw), label=label)
        ).returning(ApiKey.id)
        await audit.record(  # the prefix names it; the key itself is never written anywhere
            action="merchant.key_create", subject_kind="merchant", subject_id=merchant_id, actor_id=actor_id,
            data={"key_id": rows[0]["id"], "prefix": raw[: len(KEY_PREFIX) + 6], "store_id": store_id},
        )
    return raw, rows[0]["id"]


KEY_GRACE = timedelta(hours=24)  # how long a rotated key keeps working (the staff page says so)


async def rotate_api_key(key_id: int, *, grace: timedelta = KEY_GRACE, actor_id: int | None = None) -> tuple[str, int]:
    """A replacement key; the old one keeps working for `grace`, so tills can be updated. A key
    is replaced once: the old key is claimed by one conditional UPDATE (not revoked, not yet
    replaced), so of concurrent rotations (or a rotation racing a revocation) one wins and the
    others are refused, and a key never has replacements nobody was shown."""
    now = clock.now()
    old = await ApiKey.select().where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null()).first()
    if old is None or (old["expires_at"] is not None and old["expires_at"] <= now):
        raise NotFound(_("There is no API key {key_id} in force", key_id=key_id))
    ends = now + grace
    async with db.transaction():
        claimed = await ApiKey.update({ApiKey.expires_at: ends}).where(
            (ApiKey.id == key_id) & ApiKey.revoked_at.is_null() & ApiKey.expires_at.is_null()
        ).returning(ApiKey.id)
        if not claimed:
            raise KeyAlreadyReplaced(_("API key {key_id} has already been replaced or revoked; rotate its replacement", key_id=key_id))
        raw, new_id = await create_api_key(old["merchant"], store_id=old["store"], label=old["label"], actor_id=actor_id)
        await audit.record(
            action="merchant.key_rotate", subject_kind="merchant", subject_id=old["merchant"], actor_id=actor_id,
            data={"key_id": key_id, "prefix": old["prefix"], "new_key_id": new_id, "old_key_expires_at": ends.isoformat()},
        )
    return raw, new_id


async def revoke_api_key(key_id: int, *, actor_id: int | None = None) -> None:
    async with db.transaction():
        updated = await ApiKey.update({ApiKey.revoked_at: clock.now()}).where(
            (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
        ).returning(ApiKey.id, ApiKey.merchant, ApiKey.prefix)
        if not updated:
            raise NotFound(_("There is no API key {key_id} in force", key_id=key_id))
        await audit.record(
            action="merchant.key_revoke", subject_kind="merchant", subject_id=updated[0]["merchant"], actor_id=actor_id,
            data={"key_id": key_id, "prefix": updated[0]["prefix"]},
        )


KEY_COLUMNS = (
    "api_key.id AS key_id, api_key.merchant, api_key.store, api_key.prefix, api_key.revoked_at, "
    "api_key.expires_at, api_key.last_used_at, merchant.status AS merchant_status"
)
_KEY_SQL = f"SELECT {KEY_COLUMNS} FROM api_key JOIN merchant ON merchant.id = api_key.merchant WHERE api_key.key_hash = {{}}"


def key_digest(raw_key: str) -> str:
    """What a bearer key is looked up (and rate-limited) by; refuses what is not one of ours
    before anything is counted or queried."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        raise NotAuthenticated(_("Send the merchant's API key as `Authorization: Bearer ocm_live_…`"))
    return sha256_hex(raw_key)


async def key_in_force(row: Any) -> KeyContext:
    """The rules for a key row (from `KEY_COLUMNS`): revoked, expired or unknown keys are
    refused alike; a suspended merchant's keys say so."""
    now = clock.now()
    if row is None or row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
        raise NotAuthenticated(_("This API key is not valid: unknown, revoked or expired"))
    if row["merchant_status"] != "active":
        raise MerchantSuspended()
    # last_used_at is kept to the minute: no write on every request of a busy till.
    if row["last_used_at"] is None or now - row["last_used_at"] > timedelta(minutes=1):
        await db.fetch("UPDATE api_key SET last_used_at = {} WHERE id = {}", now, row["key_id"])
    return KeyContext(key_id=row["key_id"], merchant_id=row["merchant"], store_id=row["store"], prefix=row["prefix"])


async def authenticate(digest: str) -> KeyContext:
    """The merchant behind a bearer key (by `key_digest`)."""
    rows = await db.fetch(_KEY_SQL, digest)
    return await key_in_force(rows[0] if rows else None)


async def list_api_keys(merchant_id: int) -> list[dict[str, Any]]:
    """A merchant's keys as staff see them: prefix and dates, never the key."""
    return await ApiKey.select(
        ApiKey.id, ApiKey.prefix, ApiKey.label, ApiKey.store, ApiKey.created_at, ApiKey.last_used_at,
        ApiKey.expires_at, ApiKey.revoked_at,
    ).where(ApiKey.merchant == merchant_id).order_by(ApiKey.id)


# --- the staff page's list and a merchant's page ------------------------------------------------

PAGE_SIZE = 50
MAX_PAGE = 200


async def list_merchants(*, limit: int = PAGE_SIZE, offset: int = 0) -> list[dict[str, Any]]:
    """Merchants by name, a page at a time, each with its number of stores and of keys in
    force (not revoked, not past a rotation's grace)."""
    rows = await Merchant.select(
        Merchant.id, Merchant.name, Merchant.category, Merchant.status, Merchant.points_per_cny,
    ).order_by(Merchant.name).order_by(Merchant.id).limit(limit).offset(offset)
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    now = clock.now()
    stores = await Store.select(Store.merchant).where(Store.merchant.is_in(ids))
    keys = await ApiKey.select(ApiKey.merchant, ApiKey.expires_at).where(ApiKey.merchant.is_in(ids) & ApiKey.revoked_at.is_null())
    for r in rows:
        r["store_count"] = sum(1 for s in stores if s["merchant"] == r["id"])
        r["active_key_count"] = sum(1 for k in keys if k["merchant"] == r["id"] and (k["expires_at"] is None or k["expires_at"] > now))
    return rows


async def merchant_detail(merchant_id: int) -> dict[str, Any]:
    """One merchant as staff manage it: its stores, discount schedules (with their validity)
    and keys (by prefix, never the key). Nothing of any owner."""
    merchant = await Merchant.select(
        Merchant.id, Merchant.name, Merchant.category, Merchant.status, Merchant.points_per_cny,
        Merchant.contact_name, Merchant.contact_phone, Merchant.created_at,
    ).where(Merchant.id == merchant_id).first()
    if merchant is None:
        raise NotFound(_("There is no merchant {merchant_id}", merchant_id=merchant_id), field="merchant", source="path")
    merchant["stores"] = await Store.select(Store.id, Store.code, Store.name).where(Store.merchant == merchant_id).order_by(Store.id)
    merchant["discounts"] = await DiscountSchedule.select(
        DiscountSchedule.id, DiscountSchedule.tier, DiscountSchedule.percent_bp, DiscountSchedule.cap_fen,
        DiscountSchedule.valid_from, DiscountSchedule.valid_to,
    ).where(DiscountSchedule.merchant == merchant_id).order_by(DiscountSchedule.id)
    merchant["keys"] = await list_api_keys(merchant_id)
    return merchant


# --- verify (a till's scan) -----------------------------------------------------------------


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
    # A dynamic code that has paid for a sale already (it identifies still, but cannot pay).
    code_spent: bool = False

    @property
    def cannot_pay_reason(self) -> str | None:
        """Why a sale with this code could not take points, as the problem it would get."""
        if self.code_kind != "dynamic":
            return "code-cannot-pay"
        return "code-already-used" if self.code_spent else None


# The tier's discount here: the newest schedule in force for the tier.
_SCHEDULE_WHERE = (
    "FROM discount_schedule WHERE discount_schedule.merchant = {} AND discount_schedule.tier = {} "
    "AND discount_schedule.valid_from <= {} AND (discount_schedule.valid_to IS NULL OR discount_schedule.valid_to >= {}) "
    "ORDER BY discount_schedule.id DESC LIMIT 1"
)


# A till's scan is the busiest request there is (DESIGN.md: ≥ 60% of one indexed SELECT), so
# the key, the merchant, the card and its owner, the tier's discount here and the points are
# one statement; the rules applied to the row are the same functions the other routes use.
CORRELATED_SCHEDULE = _SCHEDULE_WHERE.replace("merchant = {}", "merchant = api_key.merchant").replace("tier = {}", "tier = card.tier")
_VERIFY_SQL = (
    f"SELECT {KEY_COLUMNS}, card.id, card.member, card.number, card.tier, card.status, member.name AS member_name, "
    f"(SELECT percent_bp {CORRELATED_SCHEDULE}) AS percent_bp, (SELECT cap_fen {CORRELATED_SCHEDULE}) AS cap_fen, "
    "(SELECT available FROM points_account WHERE points_account.member = card.member) AS available, "
    # Whether this dynamic code has paid already (NULL step and nonce for a static code: never
    # matches): one lookup on the unique (card, code_step, code_nonce) index, as a sale does.
    "(SELECT sale.id FROM sale WHERE sale.card = card.id AND sale.code_step = {} AND sale.code_nonce = {}) AS code_used "
    "FROM api_key JOIN merchant ON merchant.id = api_key.merchant "
    "LEFT JOIN card ON card.id = {} LEFT JOIN member ON member.id = card.member "
    "WHERE api_key.key_hash = {}"
)


async def verify(digest: str, code: str, signer: CodeSigner, unix_time: float, today: date | None = None) -> tuple[KeyContext, Offer]:
    """A scanned card code (or a phone code's typed digits) → tier, this merchant's discount
    today, masked name, points. The key is judged first: a bad key is 401 whatever the code."""
    today = today or clock.today()
    try:
        payload, expires_at = cards.open_card_code(await cards.expand_typed_code(code, signer), signer, unix_time)
    except DomainError:
        await authenticate(digest)
        raise
    dynamic = payload.kind == "dynamic"
    step, nonce = (payload.step, payload.nonce) if dynamic else (None, None)
    rows = await db.fetch(_VERIFY_SQL, today, today, today, today, step, nonce, payload.subject_id, digest)
    row = rows[0] if rows else None
    ctx = await key_in_force(row)
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
        code_spent=dynamic and row["code_used"] is not None,
    )
