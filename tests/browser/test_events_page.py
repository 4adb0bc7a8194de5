"""The events page (/staff#events, events.js) as event staff and as an admin, on a phone (390 px)
and a desktop, in Chinese and English: a quarterly owner meetup is drafted from its pattern,
previewed with its Beijing dates, one session dropped, the rest created as drafts and seen in
the list with their status, seats and the fee of each tier in 元; one is published after the
confirmation; a fee typed wrongly is said next to its field.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): events-*.png."""

from __future__ import annotations

import os
from datetime import timezone
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.audit.tables import AuditEntry
from loyalty.events.tables import Event
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in

pytestmark = pytest.mark.sqlite_only  # the page's behaviour does not depend on the database

WORDS = {
    "zh-CN": {
        "nav": "活动", "draft": "草稿", "published": "已发布", "gold_fee": "¥30.00", "free": "免费",
        "first_date": "2027年2月20日", "q1": "第1季度", "create": "创建 3 场草稿活动",
        "title": "2027年第1季度业主恳谈会", "publish_q": "发布「2027年第1季度业主恳谈会」？", "yes": "发布",
        "seats": "已报 0 / 80 个名额", "kind": "业主见面会", "fee_error": "请以元为单位填写费用，例如 30 或 12.50",
        "created": "已创建 3 场草稿：准备好后逐场发布", "cancel_line": "目前还没有人报名。",
    },
    "en": {
        "nav": "Events", "draft": "Draft", "published": "Published", "gold_fee": "¥30.00", "free": "free",
        "first_date": "Feb 20, 2027", "q1": "Quarter 1", "create": "Create 3 draft events",
        "title": "Owners' meetup Q1 2027", "publish_q": "Publish “Owners' meetup Q1 2027”?", "yes": "Publish",
        "seats": "0 of 80 seats taken", "kind": "Owner meetup", "fee_error": "Write the fee in yuan, e.g. 30 or 12.50",
        "created": "3 sessions are created as drafts: publish each when it is ready", "cancel_line": "Nobody has signed up yet.",
    },
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
@pytest.mark.parametrize("device, role", [("phone", "event_staff"), ("desktop", "admin")])
async def test_staff_draft_a_quarterly_meetup_see_its_sessions_and_publish_one(database, pages: Pages, locale, device, role):
    words = WORDS[locale]
    await add_staff("events1", role)
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else {}))
    await staff_logs_in(page, "events1")
    await expect(page.locator('#nav a[data-view="events"]')).to_have_text(words["nav"])
    await page.click('#nav a[data-view="events"]')
    await expect(page.locator("#ev-list > *").first).to_be_visible()

    # The series: quarterly (the default), third Saturday of each quarter's middle month, 2 pm Beijing.
    await page.click("#ev-new-series")
    await expect(page.locator("#ev-series")).to_be_visible()
    await expect(page.locator("#se-pattern option:checked")).not_to_have_text("quarterly")  # words, not the key
    await page.fill("#se-year", "2027")
    await page.fill("#se-title-zh", "业主恳谈会")
    await page.fill("#se-title-en", "Owners' meetup")
    await page.fill("#se-venue", "云湖里会所多功能厅")
    await page.fill("#se-fees-gold", "30.005")  # a fen has no thousandths
    await page.click("#se-preview")
    await expect(page.locator('#ev-series [data-error="fee_gold_fen"]')).to_have_text(words["fee_error"])
    await page.fill("#se-fees-gold", "30")
    await page.click("#se-preview")

    sessions = page.locator("#se-session-list .ev-session")
    await expect(sessions).to_have_count(4)
    await expect(sessions.first).to_contain_text(words["q1"])
    await expect(sessions.first).to_contain_text(words["first_date"])
    await expect(sessions.first).to_contain_text(words["title"])
    await expect(page.locator("#se-create")).to_have_text(words["create"].replace("3", "4"))
    await sessions.last.locator("input").uncheck()  # the fourth quarter's is dropped
    await expect(page.locator("#se-create")).to_have_text(words["create"])
    await no_sideways_scroll(page)
    await save(page, f"events-series-{device}-{locale}")
    assert await Event.count() == 0  # a preview writes nothing

    await page.click("#se-create")
    await expect(page.locator("#ev-notice")).to_have_text(words["created"])
    items = page.locator("#ev-list .ev-item")
    await expect(items).to_have_count(3)
    first = items.first
    await expect(first.locator(".ev-title")).to_have_text(words["title"])
    await expect(first.locator(".status")).to_have_text(words["draft"])
    await expect(first.locator(".ev-kind")).to_have_text(words["kind"])
    await expect(first.locator(".ev-seats")).to_have_text(words["seats"])
    await expect(first.locator('[data-fee="gold"]')).to_contain_text(words["gold_fee"])
    await expect(first.locator('[data-fee="blue"]')).to_contain_text(words["free"])
    await expect(first.locator(".ev-when")).to_contain_text(words["first_date"])
    rows = await Event.select().order_by(Event.starts_at)
    assert [(r["status"], r["fee_gold_fen"], r["fee_blue_fen"]) for r in rows] == [("draft", 3_000, 0)] * 3
    assert await AuditEntry.count().where(AuditEntry.action == "event.series.create") == 1
    await no_sideways_scroll(page)
    await save(page, f"events-list-{device}-{locale}")

    # The cancel question says what happens (nobody signed up yet); going back changes nothing.
    await first.locator('[data-ev="cancel"]').click()
    await expect(page.locator("#confirm")).to_contain_text(words["cancel_line"])
    await page.click("#confirm-no")

    await first.locator('[data-ev="publish"]').click()
    await expect(page.locator("#confirm h2")).to_have_text(words["publish_q"])
    await no_sideways_scroll(page)
    await save(page, f"events-publish-{device}-{locale}")
    await page.click("#confirm-yes")
    await expect(items.first.locator(".status")).to_have_text(words["published"])
    await expect(items.nth(1).locator(".status")).to_have_text(words["draft"])
    rows = await Event.select(Event.status).order_by(Event.starts_at)
    assert [r["status"] for r in rows] == ["published", "draft", "draft"]
    assert await AuditEntry.count().where(AuditEntry.action == "event.publish") == 1


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_new_event_is_a_draft_with_fees_in_yuan_and_a_refusal_goes_next_to_its_field(database, pages: Pages, locale):
    await add_staff("events1", "event_staff")
    page = await pages.new(locale="en-US" if locale == "en" else locale, **PHONE)
    await staff_logs_in(page, "events1")
    await page.click('#nav a[data-view="events"]')
    await expect(page.locator("#ev-list > *").first).to_be_visible()  # the page has loaded (its choices are filled)
    await page.click("#ev-new")
    await expect(page.locator("#ev-form")).to_be_visible()
    kinds = await page.locator("#ev-kind option").all_inner_texts()
    assert "site_open_day" not in kinds and len(kinds) == 6  # words, not keys
    await page.fill("#ev-title-zh", "工地开放日")
    await page.fill("#ev-title-en", "Site open day")
    await page.select_option("#ev-kind", "site_open_day")
    await page.fill("#ev-starts", "2027-04-10T09:00")
    await page.fill("#ev-ends", "2027-04-10T08:00")  # ends before it starts: the server refuses, naming ends_at
    await page.fill("#ev-fees-platinum", "0")
    await page.fill("#ev-fees-blue", "12.5")
    await page.locator("#ev-tiers input").nth(3).check()  # blue only
    await page.click("#ev-save")
    refusal = page.locator('#ev-form [data-error="ends_at"]')
    await expect(refusal).to_have_text("活动结束时间须晚于开始时间" if locale == "zh-CN" else "The event must end after it starts")
    assert await Event.count() == 0

    await page.fill("#ev-ends", "2027-04-10T12:00")
    await page.click("#ev-save")
    await expect(page.locator("#ev-list .ev-item")).to_have_count(1)
    await expect(page.locator("#ev-list .ev-item .status")).to_have_text("草稿" if locale == "zh-CN" else "Draft")
    await no_sideways_scroll(page)
    await save(page, f"events-new-phone-{locale}")
    row = await Event.select().first()
    assert (row["status"], row["kind"], row["fee_blue_fen"], row["eligible_tiers"]) == ("draft", "site_open_day", 1_250, "blue")
    assert row["starts_at"].astimezone(timezone.utc).isoformat().startswith("2027-04-10T01:00:00")  # 9 am Beijing is 1 am UTC

    # Called off, with the reason the question asks for: the list says so, the audit keeps the reason.
    await page.locator('#ev-list [data-ev="cancel"]').click()
    await expect(page.locator("#confirm")).to_contain_text("活动取消后不能再发布。" if locale == "zh-CN" else "A cancelled event cannot be published again.")
    await page.fill("#confirm-reason", "场地维修" if locale == "zh-CN" else "The site is closed")
    await page.click("#confirm-yes")
    await expect(page.locator("#ev-list .ev-item .status")).to_have_text("已取消" if locale == "zh-CN" else "Cancelled")
    await expect(page.locator('#ev-list [data-ev="cancel"]')).to_have_count(0)
    assert (await Event.select(Event.status).first())["status"] == "cancelled"
    assert await AuditEntry.count().where(AuditEntry.action == "event.cancel") == 1


