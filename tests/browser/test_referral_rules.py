"""The referral rewards panel of the rewards catalogue (老带新, both sides): an admin gives the
signing rule a gift and fewer points, after a question that says what the stage will give; the
owner's referrals tab then says the gift beside the points. In Chinese on a phone (no sideways
scrolling) and in English on a desktop.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): referral-rules-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.members.tables import Member
from loyalty.referrals.tables import RewardRule
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.referrals.builders import REFERRER, build_world
from tests.rewards.builders import reward

pytestmark = pytest.mark.postgres_only  # a browser flow is slow: once, on the engine the club runs

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SENT = {"zh-CN": "验证码已发送", "en": "Code sent"}
WORDS = {
    "zh-CN": {
        "title": "推荐奖励规则", "stage": "已签约", "who": "推荐人", "none": "无",
        "question": "「已签约」时推荐人得 2,000 积分 + 礼品「中秋月饼礼盒」",
        "saved": "已保存。「已签约」时推荐人得 2,000 积分 + 礼品「中秋月饼礼盒」",
        "owner_line": "好友签约：2,000 积分（30 天后可用） + 礼品：中秋月饼礼盒",
        "refused": "启用的规则须给积分或礼品",
    },
    "en": {
        "title": "Referral rewards", "stage": "Signed", "who": "Referrer", "none": "None",
        "question": "At “Signed”: Referrer gets 2,000 points + gift “Mid-Autumn mooncake box”",
        "saved": "Saved. At “Signed”: Referrer gets 2,000 points + gift “Mid-Autumn mooncake box”",
        "owner_line": "Your friend signs the purchase contract: 2,000 points (usable 30 days later) + gift: Mid-Autumn mooncake box",
        "refused": "An active rule must give points or a gift",
    },
}


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=Path(folder) / f"referral-rules-{name}.png", full_page=full_page)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


@pytest.mark.parametrize("locale, device", [("zh-CN", "phone"), ("en", "desktop")])
async def test_an_admin_gives_the_signing_rule_a_gift_and_the_owner_reads_it(
    database, pages: Pages, tmp_path, locale: str, device: str,
):
    words = WORDS[locale]
    world = await build_world(tmp_path)
    await Member.update({Member.language: locale}).where(Member.id == world.referrer)
    box = await reward(name_zh="中秋月饼礼盒", name_en="Mid-Autumn mooncake box", stock=20)
    await add_staff("boss", "admin")
    size = DESKTOP if device == "desktop" else PHONE
    width = size["viewport"]["width"]
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"
    signing = (await RewardRule.select(RewardRule.id).where(
        (RewardRule.stage == "signed") & (RewardRule.beneficiary == "referrer")).first())["id"]

    admin = await pages.new(locale="en-US" if locale == "en" else locale, **size)
    await staff_logs_in(admin, "boss", "/staff#rewards")
    box_panel = admin.locator("#rr-box")
    await expect(box_panel.locator("h2")).to_have_text(words["title"])
    row = admin.locator(f'tr[data-rule="{signing}"]')
    await expect(row).to_contain_text(words["stage"])
    await expect(row).to_contain_text(words["who"])
    await expect(row.locator('[data-field="gift_reward_id"] option:checked')).to_have_text(words["none"])
    await expect(row.locator("[data-save]")).to_be_disabled()

    # Points 0 and no gift on a rule that is on: refused under the points, nothing saved.
    await row.locator('[data-field="points"]').fill("0")
    await row.locator("[data-save]").click()
    await admin.click("#confirm-yes")
    await expect(row.locator('[data-error="points"]')).to_contain_text(words["refused"])
    assert (await RewardRule.select(RewardRule.points).where(RewardRule.id == signing).first())["points"] == 5000

    await row.locator('[data-field="points"]').fill("2000")
    await row.locator('[data-field="gift_reward_id"]').select_option(str(box))
    await row.locator("[data-save]").click()
    await expect(admin.locator("#confirm h2")).to_have_text(words["question"])
    await fits(admin, width)
    await save(admin, f"{tag}-confirm")
    await admin.click("#confirm-yes")
    await expect(admin.locator("#rr-notice")).to_have_text(words["saved"])
    rule = await RewardRule.select().where(RewardRule.id == signing).first()
    assert (rule["points"], rule["gift_reward"], rule["active"]) == (2000, box, True)
    await expect(admin.locator(f'tr[data-rule="{signing}"] [data-field="gift_reward_id"] option:checked')).to_have_text(
        "中秋月饼礼盒" if locale == "zh-CN" else "Mid-Autumn mooncake box")
    await fits(admin, width)
    await box_panel.scroll_into_view_if_needed()
    await save(admin, f"{tag}-panel")

    # The owner's referrals tab: the gift beside the points.
    owner = await pages.new(locale="en-US" if locale == "en" else locale, **size)
    await owner_logs_in(owner, REFERRER, sent=SENT[locale])
    await owner.click('[role=tab][data-tab="referrals"]')
    await expect(owner.locator("#referral-rules")).to_contain_text(words["owner_line"])
    await fits(owner, width)
    await owner.locator("#referral-rules").scroll_into_view_if_needed()
    await save(owner, f"{tag}-owner")
