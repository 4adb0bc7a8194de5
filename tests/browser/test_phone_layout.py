"""Chinese on a 390 px phone: a label or a name is never split across two lines. The points
tab's "30 天内到期" stays on one line and says 到期 once; the referral board keeps each name
(the lead's, the referrer's) on one line, and scrolls sideways by itself, not the whole page."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Locator, Page, expect

from loyalty import clock
from loyalty.points import service as points
from loyalty.points.tables import PointsLot
from loyalty.referrals import service as referrals
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.events.builders import owners, phone, project_id

# How many line boxes an element's text takes (an inline element split over lines has several).
LINES = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
}"""


async def lines(element: Locator) -> int:
    return await element.evaluate(LINES)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"


async def test_the_points_tab_keeps_its_labels_on_one_line(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    await points.earn(me, 5_200, key="seed:soon", source_kind="test")
    await PointsLot.update({PointsLot.expires_on: clock.today() + timedelta(days=20)}).where(PointsLot.member == me)
    page = await pages.new(**PHONE)
    await owner_logs_in(page, phone(0))

    await page.click('[role=tab][data-tab="points"]')

    await expect(page.locator("#points-expiring")).to_contain_text("5,200")
    row = page.locator("#tab-points .row").filter(has=page.locator("#points-expiring"))
    label = row.locator(".label")
    await expect(label).to_have_text("30 天内到期")
    assert await lines(label) == 1
    assert await lines(page.locator("#points-expiring")) == 1
    assert (await row.inner_text()).count("到期") == 1, await row.inner_text()
    await no_sideways_scroll(page)


async def test_the_referral_board_keeps_names_together(database, pages: Pages, tmp_path):
    referrers = await owners(tmp_path, 2)
    project = await project_id()
    for n, referrer in enumerate(referrers):
        await referrals.register_lead(referrer, name=f"欧阳晨曦{n}", phone=f"1390013900{n}", project_id=project)
    await add_staff("sales1", "sales")
    page = await pages.new(**PHONE)

    await staff_logs_in(page, "sales1")

    leads = page.locator("#board .lead")
    await expect(leads).to_have_count(2)
    for lead in await leads.all():
        await expect(lead.locator(".by")).to_contain_text("推荐")
        for part in (lead.locator("strong.name"), lead.locator(".phone"), lead.locator(".by"), lead.locator(".by .name")):
            assert await lines(part) == 1, f"{await part.inner_text()!r} is split across lines"
        assert "推荐人：" not in await lead.inner_text()  # the short form: 业主0推荐
    await no_sideways_scroll(page)
