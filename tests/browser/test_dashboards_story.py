"""The dashboards tell their story, on a phone and a desktop, in Chinese and English: four figures on
top (members by tier, the referral share against 30%, satisfaction against 85%, the points owed in
yuan), charts with an axis, values and units, a caption that says what each shows (its text
alternative), a bar or figure that leads to its rows, CSV and Excel files, Beijing time; and with no
records, "暂无数据" / "No data yet" rather than empty charts. Nothing scrolls the page sideways, no two
labels of a chart overlap, and the liability chart never draws the total beside its own parts.

The world is test_dashboards_page's (its numbers are worked out there). Screenshots (with
LOYALTY_SCREENSHOTS_DIR=docs/screenshots): dashboards-<device>-<locale>.png, dashboards-empty-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.browser.test_dashboards_page import DASHBOARDS, build_world

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORDS = {
    "zh-CN": {"empty": "暂无数据", "miss": "低于目标 30%", "miss85": "低于目标 85%", "beijing": "北京时间", "points": "12,450 积分",
              "members": "会员数", "unit_pct": "单位：%", "unit_yuan": "单位：元（¥）", "total": "合计"},
    "en": {"empty": "No data yet", "miss": "below the target of 30%", "miss85": "below the target of 85%", "beijing": "Beijing time",
           "points": "12,450 points", "members": "Members", "unit_pct": "Unit: %", "unit_yuan": "Unit: yuan (¥)", "total": "Total"},
}


async def save(page: Page, name: str) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


async def overlapping_labels(page: Page) -> list[str]:
    """Pairs of a chart's texts (labels, values, ticks) whose boxes overlap, by chart."""
    return await page.evaluate("""() => {
      const found = [];
      for (const figure of document.querySelectorAll("#dashboards figure.chart")) {
        const boxes = [...figure.querySelectorAll(".bar-label, .bar-value, .bar-axis span")]
          .map((el) => [el.textContent, el.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
          const [a, r] = boxes[i], [b, s] = boxes[j];
          if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1) found.push(`${a} / ${b}`);
        }
      }
      return found;
    }""")


