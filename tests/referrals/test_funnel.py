"""The referral funnel: per project and month, leads registered and how many reached each
stage in the month they reached it; conversion; new buyers, referred buyers among them, and
the referral share of new buyers (referred / new, never above 1)."""

from __future__ import annotations

from datetime import date

from loyalty.care import kpis
from loyalty.dashboards import service as dashboards
from loyalty.referrals import service as referrals
from tests.identity.builders import log_in_staff
from tests.members_builders import import_rows
from tests.referrals.builders import FRIEND, FRIEND_2, FRIEND_3, SECOND_PROJECT_CODE, move, noon, register


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


# --- new buyers and referred buyers: referred ⊆ new buyers in every bucket ---------------------


async def test_a_signed_lead_whose_buyer_has_no_contract_yet_counts_as_new_and_referred_buyer_in_its_signed_month(
    world, frozen, new_client
):
    frozen.move_to(noon(date(2026, 6, 5)))
    await move(world, await register(world), "signed")  # sales signed; the contract file has not come yet
    sales = await new_client()
    await log_in_staff(sales, "sales1")

    (june,) = await referrals.funnel(date(2026, 6, 1), date(2026, 6, 30))
    shown = (await sales.get("/api/v1/staff/referrals/funnel", params={"start": "2026-06-01", "end": "2026-06-30"})).json()

    # Before the fix: 1 signed / 0 new buyers (no share), and 300% with three such leads.
    assert (june.signed, june.new_buyers, june.referred_buyers, june.referral_share) == (1, 1, 1, 1.0)
    assert [(r["signed"], r["new_buyers"], r["referred_buyers"], r["referral_share"]) for r in shown] == [(1, 1, 1, 1.0)]
    assert await referrals.new_buyer_counts(date(2026, 6, 1), date(2026, 6, 30)) == {
        (world.project, "2026-06"): referrals.NewBuyers(new_buyers=1, referred_buyers=1)
    }


async def test_after_the_contract_import_the_referred_buyer_counts_once_in_the_contract_month(world, frozen, tmp_path):
    frozen.move_to(noon(date(2026, 5, 20)))
    await move(world, await register(world), "signed")
    spring = (date(2026, 5, 1), date(2026, 6, 30))
    (may_before,) = await referrals.funnel(*spring)
    frozen.move_to(noon(date(2026, 6, 15)))
    await import_rows(tmp_path, [{"phone": FRIEND, "name": "王五", "room": "0901", "contract_date": "2026-06-02"}])

    may, june = await referrals.funnel(*spring)

    assert (may_before.month, may_before.new_buyers, may_before.referred_buyers) == ("2026-05", 1, 1)
    # The lead stays signed in May (the funnel's stage count); the buyer moved to the contract month.
    assert (may.month, may.signed, may.new_buyers, may.referred_buyers, may.referral_share) == ("2026-05", 1, 0, 0, None)
    assert (june.month, june.signed, june.new_buyers, june.referred_buyers, june.referral_share) == ("2026-06", 0, 1, 1, 1.0)
    assert sum(row.new_buyers for row in (may, june)) == 1


async def _mixed_world(world, frozen, tmp_path) -> None:
    """Referred buyers with and without contracts, a deal cancelled after signing whose buyer
    bought anyway, walk-ins, a July contract, and a second project (counts in the test)."""
    frozen.move_to(noon(date(2026, 5, 20)))
    await move(world, await register(world, referrer=world.third_owner, phone=FRIEND_2, name="钱八"), "signed")
    frozen.move_to(noon(date(2026, 6, 5)))
    await move(world, await register(world), "signed")
    frozen.move_to(noon(date(2026, 6, 8)))
    changed_mind = await register(world, referrer=world.other_owner, phone=FRIEND_3, name="孙九")
    await move(world, changed_mind, "signed")
    frozen.move_to(noon(date(2026, 6, 9)))
    await move(world, changed_mind, "cancelled")
    frozen.move_to(noon(date(2026, 6, 10)))
    for referrer, phone in ((world.other_owner, "13900139004"), (world.third_owner, "13900139005")):
        await move(world, await register(world, referrer=referrer, phone=phone, name="吴十", project_id=world.second_project), "signed")
    frozen.move_to(noon(date(2026, 6, 15)))
    await import_rows(tmp_path, [
        {"phone": FRIEND_2, "name": "钱八", "room": "0901", "contract_date": "2026-06-02"},
        {"phone": FRIEND_3, "name": "孙九", "room": "0902", "contract_date": "2026-06-12"},
        {"phone": "13600136001", "name": "周一", "room": "0903", "contract_date": "2026-06-20"},
        {"phone": "13600136002", "name": "周二", "room": "0904", "contract_date": "2026-07-01"},
        {"phone": "13600136003", "name": "周三", "room": "0901", "contract_date": "2026-06-15",
         "project_code": SECOND_PROJECT_CODE, "project_name": "西湖苑"},
    ])


async def test_the_referral_share_never_exceeds_one_on_a_mixed_data_set(world, frozen, tmp_path):
    await _mixed_world(world, frozen, tmp_path)

    rows = await referrals.funnel(date(2026, 5, 1), date(2026, 7, 31))
    board = await dashboards.referral_funnel(date(2026, 5, 1), date(2026, 7, 31))
    kpi_rows = await kpis.kpis(date(2026, 5, 1), date(2026, 7, 31))

    # May, A: 钱八 signed (her contract is June's). June, A: signed 王五 and 孙九 (cancelled
    # later); new buyers 王五 (no contract yet), 钱八 and 孙九 (contracts), 周一 → referred 王五
    # and 钱八 (孙九's deal is cancelled) = 2/4. June, B: two signed without contracts and 周三
    # → 2/3 (it was 2 signed / 1 new buyer = 200% before). July, A: 周二, not referred.
    expected = sorted([
        (world.project, "2026-05", 1, 0, 0, None),
        (world.project, "2026-06", 2, 4, 2, 0.5),
        (world.second_project, "2026-06", 2, 3, 2, 0.6667),
        (world.project, "2026-07", 0, 1, 0, 0.0),
    ], key=lambda row: (row[1], row[0]))  # rows come by month, then project id
    assert [(r.project_id, r.month, r.signed, r.new_buyers, r.referred_buyers, r.referral_share) for r in rows] == expected
    assert all(r.referred_buyers <= r.new_buyers and (r.referral_share or 0) <= 1.0 for r in [*rows, *board.rows, board.totals])
    # One definition: the dashboard and the KPI report read the same numbers.
    assert [(r.project_id, r.month, r.signed, r.new_buyers, r.referred_buyers, r.referral_share) for r in board.rows] == expected
    assert (board.totals.new_buyers, board.totals.referred_buyers, board.totals.referral_share) == (8, 4, 0.5)
    assert [(r.project_id, r.month, r.referral_signed, r.new_buyers, r.referred_buyers, r.referral_share) for r in kpi_rows] == [
        *expected, (None, "all", 5, 8, 4, 0.5)
    ]
