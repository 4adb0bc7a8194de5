"""My service (issue 18): on a phone, an owner files a complaint with a photo, follows its
48-hour clock, reads the care desk's reply (sent through the staff API by a service-role
account), adds a message, sees the outcome once staff resolve it, and answers the survey that
follows; in English, a late case and the yearly survey. Another owner gets 404 for the photo.
The form's problems are shown next to their fields, in the page's language.

With LOYALTY_SCREENSHOTS_DIR set (docs/screenshots), the run saves the tab's pictures."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import Locator, Page, expect

from loyalty.members.tables import Member
from loyalty import clock
from loyalty.care import cases, surveys
from loyalty.care.tables import Case, CasePhoto, Survey
from tests.browser.conftest import PHONE, Pages
from tests.browser.pages import STAFF_PASSWORD, add_staff, owner_logs_in
from tests.browser.words import Reader, data_names
from tests.events.builders import owners, phone, project_id

TITLE = "卫生间天花板漏水"
TEXT = "下雨后主卫天花板渗水，已经滴到地上。"
REPLY = "您好，物业工程部明天上午十点上门查看。"
MINE = "好的，明天上午家里有人。"
RESULT = "已更换楼上卫生间防水层，复查无渗漏。"
PHOTO_NAME = "漏水照片.png"
TYPED = {TITLE, TEXT, REPLY, MINE, RESULT, PHOTO_NAME, "说明.txt"}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def save(page: Page, name: str, element: Locator | None = None, **options: Any) -> None:
    """The phone's screen, or one `element` of it (the whole of a long case thread)."""
    folder = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    if folder:
        await page.evaluate("document.fonts.ready.then(() => true)")
        if element is not None:  # the sticky header would be stitched into a long element's picture
            await page.evaluate("document.querySelector('header').style.position = 'static'")
        await (element or page).screenshot(path=Path(folder) / f"{name}.png", **options)


async def service_tab(page: Page) -> None:
    await page.click('[role=tab][data-tab="service"]')
    await expect(page.locator("#tab-service")).to_be_visible()
    await expect(page.locator("#svc-cases > *").first).to_be_visible()


async def tabs_fit(page: Page) -> None:
    """The five tabs sit in one row on the phone, each word whole inside its button."""
    boxes = await page.locator("nav.tabs button").evaluate_all(
        "(tabs) => tabs.map((t) => ({right: t.getBoundingClientRect().right, top: t.getBoundingClientRect().top,"
        " fits: t.scrollWidth <= t.clientWidth && t.scrollHeight <= t.clientHeight}))"
    )
    assert len(boxes) == 5
    assert all(b["fits"] for b in boxes), boxes
    assert len({round(b["top"]) for b in boxes}) == 1 and max(b["right"] for b in boxes) <= 390, boxes


async def staff_desk(base_url: str) -> httpx.AsyncClient:
    """The care desk: a service-role account logged in to the staff API of the running app."""
    await add_staff("kefu", "service")
    http = httpx.AsyncClient(base_url=base_url)
    response = await http.post("/api/v1/auth/staff-sessions", json={"username": "kefu", "password": STAFF_PASSWORD})
    assert response.status_code == 201, response.text
    return http


