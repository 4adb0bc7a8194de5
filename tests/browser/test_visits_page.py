"""The return-visit view (/staff#visits, visits.js) as a service staff member, on a phone (390 px)
and a desktop, in Chinese and English: the overdue visit comes first and in red; its outcome is
recorded through the small form after a confirmation; the month's coverage moves.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): visits-*.png."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.care.tables import ReturnVisit
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import owners

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database

RED = "rgb(185, 28, 28)"  # var(--bad)
WORDS = {
    "zh-CN": {"nav": "回访任务", "overdue": "已逾期", "reached": "已联系上", "yes": "记录", "done": "已记录：业主1",
              "coverage": "0.0%", "after": "33.3%", "kind": "投诉后"},
    "en": {"nav": "Return visits", "overdue": "overdue since", "reached": "Reached", "yes": "Record it",
           "done": "Recorded: 业主1", "coverage": "0.0%", "after": "33.3%", "kind": "After a complaint"},
}


async def save(page: Page, name: str) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_service_staff_see_the_overdue_visit_first_in_red_record_it_and_coverage_moves(database, pages: Pages, tmp_path, locale, device):
    words = WORDS[locale]
    members = await owners(tmp_path, 3, contract_date="2025-03-01")
    desk = await add_staff("desk1", "service")
    now = clock.now()
    await ReturnVisit.insert(
        ReturnVisit(member=members[0], kind="after_signing", source="ownership:901", due_at=now + timedelta(days=3), assigned_to=desk),
        ReturnVisit(member=members[1], kind="after_complaint", source="case:902", due_at=now - timedelta(hours=20), assigned_to=desk),
        ReturnVisit(member=members[2], kind="monthly_plan", source="plan:x", due_at=now + timedelta(days=9)),  # nobody's yet
    )
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else {}))
    await staff_logs_in(page, "desk1")
    await expect(page.locator('#nav a[data-view="visits"]')).to_have_text(words["nav"])

    await page.click('#nav a[data-view="visits"]')

    cards = page.locator("#visits-list .visit")
    await expect(cards).to_have_count(2)  # mine: the unassigned one is not in this list
    first = cards.first
    await expect(first).to_have_class(re.compile(r"\boverdue\b"))
    await expect(first.locator(".name")).to_have_text("业主1")
    await expect(first.locator(".kind")).to_have_text(words["kind"])
    await expect(first.locator(".due")).to_contain_text(words["overdue"])
    assert await first.locator(".due").evaluate("(e) => getComputedStyle(e).color") == RED
    assert await first.evaluate("(e) => getComputedStyle(e).borderLeftColor") == RED
    await expect(cards.nth(1)).not_to_have_class(re.compile(r"\boverdue\b"))
    await expect(page.locator("#visits-rate")).to_have_text(words["coverage"])
    await no_sideways_scroll(page)
    await save(page, f"visits-{device}-{locale}")

    await first.locator("[data-visit-open]").click()
    await first.get_by_label(words["reached"], exact=True).check()
    await first.locator('[data-visit-score="4"]').click()
    await first.locator("#visit-notes").fill("业主对处理结果满意")
    await no_sideways_scroll(page)
    if device == "phone":
        await save(page, f"visits-form-{device}-{locale}")
    await first.locator('button[type="submit"]').click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    if device == "phone" and locale == "zh-CN":
        await save(page, f"visits-confirm-{device}-{locale}")
    await dialog.get_by_role("button", name=words["yes"], exact=True).click()

    await expect(page.locator("#visits-done")).to_have_text(words["done"])
    await expect(cards).to_have_count(1)
    await expect(page.locator("#visits-rate")).to_have_text(words["after"])  # 1 of 3 active owners
    row = await ReturnVisit.select().where(ReturnVisit.member == members[1]).first()
    assert (row["status"], row["outcome"], row["satisfaction"], row["notes"]) == ("done", "reached", 4, "业主对处理结果满意")
    assert await AuditEntry.count().where(AuditEntry.action == "visit.record") == 1
    await no_sideways_scroll(page)
    if device == "phone":
        await save(page, f"visits-after-{device}-{locale}")
