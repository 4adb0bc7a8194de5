"""The dashboards' words and amounts: a money column writes every row the same way, in full
(¥552,500.00 above ¥48,082.00, never ¥55.25万 beside it), in both languages; each column has the
words of the CSV export's column (the same context and English source in pages.po and
messages.po); and an English reader reads a project's English name, on the page and in the CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.members.tables import Project
from loyalty.referrals import service as referrals
from tests.browser.conftest import Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import event, owners
from tests.partner_api.builders import dynamic_code, sale_body, sell, shop

DASHBOARDS = ("tiers", "referrals", "events", "merchants", "liability", "kpis")
# Columns the page words its own way, and why: one event title in the reader's language (the
# CSV has one column per language); the KPIs' project by name (the CSV gives its number).
PAGE_ONLY = {"events": {"title_zh"}, "kpis": {"project"}}
FULL_AMOUNT = re.compile(r"^¥\d{1,3}(,\d{3})*\.\d{2}$")


async def build(tmp_path: Any, pages: Pages) -> None:
    [hz_owner] = await owners(tmp_path, 1, project="HZ-YH")
    [sh_owner] = await owners(tmp_path, 1, project="SH-PD", start=1)
    await Project.update({Project.name_en: "Yunhu Garden, Hangzhou"}).where(Project.code == "HZ-YH")  # SH-PD has none
    # A referral registered and an event today (the dashboards draw their tables once they have rows).
    hz = await Project.select(Project.id).where(Project.code == "HZ-YH").first()
    await referrals.register_lead(hz_owner, name="王五", phone="13900139001", project_id=hz["id"])
    starts = datetime.combine(clock.today(), clock_time(10, 0), clock.LOCAL_ZONE)
    await event(starts_at=starts, ends_at=starts + timedelta(hours=2), signup_opens_at=starts - timedelta(days=5),
                signup_closes_at=starts - timedelta(hours=1), cancel_deadline=starts - timedelta(days=1))
    signer = cards.signer_for(pages.server.settings)
    async with httpx.AsyncClient(base_url=pages.server.url) as till:
        for n, (name, member, gross_fen) in enumerate((("森林装饰", hz_owner, 55_250_000), ("湖畔餐厅", sh_owner, 4_808_200))):
            sold = await sell(till, (await shop(name)).auth, f"till-{n}", sale_body(await dynamic_code(member, signer), gross_fen=gross_fen))
            assert sold.status_code == 201, sold.text


async def column(page: Page, dashboard: str, key: str) -> list[str]:
    return await page.locator(f'.dash[data-dashboard="{dashboard}"] td[data-column="{key}"]').all_text_contents()


async def headers(page: Page, dashboard: str) -> dict[str, str]:
    """The page's column headers by API field."""
    cells = page.locator(f'.dash[data-dashboard="{dashboard}"] thead th')
    return {await th.get_attribute("data-column") or "": await th.inner_text() for th in await cells.all()}


async def exported(page: Page, dashboard: str) -> list[list[str]]:
    href = await page.locator(f'.dash[data-dashboard="{dashboard}"] a[data-export="csv"]').get_attribute("href")
    response = await page.request.get(href or "")
    assert response.status == 200, await response.text()
    return list(csv.reader(io.StringIO((await response.body()).decode("utf-8-sig"))))


async def check(page: Page, locale: str) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", locale)
    await expect(page.locator(".dash")).to_have_count(len(DASHBOARDS))
    # Money: full amounts on every row, the large and the small alike.
    assert await column(page, "merchants", "gross_fen") == ["¥552,500.00", "¥48,082.00", "¥600,582.00"]
    for dashboard, key in (("merchants", "discount_fen"), ("merchants", "points_value_fen"), ("merchants", "reversed_fen"),
                           ("liability", "value_fen")):
        for cell in await column(page, dashboard, key):
            assert FULL_AMOUNT.match(cell), (locale, dashboard, key, cell)
    # The page's headers are the CSV's.
    for dashboard in DASHBOARDS:
        shown = await headers(page, dashboard)
        in_csv = set((await exported(page, dashboard))[0])
        differ = {key: words for key, words in shown.items() if words not in in_csv and key not in PAGE_ONLY.get(dashboard, set())}
        assert differ == {}, (locale, dashboard, differ, sorted(in_csv))


async def test_money_and_column_words_agree_with_the_csv(database, pages: Pages, tmp_path):
    await build(tmp_path, pages)
    await add_staff("boss", "admin")
    page = await pages.new()
    await staff_logs_in(page, "boss", "/staff#dashboards")

    await check(page, "zh-CN")
    heads = await headers(page, "events")
    assert (heads["no_show_rate"], heads["attendance_rate"], heads["no_show"]) == ("未到场率", "到场率", "未到场报名数")
    assert (await headers(page, "merchants"))["sales"] == "消费笔数"
    assert (await headers(page, "referrals"))["conversion"] == "登记转签约率"
    assert (await exported(page, "tiers"))[1][1] == "项目HZ-YH"  # in Chinese, the Chinese name

    await page.click("#lang")
    await expect(page.locator('.dash[data-dashboard="tiers"] thead th').first).to_have_text("Project")  # drawn again
    await check(page, "en")
    # The English name where the project has one, on the page and in the file; else its name.
    tiers_csv = await exported(page, "tiers")
    project = tiers_csv[0].index("Project")
    assert [row[project] for row in tiers_csv[1:]] == ["Yunhu Garden, Hangzhou", "项目SH-PD", "Total"]
    assert (await column(page, "tiers", "project"))[:2] == ["Yunhu Garden, Hangzhou", "项目SH-PD"]
