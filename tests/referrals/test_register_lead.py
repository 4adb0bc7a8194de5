"""Registering a lead (老带新): who may refer whom, the 90-day protection window, and every
reason a registration is refused, each with its own typed error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.errors import InvalidField
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, LeadStageChange
from tests.identity.builders import add_member
from tests.referrals.builders import (
    CO_OWNER, FRIEND, FRIEND_2, FRIEND_3, OTHER_OWNER, REFERRER, TODAY, e164, move, noon, register, rewards,
)


async def test_an_owner_registers_a_friend_whose_phone_is_protected_for_90_days(world):
    lead = await register(world, phone="139 0013 9001", by_kind="member", by_id=world.referrer)

    assert (lead["referrer"], lead["name"], lead["phone"], lead["project"]) == (world.referrer, "王五", e164(FRIEND), world.project)
    assert lead["stage"] == "registered"
    assert lead["protected_until"] == TODAY + timedelta(days=90)
    changes = await LeadStageChange.select().where(LeadStageChange.lead == lead["id"])
    assert [(c["from_stage"], c["to_stage"], c["actor_kind"], c["actor_id"]) for c in changes] == [
        ("", "registered", "member", world.referrer)
    ]


async def test_a_pre_owner_with_a_signed_contract_may_refer(world):
    # The referrer has signed but not taken delivery: a referrer needs a contract, not keys.
    assert (await register(world))["stage"] == "registered"


async def test_a_member_who_owns_no_unit_cannot_refer(world):
    stranger = await add_member("路人甲", "+8613700137000")
    with pytest.raises(referrals.ReferrerNotOwner):
        await register(world, referrer=stranger)
    assert await Lead.count() == 0


async def test_an_owner_cannot_refer_themselves(world):
    with pytest.raises(referrals.SelfReferral):
        await register(world, phone=f"+86 {REFERRER[:3]} {REFERRER[3:7]} {REFERRER[7:]}")
    assert await Lead.count() == 0


async def test_co_owners_of_one_unit_are_one_household_and_cannot_refer_each_other(world):
    with pytest.raises(referrals.SameHousehold):
        await register(world, phone=CO_OWNER)
    with pytest.raises(referrals.SameHousehold):
        await register(world, referrer=world.co_owner, phone=REFERRER)
    assert await Lead.count() == 0


async def test_a_declared_close_relative_is_excluded(world):
    with pytest.raises(referrals.CloseRelativeExcluded):
        await register(world, close_relative=True)
    assert await Lead.count() == 0


async def test_someone_who_already_owns_a_unit_cannot_be_referred(world):
    with pytest.raises(referrals.AlreadyOwner):
        await register(world, phone=OTHER_OWNER)
    assert await Lead.count() == 0


async def test_someone_who_visited_the_sales_office_before_cannot_be_referred_for_that_project(world):
    await referrals.record_office_visit("139-0013-9001", world.project, world.sales)

    with pytest.raises(referrals.VisitedBeforeRegistration):
        await register(world)
    # The visit was to one project's office; the friend may still be brought to another.
    assert (await register(world, project_id=world.second_project))["stage"] == "registered"


async def test_a_visit_after_the_registration_does_not_undo_it(world):
    lead = await register(world)
    await referrals.record_office_visit(FRIEND, world.project, world.sales)
    assert (await move(world, lead, "visited"))["stage"] == "visited"


async def test_another_owners_protection_window_blocks_a_second_referrer_until_it_ends(world, frozen):
    first = await register(world)

    frozen.move_to(noon(TODAY + timedelta(days=90)))  # the window's last day
    with pytest.raises(referrals.ProtectedByAnotherOwner) as refused:
        await register(world, referrer=world.other_owner)
    assert refused.value.extra["protected_until"] == (TODAY + timedelta(days=90)).isoformat()

    frozen.move_to(noon(TODAY + timedelta(days=91)))
    second = await register(world, referrer=world.other_owner)
    assert second["referrer"] == world.other_owner and second["id"] != first["id"]


async def test_the_same_owner_registering_a_friend_twice_is_a_duplicate(world):
    first = await register(world)
    with pytest.raises(referrals.AlreadyReferred) as refused:
        await register(world, phone=f"+86{FRIEND}")
    assert refused.value.extra["lead_id"] == first["id"]
    assert await Lead.count() == 1


async def test_a_cancelled_lead_no_longer_protects_the_phone(world):
    lead = await register(world)
    await move(world, lead, "cancelled")
    assert (await register(world, referrer=world.other_owner))["referrer"] == world.other_owner


async def test_a_referrer_at_the_yearly_cap_of_signed_referrals_is_refused(world):
    policy = referrals.Policy(yearly_cap=2)
    for phone in (FRIEND, FRIEND_2):
        await move(world, await register(world, phone=phone, policy=policy), "signed", policy=policy)

    with pytest.raises(referrals.YearlyCapReached):
        await register(world, phone=FRIEND_3, policy=policy)
    # The cap is the referrer's own: another owner still refers.
    assert (await register(world, referrer=world.other_owner, phone=FRIEND_3, policy=policy))["stage"] == "registered"


async def test_leads_below_the_yearly_cap_or_not_signed_do_not_count_towards_it(world):
    policy = referrals.Policy(yearly_cap=2)
    await move(world, await register(world, phone=FRIEND, policy=policy), "signed", policy=policy)
    await move(world, await register(world, phone=FRIEND_2, policy=policy), "subscribed", policy=policy)

    assert (await register(world, phone=FRIEND_3, policy=policy))["stage"] == "registered"


async def test_the_yearly_cap_starts_again_on_january_1st(world, frozen):
    policy = referrals.Policy(yearly_cap=1)
    frozen.move_to(noon(TODAY.replace(month=12, day=31)))
    await move(world, await register(world, phone=FRIEND, policy=policy), "signed", policy=policy)
    with pytest.raises(referrals.YearlyCapReached):
        await register(world, phone=FRIEND_2, policy=policy)

    frozen.move_to(noon(TODAY.replace(year=TODAY.year + 1, month=1, day=1)))
    assert (await register(world, phone=FRIEND_2, policy=policy))["stage"] == "registered"


async def test_signing_more_leads_than_the_yearly_cap_pays_the_referrer_no_more_than_the_cap(world):
    """The cap limits signed referral rewards a year (DESIGN.md, "Referral limits"); leads
    registered while under the cap must not carry the referrer past it when they sign."""
    policy = referrals.Policy(yearly_cap=2)
    leads = [await register(world, phone=phone, policy=policy) for phone in (FRIEND, FRIEND_2, FRIEND_3)]
    for lead in leads:
        await move(world, lead, "signed", policy=policy)

    signed_rewards = [r for r in await rewards(world.referrer) if r[0].endswith(":signed")]
    assert len(signed_rewards) <= 2


async def test_a_signed_lead_cannot_be_referred_again_once_the_window_has_ended(world, frozen):
    lead = await register(world)
    await move(world, lead, "signed")

    frozen.move_to(noon(TODAY + timedelta(days=91)))
    # Having signed, the friend is an owner now: another owner must not be rewarded for them.
    with pytest.raises(referrals.AlreadyOwner):
        await register(world, referrer=world.other_owner)


@pytest.mark.parametrize(
    "change, field",
    [({"phone": "12345"}, "phone"), ({"name": "  "}, "name"), ({"project_id": 9_999}, "project")],
)
async def test_a_lead_with_an_invalid_phone_name_or_project_is_refused(world, change, field):
    with pytest.raises(InvalidField) as refused:
        await register(world, **change)
    assert refused.value.field == field
