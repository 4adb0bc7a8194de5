"""The one points API every face uses: earn, redeem, reverse, adjust, balance, history,
plus the jobs that vest, expire and warn.

Exactly once, under any concurrency:
- every operation carries an idempotency key, unique in the ledger; a replay with the same
  request returns the first result, the same key with a different request is refused;
- every operation first locks the member's account row (SELECT ... FOR UPDATE on PostgreSQL;
  on SQLite the write transaction itself is exclusive). We lock rather than use conditional
  updates because one operation changes several rows (account, lots, entries) that must agree:
  with the row locked, "read balance, pick lots, write" cannot interleave with another
  operation on the same member, and operations on different members never wait for each other.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Sequence

from loyalty.i18n.format import Later, identifiers
from loyalty.i18n import _, _n
from loyalty import clock, db
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.points.tables import LedgerEntry, LotDraw, PointsAccount, PointsLot

MAX_POINTS = 1_000_000_000
CLAWBACK_POLICIES = ("within_balance", "only_pending", "unlimited")


# Also raised by points.approvals, for the same key sent with another body.
KEY_USED_FOR_ANOTHER = _("the key '{key}' was first used for another request")


class InsufficientPoints(DomainError):
    type = "insufficient-points"
    status = 422
    title = _("Not enough points")


class IdempotencyConflict(DomainError):
    type = "idempotency-conflict"
    status = 409
    title = _("This idempotency key was used for a different request")


class NothingToReverse(DomainError):
    type = "nothing-to-reverse"
    status = 422
    title = _("More than what is left to reverse")


@dataclass(frozen=True)
class Actor:
    kind: str = "system"  # system | staff | member | merchant
    id: int | None = None


SYSTEM = Actor()


@dataclass(frozen=True)
class EntryResult:
    entry_id: int
    member_id: int
    kind: str
    points: int  # the size of the operation, always positive
    available: int  # the balance right after it
    pending: int
    replayed: bool = False
    shortfall: int = 0  # a clawback the balance could not cover (reported to staff)


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int
    expiring_soon: int
    expiring_on: date | None


def request_hash(**fields: Any) -> str:
    """A stable fingerprint of what was asked, to tell a replay from a different request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _check_points(points: int, field: str = "points") -> int:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= MAX_POINTS:
        raise InvalidField(_("points must be a whole number between 1 and {most:,}", most=MAX_POINTS), field=field)
    return points


def expiry_for(vested_on: date) -> date:
    """Points vested in year Y expire at the end of year Y+1 (DESIGN.md, "Points")."""
    return date(vested_on.year + 1, 12, 31)


_LOCK_SQL = "SELECT id, member, available, pending FROM points_account WHERE member = {}"
_REPLAY_SQL = (
    "SELECT id, member, kind, request_hash, available_delta, pending_delta, available_after, pending_after "
    "FROM ledger_entry WHERE idempotency_key = {}"
)


async def _lock(member_id: int) -> dict[str, Any]:
    """Lock the member's account (created on first use) until the transaction ends: every
    operation starts here."""
    lock_sql = _LOCK_SQL + (" FOR UPDATE" if db.is_postgres() else "")
    rows = await db.fetch(lock_sql, member_id)
    if not rows:
        from loyalty.members.tables import Member

        if not await Member.exists().where(Member.id == member_id):
            raise NotFound(_("Member {id} does not exist.", id=member_id))
        await PointsAccount.insert(PointsAccount(member=member_id)).on_conflict(
            target=PointsAccount.member, action="DO NOTHING"
        )
        rows = await db.fetch(lock_sql, member_id)
    return dict(rows[0])


async def _open(member_id: int, key: str, fingerprint: str) -> tuple[dict[str, Any], EntryResult | None]:
    """Lock the member's account, then look the idempotency key up. The lookup is a
    statement of its own on purpose: under READ COMMITTED only a statement started after the
    lock was granted sees the entry that the previous holder of the lock committed. Returns
    the account and, for a replay, the first result."""
    account = await _lock(member_id)
    entries = await LedgerEntry.raw(_REPLAY_SQL, key)
    if not entries:
        return account, None
    entry = entries[0]
    if entry["request_hash"] != fingerprint:
        raise IdempotencyConflict(KEY_USED_FOR_ANOTHER.format(key=key), field="idempotency_key")
    return account, EntryResult(
        entry_id=entry["id"],
        member_id=entry["member"],
        kind=entry["kind"],
        points=abs(entry["available_delta"]) or abs(entry["pending_delta"]),
        available=entry["available_after"],
        pending=entry["pending_after"],
        replayed=True,
    )


