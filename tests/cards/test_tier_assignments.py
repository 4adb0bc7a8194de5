"""Staff tier assignments: raise at once, with a reason and an end date, audited; when one
ends, the member keeps the higher of the rules and the tier held before."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.cards import service
from loyalty.cards.tables import TierAssignment
from loyalty.errors import InvalidField
from loyalty.identity.service import create_staff
from tests.cards.builders import (
    TODAY,
    current_card,
    delivered_unit,
    history,
    import_owner,
    noon,
    pre_owner_unit,
    tier_of,
    transfer_unit,
)

ENDS_ON = date(2026, 6, 30)
REASON = "交付延期补偿 / delivery delay goodwill"


async def admin_id() -> int:
    return (await create_staff("admin1", "admin-password-1", "admin")).id


async def test_an_assignment_raises_the_tier_at_once_with_its_reason_and_end_date(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    staff = await admin_id()

    await service.assign_tier(member, "gold", REASON, ENDS_ON, staff, TODAY)

    card = await current_card(member)
    assert (card["tier"], card["tier_reason"]) == ("gold", "assignment")
    assignment = await TierAssignment.select().where(TierAssignment.member == member).first()
    assert (assignment["tier"], assignment["reason"], assignment["ends_on"]) == ("gold", REASON, ENDS_ON)
    assert (assignment["previous_tier"], assignment["staff_id"]) == ("blue", staff)
    view = await service.card_view(member, "en", TODAY)
    assert view.why_kind == "assignment"
    assert REASON in view.why and "2026-06-30" in view.why
    assert (await history(member))[-1] == ("blue", "gold", "assignment")


async def test_an_assignment_is_audited_with_who_why_and_what(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    staff = await admin_id()

    await service.assign_tier(member, "platinum", REASON, ENDS_ON, staff, TODAY)

    entries = await AuditEntry.select().where(AuditEntry.action == "tier.assign").output(load_json=True)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["actor_kind"], entry["actor_id"], entry["subject_kind"], entry["subject_id"]) == (
        "staff", staff, "member", member,
    )
    assert entry["reason"] == REASON
    assert entry["data"] == {"tier": "platinum", "ends_on": "2026-06-30", "previous_tier": "blue"}


async def test_an_assignment_holds_through_its_end_date_and_ends_the_day_after(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    await service.assign_tier(member, "gold", REASON, ENDS_ON, await admin_id(), TODAY)

    frozen.move_to(noon(ENDS_ON))
    await service.nightly(ENDS_ON)
    assert await service.end_expired_assignments(ENDS_ON) == 0
    assert await tier_of(member) == "gold"
    assert (await service.card_view(member, "en", ENDS_ON)).why_kind == "assignment"

    day_after = ENDS_ON + timedelta(days=1)
    frozen.move_to(noon(day_after))
    assert await service.end_expired_assignments(day_after) == 1

    assert await tier_of(member) == "blue"
    assert (await history(member))[-1] == ("gold", "blue", "assignment_ended")
    assignment = await TierAssignment.select().where(TierAssignment.member == member).first()
    assert assignment["revoked_at"] is not None
    assert await service.end_expired_assignments(day_after) == 0


async def test_the_nightly_job_ends_an_expired_assignment(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    await service.assign_tier(member, "gold", REASON, ENDS_ON, await admin_id(), TODAY)

    day_after = ENDS_ON + timedelta(days=1)
    frozen.move_to(noon(day_after))
    await service.nightly(day_after)

    assert await tier_of(member) == "blue"
    assert (await service.card_view(member, "en", day_after)).why_kind == "units_owned"


async def test_when_an_assignment_ends_the_member_keeps_the_tier_held_before_if_the_rules_now_say_less(
    database, frozen, tmp_path
):
    member = await import_owner(tmp_path, [pre_owner_unit(room="0101"), pre_owner_unit(room="0201")])
    assert await tier_of(member) == "gold"
    await service.assign_tier(member, "platinum", REASON, ENDS_ON, await admin_id(), TODAY)
    await transfer_unit(member, "0201")  # the rules now say blue

    day_after = ENDS_ON + timedelta(days=1)
    frozen.move_to(noon(day_after))
    await service.nightly(day_after)

    assert await tier_of(member) == "gold"  # no mid-year downgrade below the tier before


async def test_when_an_assignment_ends_the_rules_decide_if_they_now_say_more_than_the_tier_before(
    database, frozen, tmp_path
):
    delivery = TODAY + timedelta(days=5)
    member = await import_owner(tmp_path, [delivered_unit(delivery)])
    assert await tier_of(member) == "blue"
    await service.assign_tier(member, "platinum", REASON, ENDS_ON, await admin_id(), TODAY)
    frozen.move_to(noon(delivery))
    await service.nightly(delivery)
    assert await tier_of(member) == "platinum"

    day_after = ENDS_ON + timedelta(days=1)
    frozen.move_to(noon(day_after))
    await service.nightly(day_after)

    assert await tier_of(member) == "silver"
    assert (await history(member))[-1] == ("platinum", "silver", "assignment_ended")


async def test_an_assignment_in_force_survives_the_yearly_review(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    review = date(2027, 1, 1)
    await service.assign_tier(member, "gold", REASON, date(2027, 3, 31), await admin_id(), TODAY)

    frozen.move_to(noon(review))
    await service.nightly(review)
    await service.yearly_review(review)

    assert await tier_of(member) == "gold"


@pytest.mark.parametrize(("units", "tier"), [(2, "gold"), (2, "silver"), (1, "blue")])
async def test_an_assignment_must_raise_the_tier_an_equal_or_lower_tier_is_refused(
    database, frozen, tmp_path, units, tier
):
    member = await import_owner(tmp_path, [pre_owner_unit() for _ in range(units)])
    before = await current_card(member)

    with pytest.raises(InvalidField) as refused:
        await service.assign_tier(member, tier, REASON, ENDS_ON, await admin_id(), TODAY)

    assert refused.value.field == "tier"
    assert await current_card(member) == before
    assert await TierAssignment.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action == "tier.assign") == 0


async def test_an_assignment_needs_a_reason_and_an_end_date_not_in_the_past(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    staff = await admin_id()

    with pytest.raises(InvalidField) as no_reason:
        await service.assign_tier(member, "gold", " ", ENDS_ON, staff, TODAY)
    with pytest.raises(InvalidField) as past:
        await service.assign_tier(member, "gold", REASON, TODAY - timedelta(days=1), staff, TODAY)

    assert (no_reason.value.field, past.value.field) == ("reason", "ends_on")
    assert await tier_of(member) == "blue"


async def test_a_second_assignment_does_not_turn_the_first_assigned_tier_into_a_floor(database, frozen, tmp_path):
    # Blue by the rules; gold given until July 31st, then platinum until June 30th. When both
    # have ended the member is blue again: gold was only ever a favour, not a tier "held before".
    member = await import_owner(tmp_path, [pre_owner_unit()])
    staff = await admin_id()
    await service.assign_tier(member, "gold", REASON, date(2026, 7, 31), staff, TODAY)
    await service.assign_tier(member, "platinum", "开盘活动代言人", ENDS_ON, staff, TODAY)
    assert await tier_of(member) == "platinum"

    for day in (ENDS_ON + timedelta(days=1), date(2026, 8, 1)):
        frozen.move_to(noon(day))
        await service.nightly(day)

    assert await tier_of(member) == "blue"


async def test_a_yearly_review_run_before_the_nightly_job_is_not_undone_by_it(database, frozen, tmp_path):
    # The review lowers a gold member who sold a unit to what the rules say; an assignment that
    # ended the day before must not lift them back to the pre-assignment tier afterwards.
    member = await import_owner(tmp_path, [pre_owner_unit(room="0101"), pre_owner_unit(room="0201")])
    await service.assign_tier(member, "platinum", REASON, date(2026, 12, 31), await admin_id(), TODAY)
    await transfer_unit(member, "0201")
    review = date(2027, 1, 1)

    frozen.move_to(noon(review))
    await service.yearly_review(review)  # e.g. `loyalty recompute-tiers --review`, or the nightly task ran late
    await service.nightly(review)

    assert await tier_of(member) == "blue"
