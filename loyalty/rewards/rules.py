"""Who may take which reward, for how many points: pure functions of a reward row, the owner's
facts and the day, used both to build the owner's catalogue (only what they may take) and to
refuse a redemption (the same reason, as a problem)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from loyalty import db
from loyalty.errors import DomainError, NotFound
from loyalty.i18n import _
from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import Later, date as written_date

PRICE_COLUMN = {"platinum": "price_platinum", "gold": "price_gold", "silver": "price_silver", "blue": "price_blue"}


class RewardNotEligible(DomainError):
    type = "reward-not-eligible"
    status = 422
    title = _("This reward is not offered to you")


class RewardNotOnOffer(DomainError):
    type = "reward-not-on-offer"
    status = 422
    title = _("This reward cannot be redeemed now")


@dataclass(frozen=True)
class OwnerFacts:
    member_id: int
    tier: str | None  # None: no card yet; priced as blue
    stage: str
    project_ids: frozenset[int]


_FACTS_SQL = (
    "SELECT member.id, member.stage, member.erased_at, "
    "(SELECT card.tier FROM card WHERE card.member = member.id AND card.status <> 'replaced') AS tier "
    "FROM member WHERE member.id = {}"
)
_PROJECTS_SQL = (
    "SELECT DISTINCT unit.project FROM ownership JOIN unit ON unit.id = ownership.unit "
    "WHERE ownership.member = {} AND ownership.status = 'active'"
)


async def owner_facts(member_id: int) -> OwnerFacts:
    rows = await db.fetch(_FACTS_SQL, member_id)
    if not rows or rows[0]["erased_at"] is not None:
        raise NotFound(_("There is no member {member_id}", member_id=member_id))
    projects = await db.fetch(_PROJECTS_SQL, member_id)
    return OwnerFacts(member_id, rows[0]["tier"], rows[0]["stage"], frozenset(int(p["project"]) for p in projects))


def split(text: str) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def price_for(reward: Mapping[str, Any], tier: str | None) -> int | None:
    """The points this tier pays (0: free), or None when the reward is not offered to it."""
    value = reward[PRICE_COLUMN.get(tier or "blue", "price_blue")]
    return None if value is None else int(value)


def refusal(reward: Mapping[str, Any], owner: OwnerFacts, today: date) -> DomainError | None:
    """Why this owner may not redeem this reward today (stock and their limit are judged in the
    redemption itself), or None."""
    if reward["status"] != "published":
        return RewardNotOnOffer(_("This reward has been withdrawn"), reason="withdrawn")
    if today < reward["starts_on"]:
        return RewardNotOnOffer(
            _("This reward can be redeemed from {day}", day=Later(written_date, reward["starts_on"])),
            reason="not_started", starts_on=reward["starts_on"].isoformat(),
        )
    if today > reward["ends_on"]:
        return RewardNotOnOffer(
            _("This reward could be redeemed until {day}", day=Later(written_date, reward["ends_on"])),
            reason="ended", ends_on=reward["ends_on"].isoformat(),
        )
    tiers = split(reward["eligible_tiers"])
    if (tiers and (owner.tier or "blue") not in tiers) or price_for(reward, owner.tier) is None:
        allowed = tiers or [t for t, column in PRICE_COLUMN.items() if reward[column] is not None]
        return RewardNotEligible(
            _("This reward is for members of these tiers: {tiers}", tiers=Later(enum_list, "tier", allowed, style="or")),
            rule="tier", allowed=allowed,
        )
    stages = split(reward["eligible_stages"])
    if stages and owner.stage not in stages:
        return RewardNotEligible(
            _("This reward is for owners at these stages: {stages}", stages=Later(enum_list, "owner_stage", stages, style="or")),
            rule="stage", allowed=stages,
        )
    projects = [int(p) for p in split(reward["eligible_projects"])]
    if projects and not owner.project_ids & set(projects):
        return RewardNotEligible(_("This reward is for owners of other projects"), rule="project", allowed=projects)
    return None
