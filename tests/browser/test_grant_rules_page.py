"""A reward's standing gifts as an admin keeps them on the #rewards page, on a phone in Chinese
and a desktop in English: a birthday rule for the gold owners added after a question that says
what will happen every year (a refusal first, under the field the server names), listed in
words beside a holiday rule with its next day; paused and resumed after a question; then the
daily job run inside the window and the page showing how many were given for that birthday.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): grant-rules-*.png."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from loyalty import clock
from loyalty.members.tables import Member
from loyalty.rewards.standing_grants import apply_grant_rules, next_holiday_on
from loyalty.rewards.tables import Redemption, Reward, RewardGrantRule
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in
from tests.events.builders import owners
from tests.rewards.builders import reward

pytestmark = pytest.mark.postgres_only  # a browser flow is slow: once, on the engine the club runs

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WORDS = {
    "zh-CN": {
        "button": "自动发放", "title": "自动发放「春节福袋」", "none": "还没有规则，可在下方添加。",
        "add_q": "自动发放「春节福袋」？", "every": "今后每年，符合条件的业主在生日前 7 天会收到此礼品，每人每年一份",
        "who": "发放对象：金卡", "birthday": "每位业主生日前 7 天起 · 金卡", "holiday": "中秋节前 3 天起 ({day}) · 全部业主",
        "active": "生效中", "paused": "已暂停", "not_yet": "尚未发放", "pause_q": "暂停「春节福袋」的这条规则？",
        "resume_q": "恢复「春节福袋」的这条规则？", "given": "{year} 年生日：已发放 1 份", "days": "请填写 0 到 60 之间的整数",
        "mid_autumn": "中秋节",
    },
    "en": {
        "button": "Give automatically", "title": "Give “Spring Festival gift bag” automatically", "none": "No rules yet: add one below.",
        "add_q": "Give “Spring Festival gift bag” automatically?",
        "every": "From now on, every year, the owners it is for get this gift 7 days before their birthday, one each a year.",
        "who": "Who: Gold", "birthday": "From 7 days before each owner's birthday · Gold",
        "holiday": "From 3 days before Mid-Autumn Festival ({day}) · All owners", "active": "Active", "paused": "Paused",
        "not_yet": "None given yet", "pause_q": "Pause this rule of “Spring Festival gift bag”?",
        "resume_q": "Resume this rule of “Spring Festival gift bag”?", "given": "{year} birthdays: 1 given",
        "days": "Write a whole number from 0 to 60", "mid_autumn": "Mid-Autumn Festival",
    },
}


def written(day: date, locale: str) -> str:
    """A day as the page writes it (Intl's short month)."""
    return f"{day.year}年{day.month}月{day.day}日" if locale == "zh-CN" else f"{day:%b} {day.day}, {day.year}"


async def save(page: Page, name: str, *, panel: Locator | None = None) -> None:
    """The screen, or only the panel (a full page would draw the sticky header over it)."""
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if panel is None:
            await page.screenshot(path=Path(folder) / f"grant-rules-{name}.png")
            return
        await page.evaluate("document.querySelector('header').style.position = 'static'")
        await panel.screenshot(path=Path(folder) / f"grant-rules-{name}.png")
        await page.evaluate("document.querySelector('header').style.position = ''")


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


@pytest.mark.parametrize("locale, device", [("zh-CN", "phone"), ("en", "desktop")])
async def test_an_admin_adds_a_birthday_gift_for_gold_owners_pauses_and_resumes_it_and_sees_what_it_gave(
    database, pages: Pages, tmp_path, locale: str, device: str,
):
    words = WORDS[locale]
    today = clock.today()
    soon = today + timedelta(days=3)  # inside a 7-day window from today
    gold = await owners(tmp_path, 2, units=2)
    [blue] = await owners(tmp_path, 1, start=10)
    await Member.update({Member.birthday: soon.replace(year=1985)}).where(Member.id.is_in([gold[0], blue]))
    await Member.update({Member.birthday: (today + timedelta(days=100)).replace(year=1990)}).where(Member.id == gold[1])
    admin_id = await add_staff("boss", "admin")
    gift = await reward(admin_id, name_zh="春节福袋", name_en="Spring Festival gift bag", prices={}, stock=10,
                        starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=365))
    withdrawn = await reward(admin_id, name_zh="旧礼品", name_en="Old gift", prices={})
    await Reward.update({Reward.status: "withdrawn"}).where(Reward.id == withdrawn)  # not a gift any more: no rules
    size = DESKTOP if device == "desktop" else PHONE
    width = size["viewport"]["width"]
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"

    admin = await pages.new(locale="en-US" if locale == "en" else locale, **size)
    await staff_logs_in(admin, "boss", "/staff#rewards")
    item = admin.locator(f'.cat-item[data-reward="{gift}"]')
    await expect(item.locator('[data-cat="grant-rules"]')).to_have_text(words["button"])
    await expect(admin.locator(f'.cat-item[data-reward="{withdrawn}"] [data-cat="grant-rules"]')).to_have_count(0)
    await item.locator('[data-cat="grant-rules"]').click()
    panel = admin.locator("#grant-rules")
    await expect(panel.locator("#gr-title")).to_have_text(words["title"])
    await expect(panel.locator("#gr-list")).to_have_text(words["none"])
    await expect(panel.locator('#gr-occasion option[value="mid_autumn"]')).to_have_text(words["mid_autumn"])

    # Days out of range: said under the field before asking anything.
    await admin.fill("#gr-days", "61")
    await admin.click("#gr-add")
    await expect(panel.locator('[data-error="days_before"]')).to_have_text(words["days"])
    await admin.fill("#gr-days", "7")
    await panel.locator("#gr-tiers input[value=gold]").check()
    # A project the server does not know (gone since the page loaded): its refusal under the projects.
    await admin.evaluate("""document.querySelector('#gr-projects').insertAdjacentHTML('beforeend',
        '<label class="pick" id="gone"><input type="checkbox" value="999999" checked> ?</label>')""")
    await admin.click("#gr-add")
    await expect(admin.locator("#confirm h2")).to_have_text(words["add_q"])
    await admin.click("#confirm-yes")
    await expect(panel.locator('[data-error="project_ids"]')).not_to_be_empty()
    assert await RewardGrantRule.count() == 0
    await admin.evaluate("document.getElementById('gone').remove()")

    # The birthday rule: the question says what happens every year, to whom.
    await admin.click("#gr-add")
    await expect(admin.locator("#confirm h2")).to_have_text(words["add_q"])
    await expect(admin.locator("#confirm")).to_contain_text(words["every"])
    await expect(admin.locator("#confirm")).to_contain_text(words["who"])
    await fits(admin, width)
    await save(admin, f"{tag}-confirm")
    await admin.click("#confirm-yes")
    rules = panel.locator(".gr-rule")
    await expect(rules).to_have_count(1)
    birthday_rule = rules.first
    await expect(birthday_rule.locator(".gr-words")).to_have_text(words["birthday"])
    await expect(birthday_rule.locator(".gr-state")).to_have_text(words["active"])
    await expect(birthday_rule.locator(".gr-given")).to_have_text(words["not_yet"])
    await expect(panel.locator('[data-error="project_ids"]')).to_be_empty()

    # A holiday rule for everyone, 3 days before: its next day from the server's calendar.
    await admin.select_option("#gr-occasion", "mid_autumn")
    await admin.fill("#gr-days", "3")
    await admin.click("#gr-add")
    await admin.click("#confirm-yes")
    await expect(rules).to_have_count(2)
    next_on = next_holiday_on("mid_autumn", today)
    assert next_on is not None
    await expect(rules.first.locator(".gr-words")).to_have_text(words["holiday"].format(day=written(next_on, locale)))
    birthday_rule = rules.nth(1)

    # Paused after the question, then resumed after another.
    await birthday_rule.locator('[data-gr="pause"]').click()
    await expect(admin.locator("#confirm h2")).to_have_text(words["pause_q"])
    await admin.click("#confirm-yes")
    await expect(birthday_rule.locator(".gr-state")).to_have_text(words["paused"])
    await fits(admin, width)
    await save(admin, f"{tag}-paused", panel=panel)
    await birthday_rule.locator('[data-gr="resume"]').click()
    await expect(admin.locator("#confirm h2")).to_have_text(words["resume_q"])
    await admin.click("#confirm-yes")
    await expect(birthday_rule.locator(".gr-state")).to_have_text(words["active"])

    # The daily job inside the window: the gold owner whose birthday is near gets one; the page says so.
    assert await apply_grant_rules(clock.now()) == 1
    assert [r["member"] for r in await Redemption.select(Redemption.member)] == [gold[0]]
    await item.locator('[data-cat="grant-rules"]').click()
    await expect(birthday_rule.locator(".gr-given")).to_have_text(words["given"].format(year=soon.year))
    await fits(admin, width)
    await save(admin, f"{tag}-given", panel=panel)
    assert pages.errors == []
