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
from datetime import date, datetime, timedelta, timezone
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
    pickup_place_en: str = ""
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
    _check_fields(draft)
    if not 0 <= draft.stock <= MAX_STOCK:
        raise InvalidField(_("The stock is 0 to {most}", most=Later(number, MAX_STOCK)), field="stock")
    if draft.status not in ("draft", "published"):
        raise InvalidField(_("A new reward is {statuses}", statuses=Later(identifiers, ("draft", "published"))), field="status")


def _check_fields(draft: RewardDraft) -> None:
    """The checks a reward's fields pass whether it is made or edited (stock and status have their own routes)."""
    if draft.kind not in REWARD_KINDS:
        raise InvalidField(_("The kind is one of {kinds}", kinds=Later(identifiers, REWARD_KINDS)), field="kind")
    if not draft.name_zh.strip():
        raise InvalidField(_("A reward needs a Chinese name"), field="name_zh")
    if draft.ends_on < draft.starts_on:
        raise InvalidField(_("The last day must not be before the first"), field="ends_on")
    if not 1 <= draft.per_owner_limit <= 100:
        raise InvalidField(_("The limit per owner is 1 to 100"), field="per_owner_limit")
    if not 1 <= draft.collect_days <= 365:
        raise InvalidField(_("The days to collect are 1 to 365"), field="collect_days")
    if set(draft.prices) - set(TIERS):
        raise InvalidField(_("Tiers are among {tiers}", tiers=Later(identifiers, TIERS)), field="prices")
    for tier, price in draft.prices.items():
        if price is not None and not 0 <= price <= points.MAX_POINTS:
            raise InvalidField(_("A price is 0 (free) or more points"), field=f"prices.{tier}")
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
            pickup_place_en=draft.pickup_place_en.strip(), **{rules.PRICE_COLUMN[t]: draft.prices.get(t) for t in TIERS},
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


# The fields an edit may change, as the draft names them ("prices" is the four price columns).
EDITABLE = (
    "kind", "name_zh", "name_en", "description_zh", "description_en", "pickup_place", "pickup_place_en", "prices",
    "per_owner_limit", "starts_on", "ends_on", "eligible_tiers", "eligible_stages", "eligible_project_ids", "collect_days",
)


def _as_draft(row: dict[str, Any]) -> RewardDraft:
    return RewardDraft(
        kind=row["kind"], name_zh=row["name_zh"], name_en=row["name_en"], description_zh=row["description_zh"],
        description_en=row["description_en"], pickup_place=row["pickup_place"], pickup_place_en=row["pickup_place_en"],
        prices={t: row[rules.PRICE_COLUMN[t]] for t in TIERS}, per_owner_limit=row["per_owner_limit"],
        starts_on=row["starts_on"], ends_on=row["ends_on"], eligible_tiers=rules.split(row["eligible_tiers"]),
        eligible_stages=rules.split(row["eligible_stages"]),
        eligible_project_ids=[int(p) for p in rules.split(row["eligible_projects"])], collect_days=row["collect_days"],
        stock=row["stock_remaining"], status=row["status"],
    )


def _recorded(draft: RewardDraft) -> dict[str, Any]:
    """A draft's editable fields as the audit keeps them (dates as ISO text)."""
    return {
        name: (value.isoformat() if isinstance(value, date) else dict(value) if isinstance(value, dict) else value)
        for name in EDITABLE for value in [getattr(draft, name)]
    }