async def _write(
    account: dict[str, Any],
    *,
    kind: str,
    available_delta: int,
    pending_delta: int,
    key: str,
    fingerprint: str,
    source_kind: str,
    source_id: str,
    actor: Actor,
    reason: str = "",
    lot: int | None = None,
    reverses: int | None = None,
) -> tuple[int, int, int]:
    """Append one entry and move the account by the same amounts; returns (entry id,
    available, pending) after it."""
    available = account["available"] + available_delta
    pending = account["pending"] + pending_delta
    rows = await LedgerEntry.insert(
        LedgerEntry(
            member=account["member"],
            kind=kind,
            available_delta=available_delta,
            pending_delta=pending_delta,
            source_kind=source_kind,
            source_id=source_id,
            actor_kind=actor.kind,
            actor_id=actor.id,
            reason=reason,
            idempotency_key=key,
            request_hash=fingerprint,
            lot=lot,
            reverses=reverses,
            available_after=available,
            pending_after=pending,
            created_at=clock.now(),
        )
    ).returning(LedgerEntry.id)
    await PointsAccount.update(
        {PointsAccount.available: available, PointsAccount.pending: pending, PointsAccount.updated_at: clock.now()}
    ).where(PointsAccount.id == account["id"])
    account["available"], account["pending"] = available, pending
    return rows[0]["id"], available, pending


def _debt_paid(available_before: int, points: int) -> int:
    """How much of a credit first pays off a negative balance (only an `unlimited` clawback
    makes one): those points never reach a lot, so they cannot be spent or expire again."""
    return min(points, max(0, -available_before))


async def _draw(account: dict[str, Any], entry_id: int, points: int, today: date) -> int:
    """Take up to `points` from the member's available lots, oldest expiry first; returns
    how many were taken (the caller has checked or decided what a shortfall means)."""
    lots = (
        await PointsLot.select(PointsLot.id, PointsLot.remaining)
        .where(
            (PointsLot.member == account["member"]) & (PointsLot.status == "available") & (PointsLot.remaining > 0)
        )
        .order_by(PointsLot.expires_on)
        .order_by(PointsLot.id)
    )
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot["remaining"])
        await PointsLot.update({PointsLot.remaining: PointsLot.remaining - take}).where(PointsLot.id == lot["id"])
        await LotDraw.insert(LotDraw(entry=entry_id, lot=lot["id"], amount=take))
        left -= take
    return points - left


async def earn(
    member_id: int,
    points: int,
    *,
    key: str,
    source_kind: str,
    source_id: str = "",
    actor: Actor = SYSTEM,
    vests_on: date | None = None,
    reason: str = "",
    today: date | None = None,
) -> EntryResult:
    """Credit points: available at once, or pending until `vests_on` (then the vest job moves
    them). Exactly once per `key`."""
    _check_points(points)
    today = today or clock.today()
    fingerprint = _earn_fingerprint(member_id, points, source_kind, source_id, vests_on)
    async with db.transaction():
        account, replay = await _open(member_id, key, fingerprint)
        if replay:
            return replay
        pending = vests_on is not None and vests_on > today
        paid = 0 if pending else _debt_paid(account["available"], points)
        lot_rows = await PointsLot.insert(
            PointsLot(
                member=member_id,
                entry=0,
                amount=points,
                remaining=points - paid,
                status="pending" if pending else "available",
                vests_on=vests_on if pending else None,
                expires_on=None if pending else expiry_for(today),
            )
        ).returning(PointsLot.id)
        lot_id = lot_rows[0]["id"]
        entry_id, available, pending_after = await _write(
            account,
            kind="earn",
            available_delta=0 if pending else points,
            pending_delta=points if pending else 0,
            key=key,
            fingerprint=fingerprint,
            source_kind=source_kind,
            source_id=source_id,
            actor=actor,
            reason=reason,
            lot=lot_id,
        )
        await PointsLot.update({PointsLot.entry: entry_id}).where(PointsLot.id == lot_id)
    return EntryResult(entry_id, member_id, "earn", points, available, pending_after)


async def redeem(
    member_id: int,
    points: int,
    *,
    key: str,
    source_kind: str,
    source_id: str = "",
    actor: Actor = SYSTEM,
    reason: str = "",
    today: date | None = None,
) -> EntryResult:
    """Spend available points, oldest lots first. Never below zero: with the account locked,
    the check and the spend are one step for this member."""
    _check_points(points)
    today = today or clock.today()
    fingerprint = _redeem_fingerprint(member_id, points, source_kind, source_id)
    async with db.transaction():
        account, replay = await _open(member_id, key, fingerprint)
        if replay:
            return replay
        _check_available(account, points)
        if db.is_postgres():
            move = _Move(redeem=points, redeem_key=key, source_kind=source_kind, source_id=source_id, actor=actor, reason=reason)
            rows = await db.fetch(_move_sql(move, "SELECT redeem_id AS id FROM entries"), *_move_args(account, move, today))
            entry_id = rows[0]["id"]
            account["available"] -= points
            available, pending = account["available"], account["pending"]
        else:
            entry_id, available, pending = await _write(
                account, kind="redeem", available_delta=-points, pending_delta=0, key=key, fingerprint=fingerprint,
                source_kind=source_kind, source_id=source_id, actor=actor, reason=reason,
            )
            await _draw(account, entry_id, points, today)
    return EntryResult(entry_id, member_id, "redeem", points, available, pending)


