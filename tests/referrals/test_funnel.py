"""The referral funnel: per project and month, leads registered and how many reached each
stage in the month they reached it; conversion and the referral share of new buyers."""

from __future__ import annotations

from datetime import date

from loyalty.referrals import service as referrals
from tests.referrals.builders import FRIEND_2, move, noon, register


async def test_a_lead_registered_before_the_period_counts_for_the_stages_it_reached_within_it(world, frozen):
    frozen.move_to(noon(date(2026, 5, 20)))
    lead = await register(world)
    frozen.move_to(noon(date(2026, 6, 2)))
    await move(world, lead, "visited")
    frozen.move_to(noon(date(2026, 6, 9)))
    await move(world, lead, "subscribed")
    await register(world, phone=FRIEND_2)

    (june,) = await referrals.funnel(date(2026, 6, 1), date(2026, 6, 30))

    assert (june.month, june.registered, june.visited, june.subscribed, june.signed) == ("2026-06", 1, 1, 1, 0)


async def test_the_funnel_is_limited_to_one_project_when_asked(world):
    await move(world, await register(world), "visited")
    await register(world, phone=FRIEND_2, project_id=world.second_project)

    rows = await referrals.funnel(date(2026, 6, 1), date(2026, 6, 30), project_id=world.second_project)

    assert [(r.project_id, r.project, r.registered, r.visited) for r in rows] == [(world.second_project, "西湖苑", 1, 0)]


async def test_conversion_and_referral_share_are_empty_without_a_denominator(world):
    await move(world, await register(world), "visited")
    (row,) = await referrals.funnel(date(2026, 6, 1), date(2026, 6, 30))
    assert (row.registered, row.new_buyers, row.referral_share, row.conversion) == (1, 0, None, 0.0)
