"""An event-staff user at the door: names the gate, types a ticket code into the scanner twice
and sees green (checked in) then amber (already checked in, where and when), in words, with the
live counts in households and people.

The gate is data (stored with each scan as typed): the page never fills in a gate of its own
in the page's language; it keeps the gate this browser's staff member typed last, and shows a
stored gate quoted, as a name (「东门」)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import expect

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.events import signups
from loyalty.events.tables import Signup
from tests.browser.conftest import Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import event, owners


async def door_event(tmp_path, pages: Pages, door: int) -> tuple[int, str]:
    """An event opening now with three households signed up; the first one's ticket (a party of 2)."""
    m = await owners(tmp_path, 3)
    now = clock.now()
    starts = now + timedelta(minutes=30)  # the door opens 120 minutes before the start: open now
    event_id = await event(
        door, title_zh="业主篮球赛", title_en="Owners' basketball", starts_at=starts, ends_at=starts + timedelta(hours=2),
        signup_opens_at=now - timedelta(days=3), signup_closes_at=now + timedelta(minutes=10),
        cancel_deadline=now + timedelta(minutes=5),
    )
    settings = pages.server.settings
    [ticket_signup] = await signups.sign_up(m[0], event_id, settings=settings, party_size=2)
    await signups.sign_up(m[1], event_id, settings=settings)
    await signups.sign_up(m[2], event_id, settings=settings)  # three households expected
    return event_id, cards.signer_for(settings).sign("ticket", ticket_signup)  # the code on the owner's e-ticket


async def test_an_event_staff_user_scans_a_ticket_twice_and_sees_green_then_amber(database, pages: Pages, tmp_path):
    door = await add_staff("door1", "event_staff")
    event_id, ticket = await door_event(tmp_path, pages, door)
    page = await pages.new()

    await staff_logs_in(page, "door1", "/staff#scanner")

    await expect(page.locator("#view-scanner")).to_be_visible()
    await expect(page.locator("#scan-event option")).to_have_count(1)
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))
    await expect(page.locator("#door-count")).to_have_text("0 / 3")
    await expect(page.locator("#door-people")).to_have_text("0 / 4")
    await expect(page.locator("#scan-result")).to_have_class("result idle")
    await expect(page.locator("#scan-gate")).to_have_value("")  # no gate of the page's own
    await expect(page.locator("#scan-gate")).to_have_attribute("placeholder", "例如：东门")

    await page.fill("#scan-gate", "东门")
    await page.fill("#scan-code", ticket)
    await page.click("#scan-submit")
    result = page.locator("#scan-result")
    await expect(result).to_have_class("result green")
    await expect(page.locator("#result-code")).to_have_text("签到成功")
    await expect(page.locator("#result-label")).to_have_text("业主0 · 2 人")  # the party size of this ticket
    await expect(page.locator("#flash-word")).to_have_text("签到成功")  # the whole screen, for a moment
    await expect(page.locator("#door-flash")).to_have_class("flash green")
    await expect(page.locator("#door-count")).to_have_text("1 / 3")
    await expect(page.locator("#door-people")).to_have_text("2 / 4")
    await expect(page.locator("#scan-code")).to_have_value("")  # ready for the next one

    await page.fill("#scan-code", ticket)
    await page.press("#scan-code", "Enter")  # the keyboard way (a USB scanner types and presses Enter)
    await expect(result).to_have_class("result amber")
    await expect(page.locator("#result-code")).to_have_text(re.compile(r"^已签到（东门 \d\d:\d\d）$"))  # where, as data
    await expect(page.locator("#door-count")).to_have_text("1 / 3")

    row = await Signup.select(Signup.status, Signup.checked_in_gate).where(Signup.id == (await first_signup(event_id))).first()
    assert row == {"status": "attended", "checked_in_gate": "东门"}
    assert await Signup.count().where((Signup.event == event_id) & (Signup.status == "attended")) == 1


async def first_signup(event_id: int) -> int:
    row = await Signup.select(Signup.id).where(Signup.event == event_id).order_by(Signup.id).first()
    assert row is not None
    return row["id"]


async def test_the_gate_is_kept_as_typed_and_remembered_by_the_browser(database, pages: Pages, tmp_path):
    """No gate yet: the page asks for it (sending nothing), the code stays and the gate field has the focus.
    The gate typed is remembered by this browser (a reload, the other language: still 东门, as
    typed), not by another browser; the stored gate reads as a name in English too."""
    door = await add_staff("door1", "event_staff")
    event_id, ticket = await door_event(tmp_path, pages, door)
    page = await pages.new()
    await staff_logs_in(page, "door1", "/staff#scanner")
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))

    checkins: list[str] = []
    page.on("request", lambda r: checkins.append(r.url) if r.url.endswith("/checkins") else None)
    await page.fill("#scan-code", ticket)
    await page.click("#scan-submit")
    await expect(page.locator("#scan-error")).to_have_text("请先填写所在入口，每次签到都会记下")
    await expect(page.locator("#scan-gate")).to_be_focused()
    await expect(page.locator("#scan-result")).to_have_class("result idle")
    assert checkins == []
    await expect(page.locator("#scan-code")).to_have_value(ticket)  # scan again once the gate is named
    assert await Signup.count().where((Signup.event == event_id) & (Signup.status == "attended")) == 0

    await page.fill("#scan-gate", "东门")
    await page.click("#scan-submit")
    await expect(page.locator("#scan-result")).to_have_class("result green")
    await expect(page.locator("#scan-error")).to_have_text("")

    await page.reload()
    await expect(page.locator("#scan-gate")).to_have_value("东门")  # this browser remembers it
    await page.click("#lang")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#scan-gate")).to_have_value("东门")  # data: not translated
    await page.fill("#scan-code", ticket)
    await page.click("#scan-submit")
    await expect(page.locator("#result-code")).to_have_text(re.compile(r"^Already in \(东门 \d\d:\d\d\)$"))

    elsewhere = await pages.new()  # another browser: nothing remembered, nothing made up
    await staff_logs_in(elsewhere, "door1", "/staff#scanner")
    await expect(elsewhere.locator("#scan-event")).to_have_value(str(event_id))
    await expect(elsewhere.locator("#scan-gate")).to_have_value("")
