"""Standing grants (gifts granted by rules): a free reward for every owner in a segment on an
occasion that comes back, so that owners who join the segment later get theirs too.

- `birthday`: each owner once a year, from `days_before` their birthday (default 7) to the day
  itself; 29 February is the 28th in other years (care.calendar.birthday_in). Occasion key
  `birthday-<year>` (the year of that birthday).
- `holiday`: one of care.calendar.holidays (lunar ones by the lunar calendar), from
  `days_before` the holiday to the holiday itself, to everyone in the segment on each run.
  Occasion key `<holiday>-<year>`.

`apply_grant_rules` (the job `loyalty.rewards.apply_grant_rules`, daily in beat) may run as
often as it likes, and twice at once: every gift is made by service.gift_reservations, one
reservation per owner, reward and occasion (a unique key under the reward's row lock). What
the stock cannot cover is audited (`reward.grant_rule.short`) and never oversold; the owners
left out get theirs on a later run in the window, once stock has been added."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Sequence

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.care.calendar import birthday_in, holidays
from loyalty.errors import InvalidField, NotFound
from loyalty.i18n import _, translate
from loyalty.i18n.format import Later, identifiers
from loyalty.rewards import rules, service
from loyalty.rewards.tables import GRANT_RULE_OCCASIONS, Reward, RewardGrant, RewardGrantRule

log = logging.getLogger("loyalty.rewards")

DAYS_BEFORE = 7
MAX_DAYS_BEFORE = 60
HOLIDAY_KEYS = tuple(holiday.key for holiday in holidays(2000))


@dataclass
class GrantRuleDraft:
    occasion_kind: str  # birthday | holiday
    holiday: str = ""  # a holiday key, for occasion_kind holiday
    days_before: int = DAYS_BEFORE
    tiers: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Occasion:
    key: str  # birthday-2027, mid_autumn-2027: a gift's dedupe key
    label: str  # what the owner reads next to the gift (the staff grant's `occasion`)


# --- staff keep the rules ------------------------------------------------------------------------


async def create_rule(reward_id: int, draft: GrantRuleDraft, staff_id: int) -> int:
    """A standing gift of a reward (not a withdrawn one) to a segment on birthdays or a holiday:
    active at once, audited."""
    tiers, stages = service._distinct(draft.tiers), service._distinct(draft.stages)
    project_ids = service._distinct(draft.project_ids)
    if draft.occasion_kind not in GRANT_RULE_OCCASIONS:
        raise InvalidField(
            _("The occasion is one of {kinds}", kinds=Later(identifiers, GRANT_RULE_OCCASIONS)), field="occasion_kind",
        )
    holiday = draft.holiday if draft.occasion_kind == "holiday" else ""
    if draft.occasion_kind == "holiday" and holiday not in HOLIDAY_KEYS:
        raise InvalidField(_("The holiday is one of {holidays}", holidays=Later(identifiers, HOLIDAY_KEYS)), field="holiday")
    if draft.occasion_kind == "birthday" and draft.holiday:
        raise InvalidField(_("A birthday gift names no holiday"), field="holiday")
    if not 0 <= draft.days_before <= MAX_DAYS_BEFORE:
        raise InvalidField(_("The days before are 0 to {most}", most=MAX_DAYS_BEFORE), field="days_before")
    await service.check_segment(tiers, stages, project_ids)
    async with db.transaction():
        await service.giftable_reward(reward_id)
        rows = await RewardGrantRule.insert(RewardGrantRule(
            reward=reward_id, occasion_kind=draft.occasion_kind, holiday=holiday, days_before=draft.days_before,
            segment_tiers=",".join(tiers), segment_stages=",".join(stages),
            segment_projects=",".join(str(p) for p in project_ids), status="active", created_by=staff_id,
            created_at=clock.now(),
        )).returning(RewardGrantRule.id)
        rule_id = rows[0]["id"]
        await audit.record(action="reward.grant_rule.create", subject_kind="reward", subject_id=reward_id,
                           actor_id=staff_id, data={"rule": rule_id, "occasion": draft.occasion_kind, "holiday": holiday})
    return rule_id


async def set_rule_status(reward_id: int, rule_id: int, status: str, staff_id: int) -> None:
    """Pause a rule (no more gifts from it; those made stay) or resume it: audited."""
    async with db.transaction():
        rows = await RewardGrantRule.update({RewardGrantRule.status: status}).where(
            (RewardGrantRule.id == rule_id) & (RewardGrantRule.reward == reward_id)
        ).returning(RewardGrantRule.id)
        if not rows:
            raise NotFound(_("There is no grant rule {rule_id} for reward {reward_id}", rule_id=rule_id, reward_id=reward_id))
        await audit.record(action=f"reward.grant_rule.{'pause' if status == 'paused' else 'resume'}", subject_kind="reward",
                           subject_id=reward_id, actor_id=staff_id, data={"rule": rule_id})


async def rules_of(reward_id: int) -> list[dict[str, Any]]:
    """A reward's standing rules, newest first, each with the gifts it made per occasion and,
    for a holiday, the day of its next occasion (today's, while its window is open)."""
    if not await Reward.exists().where(Reward.id == reward_id):
        raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
    today = clock.now().astimezone(clock.LOCAL_ZONE).date()
    found = [dict(r) for r in await RewardGrantRule.select().where(RewardGrantRule.reward == reward_id).order_by(
        RewardGrantRule.id, ascending=False,
    )]
    grants = await RewardGrant.select(RewardGrant.rule, RewardGrant.occasion_key, RewardGrant.granted).where(
        RewardGrant.rule.is_in([r["id"] for r in found] or [0])
    ).order_by(RewardGrant.id)
    for rule in found:
        rule["granted"] = {g["occasion_key"]: g["granted"] for g in grants if g["rule"] == rule["id"]}
        rule["next_on"] = next_holiday_on(rule["holiday"], today) if rule["occasion_kind"] == "holiday" else None
    return found


def next_holiday_on(holiday_key: str, today: date) -> date | None:
    """The holiday's next day on or after `today` (lunar ones by the lunar calendar)."""
    for year in (today.year, today.year + 1):
        for holiday in holidays(year):
            if holiday.key == holiday_key and holiday.on >= today:
                return holiday.on
    return None


# --- the job -----------------------------------------------------------------------------------------


def holiday_occasion(holiday_key: str, days_before: int, today: date) -> tuple[Occasion, date] | None:
    """The holiday's occasion whose window (days_before the day to the day) holds `today`."""
    for year in (today.year, today.year + 1):  # New Year's window starts in late December
        for holiday in holidays(year):
            if holiday.key == holiday_key and holiday.on - timedelta(days=days_before) <= today <= holiday.on:
                label = f"{holiday.on.year} {translate(holiday.name, 'zh-CN')}"
                return Occasion(f"{holiday_key}-{holiday.on.year}", label), holiday.on
    return None


def birthday_occasion(birthday: date, days_before: int, today: date) -> Occasion | None:
    """The owner's birthday whose window (days_before it to the day) holds `today`."""
    for year in (today.year, today.year + 1):  # a birthday early in January, granted in December
        day = birthday_in(year, birthday)
        if day - timedelta(days=days_before) <= today <= day:
            return Occasion(f"birthday-{year}", translate(_("{year} birthday", year=year), "zh-CN"))
    return None


async def apply_grant_rules(now: datetime | None = None) -> int:
    """Every active rule's gifts due today, to the owners in its segment who have none for the
    occasion yet (each once, whatever runs at the same time). Returns how many were made."""
    now = now or clock.now()
    today = now.astimezone(clock.LOCAL_ZONE).date()
    made = 0
    for rule in await RewardGrantRule.select().where(RewardGrantRule.status == "active").order_by(RewardGrantRule.id):
        made += await apply_rule(rule, today, now)
    return made


async def apply_rule(rule: dict[str, Any], today: date, now: datetime) -> int:
    """One rule's gifts due today: to everyone in its segment in a holiday's window, or to
    those whose birthday's window holds today (grouped by the year of that birthday)."""
    reward = await Reward.select(Reward.status).where(Reward.id == rule["reward"]).first()
    if reward is None or reward["status"] == "withdrawn":
        return 0  # a withdrawn reward is given no more; its rules wait to be paused
    tiers, stages = rules.split(rule["segment_tiers"]), rules.split(rule["segment_stages"])
    projects = [int(p) for p in rules.split(rule["segment_projects"])]
    due: dict[Occasion, list[int]] = {}
    if rule["occasion_kind"] == "holiday":
        found = holiday_occasion(rule["holiday"], rule["days_before"], today)
        if found is not None:
            due[found[0]] = await service.segment_members(tiers, stages, projects)
    else:
        for member_id, birthday in await _birthdays(await service.segment_members(tiers, stages, projects)):
            if (occasion := birthday_occasion(birthday, rule["days_before"], today)) is not None:
                due.setdefault(occasion, []).append(member_id)
    return sum([await _grant(rule, occasion, members, now) for occasion, members in due.items()])


async def _birthdays(member_ids: Sequence[int]) -> list[tuple[int, date]]:
    """The birthdays of these members that are known, by member id."""
    from loyalty.members.tables import Member

    found: list[tuple[int, date]] = []
    for start in range(0, len(member_ids), service.GRANT_CHUNK):
        rows = await Member.select(Member.id, Member.birthday).where(
            Member.id.is_in(list(member_ids[start:start + service.GRANT_CHUNK])) & Member.birthday.is_not_null()
        )
        found += [(row["id"], row["birthday"]) for row in rows]
    return sorted(found)


async def _grant(rule: dict[str, Any], occasion: Occasion, members: list[int], now: datetime) -> int:
    """One rule's gifts for one occasion: its grant (one per rule and occasion), the owners'
    reservations (what the stock allows, by member id), the shortfall audited."""
    if not members:
        return 0
    async with db.transaction():
        await RewardGrant.insert(RewardGrant(
            reward=rule["reward"], occasion=occasion.label[:100], rule=rule["id"], occasion_key=occasion.key,
            segment_tiers=rule["segment_tiers"], segment_stages=rule["segment_stages"],
            segment_projects=rule["segment_projects"], created_by=rule["created_by"], created_at=now,
        )).on_conflict(action="DO NOTHING")
        grant = await RewardGrant.select(RewardGrant.id).where(
            (RewardGrant.rule == rule["id"]) & (RewardGrant.occasion_key == occasion.key)
        ).first()
        if grant is None:  # never: inserted above, or by a run that committed first
            raise RuntimeError(f"no grant for rule {rule['id']} and {occasion.key}")
        gifts = await service.gift_reservations(
            rule["reward"], members, occasion.key, granted_by=grant["id"], all_or_none=False, now=now,
        )
        if gifts.made:
            await db.fetch("UPDATE reward_grant SET granted = granted + {} WHERE id = {} RETURNING id", len(gifts.made), grant["id"])
            await audit.record(action="reward.grant_rule.grant", subject_kind="reward", subject_id=rule["reward"],
                               actor_kind="system", data={"rule": rule["id"], "occasion": occasion.key, "granted": len(gifts.made)})
        if gifts.short:
            log.warning("grant rule %s, %s: %d owners could not get the gift: out of stock", rule["id"], occasion.key, gifts.short)
            await audit.record(
                action="reward.grant_rule.short", subject_kind="reward", subject_id=rule["reward"], actor_kind="system",
                data={"rule": rule["id"], "occasion": occasion.key, "short": gifts.short},
            )
    return len(gifts.made)
