"""Staff accounts as an admin manages them, on a desktop and on a phone, in Chinese and in English:
a new customer-service account with a one-time password shown once; its owner logs in with it in
another browser; the admin switches the account off after a question that says what happens, and
the other browser's open page is refused at its next click; the admin's own demotion, as the last
administrator, is refused in words.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): staff-accounts-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.audit.tables import AuditEntry
from loyalty.identity.tables import StaffAccount
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, staff_logs_in

pytestmark = pytest.mark.postgres_only  # a browser flow is slow: once, on the engine the club runs

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
WORDS = {
    "zh-CN": {
        "nav": "员工账号", "name": "李伟", "service": "客服", "admin": "管理员", "sales": "销售", "active": "在职",
        "deactivated": "已停用", "never": "从未登录", "you": "（本人）", "deactivate_q": "停用 李伟 的账号？",
        "deactivate_line": "其所有手机和电脑上的登录会立即退出，并且无法再登录。其以往的操作记录会保留。",
        "last_admin": "这是最后一个在职的管理员账号：请先把另一个账号设为管理员，以便仍有人能管理员工。",
        "secret": "李伟（li.wei）的一次性密码：",
    },
    "en": {
        "nav": "Staff accounts", "name": "Li Wei", "service": "Customer service", "admin": "Administrator", "sales": "Sales",
        "active": "Active", "deactivated": "Deactivated", "never": "Never logged in", "you": "(you)",
        "deactivate_q": "Deactivate Li Wei?",
        "deactivate_line": "They are logged out at once on every phone and computer, and can no longer log in. Their past work stays on record.",
        "last_admin": "This is the last active administrator account: make another account an administrator first, so that "
                      "someone can still manage staff.",
        "secret": "One-time password for Li Wei (li.wei):",
    },
}


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:  # the sticky header at the top, where a person sees it
            await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"staff-accounts-{name}.png", full_page=full_page)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


@pytest.mark.parametrize("locale, device", [("zh-CN", "desktop"), ("en", "phone"), ("zh-CN", "phone"), ("en", "desktop")])
async def test_an_admin_adds_a_staff_member_with_a_one_time_password_and_deactivates_them(
    database, pages: Pages, locale: str, device: str,
):
    words = WORDS[locale]
    boss = await add_staff("boss", "admin")
    await add_staff("seller", "sales")
    size = DESKTOP if device == "desktop" else PHONE
    width = size["viewport"]["width"]
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"
    browser_locale = "en-US" if locale == "en" else locale

    admin = await pages.new(locale=browser_locale, **size)
    await staff_logs_in(admin, "boss", "/staff#staff")
    await expect(admin.locator('#nav [data-view="staff"]')).to_have_text(words["nav"])
    listed = admin.locator("#sa-list .sa-item")
    await expect(listed).to_have_count(2)
    mine = admin.locator('.sa-item[data-username="boss"]')
    await expect(mine).to_contain_text(words["you"])
    await expect(mine.locator(".sa-role")).to_have_text(words["admin"])
    await expect(admin.locator('.sa-item[data-username="seller"]')).to_contain_text(words["never"])

    # A new account: username, name, role; no password typed, so a one-time one, shown once.
    await admin.fill("#sa-username", "li.wei")
    await admin.fill("#sa-name", words["name"])
    await admin.select_option("#sa-role", "service")
    await admin.click("#sa-create")
    await expect(admin.locator("#sa-secret")).to_be_visible()
    await expect(admin.locator("#sa-secret")).to_contain_text(words["secret"])
    password = (await admin.locator("#sa-secret-code").inner_text()).strip()
    assert len(password) >= 10
    account = admin.locator('.sa-item[data-username="li.wei"]')
    await expect(account.locator(".sa-role")).to_have_text(words["service"])
    await expect(account.locator(".status")).to_have_text(words["active"])
    await fits(admin, width)
    await save(admin, f"{tag}-created", full_page=True)
    await admin.click("#sa-secret-done")
    await expect(admin.locator("#sa-secret")).to_be_hidden()

    # Its owner logs in with it, elsewhere.
    theirs = await pages.new(locale=browser_locale, **size)
    await staff_logs_in(theirs, "li.wei", "/staff#desk", password=password)
    await expect(theirs.locator("#view-desk")).to_be_visible()

    # Switched off, after a question that says what happens; their open page is refused at once.
    await account.locator('button[data-act="deactivate"]').click()
    dialog = admin.locator("dialog#confirm")
    await expect(dialog.locator("#confirm-title")).to_have_text(words["deactivate_q"])
    await expect(dialog).to_contain_text(words["deactivate_line"])
    await save(admin, f"{tag}-deactivate-question")
    await dialog.locator("#confirm-yes").click()
    await expect(account.locator(".status")).to_have_text(words["deactivated"])
    await expect(account.locator('button[data-act="deactivate"]')).to_have_count(0)
    await theirs.click('#nav a[data-view="dashboards"]')  # their next click, on the page still open
    await expect(theirs.locator("#login")).to_be_visible()
    await fits(admin, width)
    await save(admin, f"{tag}-deactivated", full_page=True)

    # The last administrator cannot make themselves anything else: said in words, nothing changed.
    await mine.locator(f'select[data-role-for="{boss}"]').select_option("sales")
    await mine.locator('button[data-act="role"]').click()
    await dialog.locator("#confirm-yes").click()
    await expect(admin.locator("#sa-error")).to_have_text(words["last_admin"])
    await expect(mine.locator(".sa-role")).to_have_text(words["admin"])
    assert await StaffAccount.select(StaffAccount.role).where(StaffAccount.id == boss).first() == {"role": "admin"}
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).where(
        AuditEntry.subject_kind == "staff_account"
    ).order_by(AuditEntry.id)]
    assert actions[-2:] == ["staff.create", "staff.deactivate"]
