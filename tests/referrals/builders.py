"""Builders for referral tests: owners through the real owner import, sales staff through the
identity service, leads through the referral service. Time is frozen at noon (Beijing) on
TODAY by the `frozen` fixture in conftest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from loyalty.cards.tables import Card
from loyalty.clock import LOCAL_ZONE
from loyalty.members.tables import Member, Project
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from loyalty.referrals import service as referrals
from tests.identity.builders import add_staff
from tests.members_builders import import_rows

TODAY = date(2026, 6, 15)

REFERRER = "13800138001"  # a pre-owner (signed, not delivered): blue card, one unit, room 0101
CO_OWNER = "13800138002"  # co-owner of the referrer's unit (same room)
OTHER_OWNER = "13800138003"  # an owner of another unit, delivered; also owns a unit in the second project
THIRD_OWNER = "13800138004"  # one more owner, to refer a friend someone else holds
FRIEND = "13900139001"  # people who are not members yet
FRIEND_2 = "13900139002"
FRIEND_3 = "13900139003"

PROJECT_CODE = "HZ-YH"
SECOND_PROJECT_CODE = "HZ-XH"


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), LOCAL_ZONE)


def e164(phone: str) -> str:
    return f"+86{phone}"


@dataclass
class World:
    referrer: int
    co_owner: int
    other_owner: int
    third_owner: int
    project: int
    second_project: int
    sales: int  # a sales staff id


async def build_world(folder: Path) -> World:
    await import_rows(
        folder,
        [
            {"phone": REFERRER, "name": "李四", "room": "0101", "contract_date": "2025-03-01"},
            {"phone": CO_OWNER, "name": "李四嫂", "room": "0101", "contract_date": "2025-03-01"},
            {"phone": OTHER_OWNER, "name": "赵六", "room": "0201", "contract_date": "2019-03-01", "delivery_date": "2020-03-01"},
            {"phone": THIRD_OWNER, "name": "孙七", "room": "0301", "contract_date": "2019-03-01", "delivery_date": "2020-03-01"},
            {
                "phone": OTHER_OWNER, "name": "赵六", "room": "0101", "contract_date": "2019-03-01",
                "project_code": SECOND_PROJECT_CODE, "project_name": "西湖苑",
            },
        ],
    )
    staff = await add_staff("sales1", "sales")
    return World(
        referrer=await member_of(REFERRER),
        co_owner=await member_of(CO_OWNER),
        other_owner=await member_of(OTHER_OWNER),
        third_owner=await member_of(THIRD_OWNER),
        project=await project_of(PROJECT_CODE),
        second_project=await project_of(SECOND_PROJECT_CODE),
        sales=staff.id,
    )


async def member_of(phone: str) -> int:
    row = await Member.select(Member.id).where(Member.phone == e164(phone)).first()
    assert row is not None, f"no member with phone {phone}"
    return row["id"]


async def project_of(code: str) -> int:
    row = await Project.select(Project.id).where(Project.code == code).first()
    assert row is not None, f"no project {code}"
    return row["id"]


async def register(world: World, referrer: int | None = None, phone: str = FRIEND, name: str = "王五", **options: Any) -> dict[str, Any]:
    options.setdefault("project_id", world.project)
    return await referrals.register_lead(world.referrer if referrer is None else referrer, name=name, phone=phone, **options)


async def move(world: World, lead: dict[str, Any] | int, stage: str, **options: Any) -> dict[str, Any]:
    lead_id = lead if isinstance(lead, int) else lead["id"]
    if stage == "cancelled":
        options.setdefault("note", "客户放弃购买")
    return await referrals.move_lead(lead_id, stage, staff_id=world.sales, **options)


async def rewards(member: int) -> list[tuple[str, int, int]]:
    """(source id, available delta, pending delta) of every referral entry of the member."""
    rows = await LedgerEntry.select().where(
        (LedgerEntry.member == member) & (LedgerEntry.source_kind == "referral")
    ).order_by(LedgerEntry.id)
    return [(row["source_id"], row["available_delta"], row["pending_delta"]) for row in rows]


async def balance(member: int) -> tuple[int, int]:
    result = await points.balance(member)
    return result.available, result.pending


async def tier_of(member: int) -> str:
    card = await Card.select(Card.tier).where((Card.member == member) & (Card.status != "replaced")).first()
    assert card is not None, f"member {member} has no card"
    return card["tier"]
