"""`loyalty audit-ledger` proves every balance equals its ledger: exit 0 when they agree,
exit 1 naming the member when an account has drifted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date

import pytest

from loyalty.points import service as points
from loyalty.points.tables import PointsAccount
from tests.points.builders import OTHER_PHONE, PHONE, import_owners

TODAY = date(2026, 6, 15)


async def _audit_cli(database) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOYALTY_")}
    env["LOYALTY_DATABASE_URL"] = database.url
    env.update(LC_ALL="", LC_MESSAGES="en_US.UTF-8")  # the CLI reports in English (loyalty.i18n.environment_locale)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "loyalty.cli", "audit-ledger"],
        env=env, capture_output=True, text=True, timeout=120,
    )


async def _a_busy_ledger(tmp_path) -> tuple[int, int]:
    first, second = await import_owners(tmp_path, PHONE, OTHER_PHONE)
    await points.earn(first, 1_000, key="a", source_kind="test", today=date(2024, 3, 1))
    await points.earn(first, 500, key="b", source_kind="test", today=TODAY)
    await points.redeem(first, 1_200, key="c", source_kind="sale", today=TODAY)
    await points.reverse("c", key="d", points=200, today=TODAY)
    await points.earn(second, 5_000, key="e", source_kind="referral", vests_on=date(2026, 7, 15), today=TODAY)
    await points.reverse("e", key="f", points=1_000, today=TODAY)
    await points.adjust(second, 300, key="g", reason="补偿", staff_id=1, today=TODAY)
    await points.vest_due(today=date(2026, 7, 15))
    await points.expire_due(today=date(2026, 1, 1))
    return first, second


async def test_audit_ledger_exits_0_on_a_consistent_ledger(database, tmp_path):
    await _a_busy_ledger(tmp_path)

    result = await _audit_cli(database)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "agree" in result.stdout + result.stderr


@pytest.mark.ledger_drift_expected
async def test_audit_ledger_exits_1_and_names_the_member_whose_balance_drifted(database, tmp_path):
    first, _ = await _a_busy_ledger(tmp_path)
    # What a bug or a hand edit would leave: an account that no longer equals its entries.
    await PointsAccount.update({PointsAccount.available: PointsAccount.available + 7}).where(PointsAccount.member == first)

    result = await _audit_cli(database)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "account available" in result.stdout + result.stderr
    assert [(d.member_id, d.what) for d in await points.audit_ledger()] == [(first, "account available")]