async def update_reward(reward_id: int, changes: dict[str, Any], staff_id: int) -> None:
    """Edit a reward's fields (those in `changes`; the rest stay), with the checks a new one
    passes; audited with what it was and what it became. Stock and status are not edited here
    (they have their own routes: a withdrawn reward stays withdrawn). A new price counts for
    redemptions from now on: those made keep the points they were made with."""
    if unknown := set(changes) - set(EDITABLE):
        raise InvalidField(_("This field cannot be edited here"), field=sorted(unknown)[0])
    async with db.transaction():
        row = await Reward.select().where(Reward.id == reward_id).first()
        if row is None:
            raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
        if changes.get("kind", row["kind"]) != row["kind"]:
            # A voucher needs its merchant, a seat its event, and the redemptions already made are
            # of the old kind (a pick-up code, a voucher code, a ticket): a new kind is a new reward.
            raise InvalidField(
                _("A reward's kind cannot change once it is made: create a new reward of the kind you want"), field="kind",
            )
        before = _as_draft(row)
        # `prices`, when given, is all four tiers (one left out is not offered to it).
        after = replace(before, **changes)
        after = replace(
            after, name_zh=after.name_zh.strip(), name_en=after.name_en.strip(), pickup_place_en=after.pickup_place_en.strip(),
            eligible_tiers=_distinct(after.eligible_tiers), eligible_stages=_distinct(after.eligible_stages),
            eligible_project_ids=_distinct(after.eligible_project_ids),
        )
        _check_fields(after)
        await _check_projects(after.eligible_project_ids, "eligible_project_ids")
        old, new = _recorded(before), _recorded(after)
        if old == new:
            return
        await Reward.update({
            Reward.kind: after.kind, Reward.name_zh: after.name_zh, Reward.name_en: after.name_en,
            Reward.description_zh: after.description_zh, Reward.description_en: after.description_en,
            Reward.pickup_place: after.pickup_place, Reward.pickup_place_en: after.pickup_place_en,
            Reward.price_platinum: after.prices.get("platinum"), Reward.price_gold: after.prices.get("gold"),
            Reward.price_silver: after.prices.get("silver"), Reward.price_blue: after.prices.get("blue"),
            Reward.per_owner_limit: after.per_owner_limit, Reward.starts_on: after.starts_on, Reward.ends_on: after.ends_on,
            Reward.eligible_tiers: ",".join(after.eligible_tiers), Reward.eligible_stages: ",".join(after.eligible_stages),
            Reward.eligible_projects: ",".join(str(p) for p in after.eligible_project_ids),
            Reward.collect_days: after.collect_days,
        }).where(Reward.id == reward_id)
        changed = [name for name in EDITABLE if old[name] != new[name]]
        await audit.record(
            action="reward.update", subject_kind="reward", subject_id=reward_id, actor_id=staff_id,
            data={"before": {n: old[n] for n in changed}, "after": {n: new[n] for n in changed}},
        )


async def reward(reward_id: int) -> dict[str, Any]:
    """One reward's row as staff see it (any status), or not found."""
    row = await Reward.select().where(Reward.id == reward_id).first()
    if row is None:
        raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
    return row


PAGE_SIZE = 100
MAX_PAGE = 500


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidField(_("The limit is 1 to {most}", most=MAX_PAGE), field="limit", source="query")
    if not 0 <= offset <= 2**31 - 1:
        raise InvalidField(_("The offset is 0 or more"), field="offset", source="query")


async def list_rewards(status: str | None = None, *, limit: int = PAGE_SIZE, offset: int = 0) -> list[dict[str, Any]]:
    """Every reward as staff see it (drafts and withdrawn ones too, or those of `status`), newest first, a page at a time."""
    _check_page(limit, offset)
    query = Reward.select()
    if status is not None:
        query = query.where(Reward.status == status)
    return await query.order_by(Reward.id, ascending=False).limit(limit).offset(offset)


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
    if key.casefold().startswith(RESERVED_KEY_PREFIXES):  # the keys of gifts given to the owner: never the owner's own
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
    kind = await db.fetch(
        "SELECT reward.kind FROM redemption JOIN reward ON reward.id = redemption.reward WHERE redemption.id = {}",
        payload.subject_id,
    )
    if kind and kind[0]["kind"] in READY_AT_ONCE:  # used at a merchant's till, or a ticket at the door: not here
        raise codes.CodeMalformed(NOT_A_PICKUP_CODE, field="code")
    async with db.transaction():
        rows = await db.fetch(
            "UPDATE redemption SET status = 'picked_up', picked_up_at = {}, picked_up_by = {} "
            "WHERE id = {} AND code_nonce = {} AND status IN ('reserved', 'ready') AND expires_at > {} RETURNING id",
            now, staff_id, payload.subject_id, payload.step, now,
        )
        if rows:
            await audit.record(action="reward.pickup", subject_kind="redemption", subject_id=rows[0]["id"], actor_id=staff_id)
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


