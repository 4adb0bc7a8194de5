"""An owner on a phone: logs in with phone + code and sees the card (tier colour, name, the
rotating QR); the page fetches a new code by itself when the minute ends, and the new code
verifies as the owner's card."""

from __future__ import annotations

import time

import time_machine
from playwright.async_api import expect

from loyalty.cards import codes
from loyalty.cards import service as cards
from loyalty.cards.tables import Card
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.events.builders import owners, phone


async def test_an_owner_logs_in_on_a_phone_and_the_card_qr_rotates_and_verifies(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1, units=2)  # two units: a gold card (金卡)
    card = await Card.select(Card.number, Card.tier).where(Card.member == me).first()
    assert card is not None and card["tier"] == "gold"
    signer = cards.signer_for(pages.server.settings)
    page = await pages.new(**PHONE)
    await page.clock.install()  # the page's timers run on a clock the test can move (the server's is time_machine's)

    await owner_logs_in(page, phone(0))

    await expect(page.locator("#card")).to_have_class("card gold")
    await expect(page.locator("#tier")).to_have_text("金卡")
    await expect(page.locator("#member-name")).to_have_text("业主0")
    number = card["number"]
    await expect(page.locator("#card-number")).to_have_text(f"{number[:4]} **** **** {number[-4:]}")  # masked on screen
    await expect(page.locator("#qr svg")).to_be_visible()
    await expect(page.locator("#countdown")).to_contain_text("秒后刷新")
    first = await page.locator("#qr").get_attribute("data-code")
    assert first, "the QR has no data-code"
    shown = await cards.verify_code(first, signer, time.time())
    assert (shown.member_id, shown.kind, shown.tier) == (me, "dynamic", "gold")
    box = await page.locator("#qr").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the QR does not fit the phone: {box}"

    # The code's window ends: the server's clock moves past it, and the page's own timer
    # (due a second before the minute ends) fires when its clock moves as far.
    with time_machine.travel(time.time() + codes.STEP_SECONDS + 1, tick=False):
        # Every code is a new one-time code (its own nonce): the page shows one of this minute.
        next_step = codes.current_step(time.time())
        await page.clock.fast_forward(codes.STEP_SECONDS * 1000 + 1000)
        await expect(page.locator("#qr")).not_to_have_attribute("data-code", first)
        await expect(page.locator("#qr svg")).to_be_visible()
        expected = await page.locator("#qr").get_attribute("data-code")
        assert expected and signer.open(expected).step == next_step
        renewed = await cards.verify_code(expected, signer, time.time())
        assert (renewed.member_id, renewed.kind) == (me, "dynamic")
        # The first code is refused once its window and the allowed skew are over.
        late = time.time() + (codes.SKEW_STEPS + 1) * codes.STEP_SECONDS
        try:
            await cards.verify_code(first, signer, late)
        except codes.CodeExpired:
            pass
        else:
            raise AssertionError("the first code still verifies after its window")
