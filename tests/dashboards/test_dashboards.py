"""The dashboards show what the records imply: each test builds a small world through the
services (owners through the real import: 1 unit → blue card, 2 units → gold), works the
expected numbers out by hand in comments, and reads them back as JSON and as CSV through
`/api/v1/staff/dashboards/...`, as the role that may read them. Time is frozen at NOW (noon,
Beijing, 2026-06-15); ranges are Beijing days, both ends included. The CSV files are worded for
the reader (Chinese unless the request asks for English): headers and named values in words,
rates as percentages, money as money with a plain yuan column beside it."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx

from loyalty.cards import service as cards
from loyalty.care import cases
from loyalty.clock import LOCAL_ZONE
from loyalty.events import checkin, signups
from loyalty.members.tables import Member
from loyalty.points import service as points
from loyalty.referrals import service as referrals
from tests.events.builders import (
    NOW,
    TODAY,
    event,
    owners,
    phone,
    project_id,
    staff,
    staff_client,
)
from tests.partner_api.builders import dynamic_code, reverse, sale_body, sell, shop, static_code

BASE = "/api/v1/staff/dashboards"
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_ZONE)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def csv_rows(response: httpx.Response, filename_start: str) -> list[dict[str, str]]:
    """A CSV export: UTF-8 with a BOM (Excel), an attachment, a header row; the rows as dicts."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{filename_start}')
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def member(n: int) -> int:
    row = await Member.select(Member.id).where(Member.phone == f"+86{phone(n)}").first()
    assert row is not None
    return row["id"]


# --- tiers -----------------------------------------------------------------------------------


async def test_tiers_count_current_cards_per_project_and_each_member_once_in_the_totals(database, settings, frozen, tmp_path):
    [_n0, n1] = await owners(tmp_path, 2, project="HZ-YH")  # one unit each: blue (n0, n1)
    await owners(tmp_path, 1, units=2, project="HZ-YH", start=2)  # n2: two units: gold
    await owners(tmp_path, 1, project="SH-PD", start=0)  # n0's second unit, in another project: gold now
    [n3] = await owners(tmp_path, 1, project="SH-PD", start=3)  # blue
    boss = await staff("boss", "admin")
    await cards.reissue_card(n1, "卡片遗失 lost", boss)  # the old card is replaced: n1 still counts once
    await cards.suspend_card(n3, "暂停 on hold", boss)  # suspended is still a current card
    hz, sh = await project_id("HZ-YH"), await project_id("SH-PD")
    # HZ-YH: n0 gold, n2 gold, n1 blue → gold 2, blue 1, 3 members.
    # SH-PD: n0 gold (counted in both projects), n3 blue → gold 1, blue 1, 2 members.
    # Totals: each member once → gold 2 (n0, n2), blue 2 (n1, n3), 4 members.
    expected_rows = [
        {"project_id": hz, "project": "项目HZ-YH", "platinum": 0, "gold": 2, "silver": 0, "blue": 1, "members": 3},
        {"project_id": sh, "project": "项目SH-PD", "platinum": 0, "gold": 1, "silver": 0, "blue": 1, "members": 2},
    ]
    expected_totals = {"project_id": None, "project": "", "platinum": 0, "gold": 2, "silver": 0, "blue": 2, "members": 4}

    async with staff_client(database, settings, "admin1", "admin") as admin:
        report = ok(await admin.get(f"{BASE}/tiers"))
        one = ok(await admin.get(f"{BASE}/tiers", params={"project_id": sh}))
        exported = csv_rows(await admin.get(f"{BASE}/tiers.csv"), "tiers")
        exported_en = csv_rows(await admin.get(f"{BASE}/tiers.csv", headers={"Accept-Language": "en"}), "tiers")

    # n0 is in both projects' rows: gold counted again once; every card's member owns a unit.
    blank = {"project_id": None, "project": "", "platinum": 0, "gold": 0, "silver": 0, "blue": 0, "members": 0}
    counted_again = {**blank, "gold": 1, "members": 1}
    assert report == {"rows": expected_rows, "totals": expected_totals, "counted_again": counted_again,
                      "without_a_unit": blank}
    # One project: its row, and totals of the members owning there (the same numbers).
    sh_blank = {**blank, "project_id": sh, "project": "项目SH-PD"}
    assert one == {"rows": [expected_rows[1]], "totals": {**expected_rows[1]}, "counted_again": sh_blank,
                   "without_a_unit": sh_blank}
    assert [list(row.values()) for row in exported] == [
        [str(hz), "项目HZ-YH", "0", "2", "0", "1", "3"],
        [str(sh), "项目SH-PD", "0", "1", "0", "1", "2"],
        ["", "合计", "0", "2", "0", "2", "4"],
    ]
    # The tiers are named as the catalogue names them, in the reader's language.
    assert list(exported[0]) == ["项目编号", "项目", "铂金卡", "金卡", "银卡", "蓝卡", "会员数"]
    assert list(exported_en[0]) == ["Project no.", "Project", "Platinum", "Gold", "Silver", "Blue", "Members"]
    assert [row["Project"] for row in exported_en] == ["项目HZ-YH", "项目SH-PD", "Total"]


