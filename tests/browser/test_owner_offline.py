"""The owner page without signal: a tab whose load fails keeps what it showed and says so above
it ("连接已断开，显示的是上次加载的内容"), or that nothing came yet; the points and the tickets
were loaded quietly after the login, so an owner at an event's door without signal still has the
ticket's code; back online, the tab loads again and the banner goes. Nothing reads as a real 0
before it is loaded.

Screenshot (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): owner-offline-events-zh."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Page, expect

from loyalty.events import signups
from loyalty.points import service as points
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.browser.test_owner_signup_cancel import open_event
from tests.events.builders import owners, phone

SHOWN_LAST = "连接已断开，显示的是上次加载的内容"
NEVER_LOADED = "连接已断开，请联网后重试"


async def save(page: Page, name: str) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


async def test_offline_after_the_login_the_points_and_the_ticket_are_still_there(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    await points.earn(me, 1280, key="seed", source_kind="test")
    fair = await open_event(title_zh="中秋游园")
    [mine] = await signups.sign_up(me, fair, settings=pages.server.settings)
    page = await pages.new(**PHONE)
    await owner_logs_in(page, phone(0))
    # Only the card was opened; the points and the ticket came in the background.
    await expect(page.locator("#points-available")).to_have_text("1,280")
    ticket = page.locator(f'#signups [data-signup-id="{mine}"] img[data-ticket]')
    await expect(ticket).to_be_attached()
    await page.wait_for_function(
        "(s) => { const img = document.querySelector(s); return img && img.complete && img.naturalWidth > 0; }",
        arg=f'#signups [data-signup-id="{mine}"] img[data-ticket]',
    )
    await expect(page.locator("#lost-banner")).to_be_hidden()

    await page.context.set_offline(True)
    await page.click('[role=tab][data-tab="points"]')
    await expect(page.locator("#lost-banner")).to_have_text(SHOWN_LAST)
    await expect(page.locator("#points-available")).to_have_text("1,280")

    await page.click('[role=tab][data-tab="events"]')
    await expect(page.locator("#lost-banner")).to_have_text(SHOWN_LAST)
    await expect(ticket).to_be_visible()
    assert await ticket.evaluate("(img) => img.naturalWidth") > 0, "the ticket's code did not come before the signal went"
    await expect(page.locator(f'#signups [data-signup-id="{mine}"]')).to_contain_text("中秋游园")
    await save(page, "owner-offline-events-zh")

    # Back online: the tab loads again and the banner goes.
    await page.context.set_offline(False)
    await expect(page.locator("#lost-banner")).to_be_hidden()
    await expect(ticket).to_be_visible()


async def test_a_tab_that_never_loaded_says_to_go_online_and_shows_no_zero(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    await points.earn(me, 500, key="seed", source_kind="test")
    page = await pages.new(**PHONE)
    # The points never come (a dead spot while logging in): the quiet load after it says nothing.
    await page.route("**/api/v1/me/points**", lambda route: route.abort("internetdisconnected"))
    await owner_logs_in(page, phone(0))
    await expect(page.locator("#tier")).not_to_be_empty()
    await expect(page.locator("#lost-banner")).to_be_hidden()

    await page.click('[role=tab][data-tab="points"]')
    await expect(page.locator("#lost-banner")).to_have_text(NEVER_LOADED)
    for part in ("#points-available", "#points-pending", "#points-expiring"):
        await expect(page.locator(part)).to_have_text("—")

    # The signal comes back: the tab loads by itself and the banner goes.
    await page.unroute("**/api/v1/me/points**")
    await page.context.set_offline(True)
    await page.context.set_offline(False)
    await expect(page.locator("#points-available")).to_have_text("500")
    await expect(page.locator("#lost-banner")).to_be_hidden()
