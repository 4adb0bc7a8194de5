"""What the staff pages offer before and after login: nothing but the login (and the language
switch) before it; after it, each role only the views it may use. A view a role may not use
is neither linked nor opened by its address, and should the server still refuse one (a role
changed since the page opened), the page says why in words rather than showing an empty view."""

from __future__ import annotations

import re

from playwright.async_api import expect

from loyalty.identity.tables import StaffAccount
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in

# The views each role may use besides admin (the API's guards: admin every one).
VIEW_ROLES = {
    "referrals": {"sales"}, "scanner": {"event_staff"}, "counter": {"service"}, "desk": {"service"},
    "visits": {"service"}, "kpis": {"service"}, "rewards": set(), "dashboards": {"sales", "event_staff", "service"},
    "messages": set(), "events": {"event_staff"},
    "repairs": {"service"},
    "tiers": {"sales", "service"},
    "members": {"sales", "service"},
    "imports": set(),
    "staff": set(),
    "merchants": set(),
}
VIEWS = tuple(VIEW_ROLES)
ALLOWED = {"admin": set(VIEWS)} | {
    role: {view for view, roles in VIEW_ROLES.items() if role in roles} for role in ("sales", "event_staff", "service")
}
PREFERRED = {"sales": "referrals", "event_staff": "scanner", "service": "desk", "admin": "dashboards"}


async def test_the_login_screen_shows_no_links_and_no_log_out(database, pages: Pages):
    for options in ({}, PHONE):  # the desktop header and the phone's
        page = await pages.new(**options)
        await page.goto("/staff")
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#nav")).to_be_hidden()
        await expect(page.locator("#logout")).to_be_hidden()
        await expect(page.get_by_text("退出登录")).to_be_hidden()
        for view in VIEWS:
            await expect(page.locator(f'#nav a[data-view="{view}"]')).to_be_hidden()
        await expect(page.locator("#lang")).to_be_visible()  # the language can be chosen before login


async def test_each_role_sees_only_its_views(database, pages: Pages):
    for role, allowed in ALLOWED.items():
        await add_staff(f"{role}1", role)
        page = await pages.new()
        await staff_logs_in(page, f"{role}1")
        for view in VIEWS:
            link = page.locator(f'#nav a[data-view="{view}"]')
            if view in allowed:
                await expect(link).to_be_visible()
            else:
                await expect(link).to_be_hidden()
        await expect(page.locator("#logout")).to_have_text("退出登录")
        own = page.locator(".view:not([hidden])")  # the role's own view, with nothing in the address
        await expect(own).to_have_count(1)
        await expect(own).to_have_id(f"view-{PREFERRED[role]}")
        # Typing the address of a view the role may not use opens the role's own view instead.
        for view in set(VIEWS) - allowed:
            await page.goto(f"/staff#{view}")
            await expect(page.locator("#nav")).to_be_visible()
            await expect(page.locator(f"#view-{view}")).to_be_hidden()
            await expect(page).not_to_have_url(re.compile(f"#{view}$"))
            shown = page.locator(".view:not([hidden])")
            await expect(shown).to_have_count(1)
            assert (await shown.get_attribute("id") or "").removeprefix("view-") in allowed


async def test_a_view_the_server_refuses_says_why(database, pages: Pages):
    """The door scanner opened by an event-staff member whose role has since become sales: the
    server refuses its events, and the page shows the refusal (its detail, in the page's words)."""
    staff_id = await add_staff("door1", "event_staff")
    page = await pages.new()
    await staff_logs_in(page, "door1", "/staff#dashboards")
    await StaffAccount.update({StaffAccount.role: "sales"}).where(StaffAccount.id == staff_id)

    await page.click('#nav a[data-view="scanner"]')

    await expect(page.locator("#view-scanner")).to_be_visible()
    # The role it needs and the role this one has, in words.
    await expect(page.locator("#scan-error")).to_have_text("此操作需要「活动工作人员」角色，您当前的角色是「销售」。")
