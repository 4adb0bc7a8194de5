"""The camera at the door on a browser without BarcodeDetector: the bundled jsQR (served from our
own origin under the CSP) reads the tickets held in front of it, one scan per code; a refused
camera leaves the volunteer a clear way on (type, or a hardware scanner), focused."""

from __future__ import annotations

from playwright.async_api import expect

from loyalty.events.tables import Signup
from tests.browser.conftest import PHONE, Pages
from tests.browser.door_helpers import FAKE_CAMERA, REFUSED_CAMERA, door_event, qr_data_url, scan
from tests.browser.pages import add_staff, staff_logs_in


async def test_the_bundled_decoder_admits_tickets_held_to_the_camera(database, pages: Pages, tmp_path):
    staff_id = await add_staff("door1", "event_staff")
    event_id, tickets = await door_event(tmp_path, pages.server.settings, staff_id, 3, party_size=2)
    page = await pages.new(**PHONE)
    await page.add_init_script(FAKE_CAMERA)
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    await staff_logs_in(page, "door1", "/staff#scanner")
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))
    assert await page.evaluate("'BarcodeDetector' in window") is False
    await page.fill("#scan-gate", "东门")

    await page.click("#scan-camera")
    await expect(page.locator("#camera-box")).to_be_visible()
    await expect(page.locator("#scan-camera")).to_have_text("关闭摄像头")
    for n, ticket in enumerate(tickets[:2], start=1):
        await page.evaluate("(url) => window.__showCode(url)", qr_data_url(ticket))
        await expect(page.locator("#door-count")).to_have_text(f"{n} / 3")  # read once, not once per frame
        await expect(page.locator("#result-code")).to_have_text("签到成功")
        await expect(page.locator("#door-people")).to_have_text(f"{2 * n} / 6")
    assert any(url.endswith("/static/staff/vendor/jsqr-1.4.0.min.js") for url in scripts), scripts
    # The same ticket still in view is one scan: nobody is told "already checked in" by their own ticket.
    await expect(page.locator("#scan-result")).to_have_attribute("data-result", "checked_in")

    await page.click("#scan-camera")
    await expect(page.locator("#camera-box")).to_be_hidden()
    assert await Signup.count().where((Signup.event == event_id) & (Signup.status == "attended")) == 2
    assert pages.errors == []


async def test_a_refused_camera_says_what_to_do_and_the_hardware_scanner_still_works(database, pages: Pages, tmp_path):
    staff_id = await add_staff("door1", "event_staff")
    event_id, tickets = await door_event(tmp_path, pages.server.settings, staff_id, 1)
    page = await pages.new(**PHONE)
    await page.add_init_script(REFUSED_CAMERA)
    await staff_logs_in(page, "door1", "/staff#scanner")
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))
    await page.fill("#scan-gate", "东门")

    await page.click("#scan-camera")
    await expect(page.locator("#scan-error")).to_have_text("没有获得摄像头权限：请在浏览器的网站设置中允许，或手动输入票码、使用扫码枪")
    await expect(page.locator("#camera-box")).to_be_hidden()
    await expect(page.locator("#scan-code")).to_be_focused()
    await page.keyboard.type(tickets[0])  # a keyboard-wedge scanner types into the focused field…
    await page.keyboard.press("Enter")  # …and presses Enter
    await expect(page.locator("#result-code")).to_have_text("签到成功")
    assert await scan(page, tickets[0]) == "already_checked_in"
