"""The owner import as an admin uses it, on a desktop and on a phone, in Chinese and in English:
the sample owner file chosen, the question before the import (how many rows, which projects, all
or nothing), its progress watched until it is done; then a file with broken rows, whose import
imports nobody and lists each problem as row, column and reason in the reader's language; the
recent imports say who started each, when, and how it ended.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): imports-*.png."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from loyalty.members.tables import Member, OwnerImport
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import STAFF_PASSWORD
from loyalty.identity import service as identity
from tests.members.owner_files import owner_row, write_owner_file

pytestmark = pytest.mark.postgres_only  # a browser flow is slow: once, on the engine the club runs

DOCS = Path(__file__).resolve().parents[2] / "docs"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
CJK = re.compile(r"[\u3400-\u9fff]")
WORDS = {
    "zh-CN": {
        "nav": "业主导入", "sample": "sample-owners.csv", "question": "导入“sample-owners.csv”中的 20 行？",
        "projects": "2 个楼盘：锦澜湾（HZ-JLW，新楼盘）和云杭府（HZ-YHF，新楼盘）",
        "all_or_nothing": "全部成功才导入：只要有一行有误，就一行都不导入，并列出需要修改的行。",
        "done": "已导入", "progress": "已检查 20 / 20 行", "imported": "已导入 20 行。", "failed": "未导入任何数据",
        "nothing": "一行都没有导入。", "phone": "手机号", "date": "签约日期", "who": "王管理",
        "broken_result": "2 个问题，未导入任何数据", "done_result": "已导入 20 行",
    },
    "en": {
        "nav": "Owner import", "sample": "sample-owners.xlsx", "question": "Import 20 rows from “sample-owners.xlsx”?",
        "projects": "2 projects: 锦澜湾 (HZ-JLW, new project) and 云杭府 (HZ-YHF, new project)",
        "all_or_nothing": "All or nothing: if any row is wrong, nothing is imported and the rows to fix are listed.",
        "done": "Imported", "progress": "20 of 20 rows checked", "imported": "Imported: 20 rows.", "failed": "Nothing imported",
        "nothing": "Nothing was imported.", "phone": "Mobile phone", "date": "Contract date", "who": "Wang Admin",
        "broken_result": "2 problems; nothing imported", "done_result": "20 rows imported",
    },
}


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:  # the sticky header at the top, where a person sees it
            await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / f"imports-{name}.png", full_page=full_page)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


@pytest.mark.parametrize("locale, device", [("zh-CN", "desktop"), ("en", "phone"), ("zh-CN", "phone"), ("en", "desktop")])
async def test_an_admin_imports_the_sample_file_watches_it_finish_then_sees_a_broken_files_row_errors(
    database, pages: Pages, tmp_path, locale: str, device: str,
):
    words = WORDS[locale]
    await identity.create_staff("boss", STAFF_PASSWORD, "admin", display_name=words["who"])
    size = DESKTOP if device == "desktop" else PHONE
    width = size["viewport"]["width"]
    tag = f"{'zh' if locale == 'zh-CN' else 'en'}-{device}"
    page = await pages.new(locale="en-US" if locale == "en" else locale, **size)
    await page.goto("/staff#imports")
    await page.fill("#username", "boss")
    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#sign-in")
    await expect(page.locator('#nav [data-view="imports"]')).to_have_text(words["nav"])
    await expect(page.locator("#view-imports")).to_be_visible()
    await expect(page.locator("#imp-list .muted")).to_be_visible()  # nothing imported yet
    await expect(page.locator("#imp-start")).to_be_disabled()

    # The sample file: the page asks first, with the rows and the projects it names.
    await page.set_input_files("#imp-file", str(DOCS / words["sample"]))
    await expect(page.locator("#imp-file-name")).to_have_text(words["sample"])
    await page.click("#imp-start")
    dialog = page.locator("dialog#confirm")
    await expect(dialog.locator("#confirm-title")).to_have_text(words["question"])
    await expect(dialog).to_contain_text(words["projects"])
    await expect(dialog).to_contain_text(words["all_or_nothing"])
    await save(page, f"{tag}-question")
    await dialog.locator("#confirm-no").click()  # going back starts nothing
    await expect(dialog).to_have_count(0)
    assert await OwnerImport.count() == 0

    await page.click("#imp-start")
    await dialog.locator("#confirm-yes").click()
    current = page.locator("#imp-current")
    await expect(current).to_be_visible()
    await expect(page.locator("#imp-current-title")).to_have_text(words["sample"])
    # Polled until it is done: its status, rows checked of the total, what was imported.
    await expect(page.locator("#imp-current-status")).to_have_text(words["done"])
    await expect(page.locator("#imp-progress-words")).to_have_text(words["progress"])
    assert await page.locator("#imp-progress").evaluate("(bar) => [bar.value, bar.max]") == [20, 20]
    await expect(page.locator("#imp-outcome")).to_contain_text(words["imported"])
    await expect(page.locator("#imp-errors table")).to_have_count(0)
    assert await Member.count() > 0
    members = await Member.count()
    await fits(page, width)
    await save(page, f"{tag}-done", full_page=True)

    # A file with broken rows: nothing of it is imported, and each problem is listed.
    broken = write_owner_file(tmp_path / "owners-broken.csv", [
        owner_row(),
        owner_row(name="李强", phone="1391234567", room="1202"),  # a phone one digit short
        owner_row(name="赵敏", phone="13912345678", room="1203", contract_date="2021-13-40"),
    ])
    await page.set_input_files("#imp-file", str(broken))
    await page.click("#imp-start")
    await expect(dialog.locator("#confirm-title")).to_contain_text("3")
    await dialog.locator("#confirm-yes").click()
    await expect(page.locator("#imp-current-title")).to_have_text("owners-broken.csv")
    await expect(page.locator("#imp-current-status")).to_have_text(words["failed"])
    await expect(page.locator("#imp-outcome")).to_contain_text(words["nothing"])
    rows = page.locator("#imp-errors tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator("td").nth(0)).to_have_text("3")
    await expect(rows.nth(0).locator("td").nth(1)).to_have_text(words["phone"])
    await expect(rows.nth(1).locator("td").nth(0)).to_have_text("4")
    await expect(rows.nth(1).locator("td").nth(1)).to_have_text(words["date"])
    for n in range(2):  # the reason in the reader's language
        reason = await rows.nth(n).locator("td").nth(2).inner_text()
        assert reason and bool(CJK.search(reason)) == (locale == "zh-CN"), reason
    assert await Member.count() == members  # the good first row was not imported either
    await fits(page, width)
    await save(page, f"{tag}-errors", full_page=True)

    # The recent imports: newest first, who and how each ended; the first one opens again.
    items = page.locator("#imp-list .imp-item")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("owners-broken.csv")
    await expect(items.nth(0)).to_contain_text(words["broken_result"])
    await expect(items.nth(1)).to_contain_text(words["sample"])
    await expect(items.nth(1)).to_contain_text(words["done_result"])
    for n in range(2):
        await expect(items.nth(n)).to_contain_text(words["who"])
    await items.nth(1).click()
    await expect(page.locator("#imp-current-title")).to_have_text(words["sample"])
    await expect(page.locator("#imp-current-status")).to_have_text(words["done"])
