"""The repairs view (/staff#repairs, repairs.js) as a service staff member, on a phone (390 px) and a
desktop, in Chinese and English: a repair recorded through the form, moved to acceptance, sent back
for rework once, accepted, closed with the owner's rating after a confirmation; and the
group-complaint warning banner on the service desk's queue, acknowledged after a confirmation.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): repairs-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases, group_warnings
from loyalty.care.tables import GroupWarning, Repair, ReturnVisit
from loyalty.members.tables import Ownership
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.browser.test_visits_page import no_sideways_scroll, save
from tests.events.builders import owners

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database

WORDS = {
    "zh-CN": {"nav": "维修", "saved": "维修单已登记", "reported": "已报修", "in_repair": "维修中", "awaiting": "待验收",
              "rework": "返工", "accepted": "已验收", "closed": "已关闭", "reworked": "已返工 1 次", "close": "关闭维修单",
              "rated": "业主评分：5 分", "reward": "施工单位奖励 ¥24.01", "banner": "群诉预警", "ack": "确认已知",
              "item": "墙体开裂", "kind": "投诉", "owner": "业主本人"},
    "en": {"nav": "Repairs", "saved": "Repair recorded", "reported": "Reported", "in_repair": "In repair",
           "awaiting": "Awaiting acceptance", "rework": "Rework", "accepted": "Accepted", "closed": "Closed",
           "reworked": "Reworked 1 time", "close": "Close the repair", "rated": "The owner's rating: 5 of 5",
           "reward": "contractor's reward ¥24.01", "banner": "Group complaint warning", "ack": "Acknowledge",
           "item": "Wall crack", "kind": "Complaint", "owner": "The owner"},
}


async def open_page(pages: Pages, locale: str, device: str) -> Page:
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else {}))
    await staff_logs_in(page, "desk1")
    return page


async def state_of(page: Page, words: dict[str, str], key: str) -> None:
    card = page.locator("#repairs-list .repair").first
    await expect(card.locator(".repair-state")).to_have_text(words[key])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_record_a_repair_rework_once_and_close_it_with_a_rating(database, pages: Pages, tmp_path, locale, device):
    words = WORDS[locale]
    (owner,) = await owners(tmp_path, 1)
    await add_staff("desk1", "service")
    page = await open_page(pages, locale, device)
    await expect(page.locator('#nav a[data-view="repairs"]')).to_have_text(words["nav"])
    await page.click('#nav a[data-view="repairs"]')
    await expect(page.locator("#repairs-list > *").first).to_be_visible()

    await page.click("#repairs-new")
    await page.fill("#repairs-owner-search", "业主0")
    await page.click("#repairs-find")
    await expect(page.locator("#repairs-unit option")).to_have_count(1)
    await page.select_option("#repairs-item", "wall_crack")
    await page.check("#repairs-major")
    await page.fill("#repairs-contractor", "顺安维修")
    await page.fill("#repairs-supervisor", "王工")
    await page.fill("#repairs-sum", "1200.50")
    await page.fill("#repairs-description", "客厅墙面裂缝")
    await no_sideways_scroll(page)
    if device == "phone":
        await save(page, f"repairs-form-{device}-{locale}")
    await page.click("#repairs-save")
    await expect(page.locator("#repairs-saved")).to_contain_text(words["saved"])
    card = page.locator("#repairs-list .repair").first
    await expect(card.locator(".repair-item")).to_have_text(words["item"])
    await state_of(page, words, "reported")
    await expect(card.locator('[data-flag="late"]')).to_have_count(0)  # filled in at once: on time
    await expect(card.locator('[data-flag="major"]')).to_have_count(1)

    await card.locator('[data-repair-step="in_repair"]').click()
    await state_of(page, words, "in_repair")
    await card.locator('[data-repair-step="awaiting_acceptance"]').click()
    await state_of(page, words, "awaiting")
    await card.locator("textarea").fill("墙面仍有细缝")
    await card.locator('[data-repair-step="rework"]').click()
    await page.locator("dialog#confirm #confirm-yes").click()  # asked first: a rework counts for good
    await state_of(page, words, "rework")
    await expect(card.locator('[data-flag="rework"]')).to_have_text(words["reworked"])
    await card.locator('[data-repair-step="awaiting_acceptance"]').click()
    await state_of(page, words, "awaiting")
    await card.locator("[data-repair-acceptor]").select_option("owner")
    await card.locator('[data-repair-step="accepted"]').click()
    await expect(page.locator("dialog#confirm")).to_contain_text(words["owner"])  # names who accepted
    await page.locator("dialog#confirm #confirm-yes").click()
    await state_of(page, words, "accepted")

    await card.locator('[data-repair-score="5"]').click()
    await no_sideways_scroll(page)
    await save(page, f"repairs-accepted-{device}-{locale}")
    await card.locator('[data-repair-step="closed"]').click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    if device == "phone":
        await save(page, f"repairs-confirm-{device}-{locale}")
    await dialog.get_by_role("button", name=words["close"], exact=True).click()
    await state_of(page, words, "closed")
    await expect(card.locator(".repair-rated")).to_contain_text(words["rated"])
    await expect(card.locator(".repair-rated")).to_contain_text(words["reward"])  # 2% of ¥1,200.50
    await expect(page.locator('#repairs-contractor-month [data-contractor="顺安维修"]')).to_be_visible()
    await no_sideways_scroll(page)
    await save(page, f"repairs-closed-{device}-{locale}")

    row = await Repair.select().first()
    assert (row["member"], row["item"], row["contract_sum_fen"], row["rework_count"], row["satisfaction"]) == (
        owner, "wall_crack", 120_050, 1, 5)
    assert (row["state"], row["accepted_by"], row["intake_late"], row["major_works"]) == ("closed", "owner", False, True)
    assert sorted(v["kind"] for v in await ReturnVisit.select()) == ["after_major_repair", "after_repair"]
    assert await AuditEntry.count().where(AuditEntry.action == "repair.rework") == 1


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_the_group_warning_banner_on_the_desk_is_acknowledged(database, pages: Pages, tmp_path, locale, device):
    words = WORDS[locale]
    members = await owners(tmp_path, 3)
    lead = await add_staff("desk1", "service")
    now = clock.now()
    for n, member in enumerate(members):
        unit = (await Ownership.select(Ownership.unit).where(Ownership.member == member).first())["unit"]
        await cases.open_case(member, "complaint", "地下车库漏水", "又漏了", unit_id=unit, now=now - timedelta(hours=n))
    assert await group_warnings.detect(now + timedelta(minutes=1)) == 1

    page = await open_page(pages, locale, device)
    await page.click('#nav a[data-view="desk"]')
    banner = page.locator("#desk-warnings .group-warning")
    await expect(banner).to_have_count(1)
    await expect(banner.locator("strong")).to_have_text(words["banner"])
    await expect(banner).to_contain_text(words["kind"])
    await expect(banner.locator('a[href^="#desk/"]')).to_have_count(3)
    await expect(page.locator("#desk-list .desk-row")).to_have_count(3)
    await no_sideways_scroll(page)
    await save(page, f"repairs-warning-{device}-{locale}")

    await banner.locator("[data-warning-ack]").click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name=words["ack"], exact=True).click()
    await expect(banner).to_have_count(0)
    row = await GroupWarning.select().first()
    assert row["acknowledged_by"] == lead and row["acknowledged_at"] is not None
    assert await AuditEntry.count().where(AuditEntry.action == "group_warning.acknowledge") == 1
