"""The database refuses impossible values whatever path writes them (a service, /admin, a
script): each CHECK of loyalty.db_checks, on both engines, tried with a raw UPDATE of a real row.
The review stored `attendance_points: 1000000000`, `capacity: -5` and `fee_platinum_fen: -100000`
through /admin; a check-in then credited a billion points."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from piccolo.table import Table

from loyalty import clock
from loyalty.cards.tables import Card, TierCriterion
from loyalty.events.tables import Event
from loyalty.merchants import service as merchants
from loyalty.merchants.tables import DiscountSchedule, Merchant
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry, PointsLot
from loyalty.referrals.tables import RewardRule
from tests.cards.builders import delivered_unit, import_owner
from tests.events.builders import event

IMPOSSIBLE: list[tuple[type[Table], dict[str, object]]] = [
    (Event, {"attendance_points": 1_000_000_000}),
    (Event, {"capacity": -5}),
    (Event, {"fee_platinum_fen": -100_000}),
    (Event, {"seats_taken": -1}),
    (Event, {"party_size_limit": 0}),
    (Event, {"kind": "rave"}),
    (Event, {"status": "bogus"}),
    (Merchant, {"points_per_cny": 1_000_000}),
    (Merchant, {"status": "everything"}),
    (DiscountSchedule, {"percent_bp": 20_000}),
    (DiscountSchedule, {"percent_bp": 0}),
    (DiscountSchedule, {"cap_fen": -1}),
    (DiscountSchedule, {"tier": "diamond"}),
    (Card, {"tier": "diamond"}),
    (Card, {"status": "stolen"}),
    (TierCriterion, {"tier": "diamond"}),
    (RewardRule, {"points": 1_000_000_000}),
    (RewardRule, {"points": -1}),
    (LedgerEntry, {"kind": "gift"}),
    (PointsLot, {"status": "frozen"}),
]


@pytest.fixture
async def rows(database, tmp_path: Path) -> None:
    """One real row in each table the checks cover."""
    member = await import_owner(tmp_path, [delivered_unit(clock.today() - timedelta(days=400))])
    await points.earn(member, 100, key="checks-seed", source_kind="test")
    await event()
    shop = await merchants.create_merchant("森林装饰", "decoration")
    await merchants.set_discount(shop, "gold", 1000, valid_from=clock.today())


@pytest.mark.parametrize(("table", "values"), IMPOSSIBLE, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
async def test_the_database_refuses_an_impossible_value_from_any_path(rows: None, table: type[Table], values: dict[str, object]):
    before = await table.select().order_by(table._meta.primary_key)
    assert before, f"no {table._meta.tablename} row to try"
    with pytest.raises(Exception, match="CHECK constraint failed|violates check constraint"):
        await table.update({table._meta.get_column_by_name(k): v for k, v in values.items()}, force=True)
    assert await table.select().order_by(table._meta.primary_key) == before


async def test_possible_values_still_pass(rows: None):
    await Event.update({Event.attendance_points: 100_000, Event.capacity: 0, Event.fee_blue_fen: 0}, force=True)
    await DiscountSchedule.update({DiscountSchedule.percent_bp: 10_000, DiscountSchedule.cap_fen: None}, force=True)