# --- referrals -------------------------------------------------------------------------------


async def _referral_world(tmp_path: Any) -> tuple[int, int]:
    """Leads in June 2026 and the month's new buyers, per project (counts worked out below)."""
    [n1] = await owners(tmp_path, 1, project="HZ-YH", start=1)  # referrers: owners since 2025-03 (not new buyers)
    [n3] = await owners(tmp_path, 1, project="SH-PD", start=3)
    hz, sh = await project_id("HZ-YH"), await project_id("SH-PD")
    sales = await staff("sales1", "sales")
    signed_hz = await referrals.register_lead(n1, name="王五", phone=phone(10), project_id=hz)
    visited_hz = await referrals.register_lead(n1, name="赵六", phone=phone(30), project_id=hz)
    signed_sh = await referrals.register_lead(n3, name="钱七", phone=phone(20), project_id=sh)
    await referrals.move_lead(visited_hz["id"], "visited", staff_id=sales)
    for lead in (signed_hz, signed_sh):  # straight to signed: visited and subscribed are passed too
        await referrals.move_lead(lead["id"], "signed", staff_id=sales)
    # The month's new buyers (first contract in June): the two signed leads among them.
    await owners(tmp_path, 4, project="HZ-YH", start=10, contract_date="2026-06-10")  # phones 10..13
    await owners(tmp_path, 2, project="SH-PD", start=20, contract_date="2026-06-12")  # phones 20..21
    return hz, sh


async def test_the_referral_dashboard_compares_each_month_with_the_30_percent_target(database, settings, frozen, tmp_path):
    hz, sh = await _referral_world(tmp_path)
    # HZ-YH 2026-06: registered 2, visited 2, subscribed 1, signed 1; new buyers 4, of them
    #   referred 1 (王五) → conversion 1/2 = 0.5, share 1/4 = 0.25 < 0.30: misses the target.
    # SH-PD 2026-06: registered 1, visited 1, subscribed 1, signed 1; new buyers 2, referred 1
    #   (钱七) → conversion 1.0, share 1/2 = 0.5: meets it.
    # Totals: 3, 3, 2, 2; new buyers 6, referred 2 → conversion 2/3 = 0.6667, share 2/6 = 0.3333: meets it.
    hz_row = {
        "project_id": hz, "project": "项目HZ-YH", "month": "2026-06", "registered": 2, "visited": 2, "subscribed": 1,
        "signed": 1, "signed_of_registered": 1, "new_buyers": 4, "referred_buyers": 1, "conversion": 0.5, "referral_share": 0.25, "target": 0.3, "meets_target": False,
    }
    sh_row = {
        "project_id": sh, "project": "项目SH-PD", "month": "2026-06", "registered": 1, "visited": 1, "subscribed": 1,
        "signed": 1, "signed_of_registered": 1, "new_buyers": 2, "referred_buyers": 1, "conversion": 1.0, "referral_share": 0.5, "target": 0.3, "meets_target": True,
    }
    totals = {
        "project_id": None, "project": "", "month": "all", "registered": 3, "visited": 3, "subscribed": 2, "signed": 2,
        "signed_of_registered": 2, "new_buyers": 6, "referred_buyers": 2, "conversion": 0.6667, "referral_share": 0.3333, "target": 0.3, "meets_target": True,
    }

    async with staff_client(database, settings, "sales2", "sales") as seller:
        report = ok(await seller.get(f"{BASE}/referrals", params=JUNE))
        one = ok(await seller.get(f"{BASE}/referrals", params={**JUNE, "project_id": hz}))
        may = ok(await seller.get(f"{BASE}/referrals", params={"start": "2026-05-01", "end": "2026-05-31"}))
        exported = csv_rows(await seller.get(f"{BASE}/referrals.csv", params=JUNE), "referrals-2026-06-01-2026-06-30")

    assert report == {"start": "2026-06-01", "end": "2026-06-30", "target": 0.3, "rows": [hz_row, sh_row], "totals": totals}
    assert one["rows"] == [hz_row]
    assert one["totals"] == {**hz_row, "month": "all"}
    # Nothing happened in May: no rows, and no share to compare (not a miss).
    assert may["rows"] == [] and (may["totals"]["referral_share"], may["totals"]["meets_target"]) == (None, None)
    assert [
        (r["项目编号"], r["项目"], r["月份"], r["签约数"], r["新购房客户数"], r["老带新购房客户数"], r["老带新成交占比"], r["目标"], r["是否达标"])
        for r in exported
    ] == [
        (str(hz), "项目HZ-YH", "2026-06", "1", "4", "1", "25.0%", "30.0%", "否"),
        (str(sh), "项目SH-PD", "2026-06", "1", "2", "1", "50.0%", "30.0%", "是"),
        ("", "合计", "全部月份", "2", "6", "2", "33.3%", "30.0%", "是"),
    ]


