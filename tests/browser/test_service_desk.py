"""The service desk (/staff#desk, issue 20) as customer service use it, on a phone (390×844) and at a
desk (1280×800), in Chinese and in English: a service-role clerk lands on the queue, where the case
whose reply is three hours late comes first, in red, saying so; opens it (the owner's photo as a
thumbnail, the owner's units and card); replies — after a question saying the owner is told — and
the owner, logged in on their own phone, reads the reply in the service tab; assigns the case to a
colleague and back to themself; marks it major; resolves it after the question that says the owner is
told and asked to rate; records the follow-up call, which closes it. Every action is audited.

Screenshots (with LOYALTY_SCREENSHOTS_DIR=docs/screenshots): desk-*.png."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import ConsoleMessage, Page, expect

from loyalty import clock, jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases
from loyalty.care.tables import Case, OutboxMessage
from loyalty.members.tables import Member
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import add_staff, owner_logs_in, staff_logs_in
from tests.events.builders import owners, phone

# Once, on the engine the club runs (tests/care/test_desk_api.py covers the queue on both).
pytestmark = pytest.mark.postgres_only

DESK_DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SHORT = {"zh-CN": "zh", "en": "en"}
WORDS = {
    "zh-CN": {
        "sent": "验证码已发送", "late": "已超时 3 小时", "reply": "您好，维修师傅明天上午 9 点上门查看漏水。",
        "reply_title": "把这条回复发给业主0？", "assigned_to": "处理人：kefu2", "major": "严重程度：重大",
        "resolve_line": "业主会收到处理结果并被邀请评价", "result": "已更换卫生间上方的水管接头，复查无渗漏。",
        "note": "业主确认不再漏水，对处理满意。", "closes": "工单将就此关闭，无法重新打开。",
    },
    "en": {
        "sent": "Code sent", "late": "Overdue by 3 hours", "reply": "Hello, our plumber will come tomorrow at 9 to look at the leak.",
        "reply_title": "Send this reply to 业主0?", "assigned_to": "Assignee: kefu2", "major": "Severity: Major",
        "resolve_line": "The owner is told the result and asked to rate the handling", "result": "The pipe joint above the bathroom was replaced; no more leaking.",
        "note": "The owner confirms the leak has stopped and is satisfied.", "closes": "This closes the case for good.",
    },
}


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


async def save(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:
            await page.evaluate("window.scrollTo(0, 0)")  # else the sticky header is drawn where the page was scrolled to
        await page.screenshot(path=Path(folder) / f"{name}.png", full_page=full_page)


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (70, 110, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def console_errors(page: Page, errors: list[str]) -> None:
    """Errors the page logs, and refused requests. A 401 before login is how the page learns it
    must log in, and the browser's own favicon request (no page asks for it) is not the page's."""
    def logged(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 401" not in message.text and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", logged)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 401 else None)


async def desk_world(tmp_path: Path, locale: str) -> dict[str, int]:
    """Three owners' cases: one whose reply is 3 hours late (with a photo), one due within the day,
    one fresh; two service clerks."""
    first, second, third = await owners(tmp_path, 3)
    await Member.update({Member.language: locale}).where(Member.id == first)
    now = clock.now()
    fresh = await cases.open_case(third, "inquiry", "车位租赁咨询", "想了解地下车位的租赁价格。", now=now - timedelta(hours=1))
    late = await cases.open_case(first, "repair", "卫生间天花板漏水", "楼上卫生间漏水，天花板有水渍。", now=now - timedelta(hours=51))
    soon = await cases.open_case(second, "complaint", "夜间施工噪音", "隔壁装修晚上十点后还在施工。", now=now - timedelta(hours=40))
    await cases.add_photo(late, first, photo())
    await add_staff("kefu", "service")
    colleague = await add_staff("kefu2", "service")
    return {"late": late, "soon": soon, "fresh": fresh, "colleague": colleague, "owner": first}


async def confirm(page: Page, *, title: str | None = None, line: str | None = None, shot: str | None = None) -> None:
    dialog = page.locator("#confirm")
    await expect(dialog).to_be_visible()
    if title:
        await expect(dialog.locator("h2")).to_have_text(title)
    if line:
        await expect(dialog).to_contain_text(line)
    if shot:
        await save(page, shot)
    await page.click("#confirm-yes")
    await expect(dialog).to_be_hidden()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_service_staff_work_an_overdue_case_from_the_queue_to_the_follow_up(database, pages: Pages, tmp_path, locale):
    world = await desk_world(tmp_path, locale)
    words, short = WORDS[locale], SHORT[locale]
    browser_locale = "en-US" if locale == "en" else locale
    errors: list[str] = []

    # The queue on a phone: the service role lands on it; the late case first, in red.
    page = await pages.new(locale=browser_locale, **PHONE)
    console_errors(page, errors)
    await staff_logs_in(page, "kefu")
    await expect(page.locator("#view-desk")).to_be_visible()
    await expect(page).to_have_url(f"{pages.server.url}/staff#desk")
    rows = page.locator("#desk-list .desk-row")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_have_attribute("data-case", str(world["late"]))
    await expect(rows.nth(1)).to_have_attribute("data-case", str(world["soon"]))
    await expect(rows.nth(0)).to_have_attribute("data-tone", "overdue")
    await expect(rows.nth(1)).to_have_attribute("data-tone", "soon")
    await expect(rows.nth(0).locator(".due")).to_have_text(words["late"])
    assert await rows.nth(0).locator(".due").evaluate("(e) => getComputedStyle(e).color") == "rgb(185, 28, 28)"
    await expect(rows.nth(0)).to_contain_text(f"{phone(0)[:3]}****{phone(0)[-4:]}")
    await expect(rows.nth(0)).not_to_contain_text(phone(0))
    await fits(page, 390)
    await save(page, f"desk-queue-{short}-phone", full_page=True)

    # Filters: a kind that none of the late ones are.
    await page.select_option("#desk-kind", "inquiry")
    await expect(rows).to_have_count(1)
    await expect(rows.nth(0)).to_have_attribute("data-case", str(world["fresh"]))
    await page.select_option("#desk-kind", "")
    await expect(rows).to_have_count(3)

    # The case: the owner's photo as a thumbnail, the owner's context.
    await rows.nth(0).click()
    await expect(page).to_have_url(f"{pages.server.url}/staff#desk/{world['late']}")
    await expect(page.locator("#desk-case")).to_be_visible()
    thumb = page.locator(".desk-thumbs img")
    await expect(thumb).to_be_visible()
    await page.wait_for_function("() => { const img = document.querySelector('.desk-thumbs img'); return img.complete && img.naturalWidth > 0; }")
    await expect(page.locator("#desk-owner .desk-list").first).to_be_visible()  # the units
    await expect(page.locator(".desk-head .due")).to_contain_text(words["late"])
    await fits(page, 390)
    await save(page, f"desk-case-{short}-phone", full_page=True)

    # Reply, after the question.
    await page.fill("#desk-reply", words["reply"])
    await page.click("#desk-send")
    await confirm(page, title=words["reply_title"], shot=f"desk-reply-confirm-{short}-phone")
    await expect(page.locator(".desk-msg.staff")).to_contain_text(words["reply"])
    await expect(page.locator('.desk-head .status[data-status="in_progress"]')).to_be_visible()
    sent = await OutboxMessage.select(OutboxMessage.language).where(
        (OutboxMessage.member == world["owner"]) & (OutboxMessage.template == "care_case_reply")
    )
    assert [m["language"] for m in sent] == [locale]

    # The owner reads it in the service tab of their own app.
    owner = await pages.new(locale=browser_locale, **PHONE)
    console_errors(owner, errors)
    await owner_logs_in(owner, phone(0), sent=words["sent"])
    await owner.click('[role=tab][data-tab="service"]')
    item = owner.locator(f'#svc-cases details[data-case-id="{world["late"]}"]')
    await expect(item).to_be_visible()
    await item.locator("summary").click()
    await expect(item).to_contain_text(words["reply"])

    # Assign to a colleague, then back to me; mark it major.
    await page.select_option("#desk-assign-to", str(world["colleague"]))
    await page.click("#desk-assign")
    await expect(page.locator(".desk-head")).to_contain_text(words["assigned_to"])
    await page.click("#desk-take")
    await expect(page.locator(".desk-head")).to_contain_text("kefu")
    await expect(page.locator("#desk-take")).to_have_count(0)
    await page.select_option("#desk-severity", "major")
    await page.click("#desk-set-severity")
    await expect(page.locator(".desk-head")).to_contain_text(words["major"])

    # Resolve, after the question that says the owner is told and asked to rate.
    await page.fill("#desk-result", words["result"])
    await page.click("#desk-resolve")
    await confirm(page, line=words["resolve_line"], shot=f"desk-resolve-confirm-{short}-phone")
    await expect(page.locator('.desk-head .status[data-status="resolved"]')).to_be_visible()
    await expect(page.locator("#desk-result")).to_have_count(0)

    # The follow-up call closes it.
    await page.fill("#desk-follow-up", words["note"])
    await page.click("#desk-followed-up")
    await confirm(page, line=words["closes"])
    await expect(page.locator('.desk-head .status[data-status="followed_up"]')).to_be_visible()
    await expect(page.locator("#desk-case")).to_contain_text(words["note"])
    await fits(page, 390)
    await save(page, f"desk-case-done-{short}-phone", full_page=True)

    case = await Case.select().where(Case.id == world["late"]).first()
    assert (case["status"], case["severity"], case["result"], case["follow_up_note"]) == ("followed_up", "major", words["result"], words["note"])
    actions = [a["action"] for a in await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.subject_kind == "case") & (AuditEntry.subject_id == world["late"])).order_by(AuditEntry.id)]
    assert actions == ["case.reply", "case.assign", "case.assign", "case.severity", "case.resolve", "case.follow_up"]

    # At a desk: the queue (the handled case now last) and a case's page in two columns.
    wide = await pages.new(locale=browser_locale, **DESK_DESKTOP)
    console_errors(wide, errors)
    await staff_logs_in(wide, "kefu2")
    await expect(wide.locator("#view-desk")).to_be_visible()
    await wide.select_option("#desk-state", "all")
    wide_rows = wide.locator("#desk-list .desk-row")
    await expect(wide_rows).to_have_count(3)
    await expect(wide_rows.nth(2)).to_have_attribute("data-case", str(world["late"]))
    await expect(wide_rows.nth(0)).to_have_attribute("data-case", str(world["soon"]))
    await fits(wide, 1280)
    await save(wide, f"desk-queue-{short}-desktop")
    await wide_rows.nth(0).click()
    await expect(wide.locator("#desk-reply")).to_be_visible()
    await expect(wide.locator("#desk-owner h4").first).to_be_visible()
    await save(wide, f"desk-case-{short}-desktop", full_page=True)
    # The other language keeps the case open (its address names it), in the other words.
    await wide.click("#lang")
    await expect(wide.locator("html")).to_have_attribute("lang", "zh-CN" if locale == "en" else "en")
    await expect(wide).to_have_url(f"{pages.server.url}/staff#desk/{world['soon']}")
    await expect(wide.locator("#desk-reply")).to_be_visible()
    await expect(wide.locator(".desk-head .due")).to_have_text("还剩 8 小时" if locale == "en" else "Due in 8 hours")

    assert errors == [], f"console errors: {errors}"
