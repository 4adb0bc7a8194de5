"""Upgrades apply at once; a downgrade waits for the yearly review (DESIGN.md "Tiers")."""

from __future__ import annotations

from datetime import date, timedelta

from loyalty.cards import service, tiers
from tests.cards.builders import (
    TODAY,
    current_card,
    delivered_unit,
    history,
    import_owner,
    last_change,
    noon,
    rule_id,
    tier_of,
    transfer_unit,
)

DELIVERED = date(2025, 1, 10)  # stable on TODAY and at the next review, never veteran
REVIEW_DAY = date(2027, 1, 1)


async def gold_owner_of_two_units(folder) -> int:
    member = await import_owner(folder, [delivered_unit(DELIVERED, room="0101"), delivered_unit(DELIVERED, room="0201")])
    assert await tier_of(member) == "gold"
    return member


async def test_a_gold_member_who_sells_a_unit_stays_gold_through_upgrade_evaluations_and_nightly_jobs(
    database, frozen, tmp_path
):
    member = await gold_owner_of_two_units(tmp_path)
    await transfer_unit(member, "0201")

    await service.on_contracts_changed([member], TODAY)
    await tiers.evaluate("upgrade", today=TODAY)
    assert await service.nightly(TODAY) == 0
    later = date(2026, 12, 31)
    frozen.move_to(noon(later))
    await service.nightly(later)

    card = await current_card(member)
    assert card["tier"] == "gold"
    view = await service.card_view(member, "en", later)
    assert view.why_kind == "kept_until_review"
    assert "2027-01-01" in view.why


async def test_a_gold_member_who_sold_a_unit_becomes_silver_only_at_the_yearly_review(database, frozen, tmp_path):
    member = await gold_owner_of_two_units(tmp_path)
    await transfer_unit(member, "0201")
    await service.nightly(TODAY)
    assert await tier_of(member) == "gold"

    frozen.move_to(noon(REVIEW_DAY))
    result = await service.yearly_review(REVIEW_DAY)

    card = await current_card(member)
    assert card["tier"] == "silver"
    assert card["tier_reason"] == "rule"
    assert card["tier_criterion"] == await rule_id("silver", "delivered_units")
    assert (result.evaluated, result.downgraded) == (1, 1)


async def test_the_tier_history_records_the_previous_tier_and_the_cause_of_each_change(database, frozen, tmp_path):
    member = await gold_owner_of_two_units(tmp_path)
    await transfer_unit(member, "0201")
    frozen.move_to(noon(REVIEW_DAY))
    await service.yearly_review(REVIEW_DAY)

    assert await history(member) == [("", "blue", "issue"), ("blue", "gold", "issue"), ("gold", "silver", "review")]
    change = await last_change(member)
    assert change["criterion"] == await rule_id("silver", "delivered_units")
    assert change["card"] == (await current_card(member))["id"]
    assert change["changed_at"].date() == REVIEW_DAY


async def test_a_second_yearly_review_changes_nothing(database, frozen, tmp_path):
    member = await gold_owner_of_two_units(tmp_path)
    await transfer_unit(member, "0201")
    frozen.move_to(noon(REVIEW_DAY))
    await service.yearly_review(REVIEW_DAY)

    again = await service.yearly_review(REVIEW_DAY)

    assert (again.upgraded, again.downgraded) == (0, 0)
    assert len(await history(member)) == 3


async def test_the_yearly_review_keeps_a_tier_the_rules_still_give(database, frozen, tmp_path):
    member = await gold_owner_of_two_units(tmp_path)
    frozen.move_to(noon(REVIEW_DAY))

    result = await service.yearly_review(REVIEW_DAY)

    assert await tier_of(member) == "gold"
    assert result.downgraded == 0


async def test_a_new_unit_raises_the_tier_at_once_mid_year(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(DELIVERED, room="0101")])
    assert await tier_of(member) == "silver"

    await import_owner(tmp_path, [delivered_unit(DELIVERED, room="0101"), delivered_unit(TODAY + timedelta(days=90), room="0301")])

    assert await tier_of(member) == "gold"
    assert (await history(member))[-1] == ("silver", "gold", "upgrade")