# --- events ----------------------------------------------------------------------------------


async def test_event_attendance_counts_signups_people_attended_and_no_shows(database, settings, frozen, tmp_path, signer):
    m = await owners(tmp_path, 5)
    maker = await staff("maker", "event_staff")
    starts = NOW + timedelta(days=7)  # 2026-06-22 noon
    baking = await event(maker, capacity=10)
    moon = await event(
        maker, title_zh="中秋游园", title_en="Moon festival", capacity=30,
        starts_at=starts + timedelta(days=1), ends_at=starts + timedelta(days=1, hours=2),
    )
    await event(maker, title_zh="七月茶会", capacity=8, starts_at=NOW + timedelta(days=20), ends_at=NOW + timedelta(days=20, hours=2))
    party = {m[0]: 2, m[1]: 1, m[2]: 1, m[3]: 1, m[4]: 3}
    for member_id, size in party.items():
        await signups.sign_up(member_id, baking, settings=settings, party_size=size)
    for member_id in (m[3], m[4]):  # the moon festival: signed up, then cancelled
        [cancelled] = await signups.sign_up(member_id, moon, settings=settings)
        await signups.cancel(member_id, cancelled, settings=settings)
    frozen.move_to(starts)
    for member_id in (m[0], m[1]):
        answer = await checkin.check_in(baking, await cards.static_code(member_id, signer), gate="东门", signer=signer)
        assert answer.result == "checked_in"
    frozen.move_to(starts + timedelta(days=2))
    assert await signups.mark_no_shows() == 3  # m2, m3, m4 at the baking class never came
    # Baking class (10 seats): signups m0 (2), m1 (1), m2 (1), m3 (1), m4 (3) → 5 signups, 8 people;
    #   attended m0, m1 → 2 (3 people); no-shows m2, m3, m4 → 3 (5 people);
    #   no-show rate 3 / (2 + 3) = 0.6, attendance rate 0.4.
    # Moon festival (30 seats): only cancelled signups → zeros, no rates.
    # July tea (2026-07-05) starts after the range (2026-06-01..06-30): left out.
    # Totals: 40 seats, 5 signups, 8 people, 2 (3) attended, 3 (5) no-shows, rate 0.6.
    baking_row = {
        "event_id": baking, "title_zh": "亲子烘焙课", "title_en": "Family baking class", "status": "published", "seats": 10,
        "signups": 5, "people": 8, "attended": 2, "attended_people": 3, "no_show": 3, "no_show_people": 5,
        "no_show_rate": 0.6, "attendance_rate": 0.4,
    }
    moon_row = {
        "event_id": moon, "title_zh": "中秋游园", "title_en": "Moon festival", "status": "published", "seats": 30,
        "signups": 0, "people": 0, "attended": 0, "attended_people": 0, "no_show": 0, "no_show_people": 0,
        "no_show_rate": None, "attendance_rate": None,
    }
    totals = {
        "event_id": None, "title_zh": "", "title_en": "", "starts_at": None, "status": "", "seats": 40, "signups": 5,
        "people": 8, "attended": 2, "attended_people": 3, "no_show": 3, "no_show_people": 5, "no_show_rate": 0.6,
        "attendance_rate": 0.4,
    }

    async with staff_client(database, settings, "door1", "event_staff") as door:
        report = ok(await door.get(f"{BASE}/events", params=JUNE))
        exported = csv_rows(await door.get(f"{BASE}/events.csv", params=JUNE), "events-2026-06-01-2026-06-30")
        exported_en = csv_rows(
            await door.get(f"{BASE}/events.csv", params=JUNE, headers={"Accept-Language": "en"}), "events-2026-06-01-2026-06-30"
        )

    rows = report["rows"]
    assert [datetime.fromisoformat(r.pop("starts_at")) for r in rows] == [starts, starts + timedelta(days=1)]
    assert rows == [baking_row, moon_row]
    assert report["totals"] == totals
    # Start times in Beijing time, as each language writes them; no rate to give is a dash.
    assert [
        (r["活动编号"], r["活动名称（中文）"], r["开始时间（北京时间）"], r["状态"], r["报名数"], r["报名人数"], r["到场报名数"],
         r["未到场报名数"], r["未到场率"])
        for r in exported
    ] == [
        (str(baking), "亲子烘焙课", "2026年6月22日 12:00", "已发布", "5", "8", "2", "3", "60.0%"),
        (str(moon), "中秋游园", "2026年6月23日 12:00", "已发布", "0", "0", "0", "0", "—"),
        ("", "合计", "", "", "5", "8", "2", "3", "60.0%"),
    ]
    assert [
        (r["Event (Chinese)"], r["Event (English)"], r["Starts at (Beijing time)"], r["Status"], r["No-show rate"],
         r["Attendance rate"])
        for r in exported_en
    ] == [
        ("亲子烘焙课", "Family baking class", "Jun 22, 2026, 12:00", "Published", "60.0%", "40.0%"),
        ("中秋游园", "Moon festival", "Jun 23, 2026, 12:00", "Published", "—", "—"),
        ("Total", "", "", "", "60.0%", "40.0%"),
    ]


