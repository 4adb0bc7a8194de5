"""Each tier criterion (DESIGN.md "Tiers") at its threshold and one step below, as the owner
import applies them: a card is issued and raised at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from loyalty.cards import service
from loyalty.cards.tables import Card, TierCriterion
from loyalty.members.tables import Member
from tests.cards.builders import (
    TODAY,
    current_card,
    delivered_unit,
    history,
    import_owner,
    noon,
    pre_owner_unit,
    rule_id,
    tier_of,
)
from tests.cards.conftest import default_rules
from tests.members_builders import import_rows


async def test_every_test_starts_with_the_default_tier_rules_of_the_migration(database):
    rows = await TierCriterion.select().order_by(TierCriterion.id)

    assert [(r["tier"], r["kind"], r["threshold"], r["window_months"], r["position"], r["active"]) for r in rows] == [
        (*rule, True) for rule in default_rules()
    ]


@pytest.mark.parametrize(("units", "tier"), [(3, "platinum"), (2, "gold"), (1, "blue")])
async def test_units_owned_three_is_platinum_two_is_gold_one_is_blue(database, frozen, tmp_path, units, tier):
    member = await import_owner(tmp_path, [pre_owner_unit() for _ in range(units)])

    card = await current_card(member)
    assert card["tier"] == tier
    assert card["tier_reason"] == "rule"
    assert card["tier_criterion"] == await rule_id(tier, "units_owned")


@pytest.mark.parametrize(
    ("prices", "tier", "why"),
    [
        (["10000000.00"], "platinum", "contract_value_fen"),
        (["9999999.99"], "blue", "units_owned"),
        # The value is the sum over the member's active units.
        (["4000000.00", "6000000.00"], "platinum", "contract_value_fen"),
        (["4000000.00", "5999999.99"], "gold", "units_owned"),
    ],
)
async def test_total_contract_value_of_exactly_10_million_cny_is_platinum_one_fen_less_is_not(
    database, frozen, tmp_path, prices, tier, why
):
    member = await import_owner(tmp_path, [pre_owner_unit(contract_price=price) for price in prices])

    card = await current_card(member)
    assert card["tier"] == tier
    assert card["tier_criterion"] == await rule_id(tier, why)


async def test_veteran_stage_exactly_three_years_after_delivery_is_gold(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(TODAY - relativedelta(years=3))])

    assert (await Member.select(Member.stage).where(Member.id == member).first())["stage"] == "veteran"
    card = await current_card(member)
    assert card["tier"] == "gold"
    assert card["tier_criterion"] == await rule_id("gold", "stage")


async def test_a_day_short_of_three_years_after_delivery_is_silver_not_gold(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(TODAY - relativedelta(years=3) + timedelta(days=1))])

    assert (await Member.select(Member.stage).where(Member.id == member).first())["stage"] == "stable"
    card = await current_card(member)
    assert card["tier"] == "silver"
    assert card["tier_criterion"] == await rule_id("silver", "delivered_units")


async def test_the_nightly_job_raises_a_member_to_gold_on_the_day_they_become_a_veteran(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(TODAY - relativedelta(years=3) + timedelta(days=1))])
    assert await tier_of(member) == "silver"

    assert await service.nightly(TODAY) == 0
    assert await tier_of(member) == "silver"

    tomorrow = TODAY + timedelta(days=1)
    frozen.move_to(noon(tomorrow))
    assert await service.nightly(tomorrow) == 1

    card = await current_card(member)
    assert card["tier"] == "gold"
    assert card["tier_criterion"] == await rule_id("gold", "stage")
    assert (await history(member))[-1] == ("silver", "gold", "upgrade")


async def test_a_unit_delivered_today_is_silver(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(TODAY)])

    card = await current_card(member)
    assert card["tier"] == "silver"
    assert card["tier_criterion"] == await rule_id("silver", "delivered_units")


async def test_a_unit_delivered_tomorrow_is_still_blue_until_the_nightly_job_of_that_day(database, frozen, tmp_path):
    tomorrow = TODAY + timedelta(days=1)
    member = await import_owner(tmp_path, [delivered_unit(tomorrow)])
    assert await tier_of(member) == "blue"

    frozen.move_to(noon(tomorrow))
    await service.nightly(tomorrow)

    assert await tier_of(member) == "silver"


async def test_a_pre_owner_with_a_signed_contract_gets_a_blue_card_at_once(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])

    card = await current_card(member)
    assert card["status"] == "active"
    assert card["tier"] == "blue"
    assert card["tier_criterion"] == await rule_id("blue", "units_owned")
    assert len(card["number"]) == 16 and card["number"].startswith("8860")
    assert await history(member) == [("", "blue", "issue")]


async def test_a_person_without_a_signed_contract_has_no_card(database, frozen, tmp_path):
    await import_owner(tmp_path, [pre_owner_unit()])
    prospect = Member(name="王五", phone="+8613900139009")
    await prospect.save()

    assert await Card.count().where(Card.member == prospect.id) == 0
    with pytest.raises(service.NoCard):
        await service.card_view(prospect.id, "zh-CN", TODAY)


async def test_a_member_without_signed_referrals_meets_no_referral_criterion(database, frozen, tmp_path):
    # Referrals do not exist yet: signed_referrals is 0 for everyone. With 1 unit only the
    # referral criterion could lift this pre-owner to silver (≥ 1) — it must not.
    member = await import_owner(tmp_path, [pre_owner_unit()])
    assert await tier_of(member) == "blue"

    view = await service.card_view(member, "en", TODAY)
    assert view.next_tier is not None and view.next_tier.tier == "silver"
    referrals = [c for c in view.next_tier.criteria if c.kind == "signed_referrals"]
    assert [(c.have, c.need, c.met) for c in referrals] == [(0, 1, False)]


async def test_one_import_issues_one_card_per_owner_with_each_owner_s_own_tier(database, frozen, tmp_path):
    await import_rows(
        tmp_path,
        [
            {"phone": "13800138001", "name": "甲", **pre_owner_unit()},
            {"phone": "13800138001", "name": "甲", **pre_owner_unit()},
            {"phone": "13800138002", "name": "乙", **delivered_unit(TODAY - timedelta(days=30))},
            {"phone": "13800138003", "name": "丙", **pre_owner_unit()},
        ],
    )

    tiers = {
        row["member.phone"]: row["tier"]
        for row in await Card.select(Card.member.phone, Card.tier).where(Card.status != "replaced")
    }
    assert tiers == {"+8613800138001": "gold", "+8613800138002": "silver", "+8613800138003": "blue"}