@pytest.mark.parametrize("locale, device", [("zh-CN", "phone"), ("en", "desktop")])
async def test_a_program_is_created_and_its_session_added_from_it(database, pages: Pages, locale, device):
    await add_staff("events1", "event_staff")
    page = await pages.new(locale="en-US" if locale == "en" else locale, **(PHONE if device == "phone" else {}))
    await staff_logs_in(page, "events1")
    await page.click('#nav a[data-view="events"]')
    await expect(page.locator("#ev-list > *").first).to_be_visible()
    await page.click("#ev-new-program")
    await page.fill("#pr-title-zh", "2027春季业主计划")
    await page.fill("#pr-title-en", "Spring owners' program 2027")
    await page.click("#pr-save")
    program = page.locator("#ev-programs .ev-program")
    await expect(program).to_have_count(1)
    await expect(program).to_contain_text("暂无场次" if locale == "zh-CN" else "No sessions yet")

    await program.locator('[data-ev="add-session"]').click()
    await expect(page.locator("#ev-form")).to_be_visible()
    await expect(page.locator("#ev-program option:checked")).to_have_text("2027春季业主计划" if locale == "zh-CN" else "Spring owners' program 2027")
    await page.fill("#ev-title-zh", "业主植树日")
    await page.fill("#ev-title-en", "Tree planting day")
    await page.fill("#ev-starts", "2027-03-13T09:00")
    await page.fill("#ev-ends", "2027-03-13T12:00")
    await page.click("#ev-save")

    await expect(program.locator(".ev-program-sessions li")).to_have_count(1)
    await expect(program.locator(".ev-program-sessions li")).to_contain_text("业主植树日" if locale == "zh-CN" else "Tree planting day")
    await expect(page.locator("#ev-list .ev-item .ev-program-name")).to_contain_text("2027春季业主计划" if locale == "zh-CN" else "Spring owners' program 2027")
    await no_sideways_scroll(page)
    await save(page, f"events-program-{device}-{locale}")
    row = await Event.select(Event.program, Event.status).first()
    assert row["program"] is not None and row["status"] == "draft"
