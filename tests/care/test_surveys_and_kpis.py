"""Satisfaction surveys and the KPIs they feed (issue 9, DESIGN.md "Care").

Surveys: one per attended signup after an event ends (not for no-shows, absentees or
cancellations), one per resolved case, and from December 1st one yearly survey per owner;
each answered once, with scores checked (event/case: satisfaction 1–5; yearly: at least one
of the five dimensions 1–5; recommend 0–10 optional).

KPIs (`loyalty.care.kpis.kpis`, `GET /api/v1/staff/kpis`) on small data sets whose numbers
are worked out by hand in the comments: satisfaction rate, NPS, reply on time, follow-up
rate, referral share of new buyers; per project and month (Beijing time) plus a totals row.
Time stands still at NOW (2026-06-15 12:00 Beijing).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from loyalty import jobs
from loyalty.care import cases, kpis, surveys
from loyalty.care.tables import OutboxMessage, Survey
from loyalty.clock import LOCAL_ZONE
from loyalty.errors import InvalidField
from loyalty.events import checkin, signups
from loyalty.members.tables import Member, Ownership
from tests.events.builders import (
    NOW,
    event,
    member_client,
    owners,
    phone,
    project_id,
    staff,
    staff_client,
)
from tests.members_builders import import_rows
from tests.referrals import builders as referral_world

STARTS = NOW + timedelta(days=7)  # the default event of tests/events/builders.py
ENDS = STARTS + timedelta(hours=3)
SECOND = timedelta(seconds=1)
JUNE = (date(2026, 6, 1), date(2026, 6, 30))
SECOND_PROJECT = "HZ-XH"


@pytest.fixture(autouse=True)
def job_settings(settings):
    """Jobs called directly (not through an app) run with this test's settings."""
    jobs.configure(settings)