GIFT_KEY_PREFIX = "gift:"


def gift_key(reward_id: int, dedupe_key: str) -> str:
    """The Redemption.idempotency_key of a gift: `gift:<reward>:<dedupe key>`. An owner's own
    Idempotency-Key never starts with `gift:` (redeem refuses it), so no owner can take, or
    block, a gift's place."""
    return f"{GIFT_KEY_PREFIX}{reward_id}:{dedupe_key}"[:200]


@dataclass(frozen=True)
class Gifts:
    made: list[int]  # the new reservations, in member-id order
    short: int = 0  # owners due one who got none: out of stock (only when not all_or_none)


async def gift_reservations(
    reward_id: int, member_ids: Sequence[int], dedupe_key: str, *, granted_by: int | None = None,
    all_or_none: bool = True, now: datetime | None = None,
) -> Gifts:
    """One free reservation of the reward for each owner named who has none for `dedupe_key`
    yet (whatever ran before or runs at the same time), each taking one from the stock, and the
    owner told through the outbox. Too little stock: with `all_or_none` nothing is made
    (RewardOutOfStock), else the first owners by member id get one and the rest are counted
    in `short`. Runs in the caller's transaction (or its own)."""
    now = now or clock.now()
    key = gift_key(reward_id, dedupe_key)
    members = sorted(set(member_ids))
    async with db.transaction():
        # The reward's row lock first (a redemption takes it too, after the owner's): gifts of
        # one reward are made one run at a time, and each run counts the stock the one before
        # left, so two runs at once neither give an owner two nor take more than there is.
        locked = await db.fetch(
            "UPDATE reward SET stock_remaining = stock_remaining WHERE id = {} RETURNING stock_remaining, collect_days, kind",
            reward_id,
        )
        if not locked:
            raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
        left, collect_days = locked[0]["stock_remaining"], locked[0]["collect_days"]
        ready = locked[0]["kind"] in READY_AT_ONCE  # a voucher is used at its merchant's till: nothing to wait for
        have = {row["member"] for row in await db.fetch(
            "SELECT member FROM redemption WHERE reward = {} AND idempotency_key = {}", reward_id, key,
        )}
        due = [member for member in members if member not in have]
        if all_or_none and len(due) > left:
            raise RewardOutOfStock(
                _("{needed} gifts are needed, {left} are in stock", needed=len(due), left=left),
                reward_id=reward_id, needed=len(due), left=left,
            )
        giving = due[:max(left, 0)]
        made: list[int] = []
        fingerprint = points.request_hash(op="gift", reward=reward_id, occasion=dedupe_key)
        for start in range(0, len(giving), GRANT_CHUNK):
            inserted = await Redemption.insert(*(
                Redemption(
                    reward=reward_id, member=member, points=0, status="ready" if ready else "reserved", idempotency_key=key,
                    request_hash=fingerprint, code_nonce=_nonce(), granted_by=granted_by, reserved_at=now, ready_at=now if ready else None,
                    expires_at=now + timedelta(days=collect_days),
                )
                for member in giving[start:start + GRANT_CHUNK]
            )).on_conflict(action="DO NOTHING").returning(Redemption.id)
            made += sorted(row["id"] for row in inserted)
        if made and not await _take_stock(reward_id, len(made)):  # never: the lock above holds the count
            raise RewardOutOfStock(reward_id=reward_id)
        for redemption_id in made:  # with the gift, in its transaction: never one without the other
            await notify(redemption_id, "gift")
    return Gifts(made=made, short=len(due) - len(giving))


@dataclass(frozen=True)
class GrantPreview:
    owners: int  # the owners the grant would give a gift to now (those who had it for this occasion left out)
    stock_left: int


