"""Lifecycle stage: `stage_of` at every boundary, and the set-based SQL refresh agreeing with it.

The rule (DESIGN.md glossary, members/stages.py): prospect (no contract) → pre_owner (signed,
not delivered, or delivery still ahead) → settling (delivery <= today < delivery + 1 year) →
stable (years two and three) → veteran (from delivery + 3 years on). Anniversaries are
computed with relativedelta, so one year after 2024-02-29 is 2025-02-28.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from dateutil.relativedelta import relativedelta

from loyalty.members import importer, service
from loyalty.members.stages import STAGES, cutoffs, stage_of
from loyalty.members.tables import Member
from tests.members.owner_files import member_by_phone, owner_row, write_owner_file

DAY = timedelta(days=1)
SIGNED = date(2021, 3, 8)
DELIVERED = date(2022, 6, 15)
YEAR_1 = DELIVERED + relativedelta(years=1)  # 2023-06-15
YEAR_3 = DELIVERED + relativedelta(years=3)  # 2025-06-15


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        (DELIVERED - DAY, "pre_owner"),
        (DELIVERED, "settling"),
        (DELIVERED + DAY, "settling"),
        (YEAR_1 - DAY, "settling"),
        (YEAR_1, "stable"),
        (YEAR_1 + DAY, "stable"),
        (YEAR_3 - DAY, "stable"),
        (YEAR_3, "veteran"),
        (YEAR_3 + DAY, "veteran"),
        (DELIVERED + relativedelta(years=30), "veteran"),
    ],
    ids=lambda value: value.isoformat() if isinstance(value, date) else value,
)
def test_stage_changes_exactly_on_the_delivery_day_and_its_first_and_third_anniversary(today, stage):
    assert stage_of(SIGNED, DELIVERED, today) == stage


def test_a_signed_contract_without_delivery_is_pre_owner_whatever_the_date():
    for today in (SIGNED, SIGNED + DAY, SIGNED + relativedelta(years=10)):
        assert stage_of(SIGNED, None, today) == "pre_owner"


def test_a_delivery_date_still_in_the_future_keeps_the_owner_pre_owner():
    today = date(2026, 11, 25)
    assert stage_of(date(2025, 1, 1), today + DAY, today) == "pre_owner"
    assert stage_of(date(2025, 1, 1), today + relativedelta(years=2), today) == "pre_owner"
    assert stage_of(date(2025, 1, 1), today, today) == "settling"


def test_no_contract_and_no_delivery_is_a_prospect():
    assert stage_of(None, None, date(2026, 11, 25)) == "prospect"


def test_a_delivery_without_a_recorded_contract_still_counts_from_delivery():
    today = date(2026, 11, 25)
    assert stage_of(None, today + DAY, today) == "pre_owner"
    assert stage_of(None, today - relativedelta(years=2), today) == "stable"


def test_every_stage_returned_is_one_of_the_glossary_stages():
    today = date(2026, 11, 25)
    seen = {
        stage_of(contract, delivery, today)
        for contract in (None, SIGNED)
        for delivery in (None, today + DAY, today, today - relativedelta(years=2), today - relativedelta(years=5))
    }
    assert seen == set(STAGES)


def test_feb_29_delivery_is_settling_until_feb_27_and_stable_and_veteran_from_mar_1():
    feb_29 = date(2024, 2, 29)
    assert stage_of(SIGNED, feb_29, date(2024, 2, 28)) == "pre_owner"
    assert stage_of(SIGNED, feb_29, feb_29) == "settling"
    assert stage_of(SIGNED, feb_29, date(2025, 2, 27)) == "settling"
    assert stage_of(SIGNED, feb_29, date(2025, 3, 1)) == "stable"
    assert stage_of(SIGNED, feb_29, date(2027, 2, 27)) == "stable"
    assert stage_of(SIGNED, feb_29, date(2027, 3, 1)) == "veteran"
    assert stage_of(SIGNED, feb_29, date(2028, 2, 29)) == "veteran"


def test_bug_feb_29_delivery_turns_stable_and_veteran_on_feb_28_as_relativedelta_says():
    """members/stages.py says "one year after 2024-02-29 is 2025-02-28" (relativedelta), so by
    the rule settling ends when today reaches delivery + 1 year = 2025-02-28, and veteran
    starts at delivery + 3 years = 2027-02-28. `cutoffs` subtracts instead
    (2025-02-28 - 1 year = 2024-02-28 < 2024-02-29), which moves both changes to Mar 1."""
    feb_29 = date(2024, 2, 29)
    assert feb_29 + relativedelta(years=1) == date(2025, 2, 28)
    assert stage_of(SIGNED, feb_29, date(2025, 2, 28)) == "stable"
    assert feb_29 + relativedelta(years=3) == date(2027, 2, 28)
    assert stage_of(SIGNED, feb_29, date(2027, 2, 28)) == "veteran"


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += DAY


def test_every_delivery_day_of_two_years_changes_stage_on_its_own_anniversaries():
    """Walks every delivery day of 2023 and 2024 except Feb 29 (which has its own tests above),
    including the days around month ends, through its four boundaries."""
    for delivery in _days(date(2023, 1, 1), date(2024, 12, 31)):
        if (delivery.month, delivery.day) == (2, 29):
            continue
        one, three = delivery + relativedelta(years=1), delivery + relativedelta(years=3)
        observed = [stage_of(SIGNED, delivery, today) for today in (delivery - DAY, delivery, one - DAY, one, three - DAY, three)]
        assert observed == ["pre_owner", "settling", "settling", "stable", "stable", "veteran"], delivery


def test_cutoffs_are_the_last_delivery_days_that_count_as_stable_and_veteran():
    for today in _days(date(2027, 2, 20), date(2028, 3, 5)):
        edge = cutoffs(today)
        assert edge.today == today
        assert stage_of(SIGNED, edge.stable_from, today) == "stable"
        assert stage_of(SIGNED, edge.stable_from + DAY, today) == "settling"
        assert stage_of(SIGNED, edge.veteran_from, today) == "veteran"
        assert stage_of(SIGNED, edge.veteran_from + DAY, today) == "stable"


# ---- the stored stage: set-based SQL refresh against stage_of ------------------------------

IMPORT_DAY = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)

# phone → the units (contract, delivery) that member owns; built through an owner file.
OWNERS: dict[str, list[tuple[date, date | None]]] = {
    "13800138001": [(SIGNED, DELIVERED)],
    "13800138002": [(SIGNED, DELIVERED + DAY)],
    "13800138003": [(SIGNED, DELIVERED - DAY)],
    "13800138004": [(date(2023, 5, 1), date(2024, 2, 29))],
    "13800138005": [(date(2023, 5, 1), date(2024, 2, 28))],
    "13800138006": [(date(2023, 5, 1), date(2024, 3, 1))],
    "13800138007": [(date(2022, 1, 10), None)],  # contract only
    "13800138008": [(date(2021, 1, 1), None), (date(2021, 5, 1), DELIVERED)],  # earliest delivery is the 2nd unit
    "13800138009": [(date(2023, 1, 1), date(2023, 9, 9)), (SIGNED, DELIVERED + DAY)],  # earliest is the 2nd unit
    "13800138010": [(date(2022, 1, 1), date(2030, 1, 1))],  # delivery years ahead
}
CO_OWNER = "13800138011"  # shares the first owner's unit

CHECKPOINTS = sorted(
    {
        DELIVERED - DAY, DELIVERED, DELIVERED + DAY,
        YEAR_1 - DAY, YEAR_1, YEAR_1 + DAY,
        YEAR_3 - DAY, YEAR_3, YEAR_3 + DAY,
        date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1),
        date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1),
        date(2027, 2, 27), date(2027, 2, 28), date(2027, 3, 1),
        date(2028, 2, 29), date(2029, 12, 31), date(2030, 1, 1),
    }
)


def _expected(phone: str, today: date) -> str:
    units = OWNERS[phone]
    deliveries = [delivery for _, delivery in units if delivery]
    return stage_of(min(contract for contract, _ in units), min(deliveries, default=None), today)


async def _build_owners(tmp_path: Path) -> dict[str, int]:
    """Every member of OWNERS (and the co-owner) through one import; returns phone → id."""
    rows = []
    for number, (phone, units) in enumerate(OWNERS.items()):
        for index, (contract, delivery) in enumerate(units):
            rows.append(
                owner_row(
                    name=f"业主{number:02d}", phone=phone, building=str(number + 1), room=f"{index + 1}01",
                    contract_date=contract, delivery_date=delivery,
                )
            )
    contract, delivery = OWNERS["13800138001"][0]
    rows.append(owner_row(name="共有人", phone=CO_OWNER, building="1", room="101", contract_date=contract, delivery_date=delivery))
    with time_machine.travel(IMPORT_DAY, tick=False):
        report = await importer.import_owners(write_owner_file(tmp_path / "owners.csv", rows))
    assert report.errors == [] and report.ownerships_created == len(rows)
    members = await Member.select(Member.id, Member.phone)
    return {row["phone"].removeprefix("+86"): row["id"] for row in members}


async def _stored() -> dict[str, str]:
    return {row["phone"].removeprefix("+86"): row["stage"] for row in await Member.select(Member.phone, Member.stage)}


async def test_refresh_agrees_with_stage_of_for_members_built_at_every_boundary(database, tmp_path):
    await _build_owners(tmp_path)
    # Forward through time, then backward (a corrected clock or a re-run for a past day).
    for today in CHECKPOINTS + CHECKPOINTS[::-1]:
        before = await _stored()
        changed = await service.refresh_stages(today)
        after = await _stored()
        expected = {phone: _expected(phone, today) for phone in OWNERS}
        expected[CO_OWNER] = expected["13800138001"]
        assert after == expected, today
        assert changed == sum(before[phone] != after[phone] for phone in after), today
        assert await service.refresh_stages(today) == 0, f"second refresh on {today} changed members"


async def test_refresh_agrees_with_the_profile_stage_of_every_member(database, tmp_path):
    ids = await _build_owners(tmp_path)
    for today in (YEAR_1 - DAY, YEAR_1, date(2025, 2, 28), YEAR_3):
        await service.refresh_stages(today)
        stored = await _stored()
        for phone, member_id in ids.items():
            profile = await service.get_profile(member_id, today)
            assert profile.stage == stored[phone], (phone, today)


async def test_import_stores_each_members_stage_as_of_the_import_day(database, tmp_path):
    await _build_owners(tmp_path)
    import_day = date(2026, 11, 25)
    stored = await _stored()
    assert {phone: stored[phone] for phone in OWNERS} == {phone: _expected(phone, import_day) for phone in OWNERS}
    veterans = await service.list_members(stage="veteran")
    assert sorted(item.phone for item in veterans.items) == sorted(
        f"+86{phone}" for phone in [*OWNERS, CO_OWNER] if stored[phone] == "veteran"
    )
    assert stored["13800138007"] == "pre_owner" and stored["13800138010"] == "pre_owner"


async def test_second_refresh_on_the_same_day_changes_nothing(database, tmp_path):
    await _build_owners(tmp_path)
    today = YEAR_1
    first = await service.refresh_stages(today)
    assert first > 0  # the import stored the stages of 2026-11-25; on YEAR_1 several differ
    assert await service.refresh_stages(today) == 0
    assert await service.refresh_stages(today) == 0


async def test_refresh_without_a_date_uses_todays_date_in_shanghai_not_utc(database, tmp_path):
    # 16:30 UTC on Nov 25 is 00:30 on Nov 26 in Beijing: the anniversary of a Nov 26 delivery.
    delivered = date(2025, 11, 26)
    path = write_owner_file(tmp_path / "owner.csv", [owner_row(contract_date=date(2025, 1, 5), delivery_date=delivered)])
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc), tick=False):
        await importer.import_owners(path)
    assert (await member_by_phone("+8613800138000"))["stage"] == "settling"
    with time_machine.travel(datetime(2026, 11, 25, 16, 30, tzinfo=timezone.utc), tick=False):
        assert await service.refresh_stages() == 1
    assert (await member_by_phone("+8613800138000"))["stage"] == "stable"


async def test_refresh_makes_a_member_without_units_a_prospect(database, tmp_path):
    # A member whose stored stage is stale and who owns nothing (built with the table, as no
    # service creates a member without a unit).
    await Member.insert(Member(name="访客", phone="+8613900139000", stage="veteran"))
    await _build_owners(tmp_path)
    await service.refresh_stages(DELIVERED)
    assert (await member_by_phone("+8613900139000"))["stage"] == "prospect"
    assert await service.refresh_stages(DELIVERED) == 0
