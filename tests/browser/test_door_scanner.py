"""An event-staff user at the door: types a ticket code into the scanner twice and sees green
(checked in) then amber (already checked in), in words, with the live count 1 / N."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.events import signups
from loyalty.events.tables import Signup
from tests.browser.conftest import Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import event, owners


async def test_an_event_staff_user_scans_a_ticket_twice_and_sees_green_then_amber(database, pages: Pages, tmp_path):
    m = await owners(tmp_path, 3)
    door = await add_staff("door1", "event_staff")
    now = clock.now()
    starts = now + timedelta(minutes=30)  # the door opens 120 minutes before the start: open now
    event_id = await event(
        door, title_zh="业主篮球赛", starts_at=starts, ends_at=starts + timedelta(hours=2),
        signup_opens_at=now - timedelta(days=3), signup_closes_at=now + timedelta(minutes=10),
        cancel_deadline=now + timedelta(minutes=5),
    )
    settings = pages.server.settings
    [ticket_signup] = await signups.sign_up(m[0], event_id, settings=settings, party_size=2)
    await signups.sign_up(m[1], event_id, settings=settings)
    await signups.sign_up(m[2], event_id, settings=settings)  # three households expected
    ticket = cards.signer_for(settings).sign("ticket", ticket_signup)  # the code on the owner's e-ticket
    page = await pages.new()

    await staff_logs_in(page, "door1", "/staff#scanner")

    await expect(page.locator("#view-scanner")).to_be_visible()
    await expect(page.locator("#scan-event option")).to_have_count(1)
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))
    await expect(page.locator("#door-count")).to_have_text("0 / 3")
    await expect(page.locator("#scan-result")).to_have_class("result idle")

    await page.fill("#scan-code", ticket)
    await page.click("#scan-submit")
    result = page.locator("#scan-result")
    await expect(result).to_have_class("result green")
    await expect(page.locator("#result-code")).to_have_text("签到成功")
    await expect(page.locator("#result-label")).to_have_text("业主0，共 2 人")
    await expect(page.locator("#door-count")).to_have_text("1 / 3")
    await expect(page.locator("#scan-code")).to_have_value("")  # ready for the next one

    await page.fill("#scan-code", ticket)
    await page.press("#scan-code", "Enter")  # the keyboard way (a USB scanner types and presses Enter)
    await expect(result).to_have_class("result amber")
    await expect(page.locator("#result-code")).to_have_text("已签到过")
    await expect(page.locator("#result-detail")).to_contain_text("东门")  # where the first scan was
    await expect(page.locator("#door-count")).to_have_text("1 / 3")

    row = await Signup.select(Signup.status, Signup.checked_in_gate).where(Signup.id == ticket_signup).first()
    assert row == {"status": "attended", "checked_in_gate": "东门"}
    assert await Signup.count().where((Signup.event == event_id) & (Signup.status == "attended")) == 1
