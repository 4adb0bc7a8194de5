"""An owner on the phone opens an event from the list and reads its page: when, where, the fee,
seats, who may join, the other sessions of its program; chooses a party of two under a label
that says the owner counts; signs up, is told so, and sees the ticket; adds the event to the
calendar (an .ics download); walks to another session and back with the browser's Back; and
a link to the event's page opens it directly. In Chinese and in English."""

from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.clock import LOCAL_ZONE
from loyalty.events import catalog, signups
from loyalty.events.tables import Signup
from loyalty.members.tables import Member
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.events.builders import event, owners, phone, staff

WORDS = {
    "zh-CN": {
        "party": "参加人数（含本人）", "two": "2 人", "signed": "报名成功（2 人）", "already": "您已报名", "session": "本场",
        "where": "第 2 场，共 3 场", "sessions": "2026春季业主计划 全部场次", "calendar": "加入日历", "who": "所有会员均可参加",
        "title": "春日踏青", "next": "亲子运动会", "fee": "免费", "seats": "剩余 3 个名额", "waiting": "1 户在候补",
    },
    "en": {
        "party": "People coming (including you)", "two": "2 people", "signed": "Signed up for 2 people",
        "already": "You have signed up", "session": "This session", "where": "Session 2 of 3",
        "sessions": "Sessions of Spring owners' program 2026", "calendar": "Add to calendar", "who": "Every member",
        "title": "Spring outing", "next": "Family sports day", "fee": "Free", "seats": "3 seats left",
        "waiting": "1 household on the waitlist",
    },
}
GREEN = "rgb(21, 128, 61)"  # --ok: a confirmed signup is good news, never the warning's amber


def screenshot(name: str) -> Path | None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    return Path(folder) / f"{name}.png" if folder else None


async def spring_program(settings) -> tuple[int, int, int]:
    """A program of three sessions a month apart from next week, at 09:00 Beijing time: the
    planting day (1 seat), the outing (4 seats), the sports day; (their ids)."""
    now = clock.now()
    maker = await staff("spring-maker")
    program = await catalog.create_program(
        "2026春季业主计划", maker, title_en="Spring owners' program 2026", body_zh="三月至五月：植树、踏青、运动会。",
        body_en="March to May: planting, an outing, a sports day.",
    )
    ids = []
    for n, (zh, en, capacity) in enumerate([("业主植树日", "Tree planting day", 1), ("春日踏青", "Spring outing", 4), ("亲子运动会", "Family sports day", 30)]):
        starts = datetime.combine((now + timedelta(days=7 + 30 * n)).astimezone(LOCAL_ZONE).date(), time(9), LOCAL_ZONE)
        ids.append(await event(
            maker, title_zh=zh, title_en=en, program_id=program, capacity=capacity, party_size_limit=4, starts_at=starts,
            ends_at=starts + timedelta(hours=3), signup_opens_at=now - timedelta(days=1),
            signup_closes_at=starts - timedelta(days=1), cancel_deadline=starts - timedelta(days=2),
            body_zh="在湖边草地徒步五公里，午餐自带。", body_en="A five-kilometre walk by the lake; bring your lunch.",
            venue="云湖里中央公园",
        ))
    return ids[0], ids[1], ids[2]


async def open_from_list(page: Page, event_id: int) -> None:
    await page.click('[role=tab][data-tab="events"]')
    item = page.locator(f'#events .event[data-event="{event_id}"]')
    await expect(item).to_be_visible()
    await item.locator(".event-link").click()
    await expect(page).to_have_url(re.compile(f"#event/{event_id}$"))
    await expect(page.locator("#event-detail")).to_be_visible()
    await expect(page.locator("#event-lists")).to_be_hidden()


