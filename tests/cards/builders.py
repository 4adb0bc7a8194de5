"""Builders for card tests: owners go in through the real owner import (tests/members_builders),
staff through the identity service; nothing is written with raw SQL.

Time is frozen at NOON on TODAY (Beijing time) by the `frozen` fixture in conftest, so stage
and delivery boundaries are exact dates.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from loyalty.cards import service
from loyalty.cards.tables import Card, TierChange, TierCriterion
from loyalty.clock import LOCAL_ZONE
from loyalty.members.tables import Member, Ownership, Unit
from tests.members_builders import import_rows

TODAY = date(2026, 6, 15)
PHONE = "13800138001"
NAME = "李四"
SIGNED = "2025-03-01"  # a contract date well before TODAY


def noon(day: date) -> datetime:
    """Midday in the developer's time zone on `day` (what the jobs and services call today)."""
    return datetime.combine(day, time(12, 0), LOCAL_ZONE)


def pre_owner_unit(**extra: str) -> dict[str, str]:
    """A signed unit not yet delivered: counts as owned, not as delivered."""
    return {"contract_date": SIGNED, **extra}


def delivered_unit(delivery: date, **extra: str) -> dict[str, str]:
    return {"contract_date": (delivery - relativedelta(years=2)).isoformat(), "delivery_date": delivery.isoformat(), **extra}


async def import_owner(
    folder: Path, units: list[dict[str, str]], phone: str = PHONE, name: str = NAME
) -> int:
    """One owner holding `units` (each row its own room unless it names one); returns the member id."""
    await import_rows(folder, [{"phone": phone, "name": name, **unit} for unit in units])
    return await member_id(phone)


async def member_id(phone: str = PHONE) -> int:
    row = await Member.select(Member.id).where(Member.phone == f"+86{phone}").first()
    assert row is not None, f"no member with phone {phone}"
    return row["id"]


async def current_card(member: int) -> dict[str, Any]:
    card = await Card.select().where((Card.member == member) & (Card.status != "replaced")).first()
    assert card is not None, f"member {member} has no current card"
    return card


async def tier_of(member: int) -> str:
    return (await current_card(member))["tier"]


async def history(member: int) -> list[tuple[str, str, str]]:
    """(from, to, cause) of every tier change, oldest first."""
    return [(row["from_tier"], row["to_tier"], row["cause"]) for row in await service.tier_history(member)]


async def last_change(member: int) -> dict[str, Any]:
    row = await TierChange.select().where(TierChange.member == member).order_by(TierChange.id, ascending=False).first()
    assert row is not None
    return row


async def rule_id(tier: str, kind: str) -> int:
    row = await TierCriterion.select(TierCriterion.id).where(
        (TierCriterion.tier == tier) & (TierCriterion.kind == kind)
    ).first()
    assert row is not None, f"no {tier}/{kind} rule"
    return row["id"]


async def transfer_unit(member: int, room: str) -> None:
    """The member sold the unit in `room`: the ownership stays, as `transferred`. No service
    does this yet (the owner import only adds or re-activates), so it is a Piccolo update."""
    unit_ids = [row["id"] for row in await Unit.select(Unit.id).where(Unit.room == room)]
    changed = await Ownership.update({Ownership.status: "transferred"}).where(
        (Ownership.member == member) & Ownership.unit.is_in(unit_ids)
    ).returning(Ownership.id)
    assert len(changed) == 1, f"member {member} owns no unit in room {room}"
