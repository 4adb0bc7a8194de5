"""An admin opens the dashboards (/staff#dashboards): each of the six shows the numbers the
test's records imply, worked out by hand below, in words and formats a Chinese reader reads
(tiers and stages by name, money in yuan, rates as percentages, months and times in Beijing),
with a chart and a CSV export.

The world, dated today (Beijing), the page's default range being this year so far:
- HZ-YH: 业主0 with two units (gold), 业主1 and 业主2 with one (blue), all signed today: three
  new buyers this month. SH-PD: 业主3 (blue), an owner for more than a year.
- Referrals: 业主1's friend 王五 (HZ-YH) moved straight to signed, his contract not imported
  yet (a new buyer of this month all the same); 业主3's friend 钱七 (SH-PD) visited. Rewards (default rules): 200 at the visit to each referrer, 5,000 pending to 业主1
  at the signing and 2,000 welcome points to 王五.
- An event today at 10:00 (20 seats, 50 attendance points): 业主0 (party of 2), 业主1 and 业主2
  signed up; 业主0 came, the others are no-shows.
- Merchants: 森林装饰 sold to 业主0 (gold) 1,000 CNY with a 100 CNY discount, 5,000 points taken
  as payment; 湖畔餐厅 sold nothing.
- Surveys after the event (HZ-YH): 业主0 satisfaction 5, recommend 10; 业主1 3 and 6."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.care import surveys
from loyalty.events import checkin, signups
from loyalty.members.tables import Member
from loyalty.points import service as points
from loyalty.referrals import service as referrals
from tests.browser.conftest import Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import event, owners, project_id
from tests.partner_api.builders import dynamic_code, sale_body, sell, shop

DASHBOARDS = ("tiers", "referrals", "events", "merchants", "liability", "kpis")


async def table(page: Page, name: str) -> list[dict[str, str]]:
    """A dashboard's table as the reader sees it, each cell keyed by its column's API field."""
    return await page.locator(f'.dash[data-dashboard="{name}"] table').evaluate(
        """(t) => [...t.querySelectorAll("tbody tr")].map((tr) =>
                     Object.fromEntries([...tr.children].map((td) => [td.dataset.column, td.textContent])))"""
    )


def expect_rows(actual: list[dict[str, str]], expected: list[dict[str, str]]) -> None:
    assert [{c: row[c] for c in expected[0]} for row in actual] == expected


async def build_world(tmp_path: Any, settings: Any, server_url: str) -> dict[str, int]:
    today = clock.today()
    signed_today, long_ago = today.isoformat(), (today - timedelta(days=400)).isoformat()
    [n0] = await owners(tmp_path, 1, units=2, project="HZ-YH", contract_date=signed_today)
    [n1, n2] = await owners(tmp_path, 2, project="HZ-YH", start=1, contract_date=signed_today)
    [n3] = await owners(tmp_path, 1, project="SH-PD", start=3, contract_date=long_ago)
    hz, sh = await project_id("HZ-YH"), await project_id("SH-PD")
    sales = await add_staff("sales1", "sales")

    wang = await referrals.register_lead(n1, name="王五", phone="13900139001", project_id=hz)
    await referrals.move_lead(wang["id"], "signed", staff_id=sales)
    qian = await referrals.register_lead(n3, name="钱七", phone="13900139002", project_id=sh)
    await referrals.move_lead(qian["id"], "visited", staff_id=sales)

    starts = datetime.combine(today, clock_time(10, 0), clock.LOCAL_ZONE)
    maker = await add_staff("maker", "event_staff")
    game = await event(
        maker, title_zh="业主篮球赛", title_en="Owners' basketball", capacity=20, attendance_points=50,
        starts_at=starts, ends_at=starts + timedelta(hours=2), signup_opens_at=starts - timedelta(days=5),
        signup_closes_at=starts - timedelta(hours=1), cancel_deadline=starts - timedelta(days=1),
    )
    early = starts - timedelta(days=2)
    [came] = await signups.sign_up(n0, game, settings=settings, party_size=2, now=early)
    for member in (n1, n2):
        await signups.sign_up(member, game, settings=settings, now=early)
    signer = cards.signer_for(settings)
    answer = await checkin.check_in(game, signer.sign("ticket", came), gate="东门", signer=signer, now=starts)
    assert answer.result == "checked_in"
    assert await signups.mark_no_shows(now=starts + timedelta(days=1)) == 2

    await points.earn(n0, 10_000, key="seed:n0", source_kind="test")
    forest = await shop("森林装饰")
    await shop("湖畔餐厅")
    async with httpx.AsyncClient(base_url=server_url) as till:
        sold = await sell(till, forest.auth, "till-1", sale_body(await dynamic_code(n0, signer), gross_fen=100_000,
                                                                  discount_fen=10_000, points_to_redeem=5_000))
        assert sold.status_code == 201, sold.text

    for member, satisfaction, recommend in ((n0, 5, 10), (n1, 3, 6)):
        await surveys.create_survey(member, "event", game, hz, "业主篮球赛")
        [survey] = await surveys.open_surveys(member)
        await surveys.answer(member, survey["id"], {"satisfaction": satisfaction, "recommend": recommend})

    new_owner = await Member.select(Member.id).where(Member.phone == "+8613900139001").first()
    assert new_owner is not None
    return {"hz": hz, "sh": sh, "game": game, "forest": forest.merchant_id, "n0": n0, "n1": n1, "n3": n3, "wang": new_owner["id"]}


async def test_an_admin_opens_the_dashboards_and_sees_what_the_records_imply(database, pages: Pages, tmp_path):
    await build_world(tmp_path, pages.server.settings, pages.server.url)
    today = clock.today()
    await add_staff("boss", "admin")
    page = await pages.new()
    # The browser's clock at 00:30 in Beijing, still yesterday in UTC: the default range must end
    # today in Beijing, where the API's days are.
    await page.clock.set_fixed_time(datetime.combine(today, clock_time(0, 30), clock.LOCAL_ZONE))

    await staff_logs_in(page, "boss", "/staff#dashboards")

    await expect(page.locator("#view-dashboards")).to_be_visible()
    await expect(page.locator(".dash")).to_have_count(len(DASHBOARDS))
    await expect(page.locator("#dash-start")).to_have_value(f"{today.year}-01-01")
    await expect(page.locator("#dash-end")).to_have_value(today.isoformat())
    await expect(page.locator(".dash .error")).to_have_count(0)
    for name in DASHBOARDS:
        await expect(page.locator(f'.dash[data-dashboard="{name}"] table')).to_be_visible()

    # Tiers: HZ-YH gold 1 (业主0), silver 1 (业主1: one signed referral lifts a card to silver),
    # blue 1 (业主2); SH-PD blue 1 (业主3); totals 4 members, each once.
    headers = await page.locator('.dash[data-dashboard="tiers"] thead th').all_text_contents()
    assert headers == ["项目", "铂金卡", "金卡", "银卡", "蓝卡", "会员数"]
    expect_rows(await table(page, "tiers"), [
        {"project": "项目HZ-YH", "platinum": "0", "gold": "1", "silver": "1", "blue": "1", "members": "3"},
        {"project": "项目SH-PD", "platinum": "0", "gold": "0", "silver": "0", "blue": "1", "members": "1"},
        {"project": "全部项目", "platinum": "0", "gold": "1", "silver": "1", "blue": "2", "members": "4"},
    ])
    # Referrals this month: HZ-YH 1 registered → signed (visited and subscribed passed); 4 new
    # buyers (业主0–2 by their contracts, 王五 by his signed lead), 1 referred (王五) → share
    # 1/4 = 25% < 30%; SH-PD 1 registered and visited, no new buyer → no share.
    month = f"{today.year}年{today.month}月"
    expect_rows(await table(page, "referrals"), [
        {"project": "项目HZ-YH", "month": month, "registered": "1", "visited": "1", "subscribed": "1", "signed": "1",
         "new_buyers": "4", "referred_buyers": "1", "conversion": "100.0%", "referral_share": "25.0%", "meets_target": "否"},
        {"project": "项目SH-PD", "month": month, "registered": "1", "visited": "1", "subscribed": "0", "signed": "0",
         "new_buyers": "0", "referred_buyers": "0", "conversion": "0.0%", "referral_share": "—", "meets_target": "—"},
        {"project": "全部项目", "month": "全部月份", "registered": "2", "visited": "2", "subscribed": "1", "signed": "1",
         "new_buyers": "4", "referred_buyers": "1", "conversion": "50.0%", "referral_share": "25.0%", "meets_target": "否"},
    ])
    # Events: 3 signups (4 people), 1 attended (2 people), 2 no-shows → no-show rate 2/3; it
    # started at 10:00 Beijing time.
    game = {"status": "已发布", "seats": "20", "signups": "3", "people": "4", "attended": "1", "attended_people": "2",
            "no_show": "2", "no_show_people": "2", "no_show_rate": "66.7%", "attendance_rate": "33.3%"}
    expect_rows(await table(page, "events"), [
        {"title_zh": "业主篮球赛", "starts_at": f"{today.year}年{today.month}月{today.day}日 10:00", **game},
        {"title_zh": "全部活动", "starts_at": "", **game, "status": ""},
    ])
    # Merchants: one sale of ¥1,000, ¥100 off, 5,000 points worth ¥50 (100 points per yuan).
    forest = {"sales": "1", "gross_fen": "¥1,000.00", "discount_fen": "¥100.00", "points_redeemed": "5,000",
              "points_value_fen": "¥50.00", "reversed_fen": "¥0.00"}
    nothing = {"sales": "0", "gross_fen": "¥0.00", "discount_fen": "¥0.00", "points_redeemed": "0",
               "points_value_fen": "¥0.00", "reversed_fen": "¥0.00"}
    expect_rows(await table(page, "merchants"), [
        {"merchant": "森林装饰", **forest}, {"merchant": "湖畔餐厅", **nothing}, {"merchant": "全部商家", **forest},
    ])
    # Liability: 业主0 10,000 − 5,000 + 50 = 5,050; 业主1 200 (+5,000 pending); 王五 2,000; 业主3 200
    # → 7,450 available, 5,000 pending, 12,450 in all, worth as many fen (100 points per CNY), in 4 accounts.
    expect_rows(await table(page, "liability"), [
        {"kind": "可用积分", "points": "7,450", "value_fen": "¥74.50"},
        {"kind": "待生效积分", "points": "5,000", "value_fen": "¥50.00"},
        {"kind": "合计", "points": "12,450", "value_fen": "¥124.50"},
        {"kind": "会员欠分", "points": "0", "value_fen": "¥0.00"},
    ])
    liability = await (await page.request.get("/api/v1/staff/dashboards/liability")).json()
    assert (liability["accounts"], liability["points_per_cny"], liability["total_value_fen"]) == (4, 100, 12_450)
    # KPIs: HZ-YH two scores, one of 4–5 → 50%; NPS (1 promoter − 1 detractor) / 2 = 0; share 1/4.
    expect_rows(await table(page, "kpis"), [
        {"project": "项目HZ-YH", "month": month, "satisfaction_rate": "50.0%", "satisfaction_scores": "2", "nps": "0",
         "recommend_answers": "2", "referral_share": "25.0%", "new_buyers": "4", "referred_buyers": "1", "referral_signed": "1"},
        {"project": "项目SH-PD", "month": month, "satisfaction_rate": "—", "satisfaction_scores": "0", "nps": "—",
         "recommend_answers": "0", "referral_share": "—", "new_buyers": "0", "referred_buyers": "0", "referral_signed": "0"},
        {"project": "全部项目", "month": "全部月份", "satisfaction_rate": "50.0%", "satisfaction_scores": "2", "nps": "0",
         "recommend_answers": "2", "referral_share": "25.0%", "new_buyers": "4", "referred_buyers": "1", "referral_signed": "1"},
    ])

    # The charts: one bar per figure, its label and value in the bar's title; targets drawn too.
    bars = {
        name: await page.locator(f'.dash[data-dashboard="{name}"] .chart .bar-row').evaluate_all("(bs) => bs.map((b) => b.title)")
        for name in DASHBOARDS
    }
    assert bars == {
        "tiers": ["铂金卡: 0", "金卡: 1", "银卡: 1", "蓝卡: 2"],  # the totals, each member once
        "referrals": [f"项目HZ-YH {month}: 25.0%"],  # SH-PD has no share to draw
        "events": ["业主篮球赛: 66.7%"],
        "merchants": ["森林装饰: ¥1,000.00", "湖畔餐厅: ¥0.00"],  # gross sales, in yuan
        # The parts only, in yuan with their points: the total is said under the chart, not drawn beside them.
        "liability": ["可用积分: ¥74.50 · 7,450 积分", "待生效积分: ¥50.00 · 5,000 积分", "会员欠分: ¥0.00 · 0 积分"],
        "kpis": [f"项目HZ-YH {month}: 50.0%", "总体: 50.0%"],
    }
    await expect(page.locator('.dash[data-dashboard="referrals"] h2')).to_contain_text("目标 30%")
    await expect(page.locator('.dash[data-dashboard="kpis"] h2')).to_contain_text("目标 85%")
    await expect(page.locator('.dash[data-dashboard="referrals"] .chart .bar-target')).to_have_count(1)
    await expect(page.locator('.dash[data-dashboard="liability"] figcaption')).to_contain_text("合计 ¥124.50（12,450 积分，4 个账户；100 积分折合 ¥1）")

    # Each CSV link downloads that dashboard as CSV (same range).
    query = f"start={today.year}-01-01&end={today.isoformat()}"
    for name in DASHBOARDS:
        link = page.locator(f'.dash[data-dashboard="{name}"] a[data-export="csv"]')
        await expect(link).to_have_attribute("href", f"/api/v1/staff/dashboards/{name}.csv?{query}")
        exported = await page.request.get(await link.get_attribute("href") or "")
        assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv"), (name, exported.status)
    tiers_csv = (await (await page.request.get(f"/api/v1/staff/dashboards/tiers.csv?{query}")).body()).decode("utf-8-sig")
    assert tiers_csv.splitlines()[-1] == ",合计,0,1,1,2,4"  # the totals row names itself
