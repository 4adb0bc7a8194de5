"""An owner cancels a signup on the phone: the page asks first, saying what is given up (a full
event's seat goes to the next household on the waitlist); keeping the signup changes nothing,
and confirming cancels it and the waitlist's first household gets the seat. Leaving the
waitlist asks too, naming the place given up."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page, expect

from loyalty import clock
from loyalty.events import signups
from loyalty.events.tables import Signup
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import owner_logs_in
from tests.events.builders import event, owners, phone


async def open_event(**overrides) -> int:
    """An event a week ahead, open for signups now, cancellable for five more days."""
    now = clock.now()
    starts = now + timedelta(days=7)
    return await event(
        starts_at=starts, ends_at=starts + timedelta(hours=3), signup_opens_at=now - timedelta(days=1),
        signup_closes_at=now + timedelta(days=6), cancel_deadline=now + timedelta(days=5), **overrides,
    )


async def status(signup_id: int) -> str:
    row = await Signup.select(Signup.status).where(Signup.id == signup_id).first()
    assert row is not None
    return row["status"]


async def events_tab(page: Page, who: int) -> None:
    await owner_logs_in(page, phone(who))
    await page.click('[role=tab][data-tab="events"]')
    await expect(page.locator("#signups .event").first).to_be_visible()


async def test_cancelling_a_seat_at_a_full_event_asks_first_and_the_waitlist_gets_it(database, pages: Pages, tmp_path):
    [me, waiting] = await owners(tmp_path, 2)
    settings = pages.server.settings
    full = await open_event(title_zh="亲子烘焙课", capacity=1)
    [mine] = await signups.sign_up(me, full, settings=settings)
    [theirs] = await signups.sign_up(waiting, full, settings=settings, join_waitlist=True)
    assert (await status(mine), await status(theirs)) == ("confirmed", "waitlisted")
    page = await pages.new(**PHONE)
    cancels: list[str] = []
    page.on("request", lambda r: cancels.append(r.url) if r.url.endswith("/cancellation") else None)
    await events_tab(page, 0)

    ticket = page.locator(f'#signups [data-signup-id="{mine}"]')
    await ticket.locator("button[data-cancel]").click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog.locator("h2")).to_have_text("确定取消「亲子烘焙课」的报名？")
    await expect(dialog).to_contain_text("活动已满员：您的名额将转给下一位候补业主")
    await expect(dialog.locator("#confirm-no")).to_have_text("保留报名")
    await expect(dialog.locator("#confirm-no")).to_be_focused()
    box = await dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the dialog does not fit the phone: {box}"
    await dialog.locator("#confirm-no").click()
    await expect(dialog).to_have_count(0)
    await expect(ticket.locator(".status")).to_have_attribute("data-status", "confirmed")
    assert cancels == [] and await status(mine) == "confirmed"

    await ticket.locator("button[data-cancel]").click()
    await dialog.locator("#confirm-yes").click()
    await expect(ticket.locator(".status")).to_have_attribute("data-status", "cancelled")
    await expect(page.locator("#event-error")).to_have_text("")
    assert len(cancels) == 1
    assert (await status(mine), await status(theirs)) == ("cancelled", "confirmed")  # the seat went to the waitlist


async def test_other_cancellations_say_what_they_give_up(database, pages: Pages, tmp_path):
    """A seat at an event with seats left: it can be taken again. A waitlist place: its number."""
    [me, other] = await owners(tmp_path, 2)
    settings = pages.server.settings
    roomy = await open_event(title_zh="中秋游园", capacity=10)
    full = await open_event(title_zh="亲子烘焙课", capacity=1)
    [seat] = await signups.sign_up(me, roomy, settings=settings)
    await signups.sign_up(other, full, settings=settings)
    [place] = await signups.sign_up(me, full, settings=settings, join_waitlist=True)
    page = await pages.new(**PHONE)
    await events_tab(page, 0)
    dialog = page.locator("dialog#confirm")

    await page.locator(f'#signups [data-signup-id="{seat}"] button[data-cancel]').click()
    await expect(dialog.locator("h2")).to_have_text("确定取消「中秋游园」的报名？")
    await expect(dialog.locator(".confirm-line")).to_have_text(["名额未满时，您可以重新报名。"])
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)

    await page.locator(f'#signups [data-signup-id="{place}"] button[data-cancel]').click()
    await expect(dialog.locator("h2")).to_have_text("确定退出「亲子烘焙课」的候补？")
    await expect(dialog.locator(".confirm-line")).to_have_text(["您将失去候补第 1 位，重新加入需排在最后。"])
    await expect(dialog.locator("#confirm-yes")).to_have_text("退出候补")
    await dialog.locator("#confirm-yes").click()
    await expect(page.locator(f'#signups [data-signup-id="{place}"] .status')).to_have_attribute("data-status", "cancelled")
    assert (await status(seat), await status(place)) == ("confirmed", "cancelled")
