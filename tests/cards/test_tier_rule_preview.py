"""The tier-rule preview (POST /api/v1/staff/tier-rules/preview): before an admin saves a rule, how many
members it would move up, down or leave per tier — what the save then does, counted by the same
evaluation; and the preview writes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.cards import tiers
from loyalty.cards.tables import TIER_RANK, TIERS, Card, TierChange, TierCriterion
from tests.cards.builders import TODAY, delivered_unit, import_owner, pre_owner_unit, rule_id
from tests.identity.builders import add_staff, log_in_staff

RULES = "/api/v1/staff/tier-rules"
PREVIEW = f"{RULES}/preview"


async def as_staff(client: httpx.AsyncClient, role: str) -> None:
    staff = await add_staff(f"{role}-1".replace("_", "-"), role)
    await log_in_staff(client, staff.username)


@pytest.fixture
async def owners(database, frozen, tmp_path) -> dict[str, int]:
    """Six owners of every tier under the default rules (TODAY is 2026-06-15)."""
    delivered = date(2025, 9, 1)
    made = {
        "blue": await import_owner(tmp_path, [pre_owner_unit(room="0101")], phone="13800138001", name="甲"),
        "silver": await import_owner(tmp_path, [delivered_unit(delivered, room="0201")], phone="13800138002", name="乙"),
        "silver2": await import_owner(tmp_path, [delivered_unit(date(2026, 1, 5), room="0301")], phone="13800138003", name="丙"),
        "gold": await import_owner(
            tmp_path, [pre_owner_unit(room="0401"), pre_owner_unit(room="0402")], phone="13800138004", name="丁"
        ),
        "gold2": await import_owner(
            tmp_path, [delivered_unit(delivered, room="0501"), delivered_unit(delivered, room="0502")],
            phone="13800138005", name="戊",
        ),
        "platinum": await import_owner(
            tmp_path, [pre_owner_unit(room=f"060{n}") for n in (1, 2, 3)], phone="13800138006", name="己"
        ),
    }
    tiers_now = {row["member"]: row["tier"] for row in await Card.select(Card.member, Card.tier)}
    assert sorted(tiers_now.values()) == sorted(["blue", "silver", "silver", "gold", "gold", "platinum"])
    return made


async def card_tiers() -> dict[int, str]:
    return {row["member"]: row["tier"] for row in await Card.select(Card.member, Card.tier).where(Card.status != "replaced")}


def moves_between(before: dict[int, str], after: dict[int, str]) -> dict[str, dict[str, int]]:
    """Per tier held before: how many moved up, down, stayed; and how many hold it after."""
    counts = {tier: {"members": 0, "up": 0, "down": 0, "stay": 0, "after": 0} for tier in TIERS}
    for member, old in before.items():
        new = after[member]
        counts[old]["members"] += 1
        counts[new]["after"] += 1
        key = "up" if TIER_RANK[new] > TIER_RANK[old] else "down" if TIER_RANK[new] < TIER_RANK[old] else "stay"
        counts[old][key] += 1
    return counts


def shown(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {row["tier"]: {k: row[k] for k in ("members", "up", "down", "stay", "after")} for row in rows}


async def everything_written() -> tuple[Any, ...]:
    return (
        await Card.select().order_by(Card.id),
        await TierChange.select().order_by(TierChange.id),
        await TierCriterion.select().order_by(TierCriterion.id),
        await AuditEntry.count(),
    )


CHANGES = {
    # one home is enough for gold: blue and silver owners rise at once
    "gold for one home": ("gold", "units_owned", {"threshold": 1}),
    # three homes for gold: nobody falls at once; at the review the two gold owners do
    "gold for three homes": ("gold", "units_owned", {"threshold": 3}),
    # the veteran-stage rule reaches down to settling owners (stage 2)
    "gold from settling-in": ("gold", "stage", {"threshold": 2}),
    # the one-home rule switched off: blue is the floor anyway
    "blue rule off": ("blue", "units_owned", {"active": False}),
    # silver for any delivered-or-not home: a new rule
    "new silver rule": (None, None, {"tier": "silver", "kind": "units_owned", "threshold": 1, "position": 5}),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
async def test_the_preview_says_what_the_save_then_does(client, owners, change):
    tier, kind, changed = CHANGES[change]
    await as_staff(client, "admin")
    if tier is None:
        body = dict(changed)
        existing = None
    else:
        existing = await rule_id(tier, kind)
        row = await TierCriterion.select().where(TierCriterion.id == existing).first()
        body = {"tier": row["tier"], "kind": row["kind"], "threshold": row["threshold"],
                "window_months": row["window_months"], "position": row["position"], "active": row["active"], **changed}
    before = await card_tiers()

    preview = await client.post(PREVIEW, json={**body, "rule_id": existing})
    assert preview.status_code == 200, preview.text
    saved = await (client.post(RULES, json={**body, "reason": "预览后保存"}) if existing is None
                   else client.put(f"{RULES}/{existing}", json={**body, "reason": "预览后保存"}))
    assert saved.status_code in (200, 201), saved.text
    after_save = await card_tiers()
    await tiers.evaluate("review", today=TODAY)
    after_review = await card_tiers()

    assert shown(preview.json()["on_save"]) == moves_between(before, after_save)
    assert shown(preview.json()["at_review"]) == moves_between(before, after_review)
    assert [row["tier"] for row in preview.json()["on_save"]] == list(TIERS)


async def test_lowering_the_gold_threshold_previews_the_upgrades_in_numbers(client, owners):
    await as_staff(client, "admin")
    gold_homes = await rule_id("gold", "units_owned")

    response = await client.post(PREVIEW, json={"rule_id": gold_homes, "tier": "gold", "kind": "units_owned", "threshold": 1,
                                                "position": 1}, headers={"Accept-Language": "en"})

    on_save = shown(response.json()["on_save"])
    assert on_save["blue"] == {"members": 1, "up": 1, "down": 0, "stay": 0, "after": 0}
    assert on_save["silver"] == {"members": 2, "up": 2, "down": 0, "stay": 0, "after": 0}
    assert on_save["gold"] == {"members": 2, "up": 0, "down": 0, "stay": 2, "after": 5}
    assert response.json()["rule_text"] == "owns at least 1 home"
    assert response.json()["on_save"][1]["tier_label"] == "Gold"


async def test_the_preview_writes_nothing(client, owners):
    await as_staff(client, "admin")
    before = await everything_written()

    for threshold in (1, 3):
        response = await client.post(
            PREVIEW, json={"rule_id": await rule_id("gold", "units_owned"), "tier": "gold", "kind": "units_owned",
                           "threshold": threshold},
        )
        assert response.status_code == 200, response.text
    new = await client.post(PREVIEW, json={"tier": "platinum", "kind": "units_owned", "threshold": 1})
    assert new.status_code == 200, new.text

    assert await everything_written() == before


@pytest.mark.parametrize("role", ["service", "sales", "event_staff"])
async def test_only_admins_may_preview(client, owners, role):
    await as_staff(client, role)

    response = await client.post(PREVIEW, json={"tier": "gold", "kind": "units_owned", "threshold": 1})

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


async def test_a_preview_needs_a_staff_login(client, owners):
    response = await client.post(PREVIEW, json={"tier": "gold", "kind": "units_owned", "threshold": 1})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "gold", "kind": "shoe_size", "threshold": 1}, "kind"),
        ({"tier": "diamond", "kind": "units_owned", "threshold": 1}, "tier"),
        ({"tier": "gold", "kind": "units_owned", "threshold": 0}, "threshold"),
        ({"tier": "gold", "kind": "stage", "threshold": 9}, "threshold"),
        ({"tier": "gold", "kind": "signed_referrals", "threshold": 2}, "window_months"),
        ({"tier": "gold", "kind": "units_owned", "threshold": "two"}, "threshold"),
        ({"tier": "gold", "kind": "units_owned"}, "threshold"),
        ({"tier": "gold", "kind": "units_owned", "threshold": 1, "colour": "red"}, "colour"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(client, owners, body, field):
    await as_staff(client, "admin")
    before = await everything_written()

    response = await client.post(PREVIEW, json=body)

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error.get("field") for error in response.json().get("errors", [])] or field in response.json()["detail"]
    assert await everything_written() == before


async def test_previewing_a_rule_that_does_not_exist_is_not_found(client, owners):
    await as_staff(client, "admin")

    response = await client.post(PREVIEW, json={"rule_id": 99999, "tier": "gold", "kind": "units_owned", "threshold": 1})

    assert response.status_code == 404
