"""Who may sign up for what, for how much: pure functions of an event row, the member's facts
and the time, used both to explain (the member's list shows why not) and to refuse (the
signup raises the same reason as a problem)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from loyalty.i18n import Message, _, _n, translate
from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import Later, datetime as written_datetime, items
from loyalty.errors import DomainError, InvalidField
from loyalty.labels import message

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


def _project_names(names: list[str], locale: str) -> str:
    # Names are the club's own words, not the reader's language: quoted, as each language quotes.
    # i18n: a name quoted the way the language quotes it (「」 in Chinese)
    return items([translate(_("“{name}”", name=name), locale) for name in names], locale, style="or")


def _choices(enum: str, values: list[str]) -> Later:
    """The tiers or stages an event is open to, in words, as the reader lists a choice."""
    return Later(enum_list, enum, values, style="or")


# The refusals `refusal` can give, as the `type` URIs an event's `why_not` carries.
WHY_NOT_TYPES = tuple(f"/problems/{cls.type}" for cls in (EventCancelled, NotEligible, SignupNotOpenYet, SignupClosed))


def conditions(event: Mapping[str, Any], project_names: Mapping[int, str] | None = None) -> list[Message]:
    """Who may join, as the event page states it for everyone: the same words a refusal gives
    (none: every member may)."""
    said = []
    if tiers := split(event["eligible_tiers"]):
        said.append(message("why_not.tier", tiers=_choices("tier", tiers)))
    if stages := split(event["eligible_stages"]):
        said.append(message("why_not.stage", stages=_choices("owner_stage", stages)))
    if projects := [int(part) for part in split(event["eligible_projects"])]:
        names = [(project_names or {}).get(p, str(p)) for p in projects]
        said.append(message("why_not.project", projects=Later(_project_names, names)))
    return said


def refusal(
    event: Mapping[str, Any], member: MemberFacts, now: datetime, project_names: Mapping[int, str] | None = None
) -> DomainError | None:
    """Why this member may not sign up now (the first reason, in the order a member would
    want to hear them), or None. Capacity and earlier signups are judged in the signup.
    The reasons are messages, written in whichever locale reads them."""
    if event["status"] == "cancelled":
        return EventCancelled(message("why_not.cancelled"), reason="cancelled")
    tiers = split(event["eligible_tiers"])
    if tiers and member.tier not in tiers:
        return NotEligible(message("why_not.tier", tiers=_choices("tier", tiers)), rule="tier", allowed=tiers)
    stages = split(event["eligible_stages"])
    if stages and member.stage not in stages:
        return NotEligible(message("why_not.stage", stages=_choices("owner_stage", stages)), rule="stage", allowed=stages)
    projects = [int(part) for part in split(event["eligible_projects"])]
    if projects and not member.project_ids & set(projects):
        names = [(project_names or {}).get(p, str(p)) for p in projects]
        return NotEligible(
            message("why_not.project", projects=Later(_project_names, names)), rule="project", allowed=projects
        )
    if now < event["signup_opens_at"]:
        return SignupNotOpenYet(
            message("why_not.not_open_yet", at=Later(written_datetime, event["signup_opens_at"])),
            reason="not_open_yet", opens_at=event["signup_opens_at"].isoformat(),
        )
    if now >= event["signup_closes_at"]:
        return SignupClosed(
            message("why_not.closed", at=Later(written_datetime, event["signup_closes_at"])),
            reason="closed", closed_at=event["signup_closes_at"].isoformat(),
        )
    return None


def check_party(event: Mapping[str, Any], party_size: int) -> None:
    if party_size < 1:
        raise InvalidField(_("A party is at least 1 person, the owner"), field="party_size")
    if party_size > event["party_size_limit"]:
        raise PartyTooLarge(
            _n(
                "At most {count} person (the owner) can come to this event on one signup",
                "At most {count} people (the owner and family) can come to this event on one signup",
                event["party_size_limit"],
            ),
            field="party_size", limit=event["party_size_limit"],
        )
