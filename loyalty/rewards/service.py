"""The rewards catalogue's rules: what an owner may take, redeeming exactly once, giving points
back exactly once, the counter (ready, pick-up by signed code), gifts granted to a segment,
and the jobs that expire and remind.

Exactly once, under any concurrency:
- a redemption is one transaction: the owner's own lock (an advisory lock on PostgreSQL;
  SQLite's write transaction runs alone), then their Idempotency-Key looked up (a replay
  answers the first redemption), then the stock taken by a conditional UPDATE (the reward
  row's lock queues concurrent redemptions and each re-checks what is left, so stock is never
  oversold), then the points spent through the points service under a key derived from the
  owner's, then the row. Any refusal rolls all of it back.
- cancelling, expiring and picking up move a redemption by a conditional UPDATE of its status:
  of two racing moves one wins; only the winner gives points and stock back.
- locks are taken in one order everywhere (owner → redemption → an event seat's event →
  reward → points account), so two of these never wait for each other in a circle.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Sequence

from loyalty import clock, db, jobs
from loyalty.audit import service as audit
from loyalty.cards import codes
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import _, translate
from loyalty.i18n.format import Later, datetime as written_datetime, identifiers, number
from loyalty.members.stages import STAGES
from loyalty.points import service as points
from loyalty.rewards import rules, seats
# The front door for gifts other contexts give (a referral's stage reached) and take back.
from loyalty.rewards.gifts import after_commit as after_gifts_taken_back  # noqa: F401
from loyalty.rewards.gifts import gift_reservation, take_back as take_back_gifts  # noqa: F401
from loyalty.rewards.rules import owner_facts, price_for
from loyalty.rewards.tables import OPEN, REWARD_KINDS, TIERS, Redemption, Reward, RewardGrant

REMIND_BEFORE = timedelta(days=2)
MAX_STOCK = 1_000_000
GRANT_CHUNK = 500


class RewardOutOfStock(DomainError):
    type = "reward-out-of-stock"
    status = 409
    title = _("This reward is out of stock")


class RedemptionLimitReached(DomainError):
    type = "redemption-limit-reached"
    status = 409
    title = _("You have already redeemed this reward as many times as allowed")


class RedemptionClosed(DomainError):
    type = "redemption-closed"
    status = 409
    title = _("This redemption can no longer be changed")


class AlreadyPickedUp(DomainError):
    type = "redemption-already-picked-up"
    status = 409
    title = _("This reward has already been picked up")


class RedemptionExpired(DomainError):
    type = "redemption-expired"
    status = 409
    title = _("This reservation has expired; the points have been returned")


@dataclass(frozen=True)
class Redeemed:
    redemption_id: int
    replayed: bool = False


@dataclass
class RewardDraft:
    kind: str
    name_zh: str
    starts_on: date
    ends_on: date
    stock: int
    name_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    pickup_place: str = ""
    prices: dict[str, int | None] = field(default_factory=dict)  # tier → points (absent/None: not offered)
    per_owner_limit: int = 1
    eligible_tiers: list[str] = field(default_factory=list)
    eligible_stages: list[str] = field(default_factory=list)
    eligible_project_ids: list[int] = field(default_factory=list)
    collect_days: int = 14
    status: str = "draft"
    merchant_id: int | None = None  # a voucher: the merchant whose tills accept it
    event_id: int | None = None  # an event seat: its event


@dataclass(frozen=True)
class Offer:
    reward: dict[str, Any]
    price: int
    taken: int  # the owner's live redemptions of it


# --- the catalogue ---------------------------------------------------------------------------------


def _distinct(values: Sequence[Any]) -> list[Any]:
    """A list of choices with each one once ("gold, gold" is "gold"), in the order given."""
    return list(dict.fromkeys(values))


def _check_segment(tiers: Sequence[str], stages: Sequence[str], field_prefix: str = "eligible_") -> None:
    if set(tiers) - set(TIERS):
        raise InvalidField(_("Tiers are among {tiers}", tiers=Later(identifiers, TIERS)), field=f"{field_prefix}tiers")
    if set(stages) - set(STAGES):
        raise InvalidField(_("Stages are among {stages}", stages=Later(identifiers, STAGES)), field=f"{field_prefix}stages")


async def _check_projects(project_ids: Sequence[int], field_name: str) -> None:
    from loyalty.members.tables import Project

    if not project_ids:
        return
    found = {row["id"] for row in await Project.select(Project.id).where(Project.id.is_in(list(project_ids)))}
    if missing := [p for p in project_ids if p not in found]:
        raise InvalidField(_("There is no project {project_id}", project_id=missing[0]), field=field_name)


def _check(draft: RewardDraft) -> None:
    if draft.kind not in REWARD_KINDS:
        raise InvalidField(_("The kind is one of {kinds}", kinds=Later(identifiers, REWARD_KINDS)), field="kind")
    if not draft.name_zh.strip():
        raise InvalidField(_("A reward needs a Chinese name"), field="name_zh")
    if draft.ends_on < draft.starts_on:
        raise InvalidField(_("The last day must not be before the first"), field="ends_on")
    if not 0 <= draft.stock <= MAX_STOCK:
        raise InvalidField(_("The stock is 0 to {most}", most=Later(number, MAX_STOCK)), field="stock")
    if not 1 <= draft.per_owner_limit <= 100:
        raise InvalidField(_("The limit per owner is 1 to 100"), field="per_owner_limit")
    if not 1 <= draft.collect_days <= 365:
        raise InvalidField(_("The days to collect are 1 to 365"), field="collect_days")
    if set(draft.prices) - set(TIERS):
        raise InvalidField(_("Tiers are among {tiers}", tiers=Later(identifiers, TIERS)), field="prices")
    for tier, price in draft.prices.items():
        if price is not None and not 0 <= price <= points.MAX_POINTS:
            raise InvalidField(_("A price is 0 (free) or more points"), field=f"prices.{tier}")
    if draft.status not in ("draft", "published"):
        raise InvalidField(_("A new reward is {statuses}", statuses=Later(identifiers, ("draft", "published"))), field="status")
    _check_segment(draft.eligible_tiers, draft.eligible_stages)


async def _check_kind(draft: RewardDraft) -> None:
    """A voucher names its merchant (an active one), an event seat its event."""
    from loyalty.merchants.tables import Merchant

    if draft.kind == "voucher":
        if draft.merchant_id is None:
            raise InvalidField(_("A voucher names the merchant whose tills accept it"), field="merchant_id")
        merchant = await Merchant.select(Merchant.status).where(Merchant.id == draft.merchant_id).first()
        if merchant is None:
            raise InvalidField(_("There is no merchant {merchant_id}", merchant_id=draft.merchant_id), field="merchant_id")
    if draft.kind == "event_seat":
        await seats.check_event(draft.event_id)


async def create_reward(draft: RewardDraft, staff_id: int) -> int:
    """A reward staff publish (or keep as a draft, e.g. a gift only granted): audited."""
    draft = replace(
        draft, eligible_tiers=_distinct(draft.eligible_tiers), eligible_stages=_distinct(draft.eligible_stages),
        eligible_project_ids=_distinct(draft.eligible_project_ids),
    )
    _check(draft)
    await _check_projects(draft.eligible_project_ids, "eligible_project_ids")
    await _check_kind(draft)
    async with db.transaction():
        rows = await Reward.insert(Reward(
            kind=draft.kind, name_zh=draft.name_zh.strip(), name_en=draft.name_en.strip(),
            description_zh=draft.description_zh, description_en=draft.description_en, pickup_place=draft.pickup_place,
            **{rules.PRICE_COLUMN[t]: draft.prices.get(t) for t in TIERS},
            stock_total=draft.stock, stock_remaining=draft.stock, per_owner_limit=draft.per_owner_limit,
            starts_on=draft.starts_on, ends_on=draft.ends_on, eligible_tiers=",".join(draft.eligible_tiers),
            eligible_stages=",".join(draft.eligible_stages),
            eligible_projects=",".join(str(p) for p in draft.eligible_project_ids), collect_days=draft.collect_days,
            status=draft.status, created_by=staff_id, created_at=clock.now(),
            merchant=draft.merchant_id if draft.kind == "voucher" else None,
            event=draft.event_id if draft.kind == "event_seat" else None,
        )).returning(Reward.id)
        await audit.record(action="reward.create", subject_kind="reward", subject_id=rows[0]["id"], actor_id=staff_id)
    return rows[0]["id"]


async def set_status(reward_id: int, status: str, staff_id: int) -> None:
    """Publish a draft or withdraw a reward (open redemptions of it stay valid)."""
    async with db.transaction():
        rows = await Reward.update({Reward.status: status}).where(Reward.id == reward_id).returning(Reward.id)
        if not rows:
            raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
        await audit.record(action=f"reward.{status}", subject_kind="reward", subject_id=reward_id, actor_id=staff_id)


async def add_stock(reward_id: int, added: int, staff_id: int) -> None:
    """More of a reward arrived (or fewer than counted: a negative number, never below what is left)."""
    if not -MAX_STOCK <= added <= MAX_STOCK or added == 0:
        raise InvalidField(_("Add between 1 and {most} (or take away as many)", most=Later(number, MAX_STOCK)), field="added")
    async with db.transaction():
        rows = await db.fetch(
            "UPDATE reward SET stock_total = stock_total + {}, stock_remaining = stock_remaining + {} "
            "WHERE id = {} AND stock_remaining + {} >= 0 RETURNING id", added, added, reward_id, added,
        )
        if not rows:
            if not await Reward.exists().where(Reward.id == reward_id):
                raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
            raise InvalidField(_("Not that many are left to take away"), field="added")
        await audit.record(action="reward.stock", subject_kind="reward", subject_id=reward_id, actor_id=staff_id,
                           data={"added": added})


async def _taken(member_id: int, reward_ids: Sequence[int]) -> dict[int, int]:
    """The owner's redemptions that count against a reward's limit (all but given-back ones)."""
    if not reward_ids:
        return {}
    rows = await Redemption.select(Redemption.reward, Redemption.id).where(
        (Redemption.member == member_id) & Redemption.reward.is_in(list(reward_ids))
        & Redemption.status.not_in(["cancelled", "expired"]) & Redemption.granted_by.is_null()
    )
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["reward"]] = counts.get(row["reward"], 0) + 1
    return counts


async def catalogue(member_id: int, today: date | None = None) -> list[Offer]:
    """What this owner may redeem today: published, within its dates, offered to their tier
    (a price, 0 = free), their stage and project, in stock, and their limit not reached."""
    today = today or clock.today()
    owner = await owner_facts(member_id)
    rewards = await Reward.select().where(
        (Reward.status == "published") & (Reward.starts_on <= today) & (Reward.ends_on >= today)
        & (Reward.stock_remaining > 0)
    ).order_by(Reward.id)
    taken = await _taken(member_id, [r["id"] for r in rewards])
    offers = []
    for reward in rewards:
        price = price_for(reward, owner.tier)
        if price is None or rules.refusal(reward, owner, today) is not None:
            continue
        if taken.get(reward["id"], 0) >= reward["per_owner_limit"]:
            continue
        offers.append(Offer(reward, price, taken.get(reward["id"], 0)))
    return offers


# --- redeeming ------------------------------------------------------------------------------------


def _ledger_key(member_id: int, key: str) -> str:
    return f"reward:{member_id}:{key}"


async def redeem(member_id: int, reward_id: int, key: str, *, now: datetime | None = None) -> Redeemed:
    """Redeem a reward with points, exactly once per Idempotency-Key (the same key for another
    reward is a conflict; a refused redemption is not kept, so its key may be used again)."""
    key = (key or "").strip()
    if not 1 <= len(key) <= 100:
        raise InvalidField(_("An Idempotency-Key of 1 to 100 characters is needed"), field="Idempotency-Key", source="header")
    if key.startswith(RESERVED_KEY_PREFIXES):  # the keys of gifts given to the owner: never the owner's own
        raise InvalidField(
            _("An Idempotency-Key may not start with {prefixes}", prefixes=Later(identifiers, RESERVED_KEY_PREFIXES)),
            field="Idempotency-Key", source="header",
        )
    now = now or clock.now()
    today = now.astimezone(clock.LOCAL_ZONE).date()
    fingerprint = points.request_hash(op="redeem-reward", reward=reward_id)
    async with db.transaction():
        # The owner's requests run one at a time from here, so "look the key up, check the
        # limit, insert" cannot interleave with the owner's other click.
        await db.serialise_on(f"rewards:member:{member_id}")
        first = await Redemption.raw(
            "SELECT id, request_hash FROM redemption WHERE member = {} AND idempotency_key = {}", member_id, key
        )
        if first:
            if first[0]["request_hash"] != fingerprint:
                raise points.IdempotencyConflict(
                    points.KEY_USED_FOR_ANOTHER.format(key=key), field="Idempotency-Key", source="header"
                )
            return Redeemed(first[0]["id"], replayed=True)
        reward = await Reward.select().where((Reward.id == reward_id) & (Reward.status != "draft")).first()
        if reward is None:
            raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
        owner = await owner_facts(member_id)
        if (refused := rules.refusal(reward, owner, today)) is not None:
            raise refused
        price = price_for(reward, owner.tier) or 0
        taken = (await _taken(member_id, [reward_id])).get(reward_id, 0)
        if taken >= reward["per_owner_limit"]:
            raise RedemptionLimitReached(
                _("You may redeem this reward {limit} times at most", limit=reward["per_owner_limit"]),
                limit=reward["per_owner_limit"],
            )
        # An event seat is the owner's signup (the event full refuses it all), taken first: the
        # lock order. It lasts until the event ends; a voucher is usable at once.
        signup, expires_at = None, now + timedelta(days=reward["collect_days"])
        if reward["kind"] == "event_seat":
            signup, expires_at = await seats.take_seat(reward, member_id, now)
        if not await _take_stock(reward_id, 1):
            raise RewardOutOfStock(reward_id=reward_id)
        ledger_key = ""
        if price:
            ledger_key = _ledger_key(member_id, key)
            await points.redeem(
                member_id, price, key=ledger_key, source_kind="reward", source_id=str(reward_id),
                actor=points.Actor("member", member_id),
            )
        ready = reward["kind"] in READY_AT_ONCE
        rows = await Redemption.insert(Redemption(
            reward=reward_id, member=member_id, points=price, status="ready" if ready else "reserved", idempotency_key=key,
            request_hash=fingerprint, ledger_key=ledger_key, code_nonce=_nonce(), reserved_at=now,
            ready_at=now if ready else None, expires_at=expires_at, signup=signup,
        )).returning(Redemption.id)
    return Redeemed(rows[0]["id"])


# Idempotency-Keys of what the platform gives (segment grants, gifts from other contexts).
RESERVED_KEY_PREFIXES = ("gift:", "sys:")
READY_AT_ONCE = ("voucher", "event_seat")


NOT_A_PICKUP_CODE = _("This is not a valid pick-up code: ask the owner to open it again under My rewards")


def _nonce() -> int:
    # Signed into the pick-up code (4 bytes): a code names its redemption and nothing else.
    return secrets.randbelow(2**31 - 1) + 1


new_nonce = _nonce


async def _take_stock(reward_id: int, count: int) -> bool:
    rows = await db.fetch(
        "UPDATE reward SET stock_remaining = stock_remaining - {} WHERE id = {} AND stock_remaining >= {} RETURNING id",
        count, reward_id, count,
    )
    return bool(rows)


async def _give_back(row: dict[str, Any], *, actor: points.Actor, reason: str) -> None:
    """Inside the transaction that ended `row` (cancelled or expired): its stock back, then
    its points back through the ledger (a reversal under its own key: once)."""
    await db.fetch("UPDATE reward SET stock_remaining = stock_remaining + 1 WHERE id = {} RETURNING id", row["reward"])
    if row["ledger_key"]:
        entry = await points.reverse(row["ledger_key"], key=f"reward-return:{row['id']}", actor=actor, reason=reason)
        await Redemption.update({Redemption.return_entry: entry.entry_id}).where(Redemption.id == row["id"])


async def _end(redemption_id: int, status: str, now: datetime, extra_sql: str = "", *args: Any) -> dict[str, Any] | None:
    rows = await db.fetch(
        "UPDATE redemption SET status = {}, ended_at = {} WHERE id = {} AND status IN ('reserved', 'ready') "
        + extra_sql + " RETURNING *", status, now, redemption_id, *args,
    )
    return dict(rows[0]) if rows else None


async def cancel(member_id: int, redemption_id: int, *, now: datetime | None = None) -> None:
    """The owner cancels a redemption not yet picked up: the points and the stock go back."""
    now = now or clock.now()
    async with db.transaction():
        await db.serialise_on(f"rewards:member:{member_id}")
        mine = await Redemption.select(Redemption.status).where(
            (Redemption.id == redemption_id) & (Redemption.member == member_id)
        ).first()
        if mine is None:
            raise NotFound(_("There is no redemption {redemption_id}", redemption_id=redemption_id))
        row = await _end(redemption_id, "cancelled", now)
        if row is None:
            raise RedemptionClosed(status_now=mine["status"])
        promotion = await seats.release(row, now)  # a seat's signup cancelled (by its deadline)
        await _give_back(row, actor=points.Actor("member", member_id), reason="cancelled")
    await seats.after_commit(promotion)


async def expire_due(now: datetime | None = None) -> int:
    """Reservations not collected in time expire and give their points and stock back (each
    once, whatever runs at the same time). Returns how many expired."""
    now = now or clock.now()
    await seats.sync_signups(now=now)  # a seat used at the door is picked up, never expired
    due = await Redemption.select(Redemption.id).where(
        Redemption.status.is_in(list(OPEN)) & (Redemption.expires_at <= now)
    ).order_by(Redemption.id)
    return sum([await _expire(item["id"], now) for item in due])


async def _expire(redemption_id: int, now: datetime) -> bool:
    """One uncollected reservation past its time: expired, its points and stock back (once)."""
    async with db.transaction():
        row = await _end(redemption_id, "expired", now, "AND expires_at <= {}", now)
        if row is not None:
            await _give_back(row, actor=points.SYSTEM, reason="expired")
    return row is not None


# What the rewards package's other modules (vouchers, gifts) use of the rules above.
end_open = _end
give_back = _give_back
expire_one = _expire


# --- the counter --------------------------------------------------------------------------------------


def pickup_code(signer: codes.CodeSigner, redemption: dict[str, Any]) -> str:
    return signer.sign("pickup", redemption["id"], step=redemption["code_nonce"])


async def mark_ready(redemption_id: int, staff_id: int, *, now: datetime | None = None) -> None:
    """Staff have the reward at the counter: the owner is told it is ready to collect."""
    now = now or clock.now()
    async with db.transaction():
        rows = await db.fetch(
            "UPDATE redemption SET status = 'ready', ready_at = {} WHERE id = {} AND status = 'reserved' RETURNING member",
            now, redemption_id,
        )
        if not rows:
            found = await Redemption.select(Redemption.status).where(Redemption.id == redemption_id).first()
            if found is None:
                raise NotFound(_("There is no redemption {redemption_id}", redemption_id=redemption_id))
            raise RedemptionClosed(status_now=found["status"])
        await audit.record(action="redemption.ready", subject_kind="redemption", subject_id=redemption_id, actor_id=staff_id)
    await jobs.enqueue("loyalty.rewards.notify", redemption_id, "ready")


async def pick_up(code: str, staff_id: int, signer: codes.CodeVerifier, *, now: datetime | None = None) -> int:
    """Hand the reward over for the owner's signed pick-up code: once. A code used again, an
    expired or cancelled reservation are refused with what happened. Returns the redemption."""
    now = now or clock.now()
    try:
        payload = signer.open(code)
    except (codes.CodeMalformed, codes.CodeBadSignature, codes.CodeUnknownKey) as error:
        # The counter clerk needs what to do, not the code's format or its cryptography.
        raise type(error)(NOT_A_PICKUP_CODE, field="code") from None
    if payload.kind != "pickup":
        raise codes.CodeMalformed(_("This is not a pick-up code"), field="code")
    async with db.transaction():
        rows = await db.fetch(
            "UPDATE redemption SET status = 'picked_up', picked_up_at = {}, picked_up_by = {} "
            "WHERE id = {} AND code_nonce = {} AND status IN ('reserved', 'ready') AND expires_at > {} RETURNING id",
            now, staff_id, payload.subject_id, payload.step, now,
        )
        if rows:
            return rows[0]["id"]
    found = await Redemption.select().where(
        (Redemption.id == payload.subject_id) & (Redemption.code_nonce == payload.step)
    ).first()
    if found is None:
        raise codes.CodeBadSignature(_("No redemption has this code"), field="code")
    if found["status"] == "picked_up":
        raise AlreadyPickedUp(
            _("Picked up at {at}", at=Later(written_datetime, found["picked_up_at"])),
            picked_up_at=found["picked_up_at"].isoformat(),
        )
    if found["status"] in OPEN:  # past its time, before the job came by: give it back now, as it says
        await _expire(found["id"], now)
    if found["status"] == "expired" or found["status"] in OPEN:
        raise RedemptionExpired(expired_at=found["expires_at"].isoformat())
    raise RedemptionClosed(status_now=found["status"])


# --- gifts granted by rules ---------------------------------------------------------------------------


def _segment_sql(tiers: Sequence[str], stages: Sequence[str], projects: Sequence[int]) -> tuple[str, list[Any]]:
    sql = ["SELECT member.id FROM member WHERE member.erased_at IS NULL"]
    args: list[Any] = []
    if tiers:
        sql.append(
            "AND COALESCE((SELECT card.tier FROM card WHERE card.member = member.id AND card.status <> 'replaced'), 'blue') "
            f"IN ({', '.join('{}' for _t in tiers)})"
        )
        args += list(tiers)
    if stages:
        sql.append(f"AND member.stage IN ({', '.join('{}' for _s in stages)})")
        args += list(stages)
    if projects:
        sql.append(
            "AND EXISTS (SELECT 1 FROM ownership JOIN unit ON unit.id = ownership.unit WHERE ownership.member = member.id "
            f"AND ownership.status = 'active' AND unit.project IN ({', '.join('{}' for _p in projects)}))"
        )
        args += list(projects)
    return " ".join(sql) + " ORDER BY member.id", args


async def grant(
    reward_id: int, *, staff_id: int, occasion: str, tiers: Sequence[str] = (), stages: Sequence[str] = (),
    project_ids: Sequence[int] = (), now: datetime | None = None,
) -> tuple[int, int]:
    """A free gift for every owner in the segment (tiers, stages, projects; empty = any):
    one reservation each per reward and occasion, however often it is granted, each taking
    one from the stock (all or none: too little stock refuses the grant). Returns (grant id,
    reservations made)."""
    occasion = " ".join((occasion or "").split())
    tiers, stages, project_ids = _distinct(tiers), _distinct(stages), _distinct(project_ids)
    if not 2 <= len(occasion) <= 100:
        raise InvalidField(_("Name the occasion (2 to 100 characters)"), field="occasion")
    _check_segment(tiers, stages, "")
    await _check_projects(project_ids, "project_ids")
    now = now or clock.now()
    async with db.transaction():
        reward = await Reward.select().where(Reward.id == reward_id).first()
        if reward is None:
            raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
        if reward["status"] == "withdrawn":
            raise rules.RewardNotOnOffer(_("This reward has been withdrawn"), reason="withdrawn")
        made = await RewardGrant.insert(RewardGrant(
            reward=reward_id, occasion=occasion, segment_tiers=",".join(tiers), segment_stages=",".join(stages),
            segment_projects=",".join(str(p) for p in project_ids), created_by=staff_id, created_at=now,
        )).returning(RewardGrant.id)
        grant_id = made[0]["id"]
        sql, args = _segment_sql(tiers, stages, project_ids)
        members = [row["id"] for row in await db.fetch(sql, *args)]
        # "2027 春节" and "2027春节" are one occasion: the key ignores spaces and case.
        key = f"gift:{reward_id}:{''.join(occasion.casefold().split())}"[:200]
        count = 0
        for start in range(0, len(members), GRANT_CHUNK):
            inserted = await Redemption.insert(*(
                Redemption(
                    reward=reward_id, member=member, points=0, status="reserved", idempotency_key=key,
                    request_hash=points.request_hash(op="gift", reward=reward_id, occasion=occasion), code_nonce=_nonce(),
                    granted_by=grant_id, reserved_at=now, expires_at=now + timedelta(days=reward["collect_days"]),
                )
                for member in members[start:start + GRANT_CHUNK]
            )).on_conflict(action="DO NOTHING").returning(Redemption.id)
            count += len(inserted)
        if count and not await _take_stock(reward_id, count):
            raise RewardOutOfStock(
                _("{needed} gifts are needed, {left} are in stock", needed=count, left=reward["stock_remaining"]),
                reward_id=reward_id, needed=count, left=reward["stock_remaining"],
            )
        await RewardGrant.update({RewardGrant.granted: count}).where(RewardGrant.id == grant_id)
        await audit.record(action="reward.grant", subject_kind="reward", subject_id=reward_id, actor_id=staff_id,
                           data={"grant": grant_id, "granted": count, "occasion": occasion})
    return grant_id, count


# --- reports and reminders -------------------------------------------------------------------


async def report() -> list[dict[str, Any]]:
    """Per reward: stock, redemptions by status, points spent on collected ones and the
    liability (points held by reservations not yet collected, which may still come back)."""
    rows = await db.fetch(
        "SELECT reward.id, reward.name_zh, reward.name_en, reward.status, reward.stock_total, reward.stock_remaining, "
        "redemption.status AS redemption_status, COUNT(redemption.id) AS count, COALESCE(SUM(redemption.points), 0) AS points "
        "FROM reward LEFT JOIN redemption ON redemption.reward = reward.id "
        "GROUP BY reward.id, reward.name_zh, reward.name_en, reward.status, reward.stock_total, reward.stock_remaining, "
        "redemption.status ORDER BY reward.id"
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        item = out.setdefault(row["id"], {
            "reward_id": row["id"], "name_zh": row["name_zh"], "name_en": row["name_en"], "status": row["status"],
            "stock_total": row["stock_total"], "stock_remaining": row["stock_remaining"], "counts": {},
            "points_collected": 0, "points_held": 0,
        })
        if row["redemption_status"] is None:
            continue
        item["counts"][row["redemption_status"]] = int(row["count"])
        if row["redemption_status"] in OPEN:
            item["points_held"] += int(row["points"])
        elif row["redemption_status"] == "picked_up":
            item["points_collected"] += int(row["points"])
    return list(out.values())


async def remind_due(now: datetime | None = None) -> int:
    """Tell owners, through the outbox, two days before a reservation expires (once each)."""
    now = now or clock.now()
    rows = await Redemption.select(Redemption.id).where(
        Redemption.status.is_in(list(OPEN)) & (Redemption.expires_at > now)
        & (Redemption.expires_at <= now + REMIND_BEFORE) & Redemption.reminded_at.is_null()
        & Redemption.signup.is_null()  # an event seat: the event's own reminders tell the owner
    )
    for row in rows:
        await notify(row["id"], "reminder")
    return len(rows)


_WORDS = {
    "ready": (_("Your reward is ready to collect"),
              _("{reward} is ready at {place}. Show the pick-up code before {until}.")),
    "reminder": (_("Collect your reward soon"),
                 _("{reward} waits for you at {place} until {until}; after that the reservation ends and its points come back.")),
}


async def notify(redemption_id: int, what: str) -> None:
    """The owner is told about a redemption (`ready`, `reminder`) in their language, once
    each (the outbox's dedupe key)."""
    from loyalty.care import outbox

    rows = await db.fetch(
        "SELECT redemption.id, redemption.member, redemption.expires_at, redemption.status, reward.name_zh, reward.name_en, "
        "COALESCE(merchant.name, reward.pickup_place) AS pickup_place FROM redemption "
        "JOIN reward ON reward.id = redemption.reward LEFT JOIN merchant ON merchant.id = reward.merchant "
        "WHERE redemption.id = {}",
        redemption_id,
    )
    if not rows or rows[0]["status"] not in OPEN:
        return
    row = rows[0]
    subject, body = _WORDS[what]
    texts = {}
    for locale in ("zh-CN", "en"):
        name = row["name_en"] if locale == "en" and row["name_en"] else row["name_zh"]
        filled = body.format(reward=name, place=row["pickup_place"] or "-", until=Later(written_datetime, row["expires_at"]))
        texts[locale] = (translate(subject, locale), translate(filled, locale))
    await outbox.message_member(
        row["member"], kind="reward_pickup", template=f"reward_{what}", texts=texts,
        dedupe_key=f"reward-{what}:{redemption_id}",
    )
    if what == "reminder":
        await Redemption.update({Redemption.reminded_at: clock.now()}).where(Redemption.id == redemption_id)


async def owner_redemptions(member_id: int, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The owner's redemptions and gifts to collect, newest first, with their reward (and a
    voucher's merchant, a seat's event)."""
    await seats.sync_signups(member_id)
    sql = (
        "SELECT redemption.*, reward.kind AS reward_kind, reward.name_zh AS reward_name_zh, reward.name_en AS reward_name_en, "
        "reward.pickup_place AS pickup_place, reward_grant.occasion AS occasion, merchant.name AS merchant_name, "
        "reward.event AS event_id FROM redemption "
        "JOIN reward ON reward.id = redemption.reward LEFT JOIN reward_grant ON reward_grant.id = redemption.granted_by "
        "LEFT JOIN merchant ON merchant.id = reward.merchant WHERE redemption.member = {}"
    )
    args: list[Any] = [member_id]
    if ids is not None:
        sql += f" AND redemption.id IN ({', '.join('{}' for _i in ids) or 'NULL'})"
        args += list(ids)
    return [dict(r) for r in await db.fetch(sql + " ORDER BY redemption.id DESC LIMIT 200", *args)]


async def counter_list(
    status: str | None = None, reward_id: int | None = None, *, redemption_id: int | None = None
) -> list[dict[str, Any]]:
    """Reservations for the counter: open ones (or of `status`), soonest to expire first."""
    statuses = [status] if status else list(OPEN)
    sql = (
        "SELECT redemption.id, redemption.status, redemption.points, redemption.reserved_at, redemption.ready_at, "
        "redemption.expires_at, redemption.picked_up_at, redemption.granted_by, reward.id AS reward_id, "
        "reward.name_zh AS reward_name_zh, reward.name_en AS reward_name_en, member.name AS member_name, "
        "member.phone AS member_phone FROM redemption JOIN reward ON reward.id = redemption.reward "
        "JOIN member ON member.id = redemption.member "
        f"WHERE redemption.status IN ({', '.join('{}' for _s in statuses)}) "
        # a voucher is used at its merchant's till, a seat at the event's door: not here
        "AND reward.kind NOT IN ('voucher', 'event_seat')"
    )
    args: list[Any] = list(statuses)
    if reward_id is not None:
        sql += " AND redemption.reward = {}"
        args.append(reward_id)
    if redemption_id is not None:
        sql += " AND redemption.id = {}"
        args.append(redemption_id)
    return [dict(r) for r in await db.fetch(sql + " ORDER BY redemption.expires_at, redemption.id LIMIT 500", *args)]


async def erase_member(member_id: int, now: datetime | None = None) -> int:
    """An erased owner's reservations not yet collected are cancelled: stock back to the
    catalogue, points back to the ledger (which erasure then forfeits with the rest)."""
    now = now or clock.now()
    ids = await Redemption.select(Redemption.id).where(
        (Redemption.member == member_id) & Redemption.status.is_in(list(OPEN))
    )
    for item in ids:
        async with db.transaction():
            row = await _end(item["id"], "cancelled", now)
            if row is not None:
                await _give_back(row, actor=points.SYSTEM, reason="erased")
    return len(ids)

