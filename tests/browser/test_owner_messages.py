"""The owner's message settings (消息设置) at the foot of the service tab: on a phone, in Chinese,
an owner stops the holiday greetings and asks for SMS first; both are kept after a reload and are
what the outbox reads. In English (the owner's saved language) the same panel speaks English.

With LOYALTY_SCREENSHOTS_DIR set (docs/screenshots), the run saves the panel's picture."""

from __future__ import annotations

from playwright.async_api import Page, expect

from loyalty.care import outbox
from loyalty.members.tables import Member
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.browser.test_owner_service import save
from tests.browser.words import Reader, data_names
from tests.events.builders import owners, phone


async def settings(page: Page) -> None:
    await page.click('[role=tab][data-tab="service"]')
    await expect(page.locator("#msg-form input[name=kind]")).to_have_count(6)


async def test_an_owner_refuses_holiday_greetings_and_asks_for_sms_first_and_it_is_kept(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    reader = Reader("zh-CN", await data_names())
    page = await pages.new(**PHONE)
    await owner_logs_in(page, phone(0))
    await settings(page)
    panel = page.locator("#msg-form")
    await expect(panel.locator("h3")).to_have_text("消息设置")
    await expect(panel).to_contain_text("登录验证码，以及您报名活动和反馈的进展通知，会始终发送。")
    holiday = panel.get_by_label("节日祝福")
    await expect(holiday).to_be_checked()
    assert await panel.locator("input[name=kind]:checked").count() == 6  # nothing refused yet
    await expect(page.locator("#msg-first option:checked")).to_have_text("微信")
    assert await page.locator("#msg-first option").all_inner_texts() == ["微信", "短信", "邮件"]

    await holiday.uncheck()
    await page.select_option("#msg-first", "sms")
    await page.click("#msg-save")
    await expect(page.locator("#msg-done")).to_have_text("已保存")
    await expect(page.locator("#msg-error")).to_have_text("")
    await reader.read(page, "the message settings, saved")
    assert await outbox.opt_outs(me) == ["holiday"]
    assert await outbox.channel_choice(me) == ["sms", "wechat", "email"]  # every channel still tried
    await panel.scroll_into_view_if_needed()
    await save(page, "owner-messages-zh", element=panel)

    await page.reload()
    await expect(page.locator("#app")).to_be_visible()
    await settings(page)
    await expect(panel.get_by_label("节日祝福")).not_to_be_checked()
    await expect(panel.get_by_label("生日祝福")).to_be_checked()
    await expect(page.locator("#msg-first option:checked")).to_have_text("短信")
    await expect(page.locator("#msg-done")).to_have_text("")

    # Ticked again: nothing refused any more.
    await panel.get_by_label("节日祝福").check()
    await page.click("#msg-save")
    await expect(page.locator("#msg-done")).to_have_text("已保存")
    assert await outbox.opt_outs(me) == []
    assert (await outbox.channel_choice(me))[0] == "sms"


async def test_in_english_the_settings_speak_english(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    reader = Reader("en", await data_names())
    page = await pages.new(locale="en-US", **PHONE)
    await Member.update({Member.language: "en"}).where(Member.id == me)  # the owner's saved language
    await owner_logs_in(page, phone(0), sent="Code sent")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await settings(page)
    panel = page.locator("#msg-form")
    await expect(panel.locator("h3")).to_have_text("Message settings")
    assert await page.locator("#msg-first option").all_inner_texts() == ["WeChat", "SMS", "E-mail"]
    await panel.get_by_label("satisfaction surveys").uncheck()
    await page.select_option("#msg-first", "email")
    await page.click("#msg-save")
    await expect(page.locator("#msg-done")).to_have_text("Saved")
    await reader.read(page, "the message settings in English, saved")
    assert await outbox.opt_outs(me) == ["survey"]
    assert await outbox.channel_choice(me) == ["email", "wechat", "sms"]
    await save(page, "owner-messages-en", element=panel)
