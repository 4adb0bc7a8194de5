"""A volunteer's phone becomes a door scanner by opening the QR the event staff member shows:
no password typed at the door; the phone sees its event and gate, scans, and is offered nothing
else; the QR works once."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import PHONE, Pages
from tests.browser.door_helpers import door_event, scan
from tests.browser.pages import add_staff, staff_logs_in
from tests.browser.test_no_foreign_words import save


async def test_a_volunteer_opens_the_scanner_from_the_staff_members_qr(database, pages: Pages, tmp_path):
    staff_id = await add_staff("lead1", "admin")
    event_id, tickets = await door_event(tmp_path, pages.server.settings, staff_id, 2, title_zh="业主篮球赛")
    lead = await pages.new(**PHONE)
    await staff_logs_in(lead, "lead1", "/staff#scanner")
    await lead.select_option("#scan-event", str(event_id))
    await lead.fill("#scan-gate", "北门")
    await lead.click("#door-device-new")
    await expect(lead.locator("#door-device-qr")).to_be_visible()
    await expect(lead.locator("#door-device-words")).to_contain_text("入口「北门」")
    await lead.locator("#door-device").scroll_into_view_if_needed()
    await save(lead, "scanner-device-setup-zh")
    url = await lead.locator("#door-device-qr").get_attribute("data-url")
    assert url and "#door-setup=" in url

    volunteer = await pages.new(**PHONE)
    await volunteer.goto(url)  # what the phone's camera app opens from the QR
    await expect(volunteer.locator("#view-scanner")).to_be_visible()
    await expect(volunteer.locator("#login")).to_be_hidden()
    assert volunteer.url.endswith("/staff#scanner")  # the one-time code is not left in the address
    await expect(volunteer.locator("#scan-event option")).to_have_count(1)
    await expect(volunteer.locator("#scan-event")).to_have_value(str(event_id))
    await expect(volunteer.locator("#scan-gate")).to_have_value("北门")
    for view in ("dashboards", "referrals"):
        await expect(volunteer.locator(f'#nav a[data-view="{view}"]')).to_be_hidden()
    await expect(volunteer.locator('#nav a[href="/admin/"]')).to_be_hidden()
    await expect(volunteer.locator("#door-device-new")).to_be_hidden()
    assert await scan(volunteer, tickets[0]) == "checked_in"

    again = await pages.new(**PHONE)
    await again.goto(url)
    await expect(again.locator("#login")).to_be_visible()
    await expect(again.locator("#login-error")).to_have_text("请让工作人员重新生成二维码，再扫码打开签到页")
    assert pages.errors == []
