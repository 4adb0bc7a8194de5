"""A signed referral counts for tiers at once (silver: 1 signed in 24 months, gold: 2,
platinum: 5); earlier stages do not."""

from __future__ import annotations

from tests.referrals.builders import FRIEND, FRIEND_2, balance, move, register, tier_of

MORE_FRIENDS = ("13900139011", "13900139012", "13900139013", "13900139014", "13900139015")


async def test_the_referrer_starts_blue_as_a_pre_owner(world):
    assert await tier_of(world.referrer) == "blue"


async def test_a_visited_or_subscribed_referral_does_not_change_the_tier(world):
    await move(world, await register(world), "subscribed")
    assert await tier_of(world.referrer) == "blue"


async def test_a_signed_referral_upgrades_the_referrer_to_silver_at_once(world):
    await move(world, await register(world), "signed")
    assert await tier_of(world.referrer) == "silver"


async def test_two_signed_referrals_make_gold_and_five_make_platinum(world):
    for phone in (FRIEND, FRIEND_2):
        await move(world, await register(world, phone=phone), "signed")
    assert await tier_of(world.referrer) == "gold"

    for phone in MORE_FRIENDS[:3]:
        await move(world, await register(world, phone=phone), "signed")
    assert await tier_of(world.referrer) == "platinum"


async def test_a_referral_signed_by_skipping_stages_also_upgrades_at_once(world):
    lead = await register(world)
    await move(world, lead, "visited")
    await move(world, lead, "signed")
    assert await tier_of(world.referrer) == "silver"
    assert await balance(world.referrer) == (200, 5_000)
