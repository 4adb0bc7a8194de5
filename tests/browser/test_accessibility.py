"""The staff pages pass axe-core's scan (tests/browser/axe.py): the login screen, then every view an
admin reaches from the staff nav — the links found on the page, so a view added later is scanned too —
at phone and desktop size, with records in them (test_dashboards_page's world: owners, a referral, an
event with its signups, a sale, surveys). Any "serious" or "critical" violation fails the test, each
named with its rule, its element and axe's summary."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import scan
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import STAFF_PASSWORD, add_staff
from tests.browser.test_dashboards_page import build_world

pytestmark = pytest.mark.sqlite_only  # what is drawn does not depend on the database


async def settled(page: Page) -> None:
    """The view has drawn what it loads: no request under way, no "loading" left."""
    await page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_every_staff_view_and_the_login_pass_the_accessibility_scan(database, pages: Pages, tmp_path, device):
    await build_world(tmp_path, pages.server.settings, pages.server.url)
    await add_staff("boss", "admin")
    page = await pages.new(**(PHONE if device == "phone" else {}))
    found: list[str] = []

    await page.goto("/staff")
    await expect(page.locator("#login")).to_be_visible()
    found += await scan(page, f"{device} login")
    await page.fill("#username", "boss")
    await page.fill("#password", "wrong password 1")
    await page.click("#sign-in")
    await expect(page.locator("#login-error")).not_to_be_empty()
    found += await scan(page, f"{device} login refused")

    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#sign-in")
    await expect(page.locator("#nav")).to_be_visible()
    views = await page.locator("#nav a[data-view]:visible").evaluate_all("(links) => links.map((a) => a.dataset.view)")
    assert len(views) >= 8, views  # an admin reaches every view
    for view in views:
        await page.click(f'#nav a[data-view="{view}"]')
        await expect(page.locator(f"#view-{view}")).to_be_visible()
        await settled(page)
        found += await scan(page, f"{device} #{view}")
    # What opens over a view: a form, and the question asked before a move that cannot be undone.
    await page.click('#nav a[data-view="rewards"]')
    await page.click("#cat-new")
    await expect(page.locator("#cat-form")).to_be_visible()
    found += await scan(page, f"{device} #rewards, a new reward's form")
    await page.click('#nav a[data-view="referrals"]')
    await page.locator('#board .lead button[data-to="cancelled"]').first.click()
    await expect(page.locator("dialog[open], [role=dialog]").first).to_be_visible()
    found += await scan(page, f"{device} #referrals, the question before cancelling a lead")
    assert found == [], "\n".join(found)


async def test_the_scan_finds_what_it_should(database, pages: Pages):
    """The scan is live: a button without a name and grey-on-grey words are reported."""
    page = await pages.new()
    await page.goto("/staff")
    await expect(page.locator("#login")).to_be_visible()
    assert await scan(page, "clean") == []
    await page.evaluate("""() => {
      const b = document.createElement("button"); b.id = "nameless"; document.querySelector("#login").append(b);
      const p = document.createElement("p"); p.id = "faint"; p.textContent = "淡灰色的字"; p.style.color = "#d1d5db";
      document.querySelector("#login").append(p);
    }""")
    found = await scan(page, "broken")
    assert any("button-name (critical): #nameless" in line for line in found), found
    assert any("color-contrast (serious): #faint" in line for line in found), found
