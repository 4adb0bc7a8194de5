"""Messages to a group of owners, as an admin sends them (/staff#messages): a project's gold
owners chosen by name and tier, the live count naming the owner who unsubscribed, the text in
both languages with what owners will read, a confirmation naming the count, then the message in
exactly those owners' outbox and its delivery stats in the list. A scheduled one is cancelled
after its own question. In Chinese on a phone and in English on a desktop, and the other way round.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): messages-*.png."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.async_api import Page, expect

from loyalty.care import outbox
from loyalty.care.tables import Broadcast, OutboxMessage
from tests.browser.conftest import DESKTOP, PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import NOW, owners, project_id

# Once, on the engine the club runs (tests/care/test_broadcasts.py covers both): a browser flow is slow.
pytestmark = pytest.mark.postgres_only

WORDS = {
    "zh-CN": {
        "nav": "群发消息", "count": "将发送给 2 位业主（另有 1 位已退订）", "confirm": "现在发送“3 幢封顶”给 2 位业主？",
        "sent": "已发送", "delivered": re.compile(r"已送达\s*2"), "unsubscribed": re.compile(r"已退订\s*1"),
        "scheduled": "已定时", "cancelled": "已取消", "cancel_question": "取消发送“春节问候”？",
    },
    "en": {
        "nav": "Messages", "count": "Will be sent to 2 owners (1 more unsubscribed)", "confirm": "Send “Topping out” to 2 owners now?",
        "sent": "Sent", "delivered": re.compile(r"Delivered\s*2"), "unsubscribed": re.compile(r"Unsubscribed\s*1"),
        "scheduled": "Scheduled", "cancelled": "Cancelled", "cancel_question": "Cancel “Spring Festival”?",
    },
}
# (locale, device, name): each language on each kind of screen, across the two tests.
SEND_ON = [("zh-CN", PHONE, "zh-phone"), ("en", DESKTOP, "en-desktop")]
SCHEDULE_ON = [("zh-CN", DESKTOP, "zh-desktop"), ("en", PHONE, "en-phone")]


@pytest.fixture
def daytime():
    """Noon in Beijing, the clock running (the server shares it): outside the quiet hours, so the
    messages go out at once rather than wait for the morning."""
    with time_machine.travel(NOW, tick=True):
        yield


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:  # from the top, so the sticky header is where it belongs
            await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"messages-{name}.png", full_page=full_page)


async def fits(page: Page, device: dict[str, Any]) -> None:
    width = device["viewport"]["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


async def club(tmp_path: Path) -> dict[str, Any]:
    """云湖里 (HZ-YH): three gold owners (one refused project bulletins) and two blue; SH-JW: two gold."""
    gold = await owners(tmp_path, 3, units=2, project="HZ-YH")
    blue = await owners(tmp_path, 2, units=1, project="HZ-YH", start=3)
    elsewhere = await owners(tmp_path, 2, units=2, project="SH-JW", start=5)
    await outbox.set_opt_outs(gold[2], ["project_bulletin"])
    return {"project": await project_id("HZ-YH"), "gold": gold, "blue": blue, "elsewhere": elsewhere}


async def open_messages(pages: Pages, locale: str, device: dict[str, Any]) -> Page:
    await add_staff("boss", "admin")
    page = await pages.new(locale="en-US" if locale == "en" else locale, **device)
    await page.add_init_script("window.MESSAGES_POLL_MS = 300;")
    await staff_logs_in(page, "boss")
    link = page.locator('#nav a[data-view="messages"]')
    await expect(link).to_have_text(WORDS[locale]["nav"])
    await link.click()
    await expect(page.locator("#view-messages")).to_be_visible()
    return page


@pytest.mark.parametrize("locale, device, name", SEND_ON)
async def test_an_admin_sends_a_bulletin_to_one_projects_gold_owners_after_a_confirmation(
    database, daytime, pages: Pages, tmp_path, locale, device, name,
):
    w = await club(tmp_path)
    words = WORDS[locale]
    page = await open_messages(pages, locale, device)
    await page.check(f'#bc-projects input[value="{w["project"]}"]')
    await page.check('#bc-tiers input[value="gold"]')
    await expect(page.locator("#bc-count")).to_have_text(words["count"])
    title = "3 幢封顶" if locale == "zh-CN" else "Topping out"
    await page.fill("#bc-title-zh", "3 幢封顶")
    await page.fill("#bc-body-zh", "3 幢已于本周顺利封顶。")
    await page.fill("#bc-title-en", "Topping out" if locale == "en" else "")
    await page.fill("#bc-body-en", "Building 3 has topped out.")
    await expect(page.locator("#bc-preview-zh-title")).to_have_text("3 幢封顶")
    # English readers get the Chinese title when no English one is written.
    await expect(page.locator("#bc-preview-en-title")).to_have_text(title if locale == "en" else "3 幢封顶")
    await expect(page.locator("#bc-preview-en-body")).to_have_text("Building 3 has topped out.")
    await fits(page, device)
    await save(page, f"form-{name}", full_page=True)

    await page.click("#bc-submit")
    dialog = page.locator("#confirm")
    await expect(dialog.locator("h2")).to_have_text(words["confirm"])
    await expect(dialog).to_contain_text(words["count"])
    await save(page, f"confirm-{name}")
    assert await OutboxMessage.count().where(OutboxMessage.template.like("broadcast:%")) == 0  # nothing before the yes
    await page.click("#confirm-yes")

    row = page.locator(".bc-row").first
    await expect(row.locator(".status")).to_have_text(words["sent"])
    await expect(row).to_contain_text(words["delivered"])
    await expect(row).to_contain_text(words["unsubscribed"])
    await fits(page, device)
    await save(page, f"sent-{name}", full_page=True)

    broadcast = await Broadcast.select(Broadcast.id, Broadcast.status).first()
    rows = await OutboxMessage.select(OutboxMessage.member, OutboxMessage.status, OutboxMessage.subject).where(
        OutboxMessage.template == f"broadcast:{broadcast['id']}")
    reached = sorted(r["member"] for r in rows if r["status"] != "skipped")
    assert reached == sorted(w["gold"][:2])
    assert [r["member"] for r in rows if r["status"] == "skipped"] == [w["gold"][2]]
    assert {r["subject"] for r in rows} == {"3 幢封顶"}  # the owners read Chinese


@pytest.mark.parametrize("locale, device, name", SCHEDULE_ON)
async def test_a_scheduled_greeting_is_cancelled_after_its_question_and_never_goes_out(
    database, pages: Pages, tmp_path, locale, device, name,
):
    await club(tmp_path)
    words = WORDS[locale]
    page = await open_messages(pages, locale, device)
    await page.select_option("#bc-kind", "greeting")
    await page.fill("#bc-title-zh", "春节问候")
    await page.fill("#bc-body-zh", "祝您新春快乐！")
    await page.fill("#bc-title-en", "Spring Festival" if locale == "en" else "")
    await page.check('input[name="bc-when"][value="later"]')
    await page.fill("#bc-send-at", "2099-01-28T09:00")
    await page.click("#bc-submit")
    await expect(page.locator("#confirm")).to_contain_text("7")  # every owner of the club
    await page.click("#confirm-yes")
    row = page.locator(".bc-row").first
    await expect(row.locator(".status")).to_have_text(words["scheduled"])
    await fits(page, device)
    await save(page, f"scheduled-{name}", full_page=True)

    await row.locator("button[data-cancel]").click()
    await expect(page.locator("#confirm h2")).to_have_text(words["cancel_question"])
    await save(page, f"cancel-{name}")
    await page.click("#confirm-yes")
    await expect(row.locator(".status")).to_have_text(words["cancelled"])
    assert (await Broadcast.select(Broadcast.status).first())["status"] == "cancelled"
    assert await OutboxMessage.count().where(OutboxMessage.template.like("broadcast:%")) == 0
