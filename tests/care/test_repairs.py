"""Repairs (维修, issue 20): the 10-minute intake clock, the states with acceptance and rework,
second-repair detection, the return visits a closed repair creates (24 hours; two months for
major works), the contractor's reward or penalty from the owner's rating, and the KPI figures.

The clocks run on the project's clock (`loyalty.clock.as_of`), which the services read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from loyalty import clock, jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import kpi_board, repairs, visits
from loyalty.care.tables import GroupWarning, Repair, ReturnVisit
from loyalty.clock import LOCAL_ZONE
from loyalty.errors import DomainError, InvalidField
from loyalty.members.tables import Ownership
from tests.events.builders import owners, staff


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


def bj(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_ZONE)


REPORTED = bj(2026, 6, 15, 9, 0)


async def unit_of(member: int) -> int:
    return (await Ownership.select(Ownership.unit).where(Ownership.member == member).first())["unit"]


async def new_repair(member: int, desk: int, *, at: datetime | None = None, reported_at: datetime = REPORTED,
                     **values: Any) -> int:
    fields: dict[str, Any] = dict(member_id=member, unit_id=await unit_of(member), item="water_leak", contractor="顺安维修",
                                  staff_id=desk, reported_at=reported_at, contract_sum_fen=1_000_000)
    fields.update(values)
    with clock.as_of(at or reported_at + timedelta(minutes=5)):
        return await repairs.record(**fields)


async def through(repair_id: int, *steps: str, desk: int, at: datetime, satisfaction: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    with clock.as_of(at):
        for to in steps:
            row = await repairs.advance(repair_id, to, staff_id=desk, accepted_by="owner" if to == "accepted" else None,
                                        satisfaction=satisfaction if to == "closed" else None)
    return row


# --- the intake clock ---------------------------------------------------------------------------


async def test_the_form_within_ten_minutes_is_on_time_and_later_is_flagged(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")

    on_time = await new_repair(owner, desk, at=REPORTED + timedelta(minutes=10))
    late = await new_repair(owner, desk, at=REPORTED + timedelta(minutes=10, seconds=1), item="wall_crack")

    first, second = await repairs.get_repair(on_time), await repairs.get_repair(late)
    assert first["intake_due"] == REPORTED + timedelta(minutes=10)
    assert (first["intake_late"], second["intake_late"]) == (False, True)
    assert first["recorded_at"] == REPORTED + timedelta(minutes=10)
    audit = await AuditEntry.select().where(AuditEntry.action == "repair.record").order_by(AuditEntry.id)
    assert [a["subject_id"] for a in audit] == [on_time, late] and audit[0]["actor_id"] == desk


async def test_the_intake_minutes_are_a_setting(database, tmp_path, settings):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    from dataclasses import replace

    with clock.as_of(REPORTED + timedelta(minutes=12)):
        repair_id = await repairs.record(member_id=owner, unit_id=await unit_of(owner), item="plumbing", contractor="A",
                                         staff_id=desk, reported_at=REPORTED, settings=replace(settings, repair_intake_minutes=15))
    assert (await repairs.get_repair(repair_id))["intake_late"] is False


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(database, tmp_path):
    (owner, other) = await owners(tmp_path, 2)
    desk = await staff("front1", "service")
    sales = await staff("sales1", "sales")
    cases = [
        (dict(item="roof"), "item"),
        (dict(contractor="  "), "contractor"),
        (dict(contract_sum_fen=-1), "contract_sum_fen"),
        (dict(unit_id=await unit_of(other)), "unit_id"),
        (dict(ambassador_id=sales), "ambassador_id"),
        (dict(reported_at=REPORTED + timedelta(hours=1), at=REPORTED), "reported_at"),
    ]
    for values, field in cases:
        with pytest.raises(InvalidField) as refused:
            await new_repair(owner, desk, **values)
        assert refused.value.field == field
    assert await Repair.count() == 0


# --- states, acceptance and rework ----------------------------------------------------------------


async def test_through_the_states_with_one_rework(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    repair_id = await new_repair(owner, desk)
    later = REPORTED + timedelta(hours=2)

    await through(repair_id, "in_repair", "awaiting_acceptance", "rework", desk=desk, at=later)
    with pytest.raises(repairs.RepairStateError):  # not accepted yet: cannot close
        await through(repair_id, "closed", desk=desk, at=later)
    row = await through(repair_id, "awaiting_acceptance", "accepted", desk=desk, at=later + timedelta(days=1))
    assert (row["state"], row["rework_count"], row["accepted_by"]) == ("accepted", 1, "owner")
    row = await through(repair_id, "closed", desk=desk, at=later + timedelta(days=2), satisfaction=4)
    assert (row["state"], row["satisfaction"], row["closed_at"]) == ("closed", 4, later + timedelta(days=2))
    actions = [a["action"] for a in await AuditEntry.select().where(AuditEntry.subject_kind == "repair").order_by(AuditEntry.id)]
    assert actions == ["repair.record", "repair.in_repair", "repair.awaiting_acceptance", "repair.rework",
                       "repair.awaiting_acceptance", "repair.accepted", "repair.closed"]


async def test_acceptance_names_who_accepted_and_the_owner_only_accepts_or_sends_back(database, tmp_path):
    (owner, other) = await owners(tmp_path, 2)
    desk = await staff("front1", "service")
    repair_id = await new_repair(owner, desk)
    await through(repair_id, "in_repair", "awaiting_acceptance", desk=desk, at=REPORTED + timedelta(hours=1))

    with pytest.raises(InvalidField) as refused:
        await repairs.advance(repair_id, "accepted", staff_id=desk)
    assert refused.value.field == "accepted_by"
    with pytest.raises(InvalidField):
        await repairs.advance(repair_id, "closed", member_id=owner)
    with pytest.raises(DomainError):  # not their repair: not found
        await repairs.advance(repair_id, "accepted", member_id=other)
    row = await repairs.advance(repair_id, "accepted", member_id=owner)
    assert row["accepted_by"] == "owner"


async def test_a_rating_once_and_only_after_closing(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    repair_id = await new_repair(owner, desk)
    with pytest.raises(repairs.RepairStateError):
        await repairs.rate(repair_id, 5, staff_id=desk)
    await through(repair_id, "in_repair", "awaiting_acceptance", "accepted", "closed", desk=desk, at=REPORTED + timedelta(hours=3))
    with pytest.raises(InvalidField):
        await repairs.rate(repair_id, 6, staff_id=desk)
    assert (await repairs.rate(repair_id, 5, member_id=owner))["satisfaction"] == 5
    with pytest.raises(repairs.RepairRated):
        await repairs.rate(repair_id, 1, staff_id=desk)


# --- second repairs -------------------------------------------------------------------------------


async def test_the_same_unit_and_item_within_ninety_days_is_a_second_repair(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    first = await new_repair(owner, desk)
    other_item = await new_repair(owner, desk, item="electrical", reported_at=REPORTED + timedelta(days=10))
    again = await new_repair(owner, desk, reported_at=REPORTED + timedelta(days=90))
    much_later = await new_repair(owner, desk, reported_at=REPORTED + timedelta(days=181))

    found = {r["id"]: r["second_repair_of"] for r in await Repair.select()}
    assert found[first] is None and found[other_item] is None
    assert found[again] == first  # 90 days on, still within the window
    assert found[much_later] is None  # 91 days after `again`


async def test_ninety_one_days_on_is_not_a_second_repair(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    await new_repair(owner, desk)
    later = await new_repair(owner, desk, reported_at=REPORTED + timedelta(days=90, seconds=1))
    assert (await repairs.get_repair(later))["second_repair_of"] is None


# --- return visits when a repair closes -----------------------------------------------------------


async def test_closing_creates_a_visit_due_24_hours_later(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    repair_id = await new_repair(owner, desk, ambassador_id=desk)
    closed = bj(2026, 6, 16, 15, 30)
    await through(repair_id, "in_repair", "awaiting_acceptance", "accepted", desk=desk, at=closed - timedelta(hours=1))
    assert await ReturnVisit.count() == 0
    await through(repair_id, "closed", desk=desk, at=closed)

    rows = await ReturnVisit.select()
    assert [(r["kind"], r["source"], r["due_at"], r["member"], r["assigned_to"]) for r in rows] == [
        ("after_repair", f"repair:{repair_id}", bj(2026, 6, 17, 15, 30), owner, desk)
    ]
    # The hourly job finds the same visit and adds nothing.
    assert await visits.create_due_visits(closed + timedelta(hours=1)) == 0


async def test_major_works_add_a_visit_two_months_on(database, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    desk = await staff("front1", "service")
    repair_id = await new_repair(owner, desk, major_works=True)
    closed = bj(2026, 6, 30, 10, 0)
    await through(repair_id, "in_repair", "awaiting_acceptance", "accepted", "closed", desk=desk, at=closed)

    found = {r["kind"]: r["due_at"] for r in await ReturnVisit.select()}
    assert found == {"after_repair": bj(2026, 7, 1, 10, 0), "after_major_repair": bj(2026, 8, 30, 10, 0)}
    assert await visits.create_due_visits(bj(2026, 8, 1, 10, 0)) == 0


# --- contractors ----------------------------------------------------------------------------------


def test_the_reward_and_penalty_scale_by_hand():
    # 10,000.00 元 = 1,000,000 fen: +2% = 20,000 fen (200 元), +1% = 10,000, 0, −2% = −20,000, −5% = −50,000.
    assert [repairs.contractor_amount_fen(1_000_000, s) for s in (5, 4, 3, 2, 1)] == [20_000, 10_000, 0, -20_000, -50_000]
    # 1,234.55 元 at +1% is 12.3455 元: 1,234.55 fen rounds to 1,235; at −5% 6,172.75 fen → −6,173.
    assert repairs.contractor_amount_fen(123_455, 4) == 1_235
    assert repairs.contractor_amount_fen(123_455, 1) == -6_173
    with pytest.raises(InvalidField):
        repairs.contractor_amount_fen(100, 0)


async def test_a_contractors_month_sums_rewards_and_penalties(database, tmp_path):
    (a, b, c) = await owners(tmp_path, 3)
    desk = await staff("front1", "service")
    june = bj(2026, 6, 20, 10, 0)
    plan = [(a, "顺安维修", 1_000_000, 5, june), (b, "顺安维修", 300_000, 1, june), (c, "顺安维修", 500_000, None, june),
            (a, "恒通水电", 200_000, 4, june), (b, "顺安维修", 900_000, 5, bj(2026, 7, 1, 0, 0))]
    for member, contractor, total, score, at in plan:
        repair_id = await new_repair(member, desk, contractor=contractor, contract_sum_fen=total, item="other",
                                     reported_at=at - timedelta(days=3))
        await through(repair_id, "in_repair", "awaiting_acceptance", "accepted", "closed", desk=desk, at=at, satisfaction=score)

    lines = {line.contractor: line for line in await repairs.contractor_summary("2026-06")}
    shun = lines["顺安维修"]
    # +2% of 10,000 元 = 200 元; −5% of 3,000 元 = 150 元; the unrated one counts as closed only; July's is not June's.
    assert (shun.repairs, shun.rated, shun.reward_fen, shun.penalty_fen, shun.net_fen) == (3, 2, 20_000, 15_000, 5_000)
    assert shun.contract_sum_fen == 1_300_000 and shun.average_rating == 3.0 and shun.ratings[5] == 1 and shun.ratings[1] == 1
    heng = lines["恒通水电"]
    assert (heng.repairs, heng.reward_fen, heng.penalty_fen, heng.net_fen) == (1, 2_000, 0, 2_000)
    assert [line.contractor for line in await repairs.contractor_summary("2026-07")] == ["顺安维修"]


# --- the KPI figures ------------------------------------------------------------------------------


async def test_repair_kpis_give_numerator_denominator_and_records(database, tmp_path):
    (a, b, c) = await owners(tmp_path, 3)
    desk = await staff("front1", "service")
    at = bj(2026, 6, 20, 10, 0)
    clean = await new_repair(a, desk)
    await through(clean, "in_repair", "awaiting_acceptance", "accepted", "closed", desk=desk, at=at, satisfaction=5)
    redone = await new_repair(b, desk)
    await through(redone, "in_repair", "awaiting_acceptance", "rework", "awaiting_acceptance", "accepted", "closed",
                  desk=desk, at=at, satisfaction=3)
    second = await new_repair(a, desk, reported_at=REPORTED + timedelta(days=2))
    await new_repair(c, desk, item="door_window")

    figures = await repairs.repair_kpis(date(2026, 6, 1), date(2026, 6, 30))
    assert (figures.satisfaction.numerator, figures.satisfaction.denominator, figures.satisfaction.rate) == (1, 2, 0.5)
    assert (figures.pass_rate.numerator, figures.pass_rate.denominator) == (1, 2)
    assert [r["id"] for r in figures.pass_rate.records] == [clean, redone]
    assert (figures.second_repair_rate.numerator, figures.second_repair_rate.denominator) == (1, 4)
    assert [r["id"] for r in figures.second_repair_rate.records if r["second_repair_of"]] == [second]
    empty = await repairs.repair_kpis(date(2026, 5, 1), date(2026, 5, 31))
    assert empty.satisfaction.rate is None and empty.pass_rate.denominator == 0
    with pytest.raises(InvalidField):
        await repairs.repair_kpis(date(2026, 6, 30), date(2026, 6, 1))


async def test_the_kpi_board_shows_the_repair_figures_and_the_warnings_handled(database, tmp_path):
    (a, b, c) = await owners(tmp_path, 3)
    desk = await staff("front1", "service")
    at = bj(2026, 6, 20, 10, 0)
    clean = await new_repair(a, desk)
    await through(clean, "in_repair", "awaiting_acceptance", "accepted", "closed", desk=desk, at=at, satisfaction=5)
    redone = await new_repair(b, desk)
    await through(redone, "in_repair", "awaiting_acceptance", "rework", "awaiting_acceptance", "accepted", "closed",
                  desk=desk, at=at, satisfaction=3)
    second = await new_repair(a, desk, reported_at=REPORTED + timedelta(days=2))
    other = await new_repair(c, desk, item="door_window")
    for n, acknowledged in enumerate((at, None)):  # two warnings in June, one acknowledged
        await GroupWarning.insert(GroupWarning(
            key=f"complaint:1:9:{n}", kind="complaint", project=None, building="9", case_ids=[1, 2, 3],
            first_case_at=at, last_case_at=at, raised_at=at + timedelta(hours=n), acknowledged_at=acknowledged,
        ))

    board = {k["key"]: k for k in await kpi_board.board("2026-06")}
    figures = {key: (board[key]["numerator"], board[key]["denominator"], board[key]["value"])
               for key in ("repair_satisfaction", "repair_pass_rate", "second_repair_rate", "group_warnings")}
    assert figures == {"repair_satisfaction": (1, 2, 0.5), "repair_pass_rate": (1, 2, 0.5),
                       "second_repair_rate": (1, 4, 0.25), "group_warnings": (1, 2, 0.5)}
    assert board["second_repair_rate"]["meets_target"] is False  # 25% against at most 4%
    assert [p["value"] for p in board["repair_satisfaction"]["months"][-2:]] == [None, 0.5]  # May had none

    drilled = await kpi_board.drill_down("second_repair_rate", "2026-Q2")
    assert [(r["id"], r["numerator"]) for r in drilled["items"]] == [(clean, 0), (redone, 0), (second, 1), (other, 0)]
    assert drilled["items"][2]["second_repair_of"] == clean

