"""Builders for rewards tests: owners come in through the real owner import (cards, tiers,
stages, projects: one unit → blue, two → gold), points through the points service, rewards
through the rewards service. Time is frozen at NOW (Beijing) by the `frozen` fixture."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from loyalty.points import service as points
from loyalty.rewards import service
from tests.events.builders import NOW, TODAY, member_client, owners, phone, project_id, staff, staff_client  # noqa: F401

_keys = itertools.count(1)
_makers = itertools.count(1)


async def give_points(member_id: int, amount: int) -> None:
    await points.earn(member_id, amount, key=f"test-gift:{member_id}:{next(_keys)}", source_kind="staff")


def draft(**overrides: Any) -> service.RewardDraft:
    fields: dict[str, Any] = dict(
        kind="gift", name_zh="中秋月饼礼盒", name_en="Mooncake box", starts_on=TODAY - timedelta(days=1),
        ends_on=TODAY + timedelta(days=30), stock=10, pickup_place="云湖里售楼处",
        prices={"platinum": 100, "gold": 200, "silver": 300, "blue": 400}, status="published",
    )
    fields.update(overrides)
    return service.RewardDraft(**fields)


async def reward(staff_id: int | None = None, **overrides: Any) -> int:
    return await service.create_reward(draft(**overrides), staff_id or await staff(f"rewards{next(_makers)}", "admin"))