def beijing(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime.combine(date(y, m, d), time(hh, mm), LOCAL_ZONE)


def field_of(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def surveys_of(kind: str) -> list[tuple[int, int, int | None]]:
    rows = await Survey.select(Survey.member, Survey.subject_id, Survey.project).where(Survey.kind == kind).order_by(Survey.member)
    return [(r["member"], r["subject_id"], r["project"]) for r in rows]


async def invitations(template: str) -> list[dict[str, Any]]:
    return await OutboxMessage.select().where(OutboxMessage.template == template).order_by(OutboxMessage.id).output(load_json=True)


# --- surveys after events --------------------------------------------------------------------


async def test_after_an_event_ends_each_attendee_gets_one_survey_and_nobody_else_does(database, settings, frozen, tmp_path, signer):
    first, second, absent, late_no_show, cancelled = await owners(tmp_path, 5)
    event_id = await event()
    signed = {m: (await signups.sign_up(m, event_id, settings=settings))[0] for m in (first, second, absent, late_no_show, cancelled)}
    await signups.cancel(cancelled, signed[cancelled], settings=settings)
    frozen.move_to(STARTS - timedelta(minutes=30))
    for member in (first, second):
        answer = await checkin.check_in(event_id, signer.sign("ticket", signed[member]), gate="东门", signer=signer)
        assert answer.result == "checked_in"

    frozen.move_to(ENDS - SECOND)
    before_the_end = await surveys.send_due_surveys()
    frozen.move_to(ENDS)
    at_the_end = await surveys.send_due_surveys()  # `absent` and `late_no_show` are still "confirmed"
    await signups.mark_no_shows()
    frozen.move_to(ENDS + timedelta(hours=1))
    after_no_shows = await surveys.send_due_surveys()
    frozen.move_to(ENDS + timedelta(days=2))
    again = await surveys.send_due_surveys()

    assert (before_the_end, at_the_end, after_no_shows, again) == (0, 2, 0, 0)
    assert await surveys_of("event") == [(first, event_id, None), (second, event_id, None)]
    sent = await invitations("survey_event")
    assert sorted(m["member"] for m in sent) == [first, second]
    assert {m["kind"] for m in sent} == {"survey"}
    assert sorted(m["payload"]["survey_id"] for m in sent) == [r["id"] for r in await Survey.select(Survey.id).order_by(Survey.id)]
    async with member_client(database, settings, phone(0)) as me, member_client(database, settings, phone(2)) as absentee:
        mine = (await me.get("/api/v1/me/surveys")).json()
        theirs = (await absentee.get("/api/v1/me/surveys")).json()
    assert [(s["kind"], s["subject_id"], s["questions"]) for s in mine] == [("event", event_id, ["satisfaction", "recommend", "comment"])]
    assert theirs == []


async def test_an_event_that_ended_more_than_a_week_ago_gets_no_surveys(database, settings, frozen, tmp_path, signer):
    (member,) = await owners(tmp_path, 1)
    event_id = await event()
    [signup_id] = await signups.sign_up(member, event_id, settings=settings)
    frozen.move_to(STARTS)
    await checkin.check_in(event_id, signer.sign("ticket", signup_id), gate="东门", signer=signer)

    frozen.move_to(ENDS + surveys.EVENT_SURVEY_WINDOW)
    assert await surveys.send_due_surveys() == 0
    frozen.move_to(ENDS + surveys.EVENT_SURVEY_WINDOW - SECOND)
    assert await surveys.send_due_surveys() == 1
    assert await surveys_of("event") == [(member, event_id, None)]


# --- the yearly survey -----------------------------------------------------------------------


async def test_the_yearly_survey_goes_to_every_current_owner_once_from_december_1st(database, settings, frozen, tmp_path):
    two_projects, plain = await owners(tmp_path, 2)
    (two_units,) = await owners(tmp_path, 1, units=2, start=2)
    (moved_out,) = await owners(tmp_path, 1, start=3)
    await owners(tmp_path, 1, project=SECOND_PROJECT, start=0)  # owner 0 also owns a unit in a second project
    await Ownership.update({Ownership.status: "ended"}).where(Ownership.member == moved_out)
    await Member.insert(Member(name="潜在客户", phone="+8613700137000"))  # a prospect: no unit
    first_project = await project_id()

    frozen.move_to(beijing(2026, 11, 30, 23, 59) + timedelta(seconds=59))
    in_november = await surveys.send_due_surveys()
    frozen.move_to(beijing(2026, 12, 1, 0, 0))
    on_december_1st = await surveys.send_due_surveys()
    again = await surveys.send_due_surveys()
    frozen.move_to(beijing(2026, 12, 20))
    later_in_december = await surveys.send_due_surveys()

    assert (in_november, on_december_1st, again, later_in_december) == (0, 3, 0, 0)
    assert await surveys_of("yearly") == [(two_projects, 2026, first_project), (plain, 2026, first_project), (two_units, 2026, first_project)]
    sent = await invitations("survey_yearly")
    assert sorted(m["member"] for m in sent) == [two_projects, plain, two_units]
    # Surveys are not urgent: queued at midnight, they wait for the end of the quiet hours.
    assert {m["scheduled_at"] for m in sent} == {beijing(2026, 12, 1, 8, 0)}


# --- answering -------------------------------------------------------------------------------


async def test_an_event_or_case_survey_needs_a_satisfaction_score_from_1_to_5_and_is_answered_once(database, settings, frozen, tmp_path):
    mine_id, other_id = await owners(tmp_path, 2)
    survey_id = await new_survey(mine_id, "case", 7)
    others = await new_survey(other_id, "case", 8)

    async with member_client(database, settings, phone(0)) as me:
        url = f"/api/v1/me/surveys/{survey_id}/answers"
        refused = {
            "missing": await me.post(url, json={"recommend": 9}),
            "six": await me.post(url, json={"satisfaction": 6}),
            "zero": await me.post(url, json={"satisfaction": 0}),
            "recommend 11": await me.post(url, json={"satisfaction": 5, "recommend": 11}),
            "recommend -1": await me.post(url, json={"satisfaction": 5, "recommend": -1}),
            "unknown field": await me.post(url, json={"satisfaction": 5, "stars": 5}),
        }
        not_mine = await me.post(f"/api/v1/me/surveys/{others}/answers", json={"satisfaction": 5})
        answered = await me.post(url, json={"satisfaction": 4, "comment": "  维修师傅很专业  "})
        twice = await me.post(url, json={"satisfaction": 1})
        still_open = (await me.get("/api/v1/me/surveys")).json()

    assert refused["missing"].status_code == 422 and field_of(refused["missing"]) == ["satisfaction"], refused["missing"].text
    for name in ("six", "zero"):
        assert refused[name].status_code == 400 and field_of(refused[name]) == ["satisfaction"], (name, refused[name].text)
    # The owner reads the field in words, not its identifier.
    assert refused["six"].json()["detail"].startswith("总体满意度："), refused["six"].text
    assert "recommend" not in refused["recommend 11"].json()["detail"] and "推荐意愿" in refused["recommend 11"].json()["detail"]
    for name in ("recommend 11", "recommend -1"):
        assert refused[name].status_code == 400 and field_of(refused[name]) == ["recommend"], (name, refused[name].text)
    assert refused["unknown field"].status_code == 400 and field_of(refused["unknown field"]) == ["stars"]
    assert not_mine.status_code == 404
    assert answered.status_code == 204, answered.text
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/survey-answered", twice.text
    assert still_open == []
    row = await Survey.select().where(Survey.id == survey_id).first()
    assert (row["satisfaction"], row["recommend"], row["comment"], row["answered_at"]) == (4, None, "维修师傅很专业", NOW)
    assert (await Survey.select(Survey.answered_at).where(Survey.id == others).first())["answered_at"] is None


async def test_the_yearly_survey_needs_at_least_one_dimension_and_keeps_only_what_was_scored(database, settings, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1)
    survey_id = await new_survey(member, "yearly", 2026)

    async with member_client(database, settings, phone(0)) as me:
        questions = (await me.get("/api/v1/me/surveys")).json()[0]["questions"]
        url = f"/api/v1/me/surveys/{survey_id}/answers"
        empty = await me.post(url, json={})
        only_recommend = await me.post(url, json={"recommend": 10, "satisfaction": 5})
        out_of_scale = await me.post(url, json={"property_management": 6})
        answered = await me.post(url, json={"construction_quality": 2, "customer_service": 5, "recommend": 0})
        twice = await me.post(url, json={"construction_quality": 5})

    assert questions == [
        "planning_design", "sales_service", "construction_quality", "customer_service", "property_management", "recommend", "comment",
    ]
    for response in (empty, only_recommend):
        assert response.status_code == 422 and field_of(response) == ["planning_design"], response.text
    assert empty.json()["detail"] == "请至少为以下一项打分：规划设计、销售服务、工程质量、客户服务或物业管理", empty.text
    assert out_of_scale.status_code == 400 and field_of(out_of_scale) == ["property_management"], out_of_scale.text
    assert answered.status_code == 204, answered.text
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/survey-answered"
    row = await Survey.select().where(Survey.id == survey_id).first()
    assert {k: row[k] for k in ("satisfaction", "planning_design", "sales_service", "construction_quality", "customer_service", "property_management", "recommend")} == {
        "satisfaction": None, "planning_design": None, "sales_service": None, "construction_quality": 2,
        "customer_service": 5, "property_management": None, "recommend": 0,
    }


@pytest.mark.parametrize(
    ("kind", "answers", "field"),
    [
        ("event", {"satisfaction": 6}, "satisfaction"),
        ("event", {"satisfaction": 0}, "satisfaction"),
        ("event", {"satisfaction": True}, "satisfaction"),
        ("event", {"satisfaction": 4.5}, "satisfaction"),
        ("event", {}, "satisfaction"),
        ("case", {"satisfaction": 5, "recommend": 11}, "recommend"),
        ("case", {"satisfaction": 5, "recommend": -1}, "recommend"),
        ("yearly", {"sales_service": 0}, "sales_service"),
        ("yearly", {"recommend": 7}, "planning_design"),
        ("yearly", {"planning_design": 3, "comment": "长" * 2001}, "comment"),
    ],
)
async def test_the_service_refuses_out_of_range_answers_naming_the_field(database, frozen, tmp_path, kind, answers, field):
    (member,) = await owners(tmp_path, 1)
    survey_id = await new_survey(member, kind, 1)
    with pytest.raises(InvalidField) as refused:
        await surveys.answer(member, survey_id, answers)
    assert (refused.value.status, refused.value.field) == (422, field)
    assert (await Survey.select(Survey.answered_at).where(Survey.id == survey_id).first())["answered_at"] is None


async def test_the_service_accepts_the_edges_of_each_scale(database, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1)
    low, high = await new_survey(member, "event", 1), await new_survey(member, "event", 2)
    await surveys.answer(member, low, {"satisfaction": 1, "recommend": 0})
    await surveys.answer(member, high, {"satisfaction": 5, "recommend": 10})
    rows = await Survey.select(Survey.satisfaction, Survey.recommend).order_by(Survey.id)
    assert [(r["satisfaction"], r["recommend"]) for r in rows] == [(1, 0), (5, 10)]
    with pytest.raises(surveys.SurveyAnswered):
        await surveys.answer(member, low, {"satisfaction": 3})


# --- KPIs ------------------------------------------------------------------------------------


async def new_survey(member: int, kind: str, subject: int, project: int | None = None, sent: datetime | None = None) -> int:
    await surveys.create_survey(member, kind, subject, project, "测试", now=sent or NOW - timedelta(days=20))
    row = await Survey.select(Survey.id).where((Survey.member == member) & (Survey.kind == kind) & (Survey.subject_id == subject)).first()
    return row["id"]


async def answered(member: int, kind: str, subject: int, project: int, when: datetime, **answers: Any) -> None:
    await surveys.answer(member, await new_survey(member, kind, subject, project), answers, now=when)


async def satisfaction_data(tmp_path) -> tuple[int, int]:
    """The hand-checked survey answers; returns (project A, project B)."""
    members = await owners(tmp_path, 7)
    await import_rows(tmp_path, [{"phone": phone(6), "name": "业主6", "project_code": SECOND_PROJECT, "project_name": "西湖苑", "room": "0601",
                                    "contract_date": "2025-03-01"}])
    a, b = await project_id(), await project_id(SECOND_PROJECT)
    # Project A, answered in June (Beijing time; 00:10 on June 1st is still May 31st in UTC):
    await answered(members[0], "event", 1, a, beijing(2026, 6, 1, 0, 10), satisfaction=5, recommend=10)
    await answered(members[1], "case", 2, a, beijing(2026, 6, 3), satisfaction=4, recommend=9)
    await answered(members[2], "event", 3, a, beijing(2026, 6, 5), satisfaction=3, recommend=7)
    await answered(members[3], "yearly", 2025, a, beijing(2026, 6, 7), planning_design=5, sales_service=5,
                   construction_quality=2, customer_service=4, recommend=3)  # property_management not scored
    await answered(members[4], "case", 5, a, beijing(2026, 6, 14), satisfaction=1, recommend=0)
    await new_survey(members[5], "event", 6, a)  # sent, never answered: counts nowhere
    # Project A, answered in May (23:30 on May 31st, Beijing):
    await answered(members[5], "case", 7, a, beijing(2026, 5, 31, 23, 30), satisfaction=2, recommend=5)
    # Project B, June:
    await answered(members[6], "case", 8, b, beijing(2026, 6, 10), satisfaction=4, recommend=9)
    return a, b


async def test_satisfaction_rate_and_nps_per_project_and_month_on_hand_checked_answers(database, frozen, tmp_path):
    a, b = await satisfaction_data(tmp_path)

    june = await kpis.kpis(*JUNE)
    spring = await kpis.kpis(date(2026, 5, 1), date(2026, 6, 30))
    only_b = await kpis.kpis(*JUNE, project_id=b)

    # Project A, June — five-point scores: 5, 4, 3 (event/case) + 5, 5, 2, 4 (yearly dims; the
    # unscored one is not a score) + 1 = 8 scores, of which 4–5: 5, 4, 5, 5, 4 = 5 → 5/8 = 0.625.
    # Recommend 10, 9, 7, 3, 0: promoters (9–10) 2, detractors (0–6) 2 → (2 − 2)/5 × 100 = 0.0.
    # Project B, June — one 4 → 1/1 = 1.0; one 9 → (1 − 0)/1 × 100 = 100.0.
    # All of June — 9 scores, 6 satisfied → 6/9 = 0.6667; 6 answers, 3 promoters, 2 detractors
    # → (3 − 2)/6 × 100 = 16.666… → 16.7.
    assert [(r.project_id, r.month, r.scores, r.satisfied, r.satisfaction_rate) for r in june] == [
        (a, "2026-06", 8, 5, 0.625), (b, "2026-06", 1, 1, 1.0), (None, "all", 9, 6, 0.6667),
    ]
    assert [(r.recommend_answers, r.promoters, r.detractors, r.nps) for r in june] == [(5, 2, 2, 0.0), (1, 1, 0, 100.0), (6, 3, 2, 16.7)]
    # May and June: project A in May has one 2 (0/1 = 0.0) and one 5 (a detractor: −100.0);
    # all: 10 scores, 6 satisfied → 0.6; 7 answers, 3 promoters, 3 detractors → 0.0.
    assert [(r.project_id, r.month, r.satisfaction_rate, r.nps) for r in spring] == [
        (a, "2026-05", 0.0, -100.0), (a, "2026-06", 0.625, 0.0), (b, "2026-06", 1.0, 100.0), (None, "all", 0.6, 0.0),
    ]
    assert [(r.project_id, r.month, r.satisfaction_rate, r.nps) for r in only_b] == [(b, "2026-06", 1.0, 100.0), (b, "all", 1.0, 100.0)]


async def test_the_staff_kpi_route_shows_the_same_numbers_with_targets_to_service_and_sales_only(database, settings, frozen, tmp_path):
    a, b = await satisfaction_data(tmp_path)
    params = {"start": JUNE[0].isoformat(), "end": JUNE[1].isoformat()}

    async with staff_client(database, settings, "care1", "service") as service:
        report = await service.get("/api/v1/staff/kpis", params=params)
        for_b = await service.get("/api/v1/staff/kpis", params={**params, "project_id": b})
        backwards = await service.get("/api/v1/staff/kpis", params={"start": "2026-06-30", "end": "2026-06-01"})
    async with staff_client(database, settings, "sales1", "sales") as sales:
        by_sales = await sales.get("/api/v1/staff/kpis", params=params)
    async with member_client(database, settings, phone(0)) as me:
        by_owner = await me.get("/api/v1/staff/kpis", params=params)

    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["start"], body["end"]) == ("2026-06-01", "2026-06-30")
    assert body["targets"] == {"satisfaction_rate": 0.85, "reply_on_time_rate": 1.0, "follow_up_rate": 1.0, "referral_share": 0.30}
    assert [(r["project_id"], r["month"], r["satisfaction_rate"], r["satisfaction_scores"], r["nps"], r["recommend_answers"]) for r in body["rows"]] == [
        (a, "2026-06", 0.625, 8, 0.0, 5), (b, "2026-06", 1.0, 1, 100.0, 1), (None, "all", 0.6667, 9, 16.7, 6),
    ]
    # Nothing about cases or referrals here: those rates are empty, not 0 or 100 %.
    assert {(r["reply_on_time_rate"], r["follow_up_rate"], r["referral_share"], r["replies_due"]) for r in body["rows"]} == {(None, None, None, 0)}
    assert [(r["project_id"], r["month"]) for r in for_b.json()["rows"]] == [(b, "2026-06"), (b, "all")]
    assert backwards.status_code == 422 and field_of(backwards) == ["end"], backwards.text
    assert by_sales.status_code == 200 and by_sales.json()["rows"] == body["rows"]
    assert by_owner.status_code == 401


async def test_reply_on_time_counts_the_cases_whose_reply_clock_has_ended(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care1", "service")
    days = lambda n: NOW - timedelta(days=n)

    async def opened(kind: str, when: datetime) -> int:
        return await cases.open_case(owner, kind, kind, "x", now=when)

    quick = await opened("complaint", days(5))
    await cases.staff_reply(quick, carer, "收到", now=days(5) + timedelta(hours=47))
    slow = await opened("complaint", days(5))
    await cases.staff_reply(slow, carer, "收到", now=days(5) + timedelta(hours=49))
    await opened("suggestion", days(3))  # never replied; due a day ago
    await opened("complaint", days(1))  # never replied; due tomorrow: still running
    await opened("inquiry", NOW - timedelta(hours=48))  # never replied; due this very second: still running

    [june, total] = await kpis.kpis(*JUNE)

    # Ended reply clocks: quick (47 h, on time), slow (49 h, late), the suggestion (past due,
    # unreplied: late); the two running ones are left out → 1/3 = 0.3333.
    assert (june.replies_due, june.replied_on_time, june.reply_on_time_rate) == (3, 1, 0.3333)
    # Complaints alone: quick and slow → 1/2 = 0.5.
    assert (june.complaint_replies_due, june.complaints_replied_on_time, june.complaint_reply_on_time_rate) == (2, 1, 0.5)
    assert (june.follow_ups_due, june.follow_up_rate) == (0, None)
    assert june.overdue_now == 1  # the suggestion
    assert (total.month, total.replies_due, total.reply_on_time_rate, total.overdue_now) == ("all", 3, 0.3333, 1)
    assert (june.project_id, june.month, total.project_id) == (await project_id(), "2026-06", None)


async def test_the_follow_up_rate_counts_resolved_cases_whose_follow_up_clock_has_ended(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care1", "service")
    opened_at = NOW - timedelta(days=6)
    ids = [await cases.open_case(owner, "repair", f"报修{n}", "x", now=opened_at) for n in range(5)]
    on_time, late, never, running, unresolved = ids
    await cases.resolve(on_time, "已修复", carer, now=NOW - timedelta(days=5))
    await cases.follow_up(on_time, "回访", carer, now=NOW - timedelta(days=5) + timedelta(hours=24))  # exactly at the deadline
    await cases.resolve(late, "已修复", carer, now=NOW - timedelta(days=5))
    await cases.follow_up(late, "回访", carer, now=NOW - timedelta(days=5) + timedelta(hours=24) + SECOND)
    await cases.resolve(never, "已修复", carer, now=NOW - timedelta(days=3))  # due two days ago, never called
    await cases.resolve(running, "已修复", carer, now=NOW - timedelta(hours=1))  # due in 23 hours

    [june, total] = await kpis.kpis(*JUNE)

    # Ended follow-up clocks: on_time (met), late (1 s late), never (past due) → 1/3 = 0.3333;
    # `running` is still running and `unresolved` has no follow-up clock.
    assert (june.follow_ups_due, june.followed_up_on_time, june.follow_up_rate) == (3, 1, 0.3333)
    # The result counts as the first reply when none came before: on_time and late were
    # resolved after 24 h (on time), never after 72 h and running after ~143 h (late), and
    # `unresolved` is past its 48 h unreplied → 2/5 = 0.4.
    assert (june.replies_due, june.replied_on_time, june.reply_on_time_rate) == (5, 2, 0.4)
    # Late right now: never (follow-up) and unresolved (reply; its result is due tomorrow).
    assert june.overdue_now == 2
    assert (total.follow_up_rate, total.reply_on_time_rate) == (0.3333, 0.4)
    assert unresolved not in (on_time, late, never, running)


async def test_referral_share_is_referred_buyers_over_new_buyers_by_first_contract_in_the_period(database, settings, frozen, tmp_path):
    world = await referral_world.build_world(tmp_path)  # owners whose contracts are from 2019 and 2025
    lead = await referral_world.register(world)
    await referral_world.move(world, lead, "signed")
    lost = await referral_world.register(world, phone=referral_world.FRIEND_2, name="钱八")
    await referral_world.move(world, lost, "visited")
    await import_rows(tmp_path, [
        # New buyers of project A in June: three walk-ins and the referred friend.
        {"phone": "13600136001", "name": "新业主1", "room": "0901", "contract_date": "2026-06-01"},
        {"phone": "13600136002", "name": "新业主2", "room": "0902", "contract_date": "2026-06-03"},
        {"phone": "13600136003", "name": "新业主3", "room": "0903", "contract_date": "2026-06-30"},
        {"phone": referral_world.FRIEND, "name": "王五", "room": "0904", "contract_date": "2026-06-15"},
        # Not new buyers in June: contracts in May and July, and an owner's second unit in A.
        {"phone": "13600136004", "name": "五月业主", "room": "0905", "contract_date": "2026-05-31"},
        {"phone": "13600136005", "name": "七月业主", "room": "0906", "contract_date": "2026-07-01"},
        {"phone": referral_world.THIRD_OWNER, "name": "孙七", "room": "0907", "contract_date": "2026-06-10"},
        # One new buyer of project B, not referred.
        {"phone": "13600136006", "name": "西湖新业主", "room": "0908", "contract_date": "2026-06-20",
         "project_code": referral_world.SECOND_PROJECT_CODE, "project_name": "西湖苑"},
    ])

    rows = await kpis.kpis(*JUNE)
    async with staff_client(database, settings, "care1", "service") as service:
        shown = (await service.get("/api/v1/staff/kpis", params={"start": "2026-06-01", "end": "2026-06-30"})).json()["rows"]

    # Project A: 1 lead signed, 1 referred buyer (王五) / 4 new buyers = 0.25; project B: 0 / 1 = 0.0;
    # all: 1 / 5 = 0.2 (target 0.30).
    per_project = sorted([(world.project, 1, 4, 1, 0.25), (world.second_project, 0, 1, 0, 0.0)])  # rows come by project id
    assert [(r.project_id, r.month, r.referral_signed, r.new_buyers, r.referred_buyers, r.referral_share) for r in rows] == [
        (p, "2026-06", signed, buyers, referred, share) for p, signed, buyers, referred, share in per_project
    ] + [(None, "all", 1, 5, 1, 0.2)]
    assert [
        (r["project_id"], r["referral_signed"], r["new_buyers"], r["referred_buyers"], r["referral_share"]) for r in shown
    ] == per_project + [(None, 1, 5, 1, 0.2)]


async def test_a_referred_buyer_signed_before_the_contract_file_counts_among_the_new_buyers_once(database, settings, frozen, tmp_path):
    world = await referral_world.build_world(tmp_path)
    frozen.move_to(beijing(2026, 5, 28))
    early = await referral_world.register(world)
    await referral_world.move(world, early, "signed")  # contract imported below, dated June 2nd
    frozen.move_to(beijing(2026, 6, 5))
    for friend, name in ((referral_world.FRIEND_2, "钱八"), (referral_world.FRIEND_3, "孙九")):  # no contract yet
        await referral_world.move(world, await referral_world.register(world, phone=friend, name=name), "signed")
    await import_rows(tmp_path, [
        {"phone": referral_world.FRIEND, "name": "王五", "room": "0901", "contract_date": "2026-06-02"},
        {"phone": "13600136001", "name": "新业主1", "room": "0902", "contract_date": "2026-06-20"},
    ])

    rows = await kpis.kpis(date(2026, 5, 1), date(2026, 6, 30))
    async with staff_client(database, settings, "care1", "service") as service:
        shown = (await service.get("/api/v1/staff/kpis", params={"start": "2026-05-01", "end": "2026-06-30"})).json()["rows"]

    # May: 王五's lead signed, but he is June's buyer (his contract) → 0 new buyers, no share.
    # June: 钱八 and 孙九 signed, no contracts yet; new buyers 王五, 钱八, 孙九 and 新业主1, referred
    # the first three → 3/4 = 0.75 (the old arithmetic said 2 signed in June / 2 contracts = 1.0).
    expected = [("2026-05", 1, 0, 0, None), ("2026-06", 2, 4, 3, 0.75), ("all", 3, 4, 3, 0.75)]
    assert [(r.month, r.referral_signed, r.new_buyers, r.referred_buyers, r.referral_share) for r in rows] == expected
    assert [(r["month"], r["referral_signed"], r["new_buyers"], r["referred_buyers"], r["referral_share"]) for r in shown] == expected
