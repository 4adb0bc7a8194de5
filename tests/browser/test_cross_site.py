"""CSRF in a real browser: a page on another site submits a form to a staff route while a staff
member is logged in in the same browser. Chromium marks the request as cross-site, the app
refuses it before any handler runs, and nothing changes. The staff page itself, on the same
origin, keeps working (every other browser test shows that)."""

from __future__ import annotations

from playwright.async_api import Route, expect

from loyalty.merchants.tables import Merchant
from tests.browser.conftest import Pages
from tests.browser.pages import add_staff, staff_logs_in

EVIL = "http://evil.example"


async def test_a_form_on_another_site_cannot_make_a_logged_in_admin_create_a_merchant(database, pages: Pages):
    await add_staff("boss", "admin")
    page = await pages.new()
    await staff_logs_in(page, "boss")
    target = f"{pages.server.url}/api/v1/staff/merchants"
    # text/plain forms are the classic way to post JSON-looking bodies across sites.
    form = f"""<form id="attack" method="POST" action="{target}" enctype="text/plain">
      <input name='{{"name":"攻击者商户","category":"other","x":"' value='"}}'>
    </form><script>document.getElementById("attack").submit()</script>"""

    async def evil_site(route: Route) -> None:
        await route.fulfill(body=form, content_type="text/html")

    await page.route(f"{EVIL}/**", evil_site)
    answers = []
    page.on("response", lambda response: answers.append(response) if response.url == target else None)
    await page.goto(f"{EVIL}/prize.html")
    await expect(page.locator("body")).to_contain_text("cross-origin-refused")

    assert [answer.status for answer in answers] == [403]
    assert await Merchant.count() == 0
