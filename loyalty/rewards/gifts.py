"""Gifts other contexts give (a referral's stage reached): one free reservation of a reward for
one owner, made once per dedupe key with a message to the owner, and taken back (cancelled,
stock back) while not yet picked up.

The dedupe key lives in the redemption's Idempotency-Key column under the `sys:` prefix, which
the owner's own redemptions may not use (`service.redeem` refuses it), so an owner can never
take a gift's key first; the column's unique index (member, key) makes the gift once whatever
retries or concurrent calls happen."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from loyalty import clock, db
from loyalty.errors import DomainError
from loyalty.events.waitlist import Promotion
from loyalty.points import service as points
from loyalty.rewards import seats
from loyalty.rewards.tables import Redemption, Reward

SYSTEM_PREFIX = "sys:"


async def gift_reservation(member_id: int, reward_id: int, dedupe_key: str, now: datetime | None = None) -> int | None:
    """Inside the caller's transaction: a free reservation of the reward for the owner, once
    per `dedupe_key` (a second call answers the first). Takes one from the stock; a voucher
    or an event seat is ready at once (a seat signs the owner up). None when it cannot be
    given (no such reward, withdrawn, out of stock, the event full): nothing is kept then."""
    now = now or clock.now()
    key = (SYSTEM_PREFIX + dedupe_key)[:200]
    first = await Redemption.select(Redemption.id).where((Redemption.member == member_id) & (Redemption.idempotency_key == key)).first()
    if first is not None:
        return first["id"]
    reward = await Reward.select().where(Reward.id == reward_id).first()
    if reward is None or reward["status"] == "withdrawn":
        return None
    if not await _take_one(reward_id):
        return None
    ready = reward["kind"] in ("voucher", "event_seat")
    signup, expires_at = None, now + timedelta(days=reward["collect_days"])
    if reward["kind"] == "event_seat":
        try:
            # A refused seat has written nothing (the event's rules and a conditional UPDATE
            # of its seats that took none), so the caller's transaction goes on without it.
            signup, expires_at = await seats.take_seat(reward, member_id, now)
        except DomainError:
            await db.fetch("UPDATE reward SET stock_remaining = stock_remaining + 1 WHERE id = {} RETURNING id", reward_id)
            return None
    from loyalty.rewards.service import new_nonce, notify

    rows = await Redemption.insert(Redemption(
        reward=reward_id, member=member_id, points=0, status="ready" if ready else "reserved", idempotency_key=key,
        request_hash=points.request_hash(op="gift", reward=reward_id, key=dedupe_key), code_nonce=new_nonce(),
        reserved_at=now, ready_at=now if ready else None, expires_at=expires_at, signup=signup,
    )).on_conflict(action="DO NOTHING").returning(Redemption.id)
    if not rows:  # given meanwhile by a concurrent call: its stock back, its answer
        await db.fetch("UPDATE reward SET stock_remaining = stock_remaining + 1 WHERE id = {} RETURNING id", reward_id)
        found = await Redemption.select(Redemption.id).where((Redemption.member == member_id) & (Redemption.idempotency_key == key)).first()
        return found["id"] if found else None
    await notify(rows[0]["id"], "gift")  # told with the gift, in its transaction: never one without the other
    return rows[0]["id"]


async def _take_one(reward_id: int) -> bool:
    rows = await db.fetch(
        "UPDATE reward SET stock_remaining = stock_remaining - 1 WHERE id = {} AND stock_remaining >= 1 RETURNING id", reward_id
    )
    return bool(rows)


async def take_back(dedupe_prefix: str, now: datetime | None = None) -> tuple[list[int], list[Promotion]]:
    """Inside the caller's transaction: the gifts whose dedupe key starts with `dedupe_prefix`
    and are not picked up yet are cancelled: stock back, a seat's signup cancelled (whatever
    the event's cancellation deadline: the owner did not choose this) and its seat to the
    waitlist. Returns the redemptions cancelled, and what the freed seats set in motion: pass
    it to `after_commit` once the caller's transaction has committed."""
    from loyalty.rewards import service

    now = now or clock.now()
    like = (SYSTEM_PREFIX + dedupe_prefix).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.fetch(
        "SELECT id FROM redemption WHERE idempotency_key LIKE {} ESCAPE '\\' AND status IN ('reserved', 'ready')", like
    )
    cancelled: list[int] = []
    promotions: list[Promotion] = []
    for item in rows:
        row = await service.end_open(item["id"], "cancelled", now)
        if row is not None:
            promotions.append(await seats.release(row, now, deadline=False))  # the event first: the lock order
            await service.give_back(row, actor=points.SYSTEM, reason="referral_cancelled")
            cancelled.append(row["id"])
    return cancelled, promotions


async def after_commit(promotions: Sequence[Promotion]) -> None:
    for promotion in promotions:
        await seats.after_commit(promotion)
