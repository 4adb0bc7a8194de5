"""A sale at an alliance merchant's till: the discount checked against the tier's schedule,
points paying part of what is left (only with the phone's dynamic code, which the sale
consumes), points earned on the cash part (capped, pending until the reversal window ends);
replays of a retried request; and a merchant's own sales, one or listed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.i18n import _
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.format import Later, money
from loyalty import clock, db
from loyalty.cards import service as cards
from loyalty.cards.codes import CodeAlreadyUsed, CodeCannotPay, CodeSigner
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.merchants import earning
from loyalty.merchants.earning import EarnRules
from loyalty.merchants.service import CORRELATED_SCHEDULE, KEY_COLUMNS, KeyContext, StoreNotFound, key_in_force, sha256_hex
from loyalty.merchants.tables import Sale, Store
from loyalty.points import service as points

FEN_PER_CNY = 100
IDEMPOTENCY_KEY_NEEDED = _("Send an Idempotency-Key of 1 to 100 characters")


class DiscountNotAllowed(DomainError):
    type = "discount-exceeds-schedule"
    status = 422
    title = _("The discount is more than this member's tier allows here")


class PointsExceedPayable(DomainError):
    type = "points-exceed-payable"
    status = 422
    title = _("Points can pay at most what is left after the discount")


def ledger_keys(merchant_id: int, client_key: str, kind: str = "sale") -> tuple[str, str, str]:
    """The ledger keys a till's Idempotency-Key maps to: (paid with points, points earned,
    ledger source id). Distinct prefixes, so no client key can collide with a derived one;
    the source id is a short digest (the ledger column is 64 characters)."""
    return (
        f"{kind}-pay:{merchant_id}:{client_key}",
        f"{kind}-earn:{merchant_id}:{client_key}",
        f"{merchant_id}:{sha256_hex(client_key)[:40]}",
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
            raise StoreNotFound(_("This API key belongs to another store"), field="store")
        return ctx.store_id
    if store_code is None:
        raise InvalidField(_("Name the store by its code"), field="store")
    if found is None:
        raise StoreNotFound(_("This merchant has no store with the code “{code}”", code=store_code), field="store")
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
        raise points.IdempotencyConflict(
            _("The Idempotency-Key “{key}” was used for another sale", key=key), field="Idempotency-Key"
        )
    return sale


# A sale is the busiest write there is (DESIGN.md: ≥ 40% of one INSERT and one UPDATE), so,
# as for a verify, the key and its merchant, the store named, the card and its owner, the
# tier's discount here, the owner's points and whether the Idempotency-Key was used already
# are one statement; the rules applied to the row are the same functions the other routes use.
_SALE_CONTEXT_SQL = (
    f"SELECT {KEY_COLUMNS}, merchant.points_per_cny, "
    "card.id, card.member, card.number, card.tier, card.status, member.name AS member_name, "
    "(SELECT store.id FROM store WHERE store.merchant = api_key.merchant AND store.code = {} "
    "AND (api_key.store IS NULL OR store.id = api_key.store) ORDER BY store.id LIMIT 1) AS store_found, "
    f"(SELECT percent_bp {CORRELATED_SCHEDULE}) AS percent_bp, (SELECT cap_fen {CORRELATED_SCHEDULE}) AS cap_fen, "
    "(SELECT available FROM points_account WHERE points_account.member = card.member) AS available, "
    "(SELECT sale.id FROM sale WHERE sale.merchant = api_key.merchant AND sale.idempotency_key = {}) AS sold, "
    # Whether this dynamic code has paid already: refused before anything is locked. The
    # unique index on (card, code_step, code_nonce) is what settles a race.
    "(SELECT sale.id FROM sale WHERE sale.card = card.id AND sale.code_step = {} AND sale.code_nonce = {}) AS code_used "
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
    earn_rules: EarnRules = EarnRules(),
    today: date | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record a sale: the discount is checked against the schedule, points pay part of what
    is left (taken atomically from the ledger), points are earned on the cash part by the
    merchant's rule (capped, pending until the reversal window ends: `earn_rules`). Only a
    dynamic code pays with points (a static one is CodeCannotPay), and the sale consumes it:
    another sale with it is CodeAlreadyUsed. Same key and body → the first answer (and
    `True`); same key, another body → IdempotencyConflict."""
    _, sale, replayed = await _sell(
        _SALE_BY_KEY_ID_SQL, ctx.key_id, key=key, code=code, store_code=store_code, gross_fen=gross_fen,
        discount_fen=discount_fen, points_to_redeem=points_to_redeem, signer=signer, unix_time=unix_time,
        points_per_cny=points_per_cny, earn_rules=earn_rules, today=today,
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
    earn_rules: EarnRules = EarnRules(),
    today: date | None = None,
) -> tuple[KeyContext, dict[str, Any], bool]:
    """`create_sale` as a till sends it: the bearer key (by `key_digest`) is judged on the
    sale's own first statement, before anything else (a bad key is 401 whatever the sale)."""
    return await _sell(
        _SALE_BY_DIGEST_SQL, digest, key=key, code=code, store_code=store_code, gross_fen=gross_fen,
        discount_fen=discount_fen, points_to_redeem=points_to_redeem, signer=signer, unix_time=unix_time,
        points_per_cny=points_per_cny, earn_rules=earn_rules, today=today,
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
    earn_rules: EarnRules,
    today: date | None,
) -> tuple[KeyContext, dict[str, Any], bool]:
    """`create_sale`'s rules, for the key that `context_sql` finds by `key_ref`."""
    today = today or clock.today()
    if not 1 <= len(key) <= 100:
        raise InvalidField(IDEMPOTENCY_KEY_NEEDED, field="Idempotency-Key")
    # The code is judged where it always was, after the key, an earlier sale under the same
    # Idempotency-Key and the body: a retry whose dynamic code has expired since still gets
    # its first answer.
    # Typed digits stand for their phone code: the same (card, step, nonce), so the unique
    # index below spends the QR and the digits as one. The fingerprint stays over the code the
    # till sent (the QR's text, or the digits however they were typed: `code_as_sent`).
    try:
        payload, expires_at = cards.open_card_code(await cards.expand_typed_code(code, signer), signer, unix_time)
        refused: DomainError | None = None
    except DomainError as error:
        payload, expires_at, refused = None, None, error
    card_id = payload.subject_id if payload is not None else None
    dynamic = payload is not None and payload.kind == "dynamic"
    step, nonce = (payload.step, payload.nonce) if dynamic else (None, None)
    rows = await db.fetch(context_sql, store_code, today, today, today, today, key, step, nonce, card_id, key_ref)
    row = rows[0] if rows else None
    ctx = await key_in_force(row)
    # The key is looked up before the body is judged: a retry gets the first answer, and a
    # different body under a used key is a conflict, whatever is wrong with it.
    # A store key's sales are its store's: the same key and body from another store's till
    # is another request (409), never that store's sale replayed.
    fingerprint = points.request_hash(
        code=cards.code_as_sent(code), store=store_code, key_store=ctx.store_id, gross=gross_fen, discount=discount_fen, points=points_to_redeem
    )
    if row["sold"] is not None and (replay := await _replayed_sale(ctx, key, fingerprint)):
        return ctx, replay, True
    if not 0 < gross_fen <= 10**11:
        raise InvalidField(_("gross_fen is a positive amount in fen"), field="gross_fen")
    if not 0 <= discount_fen <= gross_fen:
        raise InvalidField(_("discount_fen is 0 to `gross_fen`"), field="discount_fen")
    if points_to_redeem < 0:
        raise InvalidField(_("points_to_redeem cannot be negative"), field="points_to_redeem")
    store_id = _store_in_force(ctx, store_code, row["store_found"])
    if refused is not None:
        raise refused
    card = cards.card_in_force(row, payload, expires_at)
    if not dynamic and points_to_redeem:
        raise CodeCannotPay(
            _("This is the card's fixed code (a printed card or a picture of it); ask the owner for the code on their phone"),
            field="code",
        )
    if dynamic and row["code_used"] is not None:
        raise CodeAlreadyUsed(_("This code has already paid for a sale"), field="code")
    allowed = max_discount(gross_fen, row["percent_bp"], row["cap_fen"]) if row["percent_bp"] is not None else 0
    if discount_fen > allowed:
        raise DiscountNotAllowed(
            _(
                "A {tier} member gets at most {allowed} off {gross} here",
                tier=ENUMS["tier"][card.tier], allowed=Later(money, allowed, compact=False),
                gross=Later(money, gross_fen, compact=False),
            ),
            field="discount_fen", allowed_fen=allowed,
        )
    points_value = points_to_redeem * FEN_PER_CNY // points_per_cny
    if points_value * points_per_cny != points_to_redeem * FEN_PER_CNY:
        raise InvalidField(
            _("points_to_redeem is a multiple of {step}", step=points_per_cny // FEN_PER_CNY or 1), field="points_to_redeem"
        )
    if points_value > gross_fen - discount_fen:
        raise PointsExceedPayable(field="points_to_redeem")
    cash = gross_fen - discount_fen - points_value
    sale = {
        "merchant": ctx.merchant_id, "store": store_id, "member": card.member_id, "card": card.card_id, "tier": card.tier,
        "gross_fen": gross_fen, "discount_fen": discount_fen, "points_redeemed": points_to_redeem,
        "points_value_fen": points_value, "points_earned": 0, "cash_fen": cash, "idempotency_key": key,
        "request_hash": fingerprint, "code_step": step, "code_nonce": nonce, "earn_vests_on": None, "earn_cap": "",
    }
    earn = _Earn(row["points_per_cny"] or 0, earn_rules, today)
    try:
        if db.is_postgres():
            recorded = await _record_in_one_statement(sale, int(row["available"] or 0), earn)
        else:
            recorded = await _record_step_by_step(sale, earn)
    except points.InsufficientPoints:
        # A request with the same key may have held the owner's points first and spent them:
        # then its sale is the answer (or the conflict). A request with the same code under
        # another key may have: then the code is spent.
        replay = await _replayed_sale(ctx, key, fingerprint)
        if replay:
            return ctx, replay, True
        await _refuse_if_code_used(card.card_id, step, nonce)
        raise
    except DomainError:
        raise
    except Exception as error:
        # A concurrent request with the same key won the race (the unique index on
        # merchant + key, or on a ledger key, refused this insert): answer as a replay. One
        # with the same dynamic code under another key won it (the unique index on card +
        # code step + nonce): the code is spent.
        replay = await _replayed_sale(ctx, key, fingerprint)
        if replay:
            return ctx, replay, True
        if db.is_unique_violation(error):
            await _refuse_if_code_used(card.card_id, step, nonce)
        raise
    return ctx, recorded, False


async def _refuse_if_code_used(card_id: int, step: int | None, nonce: int | None) -> None:
    if step is None:
        return
    used = await Sale.exists().where((Sale.card == card_id) & (Sale.code_step == step) & (Sale.code_nonce == nonce))
    if used:
        raise CodeAlreadyUsed(_("Another sale used this code first"), field="code")


class _Earn:
    """How the sale being recorded earns: the merchant's rule and the caps, counted inside
    the recording transaction (`earning.grant`)."""

    def __init__(self, points_per_cny: int, rules: EarnRules, today: date) -> None:
        self.points_per_cny, self.rules, self.today = points_per_cny, rules, today

    def wanted(self, sale: dict[str, Any]) -> int:
        return earning.asked(sale["cash_fen"], self.points_per_cny)

    async def grant(self, sale: dict[str, Any]) -> earning.Earned:
        earned = await earning.grant(sale["merchant"], sale["cash_fen"], self.points_per_cny, self.rules, self.today)
        sale.update(points_earned=earned.points, earn_vests_on=earned.vests_on, earn_cap=earned.cap)
        return earned

    async def alert(self, recorded: dict[str, Any], earned: earning.Earned) -> None:
        if earned.cap:
            await earning.alert_capped(recorded["merchant"], recorded, earned, self.today)


_SALE_VALUES = (
    "merchant", "store", "member", "card", "tier", "gross_fen", "discount_fen", "points_redeemed", "points_value_fen",
    "points_earned", "cash_fen", "balance_after", "idempotency_key", "request_hash", "created_at", "code_step",
    "code_nonce", "earn_vests_on", "earn_cap",
)
_INSERT_SALE_SQL = (
    f"INSERT INTO sale ({', '.join(_SALE_VALUES)}, reversed_fen) VALUES ({', '.join('{}' for _ in _SALE_VALUES)}, 0) RETURNING *"
)


async def _record_in_one_statement(sale: dict[str, Any], available: int, earn: _Earn) -> dict[str, Any]:
    """PostgreSQL: the sale and its points, one statement (`points.redeem_and_earn`) in one
    transaction, after the merchant's day counter granted the earn; a sale that moves no
    points is its INSERT alone, with the balance as read. A dynamic code's (card, step,
    nonce) goes in with the sale row, so a second sale with it fails on the unique index."""

    def insert(balance_after: int) -> tuple[str, list[Any]]:
        values = {**sale, "balance_after": balance_after, "created_at": clock.now()}
        return _INSERT_SALE_SQL, [values[name] for name in _SALE_VALUES]

    if not sale["points_redeemed"] and not earn.wanted(sale):
        sql, args = insert(available)
        rows = await db.fetch(sql, *args)
        return dict(rows[0])
    async with db.transaction():
        # The day counter first, then (in redeem_and_earn) the account: every sale takes the
        # two locks in this order, so they cannot deadlock.
        earned = await earn.grant(sale)
        if not sale["points_redeemed"] and not earned.points:
            sql, args = insert(available)
            recorded = dict((await db.fetch(sql, *args))[0])
        else:
            pay_key, earn_key, source_id = ledger_keys(sale["merchant"], sale["idempotency_key"])
            recorded = await points.redeem_and_earn(
                sale["member"], redeem=sale["points_redeemed"], earn=earned.points, redeem_key=pay_key,
                earn_key=earn_key, source_kind="sale", source_id=source_id,
                actor=points.Actor("merchant", sale["merchant"]), record=insert, earn_vests_on=earned.vests_on,
                today=earn.today,
            )
        await earn.alert(recorded, earned)
    return recorded


async def _record_step_by_step(sale: dict[str, Any], earn: _Earn) -> dict[str, Any]:
    """SQLite: the same rows as `_record_in_one_statement`, one operation after another in
    the write transaction."""
    member_id, today = sale["member"], earn.today
    pay_key, earn_key, source_id = ledger_keys(sale["merchant"], sale["idempotency_key"])
    actor = points.Actor("merchant", sale["merchant"])
    async with db.transaction():
        earned = await earn.grant(sale)
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
                    vests_on=earned.vests_on, today=today,
                )
            ).available
        rows = await Sale.insert(Sale(**sale, balance_after=balance_after, created_at=clock.now())).returning(
            *Sale.all_columns()
        )
        await earn.alert(rows[0], earned)
    return rows[0]


