"""The owner page names what each survey asks about (issue 18, "My service"): the open
surveys carry the case's title as the owner wrote it, the event's Chinese and English titles,
and nothing for the yearly one; an answered survey is no longer offered. Time stands still at
NOW (2026-06-15 12:00 Beijing)."""

from __future__ import annotations

import pytest

from loyalty import jobs
from loyalty.care import cases, surveys
from tests.events.builders import event, member_client, owners, phone, project_id, staff


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


async def test_open_surveys_name_their_case_event_or_year_and_leave_once_answered(database, settings, frozen, tmp_path):
    [me, other] = await owners(tmp_path, 2)
    desk = await staff("kefu", "service")
    project = await project_id()
    case_id = await cases.open_case(me, "complaint", "卫生间天花板漏水", "雨后天花板渗水。")
    await cases.resolve(case_id, "已更换防水层。", desk)
    seminar = await event(title_zh="装修讲座", title_en="Decoration seminar")
    unnamed = await event(title_zh="业主篮球赛", title_en="")
    await surveys.create_survey(me, "event", seminar, project, "装修讲座")
    await surveys.create_survey(me, "event", unnamed, project, "业主篮球赛")
    await surveys.create_survey(me, "yearly", 2026, project, "")
    await surveys.create_survey(other, "event", seminar, project, "装修讲座")
    async with member_client(database, settings, phone(0)) as http:
        offered = (await http.get("/api/v1/me/surveys")).json()
        named = {(s["kind"], s["subject_id"]): (s["subject_title"], s["subject_title_en"]) for s in offered}
        case_survey = next(s["id"] for s in offered if s["kind"] == "case")
        answered = await http.post(f"/api/v1/me/surveys/{case_survey}/answers", json={"satisfaction": 4})
        after = [(s["kind"], s["subject_id"]) for s in (await http.get("/api/v1/me/surveys")).json()]
    assert named == {
        ("case", case_id): ("卫生间天花板漏水", ""),
        ("event", seminar): ("装修讲座", "Decoration seminar"),
        ("event", unnamed): ("业主篮球赛", ""),
        ("yearly", 2026): ("", ""),
    }
    assert answered.status_code == 204, answered.text
    assert sorted(after) == sorted([("event", seminar), ("event", unnamed), ("yearly", 2026)])


async def test_a_case_survey_never_names_another_owners_case(database, frozen, tmp_path):
    """Another owner's case as a survey's subject (data that should not happen): listed, but
    without their words."""
    [me, other] = await owners(tmp_path, 2)
    theirs = await cases.open_case(other, "complaint", "别人的事", "不该出现在我的问卷里。")
    await surveys.create_survey(me, "case", theirs, None, "")
    [survey] = await surveys.open_surveys(me)
    assert (survey["subject_title"], survey["subject_title_en"]) == ("", "")
