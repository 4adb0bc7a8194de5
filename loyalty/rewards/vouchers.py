"""Merchant vouchers (kind `voucher`): the code an owner shows at the merchant's till, and the
till checking and using it through the partner API.

The code is 16 characters of Crockford's base32 (digits and capitals without I, L, O, U: read
aloud and typed without confusion; 80 bits, so guessing one is hopeless at the partner rate
limit), shown as a QR and as `XXXX-XXXX-XXXX-XXXX`. It is not the signed pick-up code: that is
~90 characters of base64 a cashier cannot type when the scan fails, and it names the
redemption's id. The code is derived from the platform's secret, the redemption's id and its
random nonce (HMAC-SHA256), so the owner's page can show it again at any time, while the
database only ever holds its SHA-256 (as API keys are kept): a copy of the database gives
nobody a usable code. The hash is written the first time the code is derived (the owner's
redemption answer, list or QR), which is always before the owner can show it.

A merchant sees only its own vouchers: another merchant's code is `not-found`, word for word
as a code nobody has. Using a voucher is one conditional UPDATE of the redemption (open, not
past its time, this merchant's): of concurrent tills exactly one wins; the till's
Idempotency-Key is kept on the redemption (unique per merchant), so its retry gets the first
answer. No money moves to the merchant: the owner paid the platform in points."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import datetime
from typing import Any, Iterable

from loyalty import clock, db
from loyalty.cards.codes import CodeMalformed
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import _
from loyalty.i18n.format import Later, datetime as written_datetime
from loyalty.merchants.service import KeyContext, StoreNotFound, mask_name, sha256_hex
from loyalty.points import service as points
from loyalty.rewards.tables import OPEN

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class VoucherAlreadyUsed(DomainError):
    type = "voucher-already-used"
    status = 409
    title = _("This voucher has already been used")


class VoucherExpired(DomainError):
    type = "voucher-expired"
    status = 409
    title = _("This voucher has expired")


class VoucherCancelled(DomainError):
    type = "voucher-cancelled"
    status = 409
    title = _("This voucher was cancelled by its owner")


NO_SUCH_VOUCHER = _("None of this merchant's vouchers has this code")


def voucher_code(secret: str, redemption_id: int, nonce: int) -> str:
    """The voucher's code: 80 bits of HMAC-SHA256 over the redemption and its nonce."""
    digest = hmac.new(secret.encode(), f"voucher:{redemption_id}:{nonce}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:10], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def written(code: str) -> str:
    """As the owner's page shows it: four groups of four."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalised(text: str) -> str:
    """What a till sent (scanned, or typed with spaces, hyphens, lower case, full-width
    characters, O for 0, I or L for 1) as the code's 16 characters."""
    compact = "".join(unicodedata.normalize("NFKC", text or "").split()).replace("-", "").upper().translate(_READ_AS)
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        raise CodeMalformed(
            _("A voucher code has {length} letters and digits, in four groups of four", length=LENGTH), field="code"
        )
    return compact


async def codes_for(rows: Iterable[dict[str, Any]], secret: str) -> dict[int, str]:
    """The codes of the owner's voucher redemptions among `rows` (by redemption id), their
    hashes written where not yet (once: the first writer wins, and all derive the same)."""
    found: dict[int, str] = {}
    for row in rows:
        if row.get("reward_kind") != "voucher":
            continue
        code = voucher_code(secret, row["id"], row["code_nonce"])
        if row.get("voucher_hash") is None:
            await db.fetch(
                "UPDATE redemption SET voucher_hash = {} WHERE id = {} AND voucher_hash IS NULL RETURNING id",
                sha256_hex(code), row["id"],
            )
        found[row["id"]] = code
    return found


_VOUCHER_SQL = (
    "SELECT redemption.id, redemption.status, redemption.expires_at, redemption.picked_up_at, redemption.ended_at, "
    "redemption.voucher_used_key, redemption.voucher_request_hash, reward.name_zh, reward.name_en, "
    "member.name AS member_name, store.code AS store_code FROM redemption "
    "JOIN reward ON reward.id = redemption.reward JOIN member ON member.id = redemption.member "
    "LEFT JOIN store ON store.id = redemption.voucher_store "
)


def _view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A voucher as its merchant sees it: the owner's name masked, never the phone."""
    status = row["status"]
    if status in OPEN and row["expires_at"] <= now:
        status = "expired"  # past its time, before the job came by
    return {
        "redemption_id": row["id"], "status": {"picked_up": "used"}.get(status, "valid" if status in OPEN else status),
        "reward_name_zh": row["name_zh"], "reward_name_en": row["name_en"],
        "member_name": mask_name(row["member_name"]), "expires_at": row["expires_at"],
        "used_at": row["picked_up_at"], "used_at_store": row["store_code"],
    }


async def _mine(ctx: KeyContext, digest: str) -> dict[str, Any] | None:
    rows = await db.fetch(_VOUCHER_SQL + "WHERE redemption.voucher_hash = {} AND reward.merchant = {}", digest, ctx.merchant_id)
    return dict(rows[0]) if rows else None


async def check(ctx: KeyContext, code: str, now: datetime | None = None) -> dict[str, Any]:
    """What a till sees before using a voucher: valid, used (when, where), expired or
    cancelled, with the reward and the owner's masked name. Another merchant's is not-found."""
    now = now or clock.now()
    found = await _mine(ctx, sha256_hex(normalised(code)))
    if found is None:
        raise NotFound(NO_SUCH_VOUCHER, field="code")
    return _view(found, now)


async def _store(ctx: KeyContext, store_code: str | None) -> int | None:
    """Where it is used: a store key's own store (naming another is refused), or the store a
    merchant-wide key names (optional)."""
    if store_code is None:
        return ctx.store_id
    rows = await db.fetch("SELECT id FROM store WHERE merchant = {} AND code = {}", ctx.merchant_id, store_code)
    if not rows or (ctx.store_id is not None and rows[0]["id"] != ctx.store_id):
        raise StoreNotFound(_("This merchant has no store with the code “{code}”", code=store_code), field="store")
    return rows[0]["id"]


async def _replay(ctx: KeyContext, used_key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
    rows = await db.fetch(_VOUCHER_SQL + "WHERE redemption.voucher_used_key = {}", used_key)
    if not rows:
        return None
    if rows[0]["voucher_request_hash"] != fingerprint:
        key = used_key.split(":", 1)[1]
        raise points.IdempotencyConflict(
            _("The Idempotency-Key “{key}” was used for another voucher", key=key), field="Idempotency-Key"
        )
    return _view(dict(rows[0]), now)


async def use(
    ctx: KeyContext, code: str, *, key: str, store_code: str | None = None, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """The till takes the voucher: once. The same Idempotency-Key and body answer the first
    use (and `True`); a voucher used under another key is VoucherAlreadyUsed (with when),
    an expired or cancelled one VoucherExpired / VoucherCancelled, another merchant's or
    nobody's not-found."""
    from loyalty.rewards import service

    now = now or clock.now()
    if not 1 <= len(key or "") <= 100:
        raise InvalidField(_("Send an Idempotency-Key of 1 to 100 characters"), field="Idempotency-Key")
    used_key = f"{ctx.merchant_id}:{key}"
    fingerprint = points.request_hash(code=normalised(code), store=store_code, key_store=ctx.store_id)
    if (replayed := await _replay(ctx, used_key, fingerprint, now)) is not None:
        return replayed, True
    digest = sha256_hex(normalised(code))
    store_id = await _store(ctx, store_code)
    try:
        async with db.transaction():
            rows = await db.fetch(
                "UPDATE redemption SET status = 'picked_up', picked_up_at = {}, voucher_used_key = {}, "
                "voucher_request_hash = {}, voucher_store = {} WHERE voucher_hash = {} AND status IN ('reserved', 'ready') "
                "AND expires_at > {} AND reward IN (SELECT id FROM reward WHERE merchant = {}) RETURNING id",
                now, used_key, fingerprint, store_id, digest, now, ctx.merchant_id,
            )
    except Exception as error:
        if not db.is_unique_violation(error):
            raise
        rows = []  # the same key, at the same moment, used another voucher: judged below
    if (replayed := await _replay(ctx, used_key, fingerprint, now)) is not None:
        return replayed, not rows  # ours, or a concurrent retry of ours that won
    found = await _mine(ctx, digest)
    if found is None:
        raise NotFound(NO_SUCH_VOUCHER, field="code")
    if found["status"] == "picked_up":
        raise VoucherAlreadyUsed(
            _("Used at {at}", at=Later(written_datetime, found["picked_up_at"])),
            used_at=found["picked_up_at"].isoformat(),
        )
    if found["status"] in OPEN:  # past its time, before the job came by: the points go back now
        await service.expire_one(found["id"], now)
        found["status"] = "expired"
    if found["status"] == "expired":
        raise VoucherExpired(
            _("It could be used until {at}", at=Later(written_datetime, found["expires_at"])),
            expired_at=found["expires_at"].isoformat(),
        )
    raise VoucherCancelled(cancelled_at=found["ended_at"].isoformat() if found["ended_at"] else None)
