"""The card at a till, on a phone: the full-screen code with its brightness hint, the 18 digits
under the QR that a cashier types into a till (a real partner API sale with them), a new code
after paying, and the card offline: the stale code greys out with "连接已断开", its digits go, and
the printed card's code is shown as identification only; back online, a fresh code at once."""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import time_machine
from playwright.async_api import Page, expect

from loyalty.cards import codes
from loyalty.cards import service as cards
from loyalty.members.tables import Member
from loyalty.merchants import service as merchants
from loyalty.points import service as points
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.events.builders import owners, phone

GROUPED = re.compile(r"^66\d{4} \d{6} \d{6}$")


async def save(page: Page, name: str, **options: Any) -> None:
    """With LOYALTY_SCREENSHOTS_DIR set (docs/screenshots), as tests/browser/test_no_foreign_words.py does."""
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), **options)


async def till() -> str:
    """A merchant with a store, a gold discount and a key, as the partner tests build one."""
    merchant = await merchants.create_merchant("森林装饰", "decoration")
    await merchants.add_store(merchant, "S1", "森林装饰一店")
    await merchants.set_discount(merchant, "gold", 1000, valid_from=date(2026, 1, 1))
    return (await merchants.create_api_key(merchant))[0]


async def sell(base_url: str, key: str, typed: str, idempotency_key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.post(
            "/partner/v1/sales",
            json={"code": typed, "store": "S1", "gross_fen": 20_000, "points_to_redeem": 1000},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key, "Accept-Language": "en"},
        )


async def shown_digits(page: Page) -> str:
    await expect(page.locator("#digits")).to_have_text(GROUPED)
    return await page.locator("#digits").inner_text()


async def test_the_full_screen_code_is_typed_at_a_till_and_the_card_says_when_it_is_offline(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1, units=2)  # a gold card
    await points.earn(me, 5000, key="seed", source_kind="test")
    key = await till()
    signer = cards.signer_for(pages.server.settings)
    page = await pages.new(**PHONE)
    await page.clock.install()  # the page's timers run on a clock the test moves (the server's is time_machine's)
    await owner_logs_in(page, phone(0))

    # The digits under the QR, three groups of six, the same code as the QR.
    typed = await shown_digits(page)
    await expect(page.locator(".digits-hint")).to_have_text("扫码失败时，收银员可输入这串数字")
    qr_code = await page.locator("#qr").get_attribute("data-code")
    assert qr_code and await cards.expand_typed_code(typed, signer) == qr_code

    # Full screen: big QR and digits on white, the brightness hint, the screen kept on where allowed.
    await page.click("#open-full")
    await expect(page.locator("#code-full")).to_be_visible()
    await expect(page.locator("#code-full .brightness")).to_have_text("请调高屏幕亮度")
    await expect(page.locator("#code-full #qr svg")).to_be_visible()
    await expect(page.locator("#code-full #digits")).to_have_text(typed)
    qr_box = await page.locator("#code-full #qr").bounding_box()
    digits_box = await page.locator("#code-full #digits").bounding_box()
    assert qr_box and qr_box["width"] >= 300, qr_box  # bigger than on the card (260 px)
    assert digits_box and digits_box["x"] >= 0 and digits_box["x"] + digits_box["width"] <= 390, digits_box
    # Chromium grants both here: the view is the document's full-screen element and the screen stays on.
    await expect(page.locator("#code-full")).to_have_attribute("data-wake-lock", "held")
    assert await page.evaluate("document.fullscreenElement && document.fullscreenElement.id") == "code-full"
    await save(page, "owner-card-fullscreen-zh")

    # The cashier types the digits (with the spaces, as shown) into the till: the sale is made.
    paid = await sell(pages.server.url, key, typed, "till-1-0001")
    assert paid.status_code == 201, paid.text
    assert paid.json()["points_redeemed"] == 1000
    again = await sell(pages.server.url, key, typed, "till-1-0002")
    assert (again.status_code, again.json()["type"]) == (422, "/problems/code-already-used")

    # The page's next code (when its minute ends) is a new one, with new digits.
    with time_machine.travel(time.time() + codes.STEP_SECONDS + 1, tick=False):
        await page.clock.fast_forward(codes.STEP_SECONDS * 1000 + 1000)
        await expect(page.locator("#code-full #digits")).not_to_have_text(typed)
        fresh = await shown_digits(page)
        assert (await cards.verify_code(fresh, signer, time.time())).member_id == me

    await page.click("#close-full")
    await expect(page.locator("#code-full")).to_be_hidden()
    await expect(page.locator("#code-full")).to_have_attribute("data-wake-lock", "released")
    assert await page.evaluate("document.fullscreenElement") is None
    await expect(page.locator("#card #digits")).to_have_text(fresh)  # back on the card

    # Offline: the code greys out, says so, stops counting down, and the printed card's code shows.
    await page.context.set_offline(True)
    await expect(page.locator("#code-lost")).to_have_text("连接已断开")
    await expect(page.locator("#code-block")).to_have_class(re.compile(r"\boffline\b"))
    await expect(page.locator("#countdown")).to_have_text("联网后会立即刷新付款码")
    await expect(page.locator("#fixed-code")).to_be_visible()
    await expect(page.locator("#fixed-code .fixed-note")).to_have_text("仅用于身份识别，不能用积分付款")
    await expect(page.locator("#fixed-qr svg")).to_be_visible()
    # The stale digits would be refused at a till: neither they nor "the cashier can type these" show.
    await expect(page.locator("#digits")).to_be_hidden()
    await expect(page.locator("#digits")).to_have_text("")
    await expect(page.locator(".digits-hint")).to_be_hidden()
    assert fresh.replace(" ", "") not in (await page.locator("body").inner_text()).replace(" ", "")
    await save(page, "owner-card-offline-zh", full_page=True)

    # Back online: a fresh code at once.
    await page.context.set_offline(False)
    await expect(page.locator("#code-lost")).to_be_hidden()
    await expect(page.locator("#fixed-code")).to_be_hidden()
    await expect(page.locator("#countdown")).to_contain_text("秒后刷新")
    await expect(page.locator("#digits")).not_to_have_text(fresh)
    await shown_digits(page)


async def test_the_card_and_its_full_screen_in_english(database, pages: Pages, tmp_path):
    (owner,) = await owners(tmp_path, 1, units=2)
    page = await pages.new(locale="en-US", **PHONE)
    # The owner's saved language comes first once they are in: saved as English, the page
    # follows it (a switch clicked while the saved one is still loading would race with it).
    await Member.update({Member.language: "en"}).where(Member.id == owner)
    await owner_logs_in(page, phone(0), sent="Code sent")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await expect(page.locator("#why")).to_have_text(re.compile(r"^[^\u4e00-\u9fff]+$"))  # reloaded in English
    await shown_digits(page)
    await expect(page.locator(".digits-hint")).to_have_text("If the scan fails, the cashier can type these digits")
    await expect(page.locator("#open-full")).to_have_text("Show full screen")
    await save(page, "owner-card-en", full_page=True)

    await page.click("#open-full")
    await expect(page.locator("#code-full .brightness")).to_have_text("Please turn the screen brightness up")
    await expect(page.locator("#close-full")).to_have_text("Close")
    await page.context.set_offline(True)
    await expect(page.locator("#code-lost")).to_have_text("Connection lost")
    await expect(page.locator("#fixed-code .fixed-note")).to_have_text("For identification only; it cannot pay with points")
    await expect(page.locator("#code-full #digits")).to_be_hidden()
    await expect(page.locator("#code-full .digits-hint")).to_be_hidden()
    await save(page, "owner-card-fullscreen-offline-en")
