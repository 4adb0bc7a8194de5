"""Reversal: a reversed redeem gives points back, never more than was taken; a reversed earn
takes them back — pending ones are voided, vested ones follow the clawback policy."""

from __future__ import annotations

from datetime import date

import pytest

from loyalty.errors import InvalidField, NotFound
from loyalty.points import service as points
from tests.points.builders import PHONE, entries_of, import_owners, lot_of_entry, lots_of

TODAY = date(2026, 6, 15)


@pytest.fixture
async def member(database, tmp_path) -> int:
    (member,) = await import_owners(tmp_path, PHONE)
    return member


async def test_full_reversal_of_a_redeem_gives_every_point_back(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)
    await points.redeem(member, 300, key="sale-1", source_kind="sale", source_id="1", today=TODAY)

    result = await points.reverse("sale-1", key="sale-1:reverse", today=TODAY)

    assert (result.kind, result.points, result.available) == ("reverse", 300, 1_000)
    assert (await points.balance(member, TODAY)).available == 1_000
    assert [lot["remaining"] for lot in await lots_of(member)] == [1_000]
    assert await points.audit_ledger() == []


async def test_partial_reversals_of_a_redeem_add_up_to_the_original_and_no_more(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)
    await points.redeem(member, 300, key="sale-1", source_kind="sale", today=TODAY)

    assert (await points.reverse("sale-1", key="r1", points=100, today=TODAY)).available == 800
    with pytest.raises(points.NothingToReverse):
        await points.reverse("sale-1", key="r2", points=201, today=TODAY)  # only 200 left
    assert (await points.reverse("sale-1", key="r3", points=200, today=TODAY)).available == 1_000
    with pytest.raises(points.NothingToReverse):
        await points.reverse("sale-1", key="r4", points=1, today=TODAY)
    with pytest.raises(points.NothingToReverse):
        await points.reverse("sale-1", key="r5", today=TODAY)  # "the rest" when nothing is left

    assert (await points.balance(member, TODAY)).available == 1_000
    assert await points.audit_ledger() == []


async def test_partial_reversals_give_each_lot_back_no_more_than_was_drawn_from_it(member):
    early = await points.earn(member, 60, key="early", source_kind="test", today=date(2025, 3, 1))  # ends 2026-12-31
    late = await points.earn(member, 40, key="late", source_kind="test", today=date(2026, 3, 1))  # ends 2027-12-31
    await points.redeem(member, 100, key="sale-1", source_kind="sale", today=TODAY)  # 60 from early, 40 from late

    await points.reverse("sale-1", key="r1", points=40, today=TODAY)
    await points.reverse("sale-1", key="r2", points=40, today=TODAY)
    await points.reverse("sale-1", key="r3", points=20, today=TODAY)

    # Everything that was drawn is back, each lot holding what it held before the sale: the
    # points of the early lot must not come back with the late lot's expiry date.
    assert (await lot_of_entry(early.entry_id))["remaining"] == 60
    assert (await lot_of_entry(late.entry_id))["remaining"] == 40
    assert all(lot["remaining"] <= lot["amount"] for lot in await lots_of(member))


async def test_a_reversed_redeem_whose_lot_expired_since_comes_back_as_fresh_points(member):
    await points.earn(member, 100, key="old", source_kind="test", today=date(2024, 6, 1))  # ends 2025-12-31
    await points.redeem(member, 100, key="sale-1", source_kind="sale", today=date(2025, 6, 1))
    await points.expire_due(today=date(2026, 1, 1))

    result = await points.reverse("sale-1", key="r1", today=date(2026, 1, 2))

    assert result.available == 100
    fresh = [lot for lot in await lots_of(member) if lot["status"] == "available"]
    assert [(lot["remaining"], lot["expires_on"]) for lot in fresh] == [(100, date(2027, 12, 31))]
    assert await points.audit_ledger() == []


async def test_a_reversal_replayed_with_its_key_returns_the_first_result(member):
    await points.earn(member, 1_000, key="seed", source_kind="test", today=TODAY)
    await points.redeem(member, 300, key="sale-1", source_kind="sale", today=TODAY)

    first = await points.reverse("sale-1", key="r1", points=100, today=TODAY)
    again = await points.reverse("sale-1", key="r1", points=100, today=TODAY)

    assert (again.entry_id, again.available, again.replayed) == (first.entry_id, 800, True)
    with pytest.raises(points.IdempotencyConflict):
        await points.reverse("sale-1", key="r1", points=150, today=TODAY)
    assert (await points.balance(member, TODAY)).available == 800


async def test_reversing_an_unknown_or_non_reversible_entry_is_not_found(member):
    await points.adjust(member, 100, key="adj", reason="goodwill", staff_id=1, today=TODAY)
    with pytest.raises(NotFound):
        await points.reverse("no-such-key", key="r1", today=TODAY)
    with pytest.raises(NotFound):
        await points.reverse("adj", key="r2", today=TODAY)  # adjustments are corrected by adjustments


async def test_reversal_of_a_pending_earn_voids_it(member):
    await points.earn(member, 5_000, key="reward", source_kind="referral", vests_on=date(2026, 7, 15), today=TODAY)

    result = await points.reverse("reward", key="cancel", today=TODAY)

    assert (result.kind, result.points, result.shortfall, result.pending, result.available) == ("void", 5_000, 0, 0, 0)
    lot = (await lots_of(member))[0]
    assert (lot["status"], lot["remaining"]) == ("void", 0)
    assert await points.vest_due(today=date(2026, 7, 15)) == 0  # nothing left to vest
    assert (await points.balance(member, date(2026, 7, 15))).available == 0
    assert await points.audit_ledger() == []


