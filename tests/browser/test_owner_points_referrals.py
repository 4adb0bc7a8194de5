"""The owner's points and referrals on a phone, in Chinese and in English: the history says what
each entry was for (the friend, the shop, the event), in words; what expires when; the way into the
rewards (tests/browser/test_owner_rewards.py goes on from there). Referring a friend says it worked and until when
the friend is the owner's; referring them again says so in words (never "lead 13"); once sales
move the lead, its stages, dates and rewards read in words.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): owner-points-zh, owner-points-en,
owner-referrals-zh."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.i18n import format as words
from loyalty.members.tables import Member
from loyalty.merchants import service as merchants
from loyalty.points import service as points
from loyalty.referrals import service as referrals
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.events.builders import event
from tests.referrals.builders import FRIEND, REFERRER, World, build_world, move, register

LOCALES = ["zh-CN", "en"]
SHORT = {"zh-CN": "zh", "en": "en"}
SENT = {"zh-CN": "验证码已发送", "en": "Code sent"}


@pytest.fixture
async def world(database, tmp_path) -> World:
    return await build_world(tmp_path)


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=full_page)


async def logged_in(pages: Pages, world: World, locale: str) -> Page:
    """The referrer on a phone, in `locale` (their saved language, which the page follows)."""
    await Member.update({Member.language: locale}).where(Member.id == world.referrer)
    page = await pages.new(locale="en-US" if locale == "en" else locale, **PHONE)
    await owner_logs_in(page, REFERRER, sent=SENT[locale])
    await expect(page.locator("html")).to_have_attribute("lang", locale)
    return page


async def fits_the_phone(page: Page, selector: str) -> None:
    width = await page.evaluate("(s) => Math.max(...[...document.querySelectorAll(s)].map((e) => e.scrollWidth - e.clientWidth))", selector)
    assert width <= 0, f"{selector} is wider than its box on a phone"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_points_history_says_what_each_entry_was_for_and_what_expires_when(world, pages: Pages, locale: str):
    today = clock.today()
    lead = await register(world, name="王五")
    await move(world, lead, "visited")  # 200 points to the referrer
    shop = await merchants.create_merchant("云湖建材", "decoration")
    await points.redeem(world.referrer, 50, key="sale-pay:b1", source_kind="sale", source_id=f"{shop}:b1")
    fair = await event(title_zh="中秋游园", title_en="Mid-Autumn fair")
    last_year = date(today.year - 1, 6, 1)
    await points.earn(world.referrer, 300, key="fair-last-year", source_kind="event", source_id=str(fair), today=last_year)
    await points.earn(world.referrer, 800, key="fair-pending", source_kind="event", source_id=str(fair), vests_on=today + timedelta(days=10))
    for n in range(20):  # more than a page: the oldest entries come with "More"
        await points.earn(world.referrer, 1, key=f"fair-{n}", source_kind="event", source_id=str(fair))

    page = await logged_in(pages, world, locale)
    await page.click('[role=tab][data-tab="points"]')
    history = page.locator("#points-history")
    await expect(history.locator(".entry")).to_have_count(20)
    attended = "参加活动「中秋游园」" if locale == "zh-CN" else "Attended Mid-Autumn fair"
    await expect(history.locator(".entry").first.locator(".what")).to_have_text(attended)
    await expect(history.locator(".entry").first.locator(".amount")).to_have_text("+1")

    # What expires when: last year's points at the end of this year; the pending ones when they vest.
    schedule = page.locator("#points-schedule")
    expiring = schedule.locator('[data-due="expiring"]')
    await expect(expiring).to_have_count(2)
    end_of_year = words.date(date(today.year, 12, 31), locale)
    await expect(expiring.first).to_contain_text(end_of_year)
    await expect(expiring.first).to_contain_text("300 积分过期" if locale == "zh-CN" else "300 points expire")
    vesting = schedule.locator('[data-due="vesting"]')
    await expect(vesting).to_contain_text(words.date(today + timedelta(days=10), locale))
    await expect(vesting).to_contain_text("800 积分到账" if locale == "zh-CN" else "800 points become available")
    await expect(page.locator("#rewards-open")).to_have_text("积分兑换好礼" if locale == "zh-CN" else "Spend points on rewards")

    await page.click("#points-more")
    await expect(history.locator(".entry")).to_have_count(24)
    await expect(page.locator("#points-more")).to_be_hidden()
    texts = await history.locator(".entry .what").all_inner_texts()
    if locale == "zh-CN":
        assert texts[-4:] == ["参加活动「中秋游园」", "参加活动「中秋游园」", "在 云湖建材 消费抵扣", "推荐好友 王五 到访"]
    else:
        assert texts[-4:] == ["Attended Mid-Autumn fair", "Attended Mid-Autumn fair", "Paid with points at 云湖建材",
                              "Referred friend 王五 visited the sales office"]
    pending = history.locator(".entry", has=page.locator('[data-state="pending"]'))
    await expect(pending).to_have_count(1)
    await expect(pending.locator(".amount")).to_contain_text("+800")
    await expect(history.locator(".entry").last.locator(".amount")).to_have_text("+200")
    await expect(history.locator(".entry").nth(22).locator(".amount")).to_have_text("−50")
    assert not re.search(r"referral \d|\d+:visited|sale \d", await history.inner_text())
    await fits_the_phone(page, "#tab-points .panel")
    await page.evaluate("window.scrollTo(0, 0)")
    if locale == "en":  # the Chinese screenshot is the one with a vested earn (below)
        await save(page, "owner-points-en")


async def test_a_vested_earn_reads_as_one_credit_and_a_pending_one_says_when(world, pages: Pages):
    """The earn's row is the credit (待生效 only while it waits); its vest says the points arrived,
    with no second green +N that would read as double."""
    today = clock.today()
    shop = await merchants.create_merchant("云湖建材", "decoration")
    await points.earn(world.referrer, 1280, key="sale-earn:a1", source_kind="sale", source_id=f"{shop}:a1",
                      vests_on=today - timedelta(days=3), today=today - timedelta(days=17))
    await points.vest_due(today)
    await points.earn(world.referrer, 640, key="sale-earn:a2", source_kind="sale", source_id=f"{shop}:a2",
                      vests_on=today + timedelta(days=14))

    page = await logged_in(pages, world, "zh-CN")
    await page.click('[role=tab][data-tab="points"]')
    history = page.locator("#points-history")
    await expect(history.locator(".entry")).to_have_count(3)
    waiting, vested, earned = [history.locator(".entry").nth(i) for i in range(3)]
    await expect(waiting.locator(".amount")).to_have_text(f"+640待生效（{(today + timedelta(days=14)).month}月{(today + timedelta(days=14)).day}日到账）")
    await expect(vested).to_have_attribute("data-kind", "vest")
    await expect(vested.locator(".amount")).to_have_text("1,280已到账")
    await expect(earned.locator(".what")).to_have_text("在 云湖建材 消费获得")
    await expect(earned.locator(".amount")).to_have_text("+1,280")  # no 待生效 once vested
    assert await history.locator(".amount.plus").count() == 2  # two credits, not three
    await expect(page.locator("#points-available")).to_have_text("1,280")
    await expect(page.locator("#points-pending")).to_have_text("640")
    await fits_the_phone(page, "#tab-points .panel")
    await page.evaluate("window.scrollTo(0, 0)")
    await save(page, "owner-points-zh", full_page=True)


async def test_a_long_referral_name_wraps_and_its_badge_stays_whole(world, pages: Pages):
    await register(world, name="欧阳娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜")
    page = await logged_in(pages, world, "zh-CN")
    await page.click('[role=tab][data-tab="referrals"]')
    badge = page.locator("#referrals .lead .status")
    await expect(badge).to_have_text("已登记")
    lines = await badge.evaluate("(el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))")
    assert lines == 1, f"the badge 已登记 wraps onto {lines} lines"
    await fits_the_phone(page, "#tab-referrals .panel")


@pytest.mark.parametrize("locale", LOCALES)
async def test_refer_a_friend_then_again_then_follow_the_stages_in_words(world, pages: Pages, locale: str):
    today = clock.today()
    page = await logged_in(pages, world, locale)
    await page.click('[role=tab][data-tab="referrals"]')
    zh = locale == "zh-CN"
    rules = page.locator("#referral-rules")
    await expect(rules).to_contain_text("好友到访售楼处：200 积分" if zh else "Your friend visits the sales office: 200 points")
    await expect(rules).to_contain_text("好友签约：5,000 积分（30 天后可用）" if zh else "Your friend signs the purchase contract: 5,000 points (usable 30 days later)")
    await expect(rules.locator("li").nth(2)).to_have_text("好友签约后也可获得 2,000 积分欢迎礼" if zh else "Your friend gets 2,000 welcome points on signing")
    await expect(page.locator("#referrals")).to_have_text("还没有推荐记录" if zh else "No referrals yet")

    await page.fill("#ref-name", "王五")
    await page.fill("#ref-phone", FRIEND)
    await page.click("#refer")
    until = words.date(today + timedelta(days=90), locale)
    done = f"已推荐 王五，保护期至 {until}" if zh else f"王五 is now your referral, protected until {until}"
    await expect(page.locator("#refer-done")).to_have_text(done)
    lead = page.locator("#referrals .lead")
    await expect(lead).to_have_count(1)
    await expect(lead.locator(".status")).to_have_text("已登记" if zh else "Registered")
    await expect(lead.locator(".protection")).to_have_text(f"保护期至 {until}" if zh else f"Protected for you until {until}")

    await page.fill("#ref-name", "老王")
    await page.fill("#ref-phone", FRIEND)
    await page.click("#refer")
    registered = words.date(today, locale)
    again = (f"您已于 {registered}推荐过此人，保护期至 {until}" if zh
             else f"You already referred this person on {registered}; the referral is yours until {until}")
    await expect(page.locator("#refer-error")).to_have_text(again)
    await expect(page.locator("#refer-done")).to_have_text("")
    assert "lead" not in (await page.locator("#refer-error").inner_text()).lower()

    # Sales move the lead: visited, then signed (the service sales' board calls).
    [row] = await referrals.leads(referrer_id=world.referrer)
    await move(world, row["id"], "visited")
    await move(world, row["id"], "signed")
    await page.click('[role=tab][data-tab="card"]')
    await page.click('[role=tab][data-tab="referrals"]')
    await expect(lead.locator(".status")).to_have_text("已签约" if zh else "Signed")
    await expect(lead.locator("ol.stages li.done")).to_have_count(4)
    await expect(lead.locator('ol.stages li[data-stage="visited"]')).to_contain_text("已到访" if zh else "Visited")
    await expect(lead.locator(".protection")).to_have_count(0)  # signed: nothing left to protect
    vests = words.date(today + timedelta(days=30), locale)
    await expect(lead.locator('.rewards [data-reward="earned"]')).to_have_text(
        re.compile(r"已到访\s*\+200 积分，已到账" if zh else r"Visited\s*\+200 points, available"))
    await expect(lead.locator('.rewards [data-reward="pending"]')).to_have_text(
        re.compile(rf"已签约\s*\+5,000 积分，{vests}\s?到账" if zh else rf"Signed\s*\+5,000 points, available on {vests}"))
    await fits_the_phone(page, "#tab-referrals .panel")
    if zh:
        await page.fill("#ref-name", "")
        await page.fill("#ref-phone", "")
        await page.evaluate("window.scrollTo(0, 0)")
        await save(page, "owner-referrals-zh", full_page=True)