async def get_sale(ctx: KeyContext, sale_id: int) -> dict[str, Any]:
    """One of this merchant's sales; another merchant's is 404, so ids don't leak."""
    query = Sale.select().where((Sale.id == sale_id) & (Sale.merchant == ctx.merchant_id))
    if ctx.store_id is not None:  # a store's key sees its store only
        query = query.where(Sale.store == ctx.store_id)
    sale = await query.first()
    if sale is None:
        raise NotFound(_("There is no sale {sale_id}", sale_id=sale_id))
    return sale


async def list_sales(
    ctx: KeyContext, *, start: date | None = None, end: date | None = None, store_code: str | None = None,
    after_id: int | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    # A range that ends before it starts is a mistake in the request, not an empty month: say so,
    # as the dashboards do, rather than answer an empty list the till would take as "no sales".
    if start is not None and end is not None and start > end:
        raise InvalidField(
            _("The end date {end} is before the start date {start}", end=end.isoformat(), start=start.isoformat()),
            field="end", source="query",
        )
    query = Sale.select().where(Sale.merchant == ctx.merchant_id).order_by(Sale.id).limit(limit)
    if ctx.store_id is not None:
        query = query.where(Sale.store == ctx.store_id)
    if store_code is not None:
        query = query.where(Sale.store == await _store_id(ctx, store_code))
    if start is not None:
        query = query.where(Sale.created_at >= local_midnight(in_range(start, "start")))
    if end is not None:
        query = query.where(Sale.created_at < local_midnight(in_range(end, "end") + timedelta(days=1)))
    if after_id is not None:
        query = query.where(Sale.id > after_id)
    return await query


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


def in_range(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidField(
            _("Dates run from {first} to {last}", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()),
            field=field, source="query",
        )
    return day


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=clock.LOCAL_ZONE)
