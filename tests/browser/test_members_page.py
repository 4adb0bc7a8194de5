"""The members view (/staff#members, members.js) on a phone (390 px) and a desktop, in Chinese and
English: a service clerk searches by name and by unit (phones masked in the list), opens an owner:
card tier, stage, the home with its co-owner, the owner's cases linked to the desk; follows the
co-owner; marks a home as sold on after the question that says it cannot be undone. Sales staff
search and open owners too, with no desk cases offered.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): members-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.audit.tables import AuditEntry
from loyalty.care import cases
from loyalty.members.tables import Member, Ownership
from tests.browser.conftest import DESKTOP, PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.members_builders import import_rows

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database (the API tests run on both)

SHORT = {"zh-CN": "zh", "en": "en"}
DEVICES = {"phone": PHONE, "desktop": DESKTOP}
WORDS = {
    "zh-CN": {"nav": "会员", "gold": "金卡", "blue": "蓝卡", "homes": "2 套房", "co": "共有人：", "sold": "已转售",
              "question": "将王芳的", "line": "此操作无法撤销", "case": "处理中"},
    "en": {"nav": "Members", "gold": "Gold", "blue": "Blue", "homes": "2 homes", "co": "Co-owners:", "sold": "Sold on",
           "question": "as sold on by 王芳?", "line": "this cannot be undone", "case": "In progress"},
}


async def save(page: Page, name: str) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


async def world(tmp_path: Path) -> dict[str, int]:
    """王芳 owns two homes (gold); 李雷 co-owns the first; 王芳 has a case on the desk."""
    await import_rows(tmp_path, [
        {"phone": "13800138001", "name": "王芳", "building": "9幢", "room": "1201", "contract_date": "2025-03-01", "contract_price": "3200000.00"},
        {"phone": "13800138001", "name": "王芳", "building": "9幢", "room": "1202", "contract_date": "2025-04-01"},
        {"phone": "13900139002", "name": "李雷", "building": "9幢", "room": "1201", "contract_date": "2025-03-01"},
    ])
    ids = {row["name"]: row["id"] for row in await Member.select(Member.id, Member.name)}
    case = await cases.open_case(ids["王芳"], "repair", "卫生间漏水", "楼上卫生间漏水。")
    return {"wang": ids["王芳"], "li": ids["李雷"], "case": case}


@pytest.mark.parametrize("device", list(DEVICES))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_service_staff_find_an_owner_and_open_their_page(database, pages: Pages, tmp_path, locale, device):
    made = await world(tmp_path)
    await add_staff("kefu", "service")
    words, name = WORDS[locale], f"members-{SHORT[locale]}-{device}"
    width = DEVICES[device]["viewport"]["width"]
    page = await pages.new(locale="en-US" if locale == "en" else locale, **DEVICES[device])
    await staff_logs_in(page, "kefu")

    await page.click('#nav a[data-view="members"]')
    await expect(page.locator("#view-members")).to_be_visible()
    await expect(page.locator('#nav a[data-view="members"]')).to_have_text(words["nav"])

    # By name: the phone masked, the tier and homes in words.
    await page.fill("#members-search", "王")
    await page.click("#members-search-go")
    rows = page.locator("#members-list .tm-member")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("+86138****8001")
    await expect(rows.first).not_to_contain_text("13800138001")
    await expect(rows.first.locator(".tm-badge")).to_have_text(words["gold"])
    await expect(rows.first).to_contain_text(words["homes"])
    await fits(page, width)
    await save(page, f"{name}-search")

    # By unit: both owners of 9幢-1201.
    await page.fill("#members-search", "9幢-1201")
    await page.click("#members-search-go")
    await expect(rows).to_have_count(2)

    # Open 王芳: card, the homes, the co-owner, the case.
    await page.click(f'#members-list [data-member="{made["wang"]}"]')
    await expect(page).to_have_url(f"{pages.server.url}/staff#members/{made['wang']}")
    await expect(page.locator("#members-tier")).to_have_text(words["gold"])
    contracts = page.locator("#members-contracts .tm-contract")
    await expect(contracts).to_have_count(2)
    first = contracts.first
    await expect(first).to_contain_text(words["co"])
    await expect(first.locator(f'a[href="#members/{made["li"]}"]')).to_have_text("李雷")
    await expect(first).to_contain_text("3,200,000")
    await expect(page.locator(f'#members-cases a[href="#desk/{made["case"]}"]')).to_have_text("卫生间漏水")
    await fits(page, width)
    await save(page, f"{name}-member")

    # Sold on, after the question.
    await contracts.nth(1).locator("[data-transfer]").click()
    dialog = page.locator("#confirm")
    await expect(dialog.locator("h2")).to_contain_text(words["question"])
    await expect(dialog).to_contain_text(words["line"])
    await page.fill("#confirm-reason", "业主已出售" if locale == "zh-CN" else "Sold to a buyer")
    await save(page, f"{name}-sold-confirm")
    await page.click("#confirm-yes")
    await expect(contracts.nth(1).locator(".status")).to_have_text(words["sold"])
    await expect(contracts.nth(1).locator("[data-transfer]")).to_have_count(0)
    assert [row["status"] for row in await Ownership.select(Ownership.status).where(Ownership.member == made["wang"]).order_by(Ownership.id)] == ["active", "transferred"]
    assert await AuditEntry.exists().where(AuditEntry.action == "ownership.transfer")

    # The co-owner's page, from the link.
    await first.locator(f'a[href="#members/{made["li"]}"]').click()
    await expect(page).to_have_url(f"{pages.server.url}/staff#members/{made['li']}")
    await expect(page.locator("#members-page h2")).to_have_text("李雷")
    await expect(page.locator("#members-tier")).to_have_text(words["blue"])


async def test_sales_staff_open_an_owner_without_the_desk(database, pages: Pages, tmp_path):
    made = await world(tmp_path)
    await add_staff("xiaoshou", "sales")
    page = await pages.new(locale="zh-CN", **PHONE)
    await staff_logs_in(page, "xiaoshou")

    await page.goto(f"/staff#members/{made['wang']}")

    await expect(page.locator("#members-tier")).to_have_text("金卡")
    await expect(page.locator("#members-cases")).to_have_count(0)
    await expect(page.locator("[data-transfer]")).to_have_count(0)  # selling on is for service staff
    await expect(page.locator("#members-add")).to_be_visible()