async def grant_preview(
    reward_id: int, *, occasion: str, tiers: Sequence[str] = (), stages: Sequence[str] = (), project_ids: Sequence[int] = (),
) -> GrantPreview:
    """How many owners a grant with these choices would reach, counted as the grant counts them
    (the same segment, less the owners already given this reward for this occasion), and the
    stock there is for them. Nothing is written."""
    occasion = " ".join((occasion or "").split())
    tiers, stages, project_ids = _distinct(tiers), _distinct(stages), _distinct(project_ids)
    if not 2 <= len(occasion) <= 100:
        raise InvalidField(_("Name the occasion (2 to 100 characters)"), field="occasion")
    _check_segment(tiers, stages, "")
    await _check_projects(project_ids, "project_ids")
    reward = await giftable_reward(reward_id)
    sql, args = _segment_sql(tiers, stages, project_ids)
    sql = sql.removesuffix(" ORDER BY member.id")
    rows = await db.fetch(
        f"SELECT COUNT(*) AS owners FROM ({sql}) AS segment WHERE NOT EXISTS (SELECT 1 FROM redemption "
        "WHERE redemption.member = segment.id AND redemption.idempotency_key = {})", *args, gift_key(reward_id, "".join(occasion.casefold().split())),
    )
    return GrantPreview(int(rows[0]["owners"]), reward["stock_remaining"])


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
        reward = await giftable_reward(reward_id)
        made = await RewardGrant.insert(RewardGrant(
            reward=reward_id, occasion=occasion, segment_tiers=",".join(tiers), segment_stages=",".join(stages),
            segment_projects=",".join(str(p) for p in project_ids), created_by=staff_id, created_at=now,
        )).returning(RewardGrant.id)
        grant_id = made[0]["id"]
        # "2027 春节" and "2027春节" are one occasion: the key ignores spaces and case.
        gifts = await gift_reservations(
            reward["id"], await segment_members(tiers, stages, project_ids), "".join(occasion.casefold().split()),
            granted_by=grant_id, now=now,
        )
        count = len(gifts.made)
        await RewardGrant.update({RewardGrant.granted: count}).where(RewardGrant.id == grant_id)
        await audit.record(action="reward.grant", subject_kind="reward", subject_id=reward_id, actor_id=staff_id,
                           data={"grant": grant_id, "granted": count, "occasion": occasion})
    return grant_id, count


async def giftable_reward(reward_id: int) -> dict[str, Any]:
    """The reward a gift is made of: any but a withdrawn one (a draft may be a gift only granted)."""
    reward = await Reward.select().where(Reward.id == reward_id).first()
    if reward is None:
        raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
    if reward["status"] == "withdrawn":
        raise rules.RewardNotOnOffer(_("This reward has been withdrawn"), reason="withdrawn")
    if reward["kind"] == "event_seat":
        # A seat is a signup, made one owner at a time against the event's capacity and rules;
        # a segment's gift would be a reservation without a seat.
        raise InvalidField(
            _("An event seat cannot be given to a group: owners redeem it, or it comes with a referral"),
            field="reward_id", source="path",
        )
    return reward


async def referral_gift_reward(reward_id: int, field: str) -> dict[str, Any]:
    """The reward a referral rule may give: any that exists and is not withdrawn (an event seat
    too: one owner at a time, the referral signs them up). Refusals name `field`."""
    reward = await Reward.select().where(Reward.id == reward_id).first()
    if reward is None:
        raise InvalidField(_("There is no reward {reward_id}", reward_id=reward_id), field=field)
    if reward["status"] == "withdrawn":
        raise InvalidField(_("This reward has been withdrawn"), field=field)
    return reward


async def segment_members(tiers: Sequence[str], stages: Sequence[str], project_ids: Sequence[int]) -> list[int]:
    """The owners in a segment (tiers, stages, projects; empty = any), by member id."""
    sql, args = _segment_sql(tiers, stages, project_ids)
    return [row["id"] for row in await db.fetch(sql, *args)]


async def check_segment(tiers: Sequence[str], stages: Sequence[str], project_ids: Sequence[int]) -> None:
    """A segment's choices are known tiers, stages and projects (fields `tiers`, `stages`, `project_ids`)."""
    _check_segment(tiers, stages, "")
    await _check_projects(project_ids, "project_ids")