async def open_dashboards(pages: Pages, locale: str, device: str) -> Page:
    await add_staff("boss", "admin")
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else {}))
    await staff_logs_in(page, "boss", "/staff#dashboards")
    if locale == "en":
        await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".dash")).to_have_count(len(DASHBOARDS))
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_the_dashboards_tell_their_story_and_lead_to_their_rows(database, pages: Pages, tmp_path, locale, device):
    words = WORDS[locale]
    await build_world(tmp_path, pages.server.settings, pages.server.url)
    page = await open_dashboards(pages, locale, device)

    # The summary row: four figures, the two rates against their targets (both missed here).
    figures = page.locator("#dash-summary [data-summary]")
    await expect(figures).to_have_count(4)
    tiers = page.locator('[data-summary="tiers"]')
    await expect(tiers.locator(".dash-figure-value")).to_have_text("4")
    await expect(tiers.locator(".dash-figure-label")).to_have_text(words["members"])
    referrals = page.locator('[data-summary="referrals"]')
    await expect(referrals.locator(".dash-figure-value")).to_have_text("25.0%")
    await expect(referrals.locator(".dash-figure-detail")).to_have_text(words["miss"])
    await expect(referrals).to_have_class("dash-figure target-miss")
    kpis = page.locator('[data-summary="kpis"]')
    await expect(kpis.locator(".dash-figure-value")).to_have_text("50.0%")
    await expect(kpis.locator(".dash-figure-detail")).to_have_text(words["miss85"])
    liability = page.locator('[data-summary="liability"]')
    await expect(liability.locator(".dash-figure-value")).to_have_text("¥124.50")
    await expect(liability.locator(".dash-figure-detail")).to_have_text(words["points"])
    await expect(page.locator("#dash-asof")).to_contain_text(words["beijing"])

    # Every chart: a caption naming its unit (its text alternative, with each bar's own text), an
    # axis of three ticks in that unit; the targets drawn on the rate charts.
    for name in DASHBOARDS:
        figure = page.locator(f'.dash[data-dashboard="{name}"] figure.chart')
        await expect(figure).to_have_count(1)
        await expect(figure.locator(".bar-axis span")).to_have_count(3)
    for name in ("referrals", "events", "kpis"):
        await expect(page.locator(f'.dash[data-dashboard="{name}"] figcaption')).to_contain_text(words["unit_pct"])
        assert (await page.locator(f'.dash[data-dashboard="{name}"] .bar-axis span').last.text_content() or "").endswith("%")
    for name in ("merchants", "liability"):
        await expect(page.locator(f'.dash[data-dashboard="{name}"] figcaption')).to_contain_text(words["unit_yuan"])
        assert (await page.locator(f'.dash[data-dashboard="{name}"] .bar-axis span').last.text_content() or "").startswith("¥")
    await expect(page.locator('.dash[data-dashboard="kpis"] .bar-target')).to_have_count(2)
    # The liability chart draws its parts; the total is said in its caption, never a bar beside them.
    parts = await page.locator('.dash[data-dashboard="liability"] .bar-label').all_text_contents()
    assert len(parts) == 3 and words["total"] not in parts, parts
    await expect(page.locator('.dash[data-dashboard="liability"] figcaption')).to_contain_text("¥124.50")

    await save(page, f"dashboards-{device}-{'zh' if locale == 'zh-CN' else 'en'}")
    assert await overlapping_labels(page) == []
    await no_sideways_scroll(page)

    # Drill-down: a referral bar leads to its row, a tier's bar to its column, a figure to its dashboard.
    await page.locator('.dash[data-dashboard="referrals"] .bar-row').first.click()
    row = page.locator('.dash[data-dashboard="referrals"] tr[data-row="0"]')
    await expect(row).to_have_class("drilled")
    await expect(row).to_be_focused()
    await page.locator('.dash[data-dashboard="tiers"] .bar-row').nth(1).click()  # gold
    await expect(page.locator('.dash[data-dashboard="tiers"] td.drilled[data-column="gold"]')).to_have_count(3)
    await expect(page.locator('.dash[data-dashboard="referrals"] tr.drilled')).to_have_count(0)
    await liability.click()
    await expect(page.locator("#dash-liability-title")).to_be_focused()

    # The files: CSV and Excel, for the same range.
    for name in DASHBOARDS:
        href = await page.locator(f'.dash[data-dashboard="{name}"] a[data-export="xlsx"]').get_attribute("href") or ""
        assert href.startswith(f"/api/v1/staff/dashboards/{name}.xlsx?start="), href
        answer = await page.request.get(href)
        assert answer.status == 200 and answer.headers["content-type"] == XLSX, (name, answer.status)
    await no_sideways_scroll(page)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_with_no_records_every_dashboard_says_so(database, pages: Pages, locale, device):
    words = WORDS[locale]
    page = await open_dashboards(pages, locale, device)

    for name in DASHBOARDS:
        await expect(page.locator(f'.dash[data-dashboard="{name}"] .dash-empty')).to_have_text(words["empty"])
        await expect(page.locator(f'.dash[data-dashboard="{name}"] figure.chart')).to_have_count(0)
        await expect(page.locator(f'.dash[data-dashboard="{name}"] a[data-export="xlsx"]')).to_be_visible()
    for name in ("referrals", "kpis"):
        await expect(page.locator(f'[data-summary="{name}"] .dash-figure-value')).to_have_text("—")
        await expect(page.locator(f'[data-summary="{name}"] .dash-figure-detail')).to_have_text(words["empty"])
    await expect(page.locator('[data-summary="tiers"] .dash-figure-value')).to_have_text("0")
    await expect(page.locator('[data-summary="liability"] .dash-figure-value')).to_have_text("¥0.00")
    await no_sideways_scroll(page)
    await save(page, f"dashboards-empty-{device}-{'zh' if locale == 'zh-CN' else 'en'}")