# --- merchants -------------------------------------------------------------------------------


async def test_merchant_sales_sum_the_sales_made_in_the_range_in_beijing_time(database, settings, client, frozen, tmp_path, signer):
    [gold] = await owners(tmp_path, 1, units=2)  # gold: 10% off, capped at 500 CNY
    await points.earn(gold, 10_000, key="seed:gold", source_kind="test")
    forest = await shop("森林装饰")
    lake = await shop("湖畔餐厅")  # no sales: a row of zeros
    code = await static_code(gold, signer)
    # 2026-05-31 23:30 Beijing (15:30 UTC that day): May → outside the range.
    frozen.move_to(at(date(2026, 5, 31), 23, 30))
    assert (await sell(client, forest.auth, "may-1", sale_body(code, gross_fen=30_000))).status_code == 201
    # 2026-06-01 00:30 Beijing (still 05-31 in UTC): June → inside.
    frozen.move_to(at(date(2026, 6, 1), 0, 30))
    # Paying with points takes the rotating code from the owner's phone.
    paying = await dynamic_code(gold, signer)
    first = await sell(client, forest.auth, "jun-1", sale_body(paying, gross_fen=100_000, discount_fen=10_000, points_to_redeem=5_000))
    assert first.status_code == 201, first.text
    frozen.move_to(NOW)
    second = await sell(client, forest.auth, "jun-2", sale_body(code, gross_fen=20_000, discount_fen=2_000))
    assert second.status_code == 201, second.text
    assert (await reverse(client, forest.auth, second.json()["id"], "ret-1", amount_fen=5_000)).status_code == 201
    # 森林装饰 in June: 2 sales; gross 100,000 + 20,000 = 120,000 fen; discounts 10,000 + 2,000 = 12,000;
    #   5,000 points redeemed, worth 5,000 fen at 100 points per CNY; 5,000 fen of those sales reversed.
    forest_row = {
        "merchant_id": forest.merchant_id, "merchant": "森林装饰", "sales": 2, "gross_fen": 120_000, "discount_fen": 12_000,
        "points_redeemed": 5_000, "points_value_fen": 5_000, "reversed_fen": 5_000,
    }
    lake_row = {"merchant_id": lake.merchant_id, "merchant": "湖畔餐厅", "sales": 0, "gross_fen": 0, "discount_fen": 0,
                "points_redeemed": 0, "points_value_fen": 0, "reversed_fen": 0}

    async with staff_client(database, settings, "admin1", "admin") as admin:
        report = ok(await admin.get(f"{BASE}/merchants", params=JUNE))
        may = ok(await admin.get(f"{BASE}/merchants", params={"start": "2026-05-31", "end": "2026-05-31"}))
        exported = csv_rows(await admin.get(f"{BASE}/merchants.csv", params=JUNE), "merchants-2026-06-01-2026-06-30")

    assert report == {
        "start": "2026-06-01", "end": "2026-06-30", "rows": [forest_row, lake_row],
        "totals": {**forest_row, "merchant_id": None, "merchant": ""},
    }
    assert (may["totals"]["sales"], may["totals"]["gross_fen"]) == (1, 30_000)
    # Each amount as money, then in yuan as a number a spreadsheet sums; points stay a number.
    assert list(exported[0]) == [
        "商家编号", "商家", "消费笔数", "消费总额", "消费总额（元）", "折扣金额", "折扣金额（元）", "积分抵扣数",
        "积分抵扣金额", "积分抵扣金额（元）", "退货金额", "退货金额（元）",
    ]
    forest_amounts = ["2", "¥1,200.00", "1200.00", "¥120.00", "120.00", "5000", "¥50.00", "50.00", "¥50.00", "50.00"]
    assert [list(r.values()) for r in exported] == [
        [str(forest.merchant_id), "森林装饰", *forest_amounts],
        [str(lake.merchant_id), "湖畔餐厅", "0", "¥0.00", "0.00", "¥0.00", "0.00", "0", "¥0.00", "0.00", "¥0.00", "0.00"],
        ["", "合计", *forest_amounts],
    ]


