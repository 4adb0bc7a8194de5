"""An owner opens the club inside WeChat: the Official Account's OAuth (the stand-in,
tests/wechat_server.py) sends Chromium back with their openid; the first time the owner proves
their phone with a code (by SMS, through the SMS stand-in) and that binds WeChat; from then on
WeChat alone logs them in, and a reply to their feedback reaches them as a template message."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from loyalty import jobs
from loyalty.care import cases
from loyalty.identity.tables import WechatBinding
from loyalty.settings import Settings, load_settings
from tests.browser.conftest import PHONE
from tests.browser.pages import add_staff
from tests.conftest import TEST_SECRET
from tests.events.builders import owners, phone

# Written only when asked (LOYALTY_SCREENSHOTS_DIR=docs/screenshots), as every other page's.
SCREENSHOTS = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
OPENID = "o-browser-owner-0000000000001"


@pytest.fixture
def settings(database: Any, sms_stand_in: Any, wechat_stand_in: Any) -> Settings:
    chosen = load_settings({
        "LOYALTY_DATABASE_URL": database.url, "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_LOGIN_CODE_MIN_INTERVAL": "0",
        "LOYALTY_QUIET_HOURS": "", "LOYALTY_SMS_PER_NUMBER_LIMIT": "1000/day", **sms_stand_in.env(), **wechat_stand_in.env(),
    })
    jobs.configure(chosen)
    return chosen


async def test_a_wechat_owner_binds_once_with_a_phone_code_then_logs_in_by_wechat_and_gets_replies_there(
    database, pages, server, sms_stand_in, wechat_stand_in, tmp_path
):
    (member,) = await owners(tmp_path, 1)
    e164 = f"+86{phone(0)}"
    wechat_stand_in.log_in_as(OPENID)

    # First visit from WeChat: not bound yet, so the owner page asks for the phone code once.
    page = await pages.new(**PHONE)
    await page.goto("/api/v1/auth/wechat")
    await expect(page.locator("#login")).to_be_visible()
    assert "/?wechat=bind" in page.url  # (the browser keeps the authorize URL's #wechat_redirect)
    (authorize,) = wechat_stand_in.authorize_requests
    assert authorize["scope"] == "snsapi_base" and authorize["redirect_uri"].endswith("/api/v1/auth/wechat/callback")
    await page.fill("#phone", phone(0))
    await page.click("#send-code")
    await expect(page.locator("#login-error")).to_have_text("验证码已发送")
    (sms,) = sms_stand_in.to(e164)
    await page.fill("#code", sms.params[0])
    await page.click("#sign-in")
    await expect(page.locator("#app")).to_be_visible()
    assert await WechatBinding.select(WechatBinding.member).where(WechatBinding.openid == OPENID).first() == {"member": member}

    # Another day, a fresh browser in WeChat: OAuth alone logs the owner in, no code sent.
    again = await pages.new(**PHONE)
    await again.goto("/api/v1/auth/wechat")
    await expect(again.locator("#app")).to_be_visible()
    await expect(again.locator("#login")).to_be_hidden()
    assert len(sms_stand_in.to(e164)) == 1
    if SCREENSHOTS:
        await again.screenshot(path=str(Path(SCREENSHOTS) / "owner-wechat-login-zh.png"))

    # Customer service replies to the owner's feedback: it arrives in WeChat.
    case_id = await cases.open_case(member, "repair", "电梯异响", "3号楼电梯运行时有异响")
    await cases.staff_reply(case_id, await add_staff("kefu", "service"), "师傅明天上午上门查看。")
    (message,) = wechat_stand_in.messages
    assert (message["touser"], message["template_id"]) == (OPENID, "tmpl-case-update")
    assert "电梯异响" in message["data"]["keyword1"]["value"]
    assert len(sms_stand_in.to(e164)) == 1  # by WeChat, not also by SMS


async def test_a_forged_wechat_callback_logs_nobody_in(database, pages, server, wechat_stand_in, tmp_path):
    await owners(tmp_path, 1)
    page = await pages.new(**PHONE)
    await page.goto("/api/v1/auth/wechat/callback?code=stolen&state=guessed")
    await expect(page.locator("#login")).to_be_visible()
    assert "/?wechat=failed" in page.url


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_the_unsubscribe_page_of_a_bulk_mail_speaks_the_readers_language(database, pages, server, tmp_path, locale):
    from loyalty.care.tables import OptOut
    from loyalty.care.unsubscribe import token
    from tests.browser.words import foreign_words

    (member,) = await owners(tmp_path, 1)
    page = await pages.new(locale=locale, **PHONE)
    await page.goto(f"/api/v1/unsubscribe/{token(server.settings, member, 'holiday')}")
    asked = await page.locator("body").inner_text()
    suffix = "zh" if locale == "zh-CN" else "en"
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"unsubscribe-{suffix}.png"))
    await page.locator("button").click()
    await expect(page.locator("button")).to_have_count(0)
    done = await page.locator("body").inner_text()

    assert foreign_words(asked + done, locale, []) == []
    assert await OptOut.select(OptOut.kind).where(OptOut.member == member) == [{"kind": "holiday"}]
