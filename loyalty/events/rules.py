"""Who may sign up for what, for how much: pure functions of an event row, the member's facts
and the time, used both to explain (the member's list shows why not) and to refuse (the
signup raises the same reason as a problem)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from loyalty.i18n import _
from loyalty import clock
from loyalty.errors import DomainError, InvalidField
from loyalty.labels import label

TIER_FEE_COLUMN = {
    "platinum": "fee_platinum_fen",
    "gold": "fee_gold_fen",
    "silver": "fee_silver_fen",
    "blue": "fee_blue_fen",
}


@dataclass(frozen=True)
class MemberFacts:
    member_id: int
    tier: str | None  # None: no card yet (a prospect)
    stage: str
    project_ids: frozenset[int]
    language: str = "zh-CN"


def split(text: str) -> list[str]:
    return [part for part in (text or "").split(",") if part]


class NotEligible(DomainError):
    type = "event-not-eligible"
    status = 422
    title = _("You are not eligible for this event")


class SignupNotOpenYet(DomainError):
    type = "signup-not-open-yet"
    status = 422
    title = _("Sign-up has not opened yet")


class SignupClosed(DomainError):
    type = "signup-closed"
    status = 422
    title = _("Sign-up has closed")


class PartyTooLarge(InvalidField):
    type = "party-too-large"
    title = _("Too many people in the party for this event")


class EventCancelled(DomainError):
    type = "event-cancelled"
    status = 409
    title = _("The event is cancelled")


def fee_per_person(event: Mapping[str, Any], tier: str | None) -> int:
    """What one person pays, by the member's tier; members without a card pay the blue fee."""
    return int(event[TIER_FEE_COLUMN.get(tier or "blue", "fee_blue_fen")] or 0)


def _local(moment: datetime) -> str:
    return moment.astimezone(clock.LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")


def _names(prefix: str, keys: list[str], language: str) -> str:
    return "、".join(label(f"{prefix}.{key}", language) for key in keys) if language == "zh-CN" else ", ".join(
        label(f"{prefix}.{key}", language) for key in keys
    )


# The refusals `refusal` can give, as the `type` URIs an event's `why_not` carries.
WHY_NOT_TYPES = tuple(f"/problems/{cls.type}" for cls in (EventCancelled, NotEligible, SignupNotOpenYet, SignupClosed))


def refusal(
    event: Mapping[str, Any], member: MemberFacts, now: datetime, project_names: Mapping[int, str] | None = None
) -> DomainError | None:
    """Why this member may not sign up now (the first reason, in the order a member would
    want to hear them), or None. Capacity and earlier signups are judged in the signup."""
    language = member.language
    if event["status"] == "cancelled":
        return EventCancelled(label("why_not.cancelled", language), reason="cancelled")
    tiers = split(event["eligible_tiers"])
    if tiers and member.tier not in tiers:
        return NotEligible(label("why_not.tier", language, tiers=_names("tier", tiers, language)), rule="tier", allowed=tiers)
    stages = split(event["eligible_stages"])
    if stages and member.stage not in stages:
        return NotEligible(
            label("why_not.stage", language, stages=_names("stage", stages, language)), rule="stage", allowed=stages
        )
    projects = [int(part) for part in split(event["eligible_projects"])]
    if projects and not member.project_ids & set(projects):
        names = "、".join((project_names or {}).get(p, str(p)) for p in projects)
        return NotEligible(label("why_not.project", language, projects=names), rule="project", allowed=projects)
    if now < event["signup_opens_at"]:
        return SignupNotOpenYet(
            label("why_not.not_open_yet", language, at=_local(event["signup_opens_at"])),
            reason="not_open_yet", opens_at=event["signup_opens_at"].isoformat(),
        )
    if now >= event["signup_closes_at"]:
        return SignupClosed(
            label("why_not.closed", language, at=_local(event["signup_closes_at"])),
            reason="closed", closed_at=event["signup_closes_at"].isoformat(),
        )
    return None


def check_party(event: Mapping[str, Any], party_size: int) -> None:
    if party_size < 1:
        raise InvalidField("a party is at least the owner (1)", field="party_size")
    if party_size > event["party_size_limit"]:
        raise PartyTooLarge(
            f"at most {event['party_size_limit']} people (owner + family) for this event",
            field="party_size", limit=event["party_size_limit"],
        )