# --- points liability ------------------------------------------------------------------------


async def test_points_liability_values_outstanding_points_at_the_point_value_setting(database, frozen, tmp_path):
    [a, b, c] = await owners(tmp_path, 3)
    await points.earn(a, 12_345, key="seed:a", source_kind="test")
    await points.earn(b, 1_000, key="seed:b", source_kind="test")
    await points.redeem(b, 400, key="spend:b", source_kind="test")
    await points.earn(c, 3_000, key="ref:c", source_kind="test", vests_on=TODAY + timedelta(days=30))
    # Available 12,345 + 600 = 12,945; pending 3,000; 3 accounts.
    # At 300 points per CNY: 12,945 × 100 // 300 = 4,315 fen; 3,000 → 1,000 fen; 15,945 → 5,315 fen.
    expected = {
        "points_per_cny": 300, "accounts": 3, "available": 12_945, "available_value_fen": 4_315, "pending": 3_000,
        "pending_value_fen": 1_000, "total_points": 15_945, "total_value_fen": 5_315, "debt": 0,
        "rows": [
            {"kind": "available", "points": 12_945, "value_fen": 4_315}, {"kind": "pending", "points": 3_000, "value_fen": 1_000},
            {"kind": "total", "points": 15_945, "value_fen": 5_315}, {"kind": "debt", "points": 0, "value_fen": 0},
        ],
    }
    settings = database.settings(points_per_cny=300)

    async with staff_client(database, settings, "admin1", "admin") as admin:
        view = ok(await admin.get(f"{BASE}/liability"))
        exported = csv_rows(await admin.get(f"{BASE}/liability.csv"), "liability-2026-06-15")

    assert view == expected
    assert [list(row.values()) for row in exported] == [
        ["可用积分", "12945", "¥43.15", "43.15"], ["待生效积分", "3000", "¥10.00", "10.00"],
        ["合计", "15945", "¥53.15", "53.15"], ["会员欠分", "0", "¥0.00", "0.00"],
    ]
    assert list(exported[0]) == ["积分类别", "积分", "价值", "价值（元）"]


# --- KPIs ------------------------------------------------------------------------------------


