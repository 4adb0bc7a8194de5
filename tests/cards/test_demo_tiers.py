"""The demo data shows every tier, so a demo of the card page has something to show for each."""

from __future__ import annotations

from collections import Counter

from loyalty.cards.tables import TIERS, Card
from loyalty.demo import load_demo_data
from loyalty.members.tables import Ownership


async def test_the_demo_has_members_in_all_four_tiers(database, frozen):
    assert await load_demo_data() is True

    cards = await Card.select(Card.tier).where(Card.status == "active")
    per_tier = Counter(card["tier"] for card in cards)

    assert set(per_tier) == set(TIERS), per_tier
    assert all(per_tier[tier] >= 1 for tier in TIERS), per_tier


async def test_every_demo_member_with_a_contract_has_exactly_one_card(database, frozen):
    await load_demo_data()

    owners = {row["member"] for row in await Ownership.select(Ownership.member).where(Ownership.status == "active")}
    holders = Counter(row["member"] for row in await Card.select(Card.member).where(Card.status != "replaced"))

    assert set(holders) == owners
    assert set(holders.values()) == {1}

