"""The KPI board (issue 20): each declared KPI's formula against numbers worked out by hand on a small
data set, the seeds' weighted satisfaction, trend buckets at Beijing month and quarter boundaries,
the drill-down returning exactly the counted records, who may read it; and the care plans' job
(idempotent per period).

Time stands still at NOW (2026-06-15 12:00 Beijing)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from loyalty import jobs
from loyalty.care import care_plans, cases, kpi_board
from loyalty.care.tables import OutboxMessage, ReturnVisit, Survey
from loyalty.clock import LOCAL_ZONE
from loyalty.errors import InvalidField
from loyalty.members.tables import Member, Ownership
from tests.events.builders import NOW, owners, staff, staff_client

BOARD = "/api/v1/staff/kpi-board"


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


def bj(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_ZONE)


async def survey(member: int, kind: str, answered_at: datetime, subject: int, **scores: Any) -> int:
    rows = await Survey.insert(Survey(member=member, kind=kind, subject_id=subject, answered_at=answered_at,
                                      sent_at=answered_at - timedelta(days=1), **scores)).returning(Survey.id)
    return rows[0]["id"]


async def visit(member: int, done_at: datetime, outcome: str = "reached", source: str = "x") -> int:
    rows = await ReturnVisit.insert(ReturnVisit(member=member, kind="monthly_plan", source=source, due_at=done_at,
                                                status="done", outcome=outcome, done_at=done_at)).returning(ReturnVisit.id)
    return rows[0]["id"]


async def world(tmp_path) -> dict[str, Any]:
    """Four active owners m0–m3, and in June 2026 (Beijing):

    surveys  s1 event 5 (recommend 10), s2 case 3 (recommend 6), s3 yearly planning 4, sales 2,
             construction 1, customer service 5; May 31 23:30 s4 event 4; March 31 23:59 s6 event 2;
             July 1 00:10 s7 event 1 (a later month, though June 30 16:10 UTC);
    cases    m0 complaint June 10 replied in 2 h; m0 complaint June 12, never replied (late since June 14);
             m1 complaint June 15 11:00 (its 48 h have not ended); m2 suggestion June 11 (not a complaint);
    visits   m0 reached June 3 and June 14; m2 not reached June 5; m3 reached May 31 23:59;
    files    m0 and m1 have a birthday and a gender; m2 and m3 do not.
    """
    m = await owners(tmp_path, 4)
    desk = await staff("desk1", "service")
    s = {
        "s1": await survey(m[0], "event", bj(2026, 6, 2, 10), 1, satisfaction=5, recommend=10),
        "s2": await survey(m[1], "case", bj(2026, 6, 3, 10), 2, satisfaction=3, recommend=6),
        "s3": await survey(m[2], "yearly", bj(2026, 6, 4, 10), 2026, planning_design=4, sales_service=2,
                           construction_quality=1, customer_service=5),
        "s4": await survey(m[3], "event", bj(2026, 5, 31, 23, 30), 3, satisfaction=4),
        "s6": await survey(m[3], "event", bj(2026, 3, 31, 23, 59), 4, satisfaction=2),
        "s7": await survey(m[2], "event", bj(2026, 7, 1, 0, 10), 5, satisfaction=1),
    }
    c1 = await cases.open_case(m[0], "complaint", "电梯噪音", "晚上很吵", now=bj(2026, 6, 10, 9))
    await cases.staff_reply(c1, desk, "已安排检修", now=bj(2026, 6, 10, 11))
    c2 = await cases.open_case(m[0], "complaint", "垃圾未清运", "三天没收", now=bj(2026, 6, 12, 9))
    c3 = await cases.open_case(m[1], "complaint", "停车位被占", "请处理", now=bj(2026, 6, 15, 11))
    c4 = await cases.open_case(m[2], "suggestion", "增加健身器材", "小区里", now=bj(2026, 6, 11, 9))
    v = {
        "v1": await visit(m[0], bj(2026, 6, 3, 10), source="a"),
        "v2": await visit(m[0], bj(2026, 6, 14, 10), source="b"),
        "v3": await visit(m[2], bj(2026, 6, 5, 10), outcome="not_reached", source="c"),
        "v4": await visit(m[3], bj(2026, 5, 31, 23, 59), source="d"),
    }
    await Member.update({Member.birthday: date(1960, 1, 1), Member.gender: "female"}).where(Member.id.is_in(m[:2]))
    return {"m": m, "s": s, "c": (c1, c2, c3, c4), "v": v, "desk": desk}


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in rows}


async def test_each_formula_against_hand_computed_values(database, frozen, tmp_path):
    w = await world(tmp_path)
    june = by_key(await kpi_board.board("2026-06", now=NOW))

    # Weighted: s1 5→1.0, s2 3→0.6, s3 4→0.8, 2→0.3, 1→0, 5→1.0: 3.7 / 6 answers.
    assert (june["satisfaction"]["numerator"], june["satisfaction"]["denominator"]) == (3.7, 6)
    assert june["satisfaction"]["value"] == round(3.7 / 6, 4) and june["satisfaction"]["meets_target"] is False
    # Recommend: 10 (loyal) and 6 (not): 1 / 2.
    assert (june["loyalty"]["numerator"], june["loyalty"]["denominator"], june["loyalty"]["value"]) == (1, 2, 0.5)
    # Owners with a complaint: m0 (twice) and m1, of 4 active owners; lower is better, 50% > 10%.
    assert (june["complaint_rate"]["numerator"], june["complaint_rate"]["denominator"]) == (2, 4)
    assert june["complaint_rate"]["meets_target"] is False and june["complaint_rate"]["lower_is_better"] is True
    # Reply clock ended: c1 (on time) and c2 (late); c3's 48 h run until June 17.
    assert (june["complaint_reply"]["numerator"], june["complaint_reply"]["denominator"]) == (1, 2)
    # Reached in June: m0 only (m2 not reached; m3 on May 31, 23:59 Beijing).
    assert (june["visit_coverage"]["numerator"], june["visit_coverage"]["denominator"]) == (1, 4)
    # Complete files: m0 and m1.
    assert (june["file_completeness"]["numerator"], june["file_completeness"]["denominator"]) == (2, 4)
    # By department: the yearly dimensions, the club's event surveys.
    assert (june["satisfaction_overall"]["numerator"], june["satisfaction_overall"]["denominator"]) == (2.1, 4)
    assert (june["satisfaction_planning"]["value"], june["satisfaction_sales"]["value"]) == (0.8, 0.3)
    assert (june["satisfaction_engineering"]["value"], june["satisfaction_customer_service"]["value"]) == (0.0, 1.0)
    assert june["satisfaction_property"]["value"] is None  # nobody answered it: nothing to count
    assert (june["satisfaction_loyalty"]["numerator"], june["satisfaction_loyalty"]["denominator"]) == (1.0, 1)
    assert {k: june[k]["target"] for k in ("satisfaction", "satisfaction_overall", "satisfaction_loyalty",
                                           "satisfaction_planning", "satisfaction_sales", "satisfaction_engineering",
                                           "satisfaction_customer_service", "satisfaction_property", "loyalty",
                                           "complaint_rate", "visit_coverage", "file_completeness")} == {
        "satisfaction": 0.85, "satisfaction_overall": 0.65, "satisfaction_loyalty": 0.32, "satisfaction_planning": 0.84,
        "satisfaction_sales": 0.85, "satisfaction_engineering": 0.55, "satisfaction_customer_service": 0.70,
        "satisfaction_property": 0.75, "loyalty": 0.85, "complaint_rate": 0.10, "visit_coverage": 0.85,
        "file_completeness": 1.0,
    }
    assert "÷" in june["satisfaction"]["formula_en"] and "1.0" in june["satisfaction"]["formula_en"]
    assert june["satisfaction"]["formula_zh"] != june["satisfaction"]["formula_en"]
    assert "满意" in june["satisfaction"]["name_zh"]


async def test_trend_buckets_follow_beijing_months_and_quarters(database, frozen, tmp_path):
    await world(tmp_path)
    june = by_key(await kpi_board.board("2026-06", now=NOW))["satisfaction"]
    months = {p["period"]: (p["numerator"], p["denominator"]) for p in june["months"]}
    assert list(months)[0] == "2025-07" and list(months)[-1] == "2026-06" and len(months) == 12
    assert months["2026-05"] == (0.8, 1)  # s4 at 23:30 on May 31, Beijing
    assert months["2026-03"] == (0.3, 1)  # s6 at 23:59 on March 31
    assert months["2026-04"] == (0, 0)
    quarters = {p["period"]: (p["numerator"], p["denominator"]) for p in june["quarters"]}
    assert list(quarters) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert quarters["2026-Q1"] == (0.3, 1)
    assert quarters["2026-Q2"] == (4.5, 7)  # June's 3.7/6 and May's 0.8/1
    july = by_key(await kpi_board.board("2026-07", now=NOW))["satisfaction"]
    assert (july["numerator"], july["denominator"]) == (0.0, 1)  # s7, July 1 00:10 Beijing
    assert {p["period"]: p["denominator"] for p in july["quarters"]}["2026-Q3"] == 1


async def test_drill_down_returns_exactly_the_counted_records(database, frozen, tmp_path):
    w = await world(tmp_path)
    s, v = w["s"], w["v"]
    c1, c2, c3, c4 = w["c"]
    expected = {
        "satisfaction": {s["s1"], s["s2"], s["s3"]},
        "loyalty": {s["s1"], s["s2"]},
        "complaint_rate": {c1, c2, c3},
        "complaint_reply": {c1, c2},
        "visit_coverage": {v["v1"], v["v2"]},
        "file_completeness": set(w["m"]),
        "satisfaction_planning": {s["s3"]},
    }
    for key, ids in expected.items():
        found = await kpi_board.drill_down(key, "2026-06", now=NOW)
        assert {item["id"] for item in found["items"]} == ids, key
        assert round(sum(item["numerator"] for item in found["items"]), 4) == found["numerator"], key
        if key not in ("complaint_rate", "visit_coverage"):  # owner-based denominators
            assert sum(item["denominator"] for item in found["items"]) == found["denominator"], key
    quarter = await kpi_board.drill_down("satisfaction", "2026-Q2", now=NOW)
    assert {i["id"] for i in quarter["items"]} == {s["s1"], s["s2"], s["s3"], s["s4"]}
    files = {i["id"]: i["missing"] for i in (await kpi_board.drill_down("file_completeness", "2026-06", now=NOW))["items"]}
    assert files[w["m"][0]] == [] and files[w["m"][3]] == ["birthday", "gender"]
    with pytest.raises(InvalidField):
        await kpi_board.drill_down("satisfaction", "2026-13")


async def test_the_api_for_service_staff_and_not_for_sales(database, settings, frozen, tmp_path):
    w = await world(tmp_path)
    async with staff_client(database, settings, "desk9", "service") as desk:
        board = (await desk.get(BOARD, params={"month": "2026-06"})).json()
        assert by_key(board)["complaint_reply"]["value"] == 0.5
        found = (await desk.get(f"{BOARD}/complaint_reply/records", params={"period": "2026-06"})).json()
        assert [i["id"] for i in found["items"]] == list(w["c"][:2]) and found["items"][0]["title"] == "电梯噪音"
        bad = await desk.get(BOARD, params={"month": "June"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "month"
        assert (await desk.get(f"{BOARD}/nothing/records", params={"period": "2026-06"})).status_code == 404
        assert (await desk.get("/api/v1/staff/care-plans")).status_code == 403
    async with staff_client(database, settings, "sales9", "sales") as sales:
        assert (await sales.get(BOARD)).status_code == 403
    async with staff_client(database, settings, "boss", "admin") as admin:
        plans = (await admin.get("/api/v1/staff/care-plans")).json()
        assert [p["key"] for p in plans] == ["elderly_alone", "silent", "care_315"]


async def test_care_plans_make_their_visits_once_per_period(database, frozen, tmp_path):
    m = await owners(tmp_path, 3, contract_date="2025-03-01")
    (handed,) = await owners(tmp_path, 1, start=3, contract_date="2025-03-01", delivery_date="2026-05-01")
    await Member.update({Member.tags: ["独居老人"]}).where(Member.id == m[0])
    # m1 was sent a message a month ago: not silent.
    await OutboxMessage.insert(OutboxMessage(channel="sms", recipient="x", member=m[1], kind="birthday", template="t",
                                             status="sent", sent_at=NOW - timedelta(days=30)))
    await staff("desk2", "service")

    made = await care_plans.run_plans(NOW)
    assert made == {"elderly_alone": 1, "silent": 3, "care_315": 2}  # 315: basic care and the in-depth interview
    again = await care_plans.run_plans(NOW + timedelta(days=1))
    assert again == {"elderly_alone": 0, "silent": 0, "care_315": 0}
    rows = await ReturnVisit.select().order_by(ReturnVisit.id)
    assert {(r["kind"], r["member"]) for r in rows} == {
        ("care_elderly_alone", m[0]), ("care_silent", m[0]), ("care_silent", m[2]), ("care_silent", handed),
        ("care_315", handed), ("care_315_interview", handed),
    }
    ownership = (await Ownership.select(Ownership.id).where(Ownership.member == handed).first())["id"]
    assert {r["source"] for r in rows if r["kind"].startswith("care_315")} == {f"ownership:{ownership}"}
    due = {r["kind"]: r["due_at"] for r in rows if r["kind"].startswith("care_315")}
    assert due == {"care_315": bj(2026, 7, 1, 18), "care_315_interview": bj(2026, 7, 31, 18)}  # delivered May 1st
    assert all(r["assigned_to"] is not None for r in rows)
    # Next month: the monthly plans again, the 315 visit not.
    july = await care_plans.run_plans(bj(2026, 7, 1, 1, 20))
    assert july["elderly_alone"] == 1 and july["care_315"] == 0
    overview = {p["key"]: p for p in await care_plans.overview("zh-CN", now=NOW)}
    assert overview["elderly_alone"]["visits_made"] == 1 and overview["elderly_alone"]["segment_owners"] == 1
    assert overview["silent"]["next_run"] == bj(2026, 6, 16, 1, 20)


async def test_one_project_counts_only_its_own_surveys_cases_and_owners(database, frozen, tmp_path):
    await world(tmp_path)  # four owners of HZ-YH
    (tmp_path / "x").mkdir()
    (other,) = await owners(tmp_path / "x", 1, project="HZ-XH", start=7)
    from tests.events.builders import project_id

    xh = await project_id("HZ-XH")
    yh = await project_id("HZ-YH")
    answered = await survey(other, "event", bj(2026, 6, 9, 10), 9, satisfaction=2)
    await Survey.update({Survey.project: xh}).where(Survey.id == answered)
    await Survey.update({Survey.project: yh}).where(Survey.id != answered)
    mine = by_key(await kpi_board.board("2026-06", project_id=xh, now=NOW))
    assert (mine["satisfaction"]["numerator"], mine["satisfaction"]["denominator"]) == (0.3, 1)
    assert (mine["complaint_rate"]["numerator"], mine["complaint_rate"]["denominator"]) == (0, 1)
    assert (mine["file_completeness"]["numerator"], mine["file_completeness"]["denominator"]) == (0, 1)
    theirs = by_key(await kpi_board.board("2026-06", project_id=yh, now=NOW))
    assert (theirs["satisfaction"]["numerator"], theirs["satisfaction"]["denominator"]) == (3.7, 6)
    assert theirs["complaint_rate"]["denominator"] == 4
    everyone = by_key(await kpi_board.board("2026-06", now=NOW))
    assert everyone["satisfaction"]["denominator"] == 7 and everyone["complaint_rate"]["denominator"] == 5