async def test_the_kpi_dashboard_is_the_care_kpis_with_the_referral_share(database, settings, frozen, tmp_path):
    hz, sh = await _referral_world(tmp_path)
    complainant = await member(11)  # a June buyer in HZ-YH
    await cases.open_case(complainant, "complaint", "入户门变形", "入户门关不严")
    frozen.move_to(NOW + timedelta(days=3))  # nobody replied within 48 hours
    # HZ-YH June: 1 complaint whose reply clock ended unreplied → reply on time 0/1 = 0.0, 1 overdue;
    #   1 lead signed, referral share 1 referred / 4 new buyers = 0.25. SH-PD June: share 1/2 = 0.5,
    #   no cases. Totals: 0/1, share 2/6 = 0.3333.

    async with staff_client(database, settings, "care1", "service") as care:
        report = ok(await care.get(f"{BASE}/kpis", params=JUNE))
        same = ok(await care.get("/api/v1/staff/kpis", params=JUNE))
        exported = csv_rows(await care.get(f"{BASE}/kpis.csv", params=JUNE), "kpis-2026-06-01-2026-06-30")

    assert report == same  # one formula, two routes
    picked = [
        (r["project_id"], r["month"], r["reply_on_time_rate"], r["overdue_cases"], r["referral_signed"], r["new_buyers"],
         r["referred_buyers"], r["referral_share"])
        for r in report["rows"]
    ]
    assert picked == [
        (hz, "2026-06", 0.0, 1, 1, 4, 1, 0.25), (sh, "2026-06", None, 0, 1, 2, 1, 0.5), (None, "all", 0.0, 1, 2, 6, 2, 0.3333),
    ]
    assert report["targets"]["referral_share"] == 0.3
    assert [(r["项目编号"], r["月份"], r["按时回复率"], r["超时反馈数"], r["新购房客户数"], r["老带新购房客户数"], r["老带新成交占比"]) for r in exported] == [
        (str(hz), "2026-06", "0.0%", "1", "4", "1", "25.0%"), (str(sh), "2026-06", "—", "0", "2", "1", "50.0%"),
        ("", "全部月份", "0.0%", "1", "6", "2", "33.3%"),
    ]


# --- who may read what, and bad ranges -------------------------------------------------------


async def test_each_role_reads_only_its_dashboards(database, settings, frozen, client):
    anonymous = await client.get(f"{BASE}/kpis", params=JUNE)
    answers: dict[str, dict[str, int]] = {}
    for role in ("sales", "event_staff", "service", "admin"):
        async with staff_client(database, settings, f"{role}-reader", role) as http:
            answers[role] = {
                name: (await http.get(f"{BASE}/{name}", params=JUNE)).status_code
                for name in ("tiers", "referrals", "events", "merchants", "liability", "kpis", "merchants.csv", "kpis.csv")
            }

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert answers == {
        "sales": {"tiers": 403, "referrals": 200, "events": 403, "merchants": 403, "liability": 403, "kpis": 200,
                  "merchants.csv": 403, "kpis.csv": 200},
        "event_staff": {"tiers": 403, "referrals": 403, "events": 200, "merchants": 403, "liability": 403, "kpis": 403,
                        "merchants.csv": 403, "kpis.csv": 403},
        "service": {"tiers": 403, "referrals": 403, "events": 403, "merchants": 403, "liability": 403, "kpis": 200,
                    "merchants.csv": 403, "kpis.csv": 200},
        "admin": {name: 200 for name in ("tiers", "referrals", "events", "merchants", "liability", "kpis", "merchants.csv", "kpis.csv")},
    }


async def test_a_bad_date_or_a_range_ending_before_it_starts_is_a_problem_naming_the_field(database, settings, frozen):
    async with staff_client(database, settings, "admin1", "admin") as admin:
        malformed = await admin.get(f"{BASE}/events", params={"start": "2026-13-01", "end": "2026-06-30"})
        missing = await admin.get(f"{BASE}/merchants.csv", params={"start": "2026-06-01"})
        backwards = await admin.get(f"{BASE}/referrals", params={"start": "2026-06-30", "end": "2026-06-01"})
        backwards_csv = await admin.get(f"{BASE}/kpis.csv", params={"start": "2026-06-30", "end": "2026-06-01"})
        ancient = await admin.get(f"{BASE}/merchants", params={"start": "1900-01-01", "end": "2026-06-01"})

    def fields(response: httpx.Response) -> list[str]:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        return [error["field"] for error in response.json()["errors"]]

    assert (malformed.status_code, fields(malformed)) == (400, ["start"])
    # A missing parameter is a 400 that names it, as a query parameter.
    assert (missing.status_code, fields(missing)) == (400, ["end"]), missing.text
    assert missing.json()["errors"][0]["source"] == "query"
    assert (backwards.status_code, fields(backwards)) == (422, ["end"])
    assert (backwards_csv.status_code, fields(backwards_csv)) == (422, ["end"])
    assert (ancient.status_code, fields(ancient)) == (422, ["start"])
