"""Event seats (kind `event_seat`): a reward that is a seat at an event.

Redeeming one signs the owner up for its event in the redemption's own transaction, through
the events service (confirmed, free: the reward paid for it; the event's capacity and rules as
any signup): a full event refuses the redemption and nothing is spent. The redemption is
`ready` at once and its "pick-up" is the event ticket; it lasts until the event ends.

Checked in at the door → picked up. The events context does not know about rewards (contexts
talk through front doors, and check-in is the hottest write there is), so the redemption
follows its signup lazily (`sync_signups`): when the owner's redemptions are read and before
the expiry job, so nobody ever sees a checked-in seat as open, and the expiry job never gives
back the points of a seat that was used. A signup cancelled on the events side (the owner's
own cancel on the event page, or staff cancelling the event) cancels the redemption the same
way, with its points back.

Giving the redemption back (the owner cancels, a referral gift taken back) cancels the
signup and gives its seat to the waitlist as a normal cancel does, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty import clock, db, jobs
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.events import signups, waitlist
from loyalty.events.tables import Event
from loyalty.i18n import _
from loyalty.points import service as points


class RewardEventFull(DomainError):
    type = "reward-event-full"
    status = 409
    title = _("The event of this reward is full")


async def check_event(event_id: int | None) -> None:
    """A seat reward names an event that exists and is not cancelled."""
    if event_id is None:
        raise InvalidField(_("An event seat names its event"), field="event_id")
    event = await Event.select(Event.status).where(Event.id == event_id).first()
    if event is None:
        raise InvalidField(_("There is no event {event_id}", event_id=event_id), field="event_id")
    if event["status"] == "cancelled":
        raise InvalidField(_("Event {event_id} is cancelled", event_id=event_id), field="event_id")


async def take_seat(reward: dict[str, Any], member_id: int, now: datetime) -> tuple[int, datetime]:
    """Inside the redemption's transaction: the owner's confirmed signup for the reward's
    event (signup id, and the event's end: the redemption lasts until then)."""
    try:
        return await signups.seat_for_reward(member_id, reward["event"], now)
    except signups.EventFull:
        raise RewardEventFull(
            _("Every seat of this event is taken; nothing was spent"), event_id=reward["event"]
        ) from None
    except NotFound:
        raise RewardEventFull(_("The event of this reward can no longer be joined"), event_id=reward["event"]) from None


async def release(row: dict[str, Any], now: datetime, *, deadline: bool = True) -> waitlist.Promotion:
    """Inside the transaction that ended the redemption `row`: its signup cancelled, the seat
    to the waitlist (`deadline`: only before the event's cancellation deadline, as for the
    owner's own cancel). Run `after_commit` with the answer after the commit."""
    if not row.get("signup"):
        return waitlist.Promotion()
    hold_minutes = jobs.current_settings().payment_hold_minutes
    return await signups.release_reward_seat(row["signup"], now, hold_minutes, deadline=deadline)


async def after_commit(promotion: waitlist.Promotion) -> None:
    await waitlist.after_commit(promotion)


async def sync_signups(member_id: int | None = None, now: datetime | None = None) -> None:
    """Seat redemptions follow their signups (the owner's, or all): checked in → picked up;
    cancelled from the events side (the owner cancelled the signup itself, or staff
    cancelled the event) → the redemption cancelled, its points and stock back (once)."""
    from loyalty.rewards import service

    await sync_checked_in(member_id)
    sql = (
        "SELECT redemption.id FROM redemption JOIN signup ON signup.id = redemption.signup "
        "WHERE redemption.status IN ('reserved', 'ready') AND signup.status = 'cancelled'"
    )
    args: list[Any] = []
    if member_id is not None:
        sql += " AND redemption.member = {}"
        args.append(member_id)
    now = now or clock.now()
    for item in await db.fetch(sql, *args):
        async with db.transaction():
            row = await service.end_open(item["id"], "cancelled", now)
            if row is not None:
                await service.give_back(row, actor=points.SYSTEM, reason="signup_cancelled")


async def sync_checked_in(member_id: int | None = None) -> int:
    """Seat redemptions whose signup was checked in become picked up, at the check-in's time
    (the owner's, or all). Returns how many moved."""
    sql = (
        "UPDATE redemption SET status = 'picked_up', picked_up_at = "
        "(SELECT signup.checked_in_at FROM signup WHERE signup.id = redemption.signup) "
        "WHERE redemption.signup IS NOT NULL AND redemption.status IN ('reserved', 'ready') "
        "AND EXISTS (SELECT 1 FROM signup WHERE signup.id = redemption.signup AND signup.status = 'attended')"
    )
    args: list[Any] = []
    if member_id is not None:
        sql += " AND redemption.member = {}"
        args.append(member_id)
    return len(await db.fetch(sql + " RETURNING redemption.id", *args))
