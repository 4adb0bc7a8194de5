"""/admin (piccolo-admin, one instance per role) behind the one staff login: a visitor sent from
/admin to the staff login page comes back to /admin logged in. A sales user sees the referral
tables only — the merchant table is neither listed nor reachable — while an admin sees and opens
the merchant pages; logging out on /staff ends /admin too."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from loyalty.merchants import service as merchants
from tests.browser.conftest import Pages
from tests.browser.pages import STAFF_PASSWORD, add_staff

# piccolo-admin warns that its session cookie is not `secure` (the tests serve plain HTTP on loopback).
pytestmark = pytest.mark.filterwarnings("ignore:If running sessions in production:UserWarning")

SALES_TABLES = ["lead", "lead_stage_change", "office_visit", "reward_rule"]


async def admin_login(page: Page, username: str) -> None:
    """Open /admin, be sent to the staff login, log in there, land back in /admin."""
    await page.goto("/admin/")
    await expect(page).to_have_url(re.compile(r"/staff\?next=/admin/$"))
    await page.fill("#username", username)
    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#sign-in")
    await expect(page).to_have_url(re.compile(r"/admin/"))
    await expect(page.locator('a[href^="#/"]').first).to_be_visible()


async def table_links(page: Page) -> list[str]:
    """The tables the admin's pages link to (the sidebar), by name."""
    hrefs = await page.locator('a[href^="#/"]').evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    return sorted({h.strip("#/") for h in hrefs if h.strip("#/")} - {"change-password"})


async def test_a_sales_user_cannot_open_the_merchant_pages_and_an_admin_can(database, pages: Pages):
    await merchants.create_merchant("森林装饰", "decoration")
    await add_staff("sales1", "sales")
    await add_staff("boss", "admin")

    seller = await pages.new()
    await admin_login(seller, "sales1")
    await expect(seller.locator('a[href="#/lead/"]')).to_be_visible()
    assert await table_links(seller) == SALES_TABLES
    await expect(seller.locator('a[href="#/merchant/"]')).to_have_count(0)
    listed = await seller.request.get("/admin/api/tables/")
    assert listed.status == 200 and sorted(await listed.json()) == SALES_TABLES
    for path in ("/admin/api/tables/merchant/", "/admin/api/tables/merchant/schema/", "/admin/api/tables/merchant/1/"):
        refused = await seller.request.get(path)
        assert refused.status == 404, (path, refused.status, await refused.text())
    await seller.goto("/admin/#/merchant/")  # typing the address does not help either
    await expect(seller.get_by_text("森林装饰")).to_have_count(0)
    await expect(seller.locator('a[href="#/lead/"]')).to_be_visible()

    boss = await pages.new()
    await admin_login(boss, "boss")
    await expect(boss.locator('a[href="#/lead/"]')).to_be_visible()
    assert {"merchant", "store", "sale", "member", "event", "audit_entry", *SALES_TABLES} <= set(await table_links(boss))
    await boss.click('a[href="#/merchant/"]')
    await expect(boss.get_by_text("森林装饰")).to_be_visible()
    opened = await boss.request.get("/admin/api/tables/merchant/")
    assert opened.status == 200, await opened.text()
    assert [row["name"] for row in (await opened.json())["rows"]] == ["森林装饰"]
    assert "merchant" in await (await boss.request.get("/admin/api/tables/")).json()


async def test_logging_out_on_the_staff_page_ends_admin_too(database, pages: Pages):
    await add_staff("boss", "admin")
    page = await pages.new()
    await admin_login(page, "boss")
    await page.goto("/staff")
    await page.click("#logout")
    await expect(page.locator("#sign-in")).to_be_visible()
    await page.goto("/admin/")
    await expect(page).to_have_url(re.compile(r"/staff\?next=/admin/$"))
    refused = await page.request.get("/admin/api/tables/")
    assert refused.status == 401