async def calendar_entry(page: Page, button) -> icalendar.Event:
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    assert re.fullmatch(r"owner-club-event-\d+\.ics", download.suggested_filename), download.suggested_filename
    [entry] = icalendar.Calendar.from_ical(Path(await download.path()).read_bytes()).walk("VEVENT")
    return entry


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_owner_opens_an_event_signs_up_a_party_of_two_and_adds_it_to_the_calendar(database, pages: Pages, tmp_path, locale):
    words = WORDS[locale]
    me, neighbour, waiting = await owners(tmp_path, 3)
    settings = pages.server.settings
    planting, outing, sports = await spring_program(settings)
    await signups.sign_up(neighbour, outing, settings=settings)
    await signups.sign_up(neighbour, planting, settings=settings)
    await signups.sign_up(waiting, planting, settings=settings, join_waitlist=True)
    # The owner reads the page in their saved language (the switch itself is tested in
    # tests/i18n; clicking it while the saved language still loads would race with it).
    await Member.update({Member.language: locale}).where(Member.id == me)
    page = await pages.new(locale="en-US" if locale == "en" else "zh-CN", **PHONE)
    await owner_logs_in(page, phone(0), sent="Code sent" if locale == "en" else "验证码已发送")
    await expect(page.locator("html")).to_have_attribute("lang", locale)

    await open_from_list(page, outing)
    detail = page.locator("#event-detail")
    await expect(page.locator("#detail-title")).to_have_text(words["title"])
    await expect(detail.locator(".fact").filter(has_text=words["fee"])).to_have_count(1)
    await expect(detail.locator(".fact").filter(has_text=words["who"])).to_have_count(1)
    await expect(detail.locator(".fact").filter(has_text=words["seats"])).to_have_count(1)
    await expect(detail.locator(".fact").first).to_contain_text("09:00")  # Beijing time, whatever the device's zone
    sessions = page.locator("#detail-program .session")
    await expect(page.locator("#detail-program h3")).to_have_text(words["sessions"])
    await expect(page.locator("#detail-program > p")).to_contain_text(words["where"])
    await expect(sessions).to_have_count(3)
    await expect(sessions.nth(1)).to_have_attribute("aria-current", "page")
    await expect(sessions.nth(1)).to_contain_text(words["session"])
    await expect(page.locator('label[for="detail-party"]')).to_have_text(words["party"])

    await page.select_option("#detail-party", label=words["two"])
    if (path := screenshot(f"owner-event-join-{'en' if locale == 'en' else 'zh'}")) is not None:
        await page.locator("#detail-join").scroll_into_view_if_needed()
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=path)
    await page.locator("#detail-action button[data-signup]").click()
    await expect(page.locator("#detail-notice")).to_have_text(words["signed"])
    await expect(page.locator("#detail-error")).to_have_text("")
    ticket = page.locator("#detail-mine .ticket")
    await expect(ticket).to_have_count(1)
    await expect(ticket.locator(".status")).to_have_attribute("data-status", "confirmed")
    await expect(ticket.locator("img[data-ticket]")).to_be_visible()
    await expect(ticket.locator(".status")).to_have_css("color", GREEN)
    await expect(page.locator("#detail-action button")).to_have_count(0)  # signed up: nothing more to press
    row = await Signup.select(Signup.party_size, Signup.status).where((Signup.member == me) & (Signup.event == outing)).first()
    assert row == {"party_size": 2, "status": "confirmed"}
    if (path := screenshot(f"owner-event-detail-{'en' if locale == 'en' else 'zh'}")) is not None:
        await page.evaluate("window.scrollTo(0, 0)")  # the sticky header where the owner sees it
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=path, full_page=True)

    entry = await calendar_entry(page, page.locator("#detail-event a.calendar"))
    assert str(entry["SUMMARY"]) == words["title"] and str(entry["LOCATION"]) == "云湖里中央公园"
    assert str(entry["UID"]) == f"event-{outing}@owner-club" and str(entry["URL"]).endswith(f"/#event/{outing}")
    assert entry["DTSTART"].params["TZID"] == "Asia/Shanghai" and entry.decoded("DTSTART").hour == 9

    # Another session, then Back twice: the outing again, then the list with the new signup on it.
    await sessions.nth(0).click()
    await expect(page).to_have_url(re.compile(f"#event/{planting}$"))
    await expect(page.locator("#detail-title")).not_to_have_text(words["title"])
    await expect(page.locator("#event-detail .fact").filter(has_text=words["waiting"])).to_have_count(1)
    await expect(page.locator("#detail-action button[data-waitlist]")).to_be_visible()
    await page.go_back()
    await expect(page.locator("#detail-title")).to_have_text(words["title"])
    await expect(page.locator("#detail-mine .ticket")).to_have_count(1)
    await page.go_back()
    await expect(page.locator("#event-lists")).to_be_visible()
    await expect(page.locator("#event-detail")).to_be_hidden()
    mine = page.locator(f'#events .event[data-event="{outing}"] .status')
    await expect(mine).to_have_text(words["already"])
    await expect(mine).to_have_css("color", GREEN)
    listed = page.locator(f"#signups .ticket:has(a.calendar[data-calendar=\"{outing}\"])")
    await expect(listed.locator("a.calendar")).to_have_text(words["calendar"])
    entry = await calendar_entry(page, listed.locator("a.calendar"))
    assert str(entry["UID"]) == f"event-{outing}@owner-club"

    # A link to the next session's page opens it; "all events" then shows the list.
    await page.goto(f"/#event/{sports}")
    await expect(page.locator("#detail-title")).to_have_text(words["next"])
    await expect(page.locator('[role=tab][data-tab="events"]')).to_have_attribute("aria-selected", "true")
    await page.click("#event-back")
    await expect(page.locator("#event-lists")).to_be_visible()
    await expect(page.locator(f'#events .event[data-event="{sports}"]')).to_be_visible()


async def test_a_party_larger_than_the_seats_left_is_told_and_nothing_is_taken(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    settings = pages.server.settings
    _planting, outing, _sports = await spring_program(settings)
    page = await pages.new(**PHONE)
    await owner_logs_in(page, phone(0))
    await open_from_list(page, outing)
    await page.select_option("#detail-party", "4")
    other = (await owners(tmp_path, 1, start=5))[0]
    await signups.sign_up(other, outing, settings=settings)  # meanwhile a neighbour takes one of the four
    await page.locator("#detail-action button[data-signup]").click()
    await expect(page.locator("#detail-error")).to_have_text("仅剩 3 个名额，不够 4 人报名，可加入候补")
    await expect(page.locator("#detail-notice")).to_be_hidden()
    assert await Signup.count().where(Signup.member == me) == 0
