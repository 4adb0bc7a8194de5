"""A sales user moves a lead to `signed` on the referral board: the board asks first, naming the
lead and the stage (a move is for good), and going back changes nothing; once confirmed, the
rewards the rules give are paid to the referrer at once, and the referrer sees them on the
owner page. Cancelling a lead asks why in the same dialog (the API keeps the reason).

Default reward rules (migrations/referrals, "default referral reward rules"): 200 points to
the referrer at the visit (available at once); at signing 5,000 to the referrer, pending for
30 days, and 2,000 welcome points to the new owner. Moving a registered lead straight to
signed passes the visit too, so the referrer has 200 available and 5,000 pending."""

from __future__ import annotations

from playwright.async_api import expect

from loyalty.points import service as points
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, LeadStageChange
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.events.builders import owners, phone, project_id


async def test_a_sales_user_signs_a_lead_after_confirming_and_the_referrer_gets_the_points(database, pages: Pages, tmp_path):
    [referrer, other] = await owners(tmp_path, 2)
    project = await project_id()
    lead = await referrals.register_lead(referrer, name="王五", phone="13900139001", project_id=project)
    untouched = await referrals.register_lead(other, name="赵六", phone="13900139002", project_id=project)
    await add_staff("sales1", "sales")
    page = await pages.new()
    moves: list[str] = []
    page.on("request", lambda r: moves.append(r.url) if r.method == "POST" and r.url.endswith("/stage") else None)

    await staff_logs_in(page, "sales1")

    board = page.locator("#board")
    card = board.locator(f'.column[data-stage="registered"] .lead[data-lead="{lead["id"]}"]')
    await expect(card).to_contain_text("王五")
    await expect(card).to_contain_text("业主0")  # the referrer
    await expect(board.locator('.column[data-stage="registered"] h3 span').nth(1)).to_have_text("2")

    # The click asks first, in the page's language, naming the lead and the stage.
    await card.locator('button[data-move][data-to="signed"]').click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("h2")).to_have_text("确定将王五移至「已签约」？")
    await expect(dialog.locator("#confirm-yes")).to_have_text("移至「已签约」")
    await expect(dialog.locator("#confirm-reason")).to_have_count(0)  # only a cancellation asks why
    await expect(dialog.locator("#confirm-no")).to_be_focused()  # Enter alone never moves a lead
    await dialog.locator("#confirm-no").click()
    await expect(dialog).to_have_count(0)
    await expect(card).to_be_visible()  # still registered
    await card.locator('button[data-move][data-to="signed"]').click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")  # going back the keyboard's way
    await expect(dialog).to_have_count(0)
    await expect(card).to_be_visible()
    assert moves == []

    await card.locator('button[data-move][data-to="signed"]').click()
    await page.locator("dialog#confirm #confirm-yes").click()

    signed = board.locator(f'.column[data-stage="signed"] .lead[data-lead="{lead["id"]}"]')
    await expect(signed).to_contain_text("王五")
    await expect(board.locator(f'.lead[data-lead="{lead["id"]}"]')).to_have_count(1)
    await expect(signed.locator("button[data-move]")).to_have_count(0)  # nothing follows signed
    await expect(board.locator('.column[data-stage="registered"] h3 span').nth(1)).to_have_text("1")
    await expect(board.locator('.column[data-stage="signed"] h3 span').nth(1)).to_have_text("1")
    await expect(page.locator("#board-error")).to_have_text("")
    assert len(moves) == 1, moves

    row = await Lead.select(Lead.stage, Lead.new_member).where(Lead.id == lead["id"]).first()
    assert row is not None and row["stage"] == "signed" and row["new_member"] is not None
    changes = await LeadStageChange.select(LeadStageChange.from_stage, LeadStageChange.to_stage, LeadStageChange.actor_kind).where(
        LeadStageChange.lead == lead["id"]
    ).order_by(LeadStageChange.id)
    assert [(c["from_stage"], c["to_stage"], c["actor_kind"]) for c in changes] == [
        ("", "registered", "member"), ("registered", "signed", "staff"),
    ]
    assert (await Lead.select(Lead.stage).where(Lead.id == untouched["id"]).first())["stage"] == "registered"
    mine = await points.balance(referrer)
    assert (mine.available, mine.pending) == (200, 5_000)
    welcome = await points.balance(row["new_member"])
    assert (welcome.available, welcome.pending) == (2_000, 0)
    assert (await points.balance(other)).available == 0

    # The referrer, on their phone: the card lifted by the signing, the points, the referral's stage.
    owner = await pages.new(**PHONE)
    await owner_logs_in(owner, phone(0))
    await expect(owner.locator("#card")).to_have_class("card silver")  # one signed referral: blue → silver
    await owner.click('[role=tab][data-tab="points"]')
    await expect(owner.locator("#points-available")).to_have_text("200")
    await expect(owner.locator("#points-pending")).to_have_text("5,000")
    await owner.click('[role=tab][data-tab="referrals"]')
    await expect(owner.locator("#referrals")).to_contain_text("王五")
    await expect(owner.locator("#referrals .status")).to_have_text("已签约")


