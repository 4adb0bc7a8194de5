"""The tier-rules view (/staff#tiers, tiers.js) on a phone (390 px) and a desktop, in Chinese and
English: an admin reads the rules in words, changes the gold rule "owns at least 2 homes" to one
home, previews it — one blue and one silver owner would move up, nobody down — and saves it after
the question that states those counts; the owners are gold afterwards. Service staff read the rules
and are offered no change.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): tiers-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card
from tests.browser.conftest import DESKTOP, PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.cards.builders import rule_id
from tests.members_builders import import_rows

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database (the API tests run on both)

SHORT = {"zh-CN": "zh", "en": "en"}
DEVICES = {"phone": PHONE, "desktop": DESKTOP}
WORDS = {
    "zh-CN": {"nav": "等级规则", "gold_rule": "名下房产至少 2 套", "summary": "2 位业主将立即升级。", "down": "目前无人降级。",
              "title": "保存修改后的规则？", "line": "2 位业主将立即升到更高等级。", "saved": "规则已保存：2 位业主已升级。",
              "gold": "金卡"},
    "en": {"nav": "Tier rules", "gold_rule": "owns at least 2 homes", "summary": "2 owners move up at once.", "down": "Nobody moves down now.",
           "title": "Save the changed rule?", "line": "2 owners move up to a higher tier at once.", "saved": "The rule is saved: 2 owners moved up.",
           "gold": "Gold"},
}


async def save(page: Page, name: str) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


async def owners_of_three_tiers(tmp_path: Path) -> None:
    """One blue owner (a home bought), one silver (a home handed over), one gold (two homes)."""
    await import_rows(tmp_path, [
        {"phone": "13900000001", "name": "蓝业主", "contract_date": "2025-03-01"},
        {"phone": "13900000002", "name": "银业主", "contract_date": "2024-03-01", "delivery_date": "2025-09-01"},
        {"phone": "13900000003", "name": "金业主", "contract_date": "2025-03-01"},
        {"phone": "13900000003", "name": "金业主", "contract_date": "2025-04-01"},
    ])
    assert sorted(row["tier"] for row in await Card.select(Card.tier)) == ["blue", "gold", "silver"]


@pytest.mark.parametrize("device", list(DEVICES))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_admin_changes_a_tier_rule_after_seeing_whom_it_moves(database, pages: Pages, tmp_path, locale, device):
    await owners_of_three_tiers(tmp_path)
    await add_staff("boss", "admin")
    words, name = WORDS[locale], f"tiers-{SHORT[locale]}-{device}"
    width = DEVICES[device]["viewport"]["width"]
    page = await pages.new(locale="en-US" if locale == "en" else locale, **DEVICES[device])
    await staff_logs_in(page, "boss")

    await page.click('#nav a[data-view="tiers"]')
    await expect(page.locator("#view-tiers")).to_be_visible()
    await expect(page.locator('#nav a[data-view="tiers"]')).to_have_text(words["nav"])
    gold = page.locator('.tm-tier[data-tier="gold"]')
    await expect(gold.locator("h3")).to_have_text(words["gold"])
    rule = gold.locator(f'[data-rule="{await rule_id("gold", "units_owned")}"]')
    await expect(rule.locator(".tm-rule-text")).to_have_text(words["gold_rule"])
    await fits(page, width)
    await save(page, f"{name}-rules")

    # Change it to one home: saving waits for the preview.
    await rule.locator("button").click()
    await expect(page.locator("#tiers-form")).to_be_visible()
    await expect(page.locator("#tiers-save")).to_be_disabled()
    await page.fill("#tiers-threshold", "1")
    await page.click("#tiers-preview")
    moves = page.locator("#tiers-moves")
    await expect(moves).to_be_visible()
    await expect(page.locator("#tiers-summary")).to_contain_text(words["summary"])
    await expect(page.locator("#tiers-summary")).to_contain_text(words["down"])
    await expect(moves.locator('tr[data-tier="blue"] td.up')).to_have_text("1")
    await expect(moves.locator('tr[data-tier="silver"] td.up')).to_have_text("1")
    await expect(moves.locator('tr[data-tier="gold"] td').last).to_have_text("3")
    await expect(page.locator("#tiers-save")).to_be_enabled()
    assert sorted(row["tier"] for row in await Card.select(Card.tier)) == ["blue", "gold", "silver"]  # nothing written
    await fits(page, width)
    assert await page.evaluate("(() => { const w = document.querySelector('.tm-table-wrap'); return w.scrollWidth <= w.clientWidth; })()"), \
        "the counts table scrolls sideways"
    await save(page, f"{name}-preview")

    # A change after the preview asks for a new one.
    await page.fill("#tiers-threshold", "2")
    await expect(page.locator("#tiers-save")).to_be_disabled()
    await expect(moves).to_have_count(0)
    await page.fill("#tiers-threshold", "1")
    await page.click("#tiers-preview")
    await expect(moves).to_be_visible()

    # Save: the question states the counts and asks why.
    await page.click("#tiers-save")
    dialog = page.locator("#confirm")
    await expect(dialog.locator("h2")).to_have_text(words["title"])
    await expect(dialog).to_contain_text(words["line"])
    await page.fill("#confirm-reason", "年度促销" if locale == "zh-CN" else "Promotion")
    await fits(page, width)
    await save(page, f"{name}-confirm")
    await page.click("#confirm-yes")
    await expect(page.locator("#tiers-notice")).to_have_text(words["saved"])
    await expect(page.locator("#tiers-form")).to_be_hidden()
    assert sorted(row["tier"] for row in await Card.select(Card.tier)) == ["gold", "gold", "gold"]
    assert await AuditEntry.exists().where(AuditEntry.action == "tier_rule.save")


async def test_service_staff_read_the_rules_and_change_nothing(database, pages: Pages, tmp_path):
    await add_staff("kefu", "service")
    page = await pages.new(locale="zh-CN", **PHONE)
    await staff_logs_in(page, "kefu")

    await page.click('#nav a[data-view="tiers"]')

    await expect(page.locator('.tm-tier[data-tier="platinum"] .tm-rule').first).to_be_visible()
    await expect(page.locator("#view-tiers button[data-edit-rule]")).to_have_count(0)
    await expect(page.locator("#tiers-add")).to_be_hidden()