async def test_partial_reversal_of_a_pending_earn_voids_only_that_part(member):
    await points.earn(member, 5_000, key="reward", source_kind="referral", vests_on=date(2026, 7, 15), today=TODAY)

    result = await points.reverse("reward", key="part", points=2_000, today=TODAY)

    assert (result.kind, result.pending) == ("void", 3_000)
    await points.vest_due(today=date(2026, 7, 15))
    balance = await points.balance(member, date(2026, 7, 15))
    assert (balance.available, balance.pending) == (3_000, 0)
    assert await points.audit_ledger() == []


async def _vested_then_mostly_spent(member: int) -> None:
    """1,000 vested reward points of which 700 are spent: 300 left to claw back."""
    await points.earn(member, 1_000, key="reward", source_kind="referral", today=TODAY)
    await points.redeem(member, 700, key="spend", source_kind="sale", today=TODAY)


async def test_clawback_within_balance_takes_what_the_balance_allows_and_reports_the_rest(member):
    await _vested_then_mostly_spent(member)

    result = await points.reverse("reward", key="claw", clawback_policy="within_balance", today=TODAY)

    assert (result.points, result.shortfall, result.available) == (300, 700, 0)
    assert (await points.balance(member, TODAY)).available == 0
    assert await points.audit_ledger() == []


async def test_clawback_within_balance_is_the_default(member):
    await _vested_then_mostly_spent(member)
    result = await points.reverse("reward", key="claw", today=TODAY)
    assert (result.points, result.shortfall, result.available) == (300, 700, 0)


async def test_clawback_within_balance_takes_all_when_the_balance_covers_it(member):
    await points.earn(member, 1_000, key="reward", source_kind="referral", today=TODAY)
    await points.earn(member, 500, key="other", source_kind="test", today=TODAY)

    result = await points.reverse("reward", key="claw", today=TODAY)

    assert (result.points, result.shortfall, result.available) == (1_000, 0, 500)
    assert await points.audit_ledger() == []


async def test_clawback_only_pending_never_takes_vested_points(member):
    await _vested_then_mostly_spent(member)

    result = await points.reverse("reward", key="claw", clawback_policy="only_pending", today=TODAY)

    assert (result.points, result.shortfall, result.available) == (0, 1_000, 300)
    assert (await points.balance(member, TODAY)).available == 300
    assert await points.audit_ledger() == []


async def test_clawback_only_pending_still_voids_pending_points(member):
    await points.earn(member, 5_000, key="reward", source_kind="referral", vests_on=date(2026, 7, 15), today=TODAY)
    result = await points.reverse("reward", key="claw", clawback_policy="only_pending", today=TODAY)
    assert (result.kind, result.points, result.pending) == ("void", 5_000, 0)


async def test_clawback_unlimited_takes_everything_even_below_zero(member):
    await _vested_then_mostly_spent(member)

    result = await points.reverse("reward", key="claw", clawback_policy="unlimited", today=TODAY)

    assert (result.points, result.shortfall, result.available) == (1_000, 0, -700)
    assert (await points.balance(member, TODAY)).available == -700
    with pytest.raises(points.InsufficientPoints):  # a debt is not spendable
        await points.redeem(member, 1, key="after", source_kind="sale", today=TODAY)
    assert await points.audit_ledger() == []


async def test_after_an_unlimited_clawback_new_points_first_pay_the_debt(member):
    await _vested_then_mostly_spent(member)
    await points.reverse("reward", key="claw", clawback_policy="unlimited", today=TODAY)  # balance -700

    await points.earn(member, 1_000, key="later", source_kind="test", today=TODAY)

    # 300 are spendable, and the lots (what can expire and be redeemed) hold those 300, not
    # the 1,000 earned: otherwise the debt is repaid and the 700 still expire a second time.
    assert (await points.balance(member, TODAY)).available == 300
    assert await points.audit_ledger() == []
    await points.redeem(member, 300, key="spend-all", source_kind="sale", today=TODAY)
    await points.expire_due(today=date(2028, 1, 1))
    assert (await points.balance(member, date(2028, 1, 1))).available == 0


async def test_an_unknown_clawback_policy_is_refused(member):
    await points.earn(member, 1_000, key="reward", source_kind="referral", today=TODAY)
    with pytest.raises(InvalidField):
        await points.reverse("reward", key="claw", clawback_policy="whatever", today=TODAY)
    assert await entries_of(member, "reverse") == []


async def test_an_earn_reversed_in_parts_is_never_taken_back_beyond_its_size(member):
    await points.earn(member, 1_000, key="reward", source_kind="referral", today=TODAY)
    await points.earn(member, 5_000, key="other", source_kind="test", today=TODAY)

    await points.reverse("reward", key="c1", points=600, today=TODAY)
    with pytest.raises(points.NothingToReverse):
        await points.reverse("reward", key="c2", points=401, today=TODAY)
    await points.reverse("reward", key="c3", points=400, today=TODAY)

    assert (await points.balance(member, TODAY)).available == 5_000
    assert await points.audit_ledger() == []