def _redeem_fingerprint(member_id: int, points: int, source_kind: str, source_id: str) -> str:
    return request_hash(op="redeem", member=member_id, points=points, source=[source_kind, source_id])


def _earn_fingerprint(member_id: int, points: int, source_kind: str, source_id: str, vests_on: date | None = None) -> str:
    return request_hash(op="earn", member=member_id, points=points, source=[source_kind, source_id], vests=vests_on)


def _check_available(account: dict[str, Any], points: int) -> None:
    if account["available"] < points:
        raise InsufficientPoints(
            _n(
                "{count:,} point asked, {available:,} available", "{count:,} points asked, {available:,} available",
                points, available=account["available"],
            ),
            field="points", available=account["available"],
        )


async def redeem_and_earn(
    member_id: int,
    *,
    redeem: int,
    earn: int,
    redeem_key: str,
    earn_key: str,
    source_kind: str,
    source_id: str,
    actor: Actor,
    record: Callable[[int], tuple[str, Sequence[Any]]],
    earn_vests_on: date | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A purchase paid partly with points that earns points too (a till's sale), on
    PostgreSQL, in one statement once the member's account is locked: `redeem` points spent
    (oldest lots first, never below zero) and `earn` points credited (available at once, or
    pending until `earn_vests_on` as `earn` makes them), the same entries, lots and draws as
    `redeem` then `earn`, each entry under its own key;
    and the caller's record of the purchase written with them: `record(available balance
    after)` gives its `INSERT ... RETURNING *` (with `{}` placeholders) and values, and its
    row is returned. The keys must be unused: the record is what a retry replays, so a used
    key is a unique violation, as two racing purchases under one record key are. SQLite has
    no writes inside WITH: there the caller runs `redeem`, `earn` and its insert in turn."""
    if not db.is_postgres():
        raise RuntimeError("redeem_and_earn is PostgreSQL's path; SQLite records a purchase step by step")
    if redeem:
        _check_points(redeem)
    today = today or clock.today()
    async with db.transaction():
        account = await _lock(member_id)
        if redeem:
            _check_available(account, redeem)
        if earn:
            _check_points(earn)
        pending = earn_vests_on is not None and earn_vests_on > today
        move = _Move(
            redeem=redeem, redeem_key=redeem_key, earn=earn, earn_key=earn_key, source_kind=source_kind,
            source_id=source_id, actor=actor, vests_on=earn_vests_on if pending else None,
        )
        record_sql, record_args = record(account["available"] - redeem + (0 if pending else earn))
        rows = await db.fetch(
            _move_sql(move, "SELECT * FROM recorded", recorded=record_sql), *_move_args(account, move, today), *record_args
        )
    return dict(rows[0])


# Every till's sale redeems and earns points (DESIGN.md: ≥ 40% of a bare INSERT + UPDATE), so
# on PostgreSQL a movement of a locked account is one statement (data-modifying CTEs): the same
# rows that `_write` (entry, account), `_draw` (oldest lots first) and `earn` (a lot and its
# entry) produce step by step, which is what SQLite runs; the suite runs both. The values are
# one row (`args`) that the parts read by name.
@dataclass(frozen=True)
class _Move:
    redeem: int = 0
    redeem_key: str = ""
    earn: int = 0
    earn_key: str = ""
    source_kind: str = ""
    source_id: str = ""
    actor: Actor = SYSTEM
    reason: str = ""
    vests_on: date | None = None  # the earn is pending until then (None: available at once)


_ENTRY_COLUMNS = (
    "id, member, kind, available_delta, pending_delta, source_kind, source_id, actor_kind, actor_id, reason, "
    "idempotency_key, request_hash, lot, reverses, reversed_points, available_after, pending_after, created_at"
)
_MOVE_ARGS_SQL = """args AS (
    SELECT {}::int AS member, {}::int AS account, {}::bigint AS available, {}::bigint AS pending,
           {}::bigint AS redeem, {}::varchar AS redeem_key, {}::varchar AS redeem_hash,
           {}::bigint AS earn, {}::bigint AS earn_kept, {}::varchar AS earn_key, {}::varchar AS earn_hash,
           {}::bigint AS earn_available, {}::bigint AS earn_pending, {}::varchar AS lot_status, {}::date AS vests_on,
           {}::date AS expires_on, {}::varchar AS source_kind, {}::varchar AS source_id, {}::varchar AS actor_kind,
           {}::int AS actor_id, {}::text AS reason, {}::timestamptz AS now
)"""
# The entries' ids are taken first, so that the earn's lot can name its entry; the smaller
# one is the redemption's, which comes first as it does step by step.
_MOVE_ENTRIES_SQL = """entries AS (
    SELECT min(id) AS redeem_id, max(id) AS earn_id
    FROM (SELECT nextval(pg_get_serial_sequence('ledger_entry', 'id')) AS id FROM generate_series(1, %d)) AS taken
), account AS (
    UPDATE points_account SET available = args.available - args.redeem + args.earn_available,
        pending = args.pending + args.earn_pending, updated_at = args.now
    FROM args WHERE points_account.id = args.account
)"""
_MOVE_REDEEM_SQL = f"""redeem_entry AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS})
    SELECT entries.redeem_id, args.member, 'redeem', -args.redeem, 0, args.source_kind, args.source_id, args.actor_kind,
           args.actor_id, args.reason, args.redeem_key, args.redeem_hash, NULL, NULL, 0, args.available - args.redeem,
           args.pending, args.now
    FROM args, entries
), candidates AS (
    SELECT points_lot.id, points_lot.remaining,
           SUM(points_lot.remaining) OVER (ORDER BY points_lot.expires_on, points_lot.id) AS running
    FROM points_lot JOIN args ON points_lot.member = args.member
    WHERE points_lot.status = 'available' AND points_lot.remaining > 0
), take AS (
    SELECT candidates.id, LEAST(candidates.remaining, args.redeem - (candidates.running - candidates.remaining)) AS amount
    FROM candidates, args WHERE candidates.running - candidates.remaining < args.redeem
), drawn AS (
    UPDATE points_lot SET remaining = points_lot.remaining - take.amount FROM take
    WHERE points_lot.id = take.id RETURNING points_lot.id AS lot, take.amount AS amount
), draws AS (
    INSERT INTO lot_draw (entry, lot, amount) SELECT entries.redeem_id, drawn.lot, drawn.amount FROM entries, drawn
)"""
_MOVE_EARN_SQL = f"""earn_lot AS (
    INSERT INTO points_lot (member, entry, amount, remaining, status, vests_on, expires_on, expiry_notice_sent, created_at)
    SELECT args.member, entries.earn_id, args.earn, args.earn_kept, args.lot_status, args.vests_on, args.expires_on,
           NULL, args.now
    FROM args, entries
    RETURNING id
), earn_entry AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS})
    SELECT entries.earn_id, args.member, 'earn', args.earn_available, args.earn_pending, args.source_kind, args.source_id,
           args.actor_kind, args.actor_id, args.reason, args.earn_key, args.earn_hash, earn_lot.id, NULL, 0,
           args.available - args.redeem + args.earn_available, args.pending + args.earn_pending, args.now
    FROM args, entries, earn_lot
)"""


def _move_sql(move: _Move, final: str, recorded: str = "") -> str:
    """The statement for `move`: its parts, then `recorded` (another data-modifying
    statement, the CTE `recorded`) if any, then the `final` SELECT."""
    return _move_text(bool(move.redeem), bool(move.earn), final, recorded)


@functools.lru_cache(maxsize=32)
def _move_text(redeems: bool, earns: bool, final: str, recorded: str) -> str:
    parts = [_MOVE_ARGS_SQL, _MOVE_ENTRIES_SQL % (redeems + earns)]
    parts += [_MOVE_REDEEM_SQL] if redeems else []
    parts += [_MOVE_EARN_SQL] if earns else []
    parts += [f"recorded AS (\n    {recorded}\n)"] if recorded else []
    return "WITH " + ",\n".join(parts) + "\n" + final


def _move_args(account: dict[str, Any], move: _Move, today: date) -> tuple[Any, ...]:
    """`args` for `move` on the locked `account`; an earn available at once first pays off a
    debt (`_debt_paid`), a pending one is kept whole until it vests, as `earn` does."""
    member = account["member"]
    pending = move.vests_on is not None
    kept = move.earn if pending else move.earn - _debt_paid(account["available"] - move.redeem, move.earn)
    redeem_hash = _redeem_fingerprint(member, move.redeem, move.source_kind, move.source_id) if move.redeem else ""
    earn_hash = _earn_fingerprint(member, move.earn, move.source_kind, move.source_id, move.vests_on) if move.earn else ""
    return (
        member, account["id"], account["available"], account["pending"],
        move.redeem, move.redeem_key, redeem_hash,
        move.earn, kept, move.earn_key, earn_hash,
        0 if pending else move.earn, move.earn if pending else 0, "pending" if pending else "available", move.vests_on,
        None if pending else expiry_for(today), move.source_kind, move.source_id, move.actor.kind,
        move.actor.id, move.reason, clock.now(),
    )


async def adjust(
    member_id: int, points: int, *, key: str, reason: str, staff_id: int, today: date | None = None
) -> EntryResult:
    """A staff correction, positive or negative, with a reason (audited). A debit never takes
    the balance below zero."""
    from loyalty.audit import service as audit

    if not isinstance(points, int) or points == 0 or abs(points) > MAX_POINTS:
        raise InvalidField(_("points must be a non-zero whole number up to ±{most:,}", most=MAX_POINTS), field="points")
    if len((reason or "").strip()) < 2:
        raise InvalidField(_("say why (a reason is required and audited)"), field="reason")
    today = today or clock.today()
    fingerprint = request_hash(op="adjust", member=member_id, points=points, reason=reason)
    actor = Actor("staff", staff_id)
    async with db.transaction():
        account, replay = await _open(member_id, key, fingerprint)
        if replay:
            return replay
        paid = _debt_paid(account["available"], points) if points > 0 else 0
        if points < 0 and account["available"] < -points:
            raise InsufficientPoints(
                _n(
                    "cannot take {count:,} point, {available:,} available",
                    "cannot take {count:,} points, {available:,} available",
                    -points, available=account["available"],
                ),
                field="points", available=account["available"],
            )
        entry_id, available, pending = await _write(
            account, kind="adjust", available_delta=points, pending_delta=0, key=key, fingerprint=fingerprint,
            source_kind="staff", source_id=str(staff_id), actor=actor, reason=reason.strip(),
        )
        if points > 0:
            await PointsLot.insert(
                PointsLot(
                    member=member_id, entry=entry_id, amount=points, remaining=points - paid, status="available",
                    expires_on=expiry_for(today),
                )
            )
        else:
            await _draw(account, entry_id, -points, today)
        await audit.record(
            action="points.adjust", subject_kind="member", subject_id=member_id, reason=reason.strip(), actor_id=staff_id,
            data={"points": points, "entry": entry_id},
        )
    return EntryResult(entry_id, member_id, "adjust", abs(points), available, pending)


async def forfeit(
    member_id: int, *, key: str, reason: str, actor: Actor, source_kind: str = "erasure", today: date | None = None
) -> EntryResult | None:
    """Book off every point a member holds, available and pending, in one `adjust` entry:
    for an owner who can never spend them again (their data was erased). The lots are
    emptied with it (available ones drawn, pending ones voided), so account, ledger and lots
    still agree; a debt (negative balance) is left for staff to see. None if there was
    nothing to forfeit. Exactly once per `key`."""
    today = today or clock.today()
    if not await PointsAccount.exists().where(PointsAccount.member == member_id):
        return None
    fingerprint = request_hash(op="forfeit", member=member_id, source=source_kind)
    async with db.transaction():
        account, replay = await _open(member_id, key, fingerprint)
        if replay:
            return replay
        available, pending = max(account["available"], 0), account["pending"]
        if not available and not pending:
            return None
        entry_id, available_after, pending_after = await _write(
            account, kind="adjust", available_delta=-available, pending_delta=-pending, key=key, fingerprint=fingerprint,
            source_kind=source_kind, source_id=str(member_id), actor=actor, reason=reason,
        )
        if available:
            await _draw(account, entry_id, available, today)
        if pending:
            await PointsLot.update({PointsLot.status: "void", PointsLot.remaining: 0}).where(
                (PointsLot.member == member_id) & (PointsLot.status == "pending")
            )
    return EntryResult(entry_id, member_id, "adjust", available + pending, available_after, pending_after)


async def reverse(
    original_key: str,
    *,
    key: str,
    points: int | None = None,
    actor: Actor = SYSTEM,
    reason: str = "",
    clawback_policy: str = "within_balance",
    today: date | None = None,
) -> EntryResult:
    """Undo all or part of an earlier earn or redeem (a reversed sale, a cancelled deal).
    A redeem's points go back to the lots they came from (a lot that has expired since gives
    them back as a fresh lot). An earn's points are taken back: pending ones are voided;
    vested ones follow the clawback policy — `within_balance` takes what the balance allows
    and reports the rest as `shortfall`, `only_pending` takes none, `unlimited` may go below
    zero (only through this path). Never more than what is left of the original."""
    if clawback_policy not in CLAWBACK_POLICIES:
        raise InvalidField(
            _("clawback_policy must be one of {choices}", choices=Later(identifiers, CLAWBACK_POLICIES)), field="clawback_policy"
        )
    today = today or clock.today()
    original = await LedgerEntry.select().where(LedgerEntry.idempotency_key == original_key).first()
    if original is None or original["kind"] not in ("earn", "redeem"):
        raise NotFound(_("There is no earn or redeem with the key '{key}'.", key=original_key))
    if points is not None:
        _check_points(points)
    fingerprint = request_hash(op="reverse", original=original["id"], points=points)
    async with db.transaction():
        account, replay = await _open(original["member"], key, fingerprint)
        if replay:
            return replay
        original = await LedgerEntry.select().where(LedgerEntry.id == original["id"]).first()
        size = abs(original["available_delta"]) + abs(original["pending_delta"])
        left = size - original["reversed_points"]
        amount = left if points is None else points
        if amount <= 0 or amount > left:
            raise NothingToReverse(
                _("{asked:,} points asked; {left:,} of {size:,} are left to reverse", asked=amount, left=left, size=size),
                field="points", left=left,
            )
        if original["kind"] == "redeem":
            result = await _give_back(account, original, amount, key, fingerprint, actor, reason, today)
        else:
            result = await _take_back(account, original, amount, key, fingerprint, actor, reason, clawback_policy, today)
        await LedgerEntry.update({LedgerEntry.reversed_points: LedgerEntry.reversed_points + amount}).where(
            LedgerEntry.id == original["id"]
        )
    return result


async def _give_back(account, original, amount, key, fingerprint, actor, reason, today) -> EntryResult:
    paid = _debt_paid(account["available"], amount)
    entry_id, available, pending = await _write(
        account, kind="reverse", available_delta=amount, pending_delta=0, key=key, fingerprint=fingerprint,
        source_kind=original["source_kind"], source_id=original["source_id"], actor=actor, reason=reason,
        reverses=original["id"],
    )
    # What is still out per lot: the original's draws less what earlier reversals returned
    # (recorded as negative draws), so partial reversals never over-fill a lot.
    earlier = [row["id"] for row in await LedgerEntry.select(LedgerEntry.id).where(LedgerEntry.reverses == original["id"])]
    out: dict[int, int] = {}
    for draw in await LotDraw.select(LotDraw.lot, LotDraw.amount).where(
        LotDraw.entry.is_in([original["id"], *earlier])
    ).order_by(LotDraw.id):
        out[draw["lot"]] = out.get(draw["lot"], 0) + draw["amount"]
    left = amount - paid
    # The latest-expiring lots were drawn last; they get their points back first.
    for lot_id in sorted(out, reverse=True):
        if left == 0:
            break
        back = min(left, out[lot_id])
        if back <= 0:
            continue
        lot = await PointsLot.select(PointsLot.status).where(PointsLot.id == lot_id).first()
        if lot and lot["status"] == "available":
            await PointsLot.update({PointsLot.remaining: PointsLot.remaining + back}).where(PointsLot.id == lot_id)
        else:  # expired in the meantime: the owner gets them back as newly vested points
            await PointsLot.insert(
                PointsLot(member=account["member"], entry=entry_id, amount=back, remaining=back, status="available", expires_on=expiry_for(today))
            )
        await LotDraw.insert(LotDraw(entry=entry_id, lot=lot_id, amount=-back))
        left -= back
    if left:
        await PointsLot.insert(
            PointsLot(member=account["member"], entry=entry_id, amount=left, remaining=left, status="available", expires_on=expiry_for(today))
        )
    return EntryResult(entry_id, account["member"], "reverse", amount, available, pending)


async def _take_back(account, original, amount, key, fingerprint, actor, reason, policy, today) -> EntryResult:
    lot = await PointsLot.select().where(PointsLot.id == original["lot"]).first()
    if lot is not None and lot["status"] == "pending":
        take = min(amount, lot["remaining"])
        await PointsLot.update(
            {PointsLot.remaining: lot["remaining"] - take, PointsLot.status: "void" if take == lot["remaining"] else "pending"}
        ).where(PointsLot.id == lot["id"])
        entry_id, available, pending = await _write(
            account, kind="void", available_delta=0, pending_delta=-take, key=key, fingerprint=fingerprint,
            source_kind=original["source_kind"], source_id=original["source_id"], actor=actor, reason=reason,
            lot=lot["id"], reverses=original["id"],
        )
        return EntryResult(entry_id, account["member"], "void", take, available, pending, shortfall=amount - take)
    if policy == "only_pending":
        wanted = 0
    elif policy == "unlimited":
        wanted = amount
    else:
        wanted = min(amount, max(account["available"], 0))
    entry_id, available, pending = await _write(
        account, kind="reverse", available_delta=-wanted, pending_delta=0, key=key, fingerprint=fingerprint,
        source_kind=original["source_kind"], source_id=original["source_id"], actor=actor, reason=reason,
        reverses=original["id"],
    )
    # The points come out of the lot they were earned into first, then the oldest others.
    taken = 0
    if lot is not None and lot["status"] == "available" and wanted:
        taken = min(wanted, lot["remaining"])
        await PointsLot.update({PointsLot.remaining: PointsLot.remaining - taken}).where(PointsLot.id == lot["id"])
        await LotDraw.insert(LotDraw(entry=entry_id, lot=lot["id"], amount=taken))
    if wanted - taken:
        await _draw(account, entry_id, wanted - taken, today)
    return EntryResult(entry_id, account["member"], "reverse", wanted, available, pending, shortfall=amount - wanted)


async def available(member_id: int) -> int:
    """Spendable points now: the account row alone (what a till needs)."""
    rows = await PointsAccount.raw("SELECT available FROM points_account WHERE member = {}", member_id)
    return int(rows[0]["available"]) if rows else 0


async def balance(member_id: int, today: date | None = None) -> Balance:
    """Available and pending points, and how many expire within 30 days (the notice window)."""
    today = today or clock.today()
    account = await PointsAccount.select().where(PointsAccount.member == member_id).first()
    soon = await PointsLot.select(PointsLot.remaining, PointsLot.expires_on).where(
        (PointsLot.member == member_id)
        & (PointsLot.status == "available")
        & (PointsLot.remaining > 0)
        & (PointsLot.expires_on <= today + timedelta(days=30))
        & (PointsLot.expires_on >= today)
    )
    return Balance(
        available=account["available"] if account else 0,
        pending=account["pending"] if account else 0,
        expiring_soon=sum(row["remaining"] for row in soon),
        expiring_on=min((row["expires_on"] for row in soon), default=None),
    )


@dataclass(frozen=True)
class Due:
    on: date
    points: int


async def schedule(member_id: int, today: date | None = None) -> tuple[list[Due], list[Due]]:
    """What happens to the member's points next: (expiring, vesting). Expiring: the available
    points still in lots, by the day they expire (the end of the year after they vested,
    `expiry_for`), soonest first. Vesting: pending points by the day they become available
    (and then expire by the same rule). What is spent before then never expires: redemption
    takes the oldest lots first."""
    today = today or clock.today()
    lots = await PointsLot.select(PointsLot.status, PointsLot.remaining, PointsLot.expires_on, PointsLot.vests_on).where(
        (PointsLot.member == member_id) & (PointsLot.remaining > 0) & PointsLot.status.is_in(["available", "pending"])
    )
    expiring: dict[date, int] = {}
    vesting: dict[date, int] = {}
    for lot in lots:
        if lot["status"] == "available" and lot["expires_on"] is not None and lot["expires_on"] >= today:
            expiring[lot["expires_on"]] = expiring.get(lot["expires_on"], 0) + lot["remaining"]
        elif lot["status"] == "pending" and lot["vests_on"] is not None:
            day = max(lot["vests_on"], today)
            vesting[day] = vesting.get(day, 0) + lot["remaining"]
    return (
        [Due(day, points) for day, points in sorted(expiring.items())],
        [Due(day, points) for day, points in sorted(vesting.items())],
    )


async def history(member_id: int, *, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The member's entries, newest first (keyset pagination on the entry id)."""
    query = (
        LedgerEntry.select(
            LedgerEntry.id, LedgerEntry.kind, LedgerEntry.available_delta, LedgerEntry.pending_delta,
            LedgerEntry.source_kind, LedgerEntry.source_id, LedgerEntry.reason, LedgerEntry.available_after,
            LedgerEntry.pending_after, LedgerEntry.created_at, LedgerEntry.lot,
        )
        .where(LedgerEntry.member == member_id)
        .order_by(LedgerEntry.id, ascending=False)
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return await query


async def pending_credits(entries: list[dict[str, Any]]) -> dict[int, tuple[str, date | None]]:
    """For each entry that credited pending points (by entry id): what became of them since,
    from its lot (`pending` while not yet vested, `vested`, or `void` when cancelled before
    vesting), and the day they vest. A statement row is written once; its lot says the now."""
    lots = {e["lot"]: e["id"] for e in entries if e.get("pending_delta", 0) > 0 and e.get("lot")}
    if not lots:
        return {}
    rows = await PointsLot.select(PointsLot.id, PointsLot.status, PointsLot.vests_on).where(PointsLot.id.is_in(list(lots)))
    states = {"pending": "pending", "void": "void"}
    return {lots[row["id"]]: (states.get(row["status"], "vested"), row["vests_on"]) for row in rows}


async def entries_by_key_prefix(prefix: str, kind: str = "earn") -> list[dict[str, Any]]:
    """Entries whose idempotency key starts with `prefix` (e.g. every reward of one lead)."""
    if "%" in prefix or "_" in prefix:
        raise ValueError("key prefixes are plain text without LIKE wildcards")
    return await LedgerEntry.select().where(
        LedgerEntry.idempotency_key.like(prefix + "%") & (LedgerEntry.kind == kind)
    ).order_by(LedgerEntry.id)


# --- jobs -------------------------------------------------------------------------------


async def vest_due(today: date | None = None) -> int:
    """Move pending lots whose day has come to available (expiring at the end of next year).
    Idempotent: each lot's vest has the key `vest:lot:<id>`."""
    today = today or clock.today()
    due = await PointsLot.select(PointsLot.id, PointsLot.member).where(
        (PointsLot.status == "pending") & (PointsLot.vests_on <= today)
    )
    for lot in due:
        async with db.transaction():
            account, done = await _open(lot["member"], f"vest:lot:{lot['id']}", "")
            current = await PointsLot.select().where(PointsLot.id == lot["id"]).first()
            if done or current["status"] != "pending":
                continue  # voided or vested by a concurrent run since we listed it
            paid = _debt_paid(account["available"], current["remaining"])
            await PointsLot.update(
                {
                    PointsLot.status: "available",
                    PointsLot.remaining: current["remaining"] - paid,
                    # Expiry counts from the day the points vested, however late the job ran.
                    PointsLot.expires_on: expiry_for(current["vests_on"] or today),
                }
            ).where(PointsLot.id == lot["id"])
            await _write(
                account, kind="vest", available_delta=current["remaining"], pending_delta=-current["remaining"],
                key=f"vest:lot:{lot['id']}", fingerprint="", source_kind="lot", source_id=str(lot["id"]),
                actor=SYSTEM, lot=lot["id"],
            )
    return len(due)


async def expire_due(today: date | None = None) -> int:
    """Expire what is left of lots past their expiry date. Idempotent (`expire:lot:<id>`)."""
    today = today or clock.today()
    due = await PointsLot.select(PointsLot.id, PointsLot.member).where(
        (PointsLot.status == "available") & (PointsLot.expires_on < today)
    )
    for lot in due:
        async with db.transaction():
            account, done = await _open(lot["member"], f"expire:lot:{lot['id']}", "")
            current = await PointsLot.select().where(PointsLot.id == lot["id"]).first()
            if done or current["status"] != "available":
                continue
            await PointsLot.update({PointsLot.status: "expired", PointsLot.remaining: 0}).where(PointsLot.id == lot["id"])
            if current["remaining"]:
                await _write(
                    account, kind="expire", available_delta=-current["remaining"], pending_delta=0,
                    key=f"expire:lot:{lot['id']}", fingerprint="", source_kind="lot", source_id=str(lot["id"]),
                    actor=SYSTEM, lot=lot["id"],
                )
    return len(due)


@dataclass(frozen=True)
class Drift:
    member_id: int
    what: str
    ledger: int
    recorded: int


async def audit_ledger() -> list[Drift]:
    """Prove the balances: each account equals the sum of its entries, the available balance
    equals what its available lots still hold, and no balance is negative."""
    drifts: list[Drift] = []
    sums = await LedgerEntry.raw(
        "SELECT member, SUM(available_delta) AS available, SUM(pending_delta) AS pending FROM ledger_entry GROUP BY member"
    )
    accounts = {row["member"]: row for row in await PointsAccount.select()}
    lots = {
        row["member"]: row
        for row in await PointsLot.raw(
            "SELECT member, SUM(CASE WHEN status = 'available' THEN remaining ELSE 0 END) AS available, "
            "SUM(CASE WHEN status = 'pending' THEN remaining ELSE 0 END) AS pending FROM points_lot GROUP BY member"
        )
    }
    for row in sums:
        member = row["member"]
        account = accounts.get(member, {"available": 0, "pending": 0})
        for what in ("available", "pending"):
            if int(row[what]) != account[what]:
                drifts.append(Drift(member, f"account {what}", int(row[what]), account[what]))
            in_lots = int((lots.get(member) or {}).get(what) or 0)
            if what == "pending" and in_lots != int(row[what]):
                drifts.append(Drift(member, "pending lots", int(row[what]), in_lots))
            # A negative balance (an `unlimited` clawback) is a debt no lot holds.
            if what == "available" and in_lots != max(int(row[what]), 0):
                drifts.append(Drift(member, "available lots", max(int(row[what]), 0), in_lots))
        if int(row["pending"]) < 0:
            drifts.append(Drift(member, "negative pending", int(row["pending"]), 0))
    for member, account in accounts.items():
        if member not in {row["member"] for row in sums} and (account["available"] or account["pending"]):
            drifts.append(Drift(member, "account without entries", 0, account["available"]))
    return drifts


async def notify_expiring(today: date | None = None, channel: str = "log") -> int:
    """Tell members 30 days ahead which points will expire, once per lot (the lot remembers
    the notice), through the outbox. Returns how many members were told."""
    from loyalty import jobs
    from loyalty.care import outbox as care
    from loyalty.i18n import format as words
    from loyalty.labels import label
    from loyalty.members.tables import Member

    today = today or clock.today()
    lots = await PointsLot.select(PointsLot.id, PointsLot.member, PointsLot.remaining, PointsLot.expires_on).where(
        (PointsLot.status == "available")
        & (PointsLot.remaining > 0)
        & PointsLot.expiry_notice_sent.is_null()
        & (PointsLot.expires_on <= today + timedelta(days=30))
        & (PointsLot.expires_on >= today)
    )
    by_member: dict[int, list[dict[str, Any]]] = {}
    for lot in lots:
        by_member.setdefault(lot["member"], []).append(lot)
    queued: list[int] = []
    for member_id, member_lots in by_member.items():
        member = await Member.select(Member.phone, Member.language).where(Member.id == member_id).first()
        if member is None:
            continue
        points = sum(lot["remaining"] for lot in member_lots)
        first = min(lot["expires_on"] for lot in member_lots)
        async with db.transaction():
            marked = await PointsLot.update({PointsLot.expiry_notice_sent: today}).where(
                PointsLot.id.is_in([lot["id"] for lot in member_lots]) & PointsLot.expiry_notice_sent.is_null()
            ).returning(PointsLot.id)
            if not marked:
                continue  # another run told them already
            queued.append(
                await care.queue_message(
                    kind="points_expiry",
                    member_id=member_id,
                    channel_name=channel,
                    recipient=member["phone"],
                    template="points_expiring",
                    language=member["language"],
                    body=label(
                        "points.expiring", member["language"], points=words.number(points, member["language"]),
                        date=words.date(first, member["language"]),
                    ),
                    payload={"points": points, "expires_on": first.isoformat()},
                )
            )
    for message_id in queued:
        if message_id is not None:
            await jobs.enqueue("loyalty.care.deliver_message", message_id)
    return len(queued)
