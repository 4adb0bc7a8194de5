"""A sales user moves a lead to `signed` on the referral board with one click; the rewards
the rules give are paid to the referrer at once, and the referrer sees them on the owner page.

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


async def test_a_sales_user_signs_a_lead_with_one_click_and_the_referrer_gets_the_points(database, pages: Pages, tmp_path):
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
    await card.locator('button[data-move][data-to="signed"]').click()

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
