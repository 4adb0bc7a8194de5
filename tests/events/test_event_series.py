"""Recurring series (loyalty/events/series.py and its routes): a quarterly owner meetup on a chosen
week and day, festival gatherings on the lunar calendar's dates (checked against dates known by
hand for 2027), sessions already past left out, the preview trimmed and created as drafts in one
audited transaction (all or nothing), bad input refused naming the field, other roles refused."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.clock import LOCAL_ZONE
from loyalty.errors import InvalidField
from loyalty.events import catalog, series
from loyalty.events.tables import Event
from tests.events.builders import NOW, event, member_client, owners, phone, staff, staff_client


def plan(**overrides) -> series.SeriesPlan:
    fields = dict(
        pattern="quarterly", year=2027, kind="owner_meetup", title_zh="业主恳谈会", title_en="Owners' meetup",
        start_time=time(14, 0), duration_minutes=120, capacity=80, venue="云湖里会所",
    )
    fields.update(overrides)
    return series.SeriesPlan(**fields)


def body(**overrides) -> dict:
    fields = dict(
        pattern="quarterly", year=2027, kind="owner_meetup", title_zh="业主恳谈会", title_en="Owners' meetup",
        start_time="14:00", duration_minutes=120, capacity=80, venue="云湖里会所", fee_gold_fen=3_000,
    )
    fields.update(overrides)
    return fields


# --- the dates ---------------------------------------------------------------------------------


def test_a_quarterly_meetup_falls_on_the_third_saturday_of_each_quarters_middle_month():
    sessions = series.preview(plan(), now=NOW)

    assert [s.on for s in sessions] == [date(2027, 2, 20), date(2027, 5, 15), date(2027, 8, 21), date(2027, 11, 20)]
    assert [s.key for s in sessions] == ["2027-q1", "2027-q2", "2027-q3", "2027-q4"]
    first = sessions[0].draft
    assert first.starts_at == datetime(2027, 2, 20, 14, 0, tzinfo=LOCAL_ZONE)
    assert first.ends_at == datetime(2027, 2, 20, 16, 0, tzinfo=LOCAL_ZONE)
    assert first.status == "draft"
    assert first.title_zh == "2027年第1季度业主恳谈会" and first.title_en == "Owners' meetup Q1 2027"
    assert first.signup_opens_at == datetime(2027, 1, 21, 14, 0, tzinfo=LOCAL_ZONE)  # 30 days before
    assert first.cancel_deadline == datetime(2027, 2, 19, 14, 0, tzinfo=LOCAL_ZONE)


def test_the_last_sunday_of_the_first_month_of_chosen_quarters():
    sessions = series.preview(plan(quarters=(1, 3), month_of_quarter=1, week=5, weekday=6), now=NOW)

    assert [s.on for s in sessions] == [date(2027, 1, 31), date(2027, 7, 25)]


@pytest.mark.parametrize(
    "festival, day",
    [
        ("spring_festival", date(2027, 2, 6)),
        ("lantern", date(2027, 2, 20)),
        ("dragon_boat", date(2027, 6, 9)),
        ("qixi", date(2027, 8, 8)),
        ("mid_autumn", date(2027, 9, 15)),
        ("double_ninth", date(2027, 10, 8)),
    ],
)
def test_festival_dates_of_2027_are_the_lunar_calendars(festival, day):
    assert series.festival_date(festival, 2027) == day


def test_festival_gatherings_are_one_per_chosen_festival_soonest_first_and_named_after_it():
    sessions = series.preview(
        plan(pattern="festivals", kind="festival_gathering", festivals=("mid_autumn", "lantern"), title_zh="业主联欢会",
             title_en="owners' gathering", start_time=time(19, 0)),
        now=NOW,
    )

    assert [(s.key, s.on) for s in sessions] == [("2027-lantern", date(2027, 2, 20)), ("2027-mid_autumn", date(2027, 9, 15))]
    assert sessions[1].draft.title_zh == "2027中秋节业主联欢会"
    assert sessions[1].draft.title_en == "Mid-Autumn Festival: owners' gathering 2027"
    assert sessions[1].draft.starts_at == datetime(2027, 9, 15, 19, 0, tzinfo=LOCAL_ZONE)


def test_sessions_already_past_are_left_out_and_a_series_all_past_is_refused():
    this_year = series.preview(plan(year=2026), now=NOW)  # NOW is 15 June 2026
    assert [s.key for s in this_year] == ["2026-q3", "2026-q4"]

    with pytest.raises(InvalidField) as refused:
        series.preview(plan(year=2025), now=NOW)
    assert refused.value.field == "year"


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(pattern="festivals", festivals=()), "festivals"),
        (dict(pattern="festivals", festivals=("halloween",)), "festivals"),
        (dict(quarters=()), "quarters"),
        (dict(week=6), "week"),
        (dict(duration_minutes=5), "duration_minutes"),
        (dict(title_zh=" "), "title_zh"),
        (dict(capacity=0), "capacity"),
        (dict(fee_blue_fen=-1), "fee_blue_fen"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(overrides, field):
    with pytest.raises(InvalidField) as refused:
        series.preview(plan(**overrides), now=NOW)
    assert refused.value.field == field


# --- creating ----------------------------------------------------------------------------------


async def test_the_kept_sessions_are_created_as_drafts_each_audited_and_the_series_too(database, frozen):
    staff_id = await staff()

    ids = await series.create_series(plan(), staff_id, keep=["2027-q1", "2027-q3"])

    rows = await Event.select().where(Event.id.is_in(ids)).order_by(Event.starts_at)
    assert [r["title_zh"] for r in rows] == ["2027年第1季度业主恳谈会", "2027年第3季度业主恳谈会"]
    assert {r["status"] for r in rows} == {"draft"}
    audited = await AuditEntry.select(AuditEntry.action, AuditEntry.subject_id).where(AuditEntry.actor_id == staff_id)
    assert sorted(a["action"] for a in audited) == ["event.create", "event.create", "event.series.create"]


async def test_a_failure_on_the_second_session_leaves_nothing_written(database, frozen, monkeypatch):
    staff_id = await staff()
    made = catalog.create_event
    calls = []

    async def second_fails(draft, who):
        calls.append(draft.title_zh)
        if len(calls) == 2:
            raise InvalidField("boom", field="title_zh")
        return await made(draft, who)

    monkeypatch.setattr(catalog, "create_event", second_fails)
    with pytest.raises(InvalidField):
        await series.create_series(plan(), staff_id)

    assert len(calls) == 2
    assert await Event.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action.like("event.%")) == 0


async def test_keeping_a_session_not_in_the_series_or_none_is_refused(database, frozen):
    staff_id = await staff()
    for keep in (["2027-q9"], []):
        with pytest.raises(InvalidField) as refused:
            await series.create_series(plan(), staff_id, keep=keep)
        assert refused.value.field == "keep"
    assert await Event.count() == 0


# --- the API -------------------------------------------------------------------------------------


async def test_event_staff_preview_then_create_a_trimmed_series_and_see_it_in_the_list(database, settings, frozen):
    async with staff_client(database, settings) as http:
        preview = await http.post("/api/v1/staff/events/series/preview", json=body(
            pattern="festivals", kind="festival_gathering", festivals=["mid_autumn", "dragon_boat", "spring_festival"],
            start_time="19:00", title_zh="业主联欢会", title_en="owners' gathering",
        ))
        assert preview.status_code == 200, preview.text
        sessions = preview.json()
        assert [(s["key"], s["starts_at"][:10], s["festival"]) for s in sessions] == [
            ("2027-spring_festival", "2027-02-06", "spring_festival"),
            ("2027-dragon_boat", "2027-06-09", "dragon_boat"),
            ("2027-mid_autumn", "2027-09-15", "mid_autumn"),
        ]
        assert await Event.count() == 0  # a preview writes nothing

        created = await http.post("/api/v1/staff/events/series", json=body(
            pattern="festivals", kind="festival_gathering", festivals=["mid_autumn", "dragon_boat", "spring_festival"],
            start_time="19:00", title_zh="业主联欢会", title_en="owners' gathering", keep=["2027-dragon_boat", "2027-mid_autumn"],
        ))
        assert created.status_code == 201, created.text
        listed = await http.get("/api/v1/staff/events")

    ids = created.json()["ids"]
    assert len(ids) == 2
    mine = [e for e in listed.json() if e["id"] in ids]
    assert [(e["title_zh"], e["status"], e["fee_gold_fen"], e["kind"]) for e in mine] == [
        ("2027端午节业主联欢会", "draft", 3_000, "festival_gathering"),
        ("2027中秋节业主联欢会", "draft", 3_000, "festival_gathering"),
    ]
    assert mine[1]["starts_at"].startswith("2027-09-15T11:00:00")  # 19:00 in Beijing


async def test_a_series_goes_into_a_program_and_the_program_lists_its_sessions(database, settings, frozen):
    async with staff_client(database, settings) as http:
        program = await http.post("/api/v1/staff/programs", json={"title_zh": "2027季度业主恳谈", "title_en": "Quarterly meetups 2027"})
        assert program.status_code == 201, program.text
        program_id = program.json()["id"]
        created = await http.post("/api/v1/staff/events/series", json=body(program_id=program_id))
        assert created.status_code == 201, created.text
        programs = await http.get("/api/v1/staff/programs")

    assert programs.status_code == 200, programs.text
    found = next(p for p in programs.json() if p["id"] == program_id)
    assert found["event_ids"] == created.json()["ids"] and len(found["event_ids"]) == 4
    assert found["starts_at"].startswith("2027-02-20")


@pytest.mark.parametrize(
    "overrides, status, field",
    [
        (dict(pattern="festivals"), 422, "festivals"),
        (dict(pattern="festivals", festivals=["halloween"]), 400, "festivals[0]"),
        (dict(start_time="25:00"), 400, "start_time"),
        (dict(year=1800), 400, "year"),
        (dict(year=2025), 422, "year"),
        (dict(quarters=[]), 422, "quarters"),
        (dict(program_id=999_999), 422, "program_id"),
        (dict(keep=["2027-q9"]), 422, "keep"),
        (dict(fee_gold_fen=-5), 400, "fee_gold_fen"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(database, settings, frozen, overrides, status, field):
    async with staff_client(database, settings) as http:
        await http.put("/api/v1/language", json={"language": "zh-CN"})
        created = await http.post("/api/v1/staff/events/series", json=body(**overrides))
        preview = await http.post("/api/v1/staff/events/series/preview", json=body(**{k: v for k, v in overrides.items() if k != "keep"}))

    assert created.status_code == status, created.text
    assert [e["field"] for e in created.json()["errors"]] == [field]
    assert created.json()["detail"]
    if "keep" not in overrides and field != "program_id":  # the preview does not look the program up
        assert preview.status_code == status, preview.text
    assert await Event.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action.like("event.%")) == 0


async def test_a_refusal_is_in_the_readers_language(database, settings, frozen):
    async with staff_client(database, settings) as http:
        await http.put("/api/v1/language", json={"language": "zh-CN"})
        zh = await http.post("/api/v1/staff/events/series/preview", json=body(pattern="festivals"))
        await http.put("/api/v1/language", json={"language": "en"})
        en = await http.post("/api/v1/staff/events/series/preview", json=body(pattern="festivals"))

    assert zh.json()["errors"][0]["reason"] == "请至少选择一个节日"
    assert en.json()["errors"][0]["reason"] == "Choose at least one festival"


@pytest.mark.parametrize("role", ["sales", "service"])
async def test_other_roles_are_refused_the_series_routes(database, settings, frozen, role):
    async with staff_client(database, settings, username=f"{role}1", role=role) as http:
        preview = await http.post("/api/v1/staff/events/series/preview", json=body())
        created = await http.post("/api/v1/staff/events/series", json=body())
        programs = await http.get("/api/v1/staff/programs")

    assert (preview.status_code, created.status_code, programs.status_code) == (403, 403, 403)
    assert await Event.count() == 0


async def test_an_admin_may_create_a_series(database, settings, frozen):
    async with staff_client(database, settings, username="boss", role="admin") as http:
        created = await http.post("/api/v1/staff/events/series", json=body(quarters=[4]))

    assert created.status_code == 201, created.text
    assert await Event.count() == 1


async def test_the_staff_list_says_what_a_cancellation_would_cancel(database, settings, frozen, tmp_path):
    event_id = await event()
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as owner:
        signed = await owner.post(f"/api/v1/events/{event_id}/signups", json={"party_size": 2})
        assert signed.status_code == 201, signed.text
    async with staff_client(database, settings) as http:
        listed = await http.get("/api/v1/staff/events")

    found = next(e for e in listed.json() if e["id"] == event_id)
    assert (found["seats_taken"], found["live_signups"], found["paid_signups"]) == (2, 1, 0)