# --- reports and reminders -------------------------------------------------------------------


async def report(start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    """Per reward: stock, redemptions by status, points spent on collected ones and the
    liability (points held by reservations not yet collected, which may still come back).
    With `start`/`end` (Beijing days, both included), only redemptions made on those days count."""
    if start is not None and end is not None and start > end:
        raise InvalidField(_("The first day must not be after the last"), field="start", source="query")
    within, args = "", []
    if start is not None:
        within += " AND redemption.reserved_at >= {}"
        args.append(datetime.combine(start, datetime.min.time(), clock.LOCAL_ZONE).astimezone(timezone.utc))
    if end is not None:
        within += " AND redemption.reserved_at < {}"
        args.append(datetime.combine(end + timedelta(days=1), datetime.min.time(), clock.LOCAL_ZONE).astimezone(timezone.utc))
    rows = await db.fetch(
        "SELECT reward.id, reward.name_zh, reward.name_en, reward.status, reward.stock_total, reward.stock_remaining, "
        "redemption.status AS redemption_status, COUNT(redemption.id) AS count, COALESCE(SUM(redemption.points), 0) AS points "
        f"FROM reward LEFT JOIN redemption ON redemption.reward = reward.id{within} "
        "GROUP BY reward.id, reward.name_zh, reward.name_en, reward.status, reward.stock_total, reward.stock_remaining, "
        "redemption.status ORDER BY reward.id", *args,
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
    "gift": (_("A gift for you to collect"),
             _("{reward} is our gift to you: collect it at {place} before {until} with the pick-up code under My rewards.")),
}


async def notify(redemption_id: int, what: str) -> None:
    """The owner is told about a redemption (`ready`, `reminder`, a `gift` made) in their
    language, once each (the outbox's dedupe key). By WeChat the template message carries the
    subject and the text; by SMS the approved template for `reward_pickup` speaks for itself
    (no parameters: the provider caps a notification's variables at a few characters, too few
    for a reward's name or a date), and points the owner to My rewards."""
    from loyalty.care import outbox

    rows = await db.fetch(
        "SELECT redemption.id, redemption.member, redemption.expires_at, redemption.status, reward.name_zh, reward.name_en, "
        "COALESCE(merchant.name, reward.pickup_place) AS pickup_place, COALESCE(merchant.name, reward.pickup_place_en) AS pickup_place_en "
        "FROM redemption JOIN reward ON reward.id = redemption.reward LEFT JOIN merchant ON merchant.id = reward.merchant "
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
        place = row["pickup_place_en"] if locale == "en" and row["pickup_place_en"] else row["pickup_place"]
        filled = body.format(reward=name, place=place or "-", until=Later(written_datetime, row["expires_at"]))
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
        "reward.pickup_place AS pickup_place, reward.pickup_place_en AS pickup_place_en, reward_grant.occasion AS occasion, "
        "merchant.name AS merchant_name, reward.event AS event_id FROM redemption "
        "JOIN reward ON reward.id = redemption.reward LEFT JOIN reward_grant ON reward_grant.id = redemption.granted_by "
        "LEFT JOIN merchant ON merchant.id = reward.merchant WHERE redemption.member = {}"
    )
    args: list[Any] = [member_id]
    if ids is not None:
        sql += f" AND redemption.id IN ({', '.join('{}' for _i in ids) or 'NULL'})"
        args += list(ids)
    return [dict(r) for r in await db.fetch(sql + " ORDER BY redemption.id DESC LIMIT 200", *args)]


async def counter_list(
    status: str | None = None, reward_id: int | None = None, *, redemption_id: int | None = None,
    limit: int = PAGE_SIZE, offset: int = 0,
) -> list[dict[str, Any]]:
    """Reservations for the counter: open ones (or of `status`), soonest to expire first, a page at a time."""
    _check_page(limit, offset)
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
    sql += " ORDER BY redemption.expires_at, redemption.id LIMIT {} OFFSET {}"
    return [dict(r) for r in await db.fetch(sql, *args, limit, offset)]


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