async def test_an_owner_files_a_complaint_with_a_photo_follows_the_reply_and_the_outcome_and_answers_the_survey(
    database, pages: Pages, tmp_path
):
    await owners(tmp_path, 2)
    reader = Reader("zh-CN", await data_names() | TYPED)
    page = await pages.new(**PHONE)
    await owner_logs_in(page, phone(0))
    await tabs_fit(page)
    await page.click('[role=tab][data-tab="service"]')
    await expect(page.locator("#svc-cases")).to_contain_text("暂无记录")

    # Nothing typed: each problem next to its field, nothing filed.
    await page.click("#svc-send")
    await expect(page.locator("#svc-title-error")).to_have_text("请用一句话说明是什么事")
    await expect(page.locator("#svc-text-error")).to_have_text("请描述具体情况")
    # A file that is no picture is named before anything is sent.
    await page.set_input_files("#svc-photos", files=[{"name": "说明.txt", "mimeType": "text/plain", "buffer": b"not a picture"}])
    await expect(page.locator("#svc-photo-error")).to_contain_text("「说明.txt」不是支持的图片格式")
    await reader.read(page, "the service form, its problems")
    assert await Case.count() == 0

    await page.select_option("#svc-kind", "complaint")
    await expect(page.locator("#svc-kind option:checked")).to_have_text("投诉")
    await page.fill("#svc-title", TITLE)
    await page.fill("#svc-text", TEXT)
    await page.set_input_files("#svc-photos", files=[{"name": PHOTO_NAME, "mimeType": "image/png", "buffer": png()}])
    await expect(page.locator("#svc-previews img")).to_have_count(1)
    await expect(page.locator("#svc-photo-error")).to_have_text("")
    await reader.read(page, "the service form, filled in")
    await save(page, "owner-service-form-zh", element=page.locator("#svc-form"))

    await page.click("#svc-send")
    await expect(page.locator("#svc-done")).to_contain_text("已提交。我们将在")
    await expect(page.locator("#svc-title-error")).to_have_text("")
    await expect(page.locator("#svc-title")).to_have_value("")
    [filed] = await Case.select().where(Case.title == TITLE)
    assert (filed["kind"], filed["text"]) == ("complaint", TEXT)
    [photo] = await CasePhoto.select(CasePhoto.id, CasePhoto.content_type).where(CasePhoto.case == filed["id"])
    assert photo["content_type"] == "image/png"

    item = page.locator(f'#svc-cases details[data-case-id="{filed["id"]}"]')
    await expect(item.locator(".status")).to_have_text("待回复")
    await expect(item.locator(".clock.running")).to_contain_text(re.compile(r"前答复 · 还剩 4[78] 小时"))
    thumb = item.locator(f'img[data-photo="{photo["id"]}"]')
    await expect(thumb).to_be_visible()  # the new case opens, its photo shown
    assert await thumb.evaluate("(img) => img.complete && img.naturalWidth") == 64
    await reader.read(page, "the service tab, a case just filed")

    # Another owner: neither the case nor its photo exists for them.
    stranger = await pages.new(**PHONE)
    await owner_logs_in(stranger, phone(1))
    assert (await stranger.request.get(f"/api/v1/me/cases/{filed['id']}/photos/{photo['id']}")).status == 404
    assert (await stranger.request.get(f"/api/v1/me/cases/{filed['id']}")).status == 404
    assert (await page.request.get(f"/api/v1/me/cases/{filed['id']}/photos/{photo['id']}")).status == 200

    desk = await staff_desk(pages.server.url)
    try:
        replied = await desk.post(f"/api/v1/staff/cases/{filed['id']}/messages", json={"text": REPLY})
        assert replied.status_code == 201, replied.text

        await page.click('[role=tab][data-tab="card"]')
        await service_tab(page)
        await expect(item.locator(".status")).to_have_text("处理中")
        await expect(item.locator(".clock.done")).to_contain_text("答复")
        await expect(item.locator(".msg.theirs .who")).to_contain_text("客服 · ")
        await expect(item.locator(".msg.theirs .text")).to_have_text(REPLY)
        await page.fill(f"#svc-reply-{filed['id']}", MINE)
        await item.locator("button[data-svc-reply]").click()
        await expect(item.locator(".msg.mine .text").last).to_have_text(MINE)

        resolved = await desk.post(f"/api/v1/staff/cases/{filed['id']}/resolution", json={"result": RESULT})
        assert resolved.status_code == 204, resolved.text
    finally:
        await desk.aclose()

    await page.click('[role=tab][data-tab="card"]')
    await service_tab(page)
    await expect(item.locator(".status")).to_have_text("已处理")
    await expect(item.locator(".outcome strong")).to_have_text("处理结果")
    await expect(item.locator(".outcome div")).to_have_text(RESULT)
    await expect(item.locator(".clock.done").last).to_contain_text("处理完毕")
    await reader.read(page, "the service tab, a resolved case")
    await save(page, "owner-service-case-zh", element=page.locator("#svc-cases").locator(".."))

    survey = page.locator("#svc-surveys .survey[data-survey-id]")
    await expect(survey).to_have_count(1)
    await expect(survey.locator("strong")).to_have_text(f"您对「{TITLE}」的处理满意吗？")
    await survey.locator("button[data-svc-answer]").click()  # no score: refused, said next to the question
    await expect(survey.locator('[data-error="satisfaction"]')).not_to_be_empty()
    await reader.read(page, "the survey, a score missing")
    await survey.locator('[data-question="satisfaction"] label.score', has_text="4").click()
    await survey.locator('[data-question="recommend"] label.score', has_text="9").click()
    await survey.locator("textarea").fill("上门很及时")
    await save(page, "owner-service-survey-zh", element=page.locator("#svc-surveys-panel"))
    await survey.locator("button[data-svc-answer]").click()
    await expect(page.locator("#svc-surveys [data-thanked]")).to_have_text("感谢您的评价，我们已收到！")
    await expect(survey).to_have_count(0)
    [answer] = await Survey.select().where((Survey.kind == "case") & (Survey.subject_id == filed["id"]))
    assert (answer["satisfaction"], answer["recommend"], answer["comment"]) == (4, 9, "上门很及时")
    await page.click('[role=tab][data-tab="card"]')
    await page.click('[role=tab][data-tab="service"]')  # answered: no longer offered
    await expect(item).to_be_visible()
    await expect(page.locator("#svc-surveys-panel")).to_be_hidden()
    reader.assert_none()