async def test_cancelling_a_lead_asks_why_and_keeps_the_reason(database, pages: Pages, tmp_path):
    """The board's Cancel: the dialog names the lead and asks for the reason the API requires
    (at least 2 characters; the button waits for them); the lead is cancelled with that reason."""
    [referrer] = await owners(tmp_path, 1)
    lead = await referrals.register_lead(referrer, name="王五", phone="13900139001", project_id=await project_id())
    await add_staff("sales1", "sales")
    page = await pages.new()

    await staff_logs_in(page, "sales1")

    card = page.locator(f'#board .column[data-stage="registered"] .lead[data-lead="{lead["id"]}"]')
    await card.locator('button[data-move][data-to="cancelled"]').click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog.locator("h2")).to_have_text("确定取消王五的推荐？")
    await expect(dialog.locator(".confirm-line")).to_have_text(["已发放的认购、签约奖励将被收回。取消后无法恢复。"])
    reason = dialog.locator("#confirm-reason")
    await expect(reason).to_be_focused()
    await expect(dialog.locator("#confirm-yes")).to_be_disabled()
    await reason.fill("客")  # one character: not a reason yet
    await expect(dialog.locator("#confirm-yes")).to_be_disabled()
    await reason.fill("客户已在别处购房")
    await dialog.locator("#confirm-yes").click()

    cancelled = page.locator(f'#board .column[data-stage="cancelled"] .lead[data-lead="{lead["id"]}"]')
    await expect(cancelled).to_contain_text("王五")
    await expect(page.locator("#board-error")).to_have_text("")
    row = await Lead.select(Lead.stage, Lead.cancel_reason).where(Lead.id == lead["id"]).first()
    assert row == {"stage": "cancelled", "cancel_reason": "客户已在别处购房"}


async def test_english_board_asks_in_english(database, pages: Pages, tmp_path):
    [referrer] = await owners(tmp_path, 1)
    lead = await referrals.register_lead(referrer, name="王五", phone="13900139001", project_id=await project_id())
    await add_staff("sales1", "sales")
    page = await pages.new(locale="en-US")

    await staff_logs_in(page, "sales1")

    card = page.locator(f'#board .lead[data-lead="{lead["id"]}"]')
    await card.locator('button[data-move][data-to="visited"]').click()
    dialog = page.locator("dialog#confirm")
    await expect(dialog.locator("h2")).to_have_text("Move 王五 to “Visited”?")
    await expect(dialog.locator("#confirm-no")).to_have_text("Go back")
    await dialog.locator("#confirm-yes").click()
    await expect(page.locator(f'#board .column[data-stage="visited"] .lead[data-lead="{lead["id"]}"]')).to_be_visible()
