"""An owner pays for a paid event on the phone, through Stripe.js and Stripe's webhook.

Stripe here is localstripe, on loopback: the page loads its Stripe.js (with the Payment Element
stand-in, see tests/stripe_server.py) from LOYALTY_STRIPE_JS_URL, under the owner page's CSP,
and localstripe delivers its webhook to the app's real port, which confirms the seat. The page
shows the amount and the hold's countdown, takes the card, and then: the ticket (paid); the
refusal and another try (a declined card); the released seat (the hold ran out)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Page, expect

from loyalty.members.tables import Member
from loyalty.phones import normalise_phone
from loyalty import clock
from loyalty.events import waitlist
from loyalty.events.tables import Payment, Signup
from tests.browser.conftest import PHONE, Pages, Server
from tests.browser.pages import owner_logs_in
from tests.browser.words import Reader, data_names
from tests.events.builders import WEBHOOK_SECRET, event, owners, paid_settings, pay, phone
from tests.stripe_server import PUBLISHABLE_KEY

FEE = 5_000  # ¥50.00
VISA, DECLINED = "4242424242424242", "4000000000000002"
# localstripe's stand-in card form names its inputs in English (number, exp_month, ...); real
# Stripe's Payment Element is drawn by Stripe in the `locale` the page gives it. Not our words.
STAND_IN_WORDS = {"localstripe", "number", "exp_month", "exp_year", "cvc", "postal_code"}
SENT = {"zh-CN": "验证码已发送", "en": "Code sent"}


@pytest.fixture
def settings(database: Any, localstripe: Any):
    """The app with Stripe (localstripe) for the server and for the page."""
    return paid_settings(database, localstripe, stripe_publishable_key=PUBLISHABLE_KEY, stripe_js_url=localstripe.js_url)


@pytest.fixture
async def webhooks(localstripe: Any, server: Server) -> AsyncIterator[None]:
    """localstripe's payment events go to this test's app (one endpoint id: each test replaces it)."""
    endpoint = localstripe.register_webhook(
        f"{server.url}/api/v1/payments/stripe/webhook", WEBHOOK_SECRET,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"], id="we_browser_owner_pay",
    )
    yield
    localstripe.unregister_webhook(endpoint)


async def paid_event() -> int:
    now = clock.now()
    starts = now + timedelta(days=7)
    return await event(
        title_zh="装修讲座", title_en="Decoration seminar", fee_blue_fen=FEE, starts_at=starts,
        ends_at=starts + timedelta(hours=2), signup_opens_at=now - timedelta(days=1),
        signup_closes_at=now + timedelta(days=6), cancel_deadline=now + timedelta(days=5),
    )


async def sign_up_on_the_page(page: Page, who: int, event_id: int, locale: str = "zh-CN") -> Any:
    """Log in, open the events tab, sign up: the payment step of the new signup."""
    # The owner's saved language (a switch clicked while the saved one still loads would race
    # with the requests already under way; the switch is tested in tests/i18n).
    await Member.update({Member.language: locale}).where(Member.phone == normalise_phone(phone(who)))
    await owner_logs_in(page, phone(who), sent=SENT[locale])
    await expect(page.locator("html")).to_have_attribute("lang", locale)
    await page.click('[role=tab][data-tab="events"]')
    await page.click(f'#events button[data-signup="{event_id}"]')
    step = page.locator("#signups [data-pay]")
    await expect(step).to_have_count(1)
    await expect(step.locator("[data-pay-button]")).to_be_enabled()  # Stripe.js loaded, the form mounted
    return step


async def type_card(step: Any, number: str) -> None:
    form = step.locator("[data-pay-element]")
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123"), ("postal_code", "310000")):
        await form.locator(f'input[placeholder="{field}"]').fill(value)


async def status(signup_id: int) -> str:
    row = await Signup.select(Signup.status).where(Signup.id == signup_id).first()
    assert row is not None
    return row["status"]


async def read(page: Page, locale: str, where: str) -> None:
    reader = Reader(locale, await data_names() | STAND_IN_WORDS)
    await reader.read(page, where)
    reader.assert_none()


async def shot(page: Page, name: str) -> None:
    """With LOYALTY_SCREENSHOTS_DIR set (docs/screenshots), the screen as docs/screenshots/owner-pay-<name>.png."""
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => window.scrollTo(0, 0))")  # the sticky header on top
        await page.screenshot(path=Path(folder) / f"owner-pay-{name}.png", full_page=True)


async def test_an_owner_pays_on_the_phone_and_sees_the_ticket(database, pages: Pages, webhooks, tmp_path):
    await owners(tmp_path, 1)
    event_id = await paid_event()
    page = await pages.new(locale="zh-CN", **PHONE)
    step = await sign_up_on_the_page(page, 0, event_id)
    signup_id = int(await step.get_attribute("data-pay"))

    await expect(step.locator(".pay-amount")).to_have_text("¥50.00")
    await expect(step.locator("[data-pay-countdown]")).to_have_text(re.compile(r"^名额保留中，还剩 1[45] 分钟( \d{1,2} 秒)?，请尽快完成支付$"))
    await expect(step.locator("[data-pay-button]")).to_have_text("支付 ¥50.00")
    ticket = page.locator(f'#signups [data-signup-id="{signup_id}"]')
    await expect(ticket.locator(".status")).to_have_text("待支付（名额保留中）")
    await type_card(step, VISA)
    await read(page, "zh-CN", "the payment step")
    await shot(page, "form-zh")

    await step.locator("[data-pay-button]").click()
    # Stripe took the money; the webhook confirms the seat and the page shows the ticket.
    await expect(ticket.locator("img[data-ticket]")).to_be_visible()
    await expect(ticket.locator(".status")).to_have_attribute("data-status", "confirmed")
    await expect(ticket.locator('[data-pay-state="paid"]')).to_have_text("已支付 ¥50.00")
    await expect(page.locator("#signups [data-pay]")).to_have_count(0)
    assert await status(signup_id) == "confirmed"
    await read(page, "zh-CN", "the paid ticket")
    await shot(page, "paid-zh")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_a_declined_card_is_said_and_another_try_pays(database, pages: Pages, webhooks, tmp_path, locale):
    words = {
        "en": ("The card was declined. Try again, or use another card.", "Try again", "Paid ¥50.00"),
        "zh-CN": ("银行卡被拒绝，请重试或换一张卡。", "重新支付", "已支付 ¥50.00"),
    }[locale]
    await owners(tmp_path, 1)
    event_id = await paid_event()
    page = await pages.new(locale=locale, **PHONE)
    step = await sign_up_on_the_page(page, 0, event_id, locale)
    signup_id = int(await step.get_attribute("data-pay"))
    # Time left in words, never "14:57" (which reads as a deadline on the clock).
    left = (r"^Your seat is held: 1[45] minutes( \d{1,2} seconds?)? left to pay$" if locale == "en"
            else r"^名额保留中，还剩 1[45] 分钟( \d{1,2} 秒)?，请尽快完成支付$")
    await expect(step.locator("[data-pay-countdown]")).to_have_text(re.compile(left))

    await type_card(step, DECLINED)
    await step.locator("[data-pay-button]").click()
    await expect(step.locator("[data-pay-error]")).to_have_text(words[0])
    await expect(step.locator("[data-pay-button]")).to_have_text(words[1])
    await expect(step.locator("[data-pay-button]")).to_be_enabled()
    assert await status(signup_id) == "pending_payment"  # the seat is still held
    await read(page, locale, "a declined card")
    await shot(page, f"declined-{'zh' if locale == 'zh-CN' else 'en'}")

    await type_card(step, VISA)
    await step.locator("[data-pay-button]").click()
    ticket = page.locator(f'#signups [data-signup-id="{signup_id}"]')
    await expect(ticket.locator("img[data-ticket]")).to_be_visible()
    await expect(ticket.locator('[data-pay-state="paid"]')).to_have_text(words[2])
    assert await status(signup_id) == "confirmed"
    if locale == "en":
        await read(page, locale, "the paid ticket")
        await shot(page, "paid-en")


async def test_when_the_hold_runs_out_the_page_says_the_seat_was_released(database, pages: Pages, webhooks, tmp_path):
    await owners(tmp_path, 1)
    event_id = await paid_event()
    page = await pages.new(locale="zh-CN", **PHONE)
    await page.clock.install()  # the page's own clock, moved below as the server's job is
    step = await sign_up_on_the_page(page, 0, event_id)
    signup_id = int(await step.get_attribute("data-pay"))
    countdown = step.locator("[data-pay-countdown]")
    await expect(countdown).to_have_text(re.compile(r"^名额保留中，还剩 1[45] 分钟"))

    # Sixteen minutes on: the release job has run (as a worker would) and the page's clock too.
    assert await waitlist.release_unpaid(now=clock.now() + timedelta(minutes=16)) == 1
    await page.clock.fast_forward("16:00")
    ticket = page.locator(f'#signups [data-signup-id="{signup_id}"]')
    await expect(ticket.locator(".status")).to_have_attribute("data-status", "cancelled")
    await expect(ticket.locator('[data-pay-state="expired"]')).to_have_text(
        "未在规定时间内支付，名额已释放。如仍有名额，可重新报名。"
    )
    await expect(page.locator("#signups [data-pay]")).to_have_count(0)
    await expect(page.locator(f'#events button[data-signup="{event_id}"]')).to_be_visible()  # the seat is free again
    assert await status(signup_id) == "cancelled"
    await read(page, "zh-CN", "a released seat")
    await shot(page, "expired-zh")


async def test_back_from_a_redirect_payment_method_the_page_says_how_it_went(database, pages: Pages, localstripe, webhooks, tmp_path):
    """Alipay sends the owner to Alipay and back to our return_url, to which Stripe adds
    payment_intent and redirect_status: the page opens the events tab on that signup."""
    await owners(tmp_path, 1)
    event_id = await paid_event()
    page = await pages.new(locale="zh-CN", **PHONE)
    step = await sign_up_on_the_page(page, 0, event_id)
    signup_id = int(await step.get_attribute("data-pay"))
    row = await Signup.select(Signup.payment).where(Signup.id == signup_id).first()
    payment = row and await Payment.select().where(Payment.id == row["payment"]).first()
    assert payment
    back = f"/?pay={signup_id}&payment_intent={payment['stripe_intent_id']}&payment_intent_client_secret={payment['client_secret']}"

    await page.goto(back + "&redirect_status=failed")
    step = page.locator(f'#signups [data-pay="{signup_id}"]')
    await expect(page.locator('[role=tab][data-tab="events"]')).to_have_attribute("aria-selected", "true")
    await expect(step.locator("[data-pay-error]")).to_have_text("支付未成功，请重试或换一种支付方式。")
    await expect(step.locator("[data-pay-button]")).to_be_enabled()  # pay again, another way
    assert "payment_intent" not in page.url  # the return's parameters are not kept in the address

    pay(localstripe, payment["stripe_intent_id"])  # paid on Alipay's side; the webhook follows
    await page.goto(back + "&redirect_status=succeeded")
    ticket = page.locator(f'#signups [data-signup-id="{signup_id}"]')
    await expect(ticket.locator("img[data-ticket]")).to_be_visible()
    await expect(ticket.locator('[data-pay-state="paid"]')).to_have_text("已支付 ¥50.00")
    assert await status(signup_id) == "confirmed"
