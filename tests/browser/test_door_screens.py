"""Each answer at the door on a 360 px phone, in Chinese and in English: one big word on the
whole screen in its colour (text at ≥ 4.5:1), the party size of the ticket; the page under it
fits the width (the event dropdown cut, not the gate pushed off), every header link is whole (the
nav takes its own row) and the code field's placeholder is not cut.
Screenshots: docs/screenshots/scanner-<answer>-<zh|en>.png (LOYALTY_SCREENSHOTS_DIR)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Pages
from tests.browser.door_helpers import FLASH_STAYS, PHONE_360, door_event, scan
from tests.browser.pages import add_staff, staff_logs_in
from tests.browser.test_no_foreign_words import save

WORDS = {
    "zh-CN": {"checked_in": "签到成功", "already_checked_in": r"已签到（东门 \d\d:\d\d）", "wrong_event": "非本场活动",
              "not_open_yet": "未到开放时间", "invalid_code": "票码无效", "party": "2 人"},
    "en": {"checked_in": "Checked in", "already_checked_in": r"Already in \(东门 \d\d:\d\d\)", "wrong_event": "Ticket for another event",
           "not_open_yet": "Check-in not open yet", "invalid_code": "Invalid code", "party": "2 people"},
}

# WCAG contrast of the flash's text on its background.
CONTRAST = """(el) => {
  const rgb = (c) => c.match(/\\d+/g).slice(0, 3).map(Number).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  const lum = (c) => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const s = getComputedStyle(el); const a = lum(s.color), b = lum(s.backgroundColor);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


# Every link and button of the staff header is whole on screen (the nav may take its own row),
# and the code field's placeholder is not cut.
HEADER_WHOLE = """() => [...document.querySelectorAll('header a, header button')].filter((el) => el.offsetParent !== null)
  .filter((el) => { const r = el.getBoundingClientRect(); const box = el.closest('header > .links').getBoundingClientRect();
    return r.left < Math.max(0, box.left) - 1 || r.right > Math.min(innerWidth, box.right) + 1 || el.scrollWidth > el.clientWidth + 1; })
  .map((el) => el.textContent)"""
PLACEHOLDER_FITS = """() => { const input = document.getElementById('scan-code'); const s = getComputedStyle(input);
  const ctx = document.createElement('canvas').getContext('2d'); ctx.font = `${s.fontSize} ${s.fontFamily}`;
  const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return ctx.measureText(input.placeholder).width <= room || [ctx.measureText(input.placeholder).width, room]; }"""


async def fits(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    assert await page.evaluate(HEADER_WHOLE) == []
    assert await page.locator("#logout").is_visible()
    assert await page.evaluate(PLACEHOLDER_FITS) is True
    gate = await page.locator("#scan-gate").bounding_box()
    assert gate is not None and gate["x"] + gate["width"] <= 360 and gate["width"] > 150, gate


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_each_answer_fills_a_360_px_phone_in_words_colour_and_party_size(database, pages: Pages, tmp_path, locale):
    staff_id = await add_staff("door1", "event_staff")
    settings = pages.server.settings
    long_title = "业主篮球友谊赛暨社区邻里嘉年华开幕式（东区会所二楼多功能厅）"
    tomorrow, [later] = await door_event(tmp_path, settings, staff_id, 1, start=10, starts_in=timedelta(days=1),
                                         title_zh="亲子烘焙课", title_en="Family baking class")
    today, tickets = await door_event(tmp_path, settings, staff_id, 2, party_size=2, title_zh=long_title,
                                      title_en="Owners' basketball friendly and neighbourhood carnival opening")
    page = await pages.new(locale=locale, **PHONE_360)
    await page.add_init_script(FLASH_STAYS)
    await staff_logs_in(page, "door1", "/staff#scanner")
    await page.select_option("#scan-event", str(today))
    await page.fill("#scan-gate", "东门")
    await expect(page.locator("#door-ready")).not_to_have_text("")
    await fits(page)
    short = "zh" if locale == "zh-CN" else "en"
    await save(page, f"scanner-page-{short}")

    words = WORDS[locale]
    forged = tickets[1][:-4] + ("AAAA" if not tickets[1].endswith("AAAA") else "BBBB")
    colours = {"checked_in": "green", "already_checked_in": "amber", "wrong_event": "red", "invalid_code": "red", "not_open_yet": "blue"}
    for result, code, event_id in [
        ("checked_in", tickets[0], today), ("already_checked_in", tickets[0], today), ("wrong_event", later, today),
        ("invalid_code", forged, today), ("not_open_yet", later, tomorrow),
    ]:
        await page.select_option("#scan-event", str(event_id))
        assert await scan(page, code) == result
        flash = page.locator("#door-flash")
        await expect(flash).to_be_visible()
        await expect(flash).to_have_class(f"flash {colours[result]}")
        await expect(page.locator("#flash-word")).to_have_text(re.compile(f"^{words[result]}$"))
        if result in ("checked_in", "already_checked_in"):
            await expect(page.locator("#flash-party")).to_have_text(words["party"])
        assert await flash.evaluate(CONTRAST) >= 4.5
        box = await page.locator("#flash-word").bounding_box()
        assert box is not None and box["width"] <= 360 - 2 * 24
        await save(page, f"scanner-{result.replace('_', '-')}-{short}")
        await fits(page)