async def test_in_english_a_late_case_says_so_and_the_yearly_survey_is_answered(database, pages: Pages, tmp_path):
    [me] = await owners(tmp_path, 1)
    late = await cases.open_case(me, "repair", "Front door lock sticks", "The lock of the front door sticks.",
                                 now=clock.now() - timedelta(hours=50))
    await surveys.create_survey(me, "yearly", 2026, await project_id(), "")
    reader = Reader("en", await data_names() | {"Front door lock sticks", "The lock of the front door sticks."})
    page = await pages.new(locale="en-US", **PHONE)
    await Member.update({Member.language: "en"}).where(Member.id == me)  # the owner's saved language
    await owner_logs_in(page, phone(0), sent="Code sent")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await tabs_fit(page)
    await service_tab(page)

    item = page.locator(f'#svc-cases details[data-case-id="{late}"]')
    await expect(item.locator(".status")).to_have_text("Waiting for a reply")
    await expect(item.locator(".clock.overdue")).to_contain_text("We should have replied by")
    survey = page.locator("#svc-surveys .survey[data-survey-id]")
    await expect(survey.locator("strong")).to_have_text("Our 2026 satisfaction survey")
    await expect(survey.locator("fieldset legend")).to_have_text([
        "Planning and design", "Sales service", "Construction quality", "Customer service", "Property management",
        "How likely are you to recommend us to friends and family?",
    ])
    await survey.locator('[data-question="construction_quality"] label.score', has_text="5").click()
    await survey.locator('[data-question="property_management"] label.score', has_text="3").click()
    await page.fill("#svc-title", "A")  # a form half filled: its problem in English next to the field
    await page.click("#svc-send")
    await expect(page.locator("#svc-text-error")).to_have_text("Tell us what happened")
    await reader.read(page, "the service tab in English")
    await save(page, "owner-service-en", element=page.locator("#tab-service"))
    await survey.locator("button[data-svc-answer]").click()
    await expect(page.locator("#svc-surveys [data-thanked]")).to_have_text("Thank you! We have your answers to “Our 2026 satisfaction survey”.")
    [answer] = await Survey.select().where((Survey.member == me) & (Survey.kind == "yearly"))
    assert (answer["construction_quality"], answer["property_management"], answer["planning_design"]) == (5, 3, None)
    assert answer["answered_at"] is not None
    reader.assert_none()
