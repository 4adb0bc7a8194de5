"""The event's page on the owner's phone reads one answer: the event, who may join, the waitlist
and the other sessions of its program; and the event can go into the owner's calendar as an
.ics file, in the owner's language and in Beijing time, the same entry however often it is
added. Drafts stay staff-only: neither the page nor the file shows them."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from loyalty.clock import LOCAL_ZONE
from loyalty.events import catalog, signups
from loyalty.settings import Settings
from tests.events.builders import NOW, event, member_client, owners, phone, problem, speaks, staff, stripe_caller


async def spring_program(staff_id: int, settings: Settings) -> tuple[int, list[int], int]:
    """A program with three published sessions a month apart (the middle one full), a draft
    and a cancelled one; (program, published session ids, the draft's id)."""
    program = await catalog.create_program(
        "2026春季业主计划", staff_id, title_en="Spring owners' program 2026", body_zh="三月至五月", body_en="March to May",
    )
    ids = []
    for month, (zh, en, capacity) in enumerate([("业主植树日", "Tree planting day", 60), ("春日踏青", "Spring outing", 1),
                                                 ("亲子运动会", "Family sports day", 60)]):
        starts = NOW + timedelta(days=7 + 30 * month)
        ids.append(await event(
            staff_id, title_zh=zh, title_en=en, program_id=program, capacity=capacity, starts_at=starts,
            ends_at=starts + timedelta(hours=3),
        ))
    draft = await event(staff_id, title_zh="草稿场次", program_id=program, status="draft")
    called_off = await event(staff_id, title_zh="取消的场次", program_id=program)
    await catalog.cancel_event(called_off, "下雨", staff_id, settings)
    return program, ids, draft


async def test_the_event_page_lists_its_programs_published_sessions_with_seats_and_my_signups(database, settings, frozen, tmp_path):
    me, other = await owners(tmp_path, 2)
    maker = await staff()
    program, (planting, outing, sports), _draft = await spring_program(maker, settings)
    await signups.sign_up(other, outing, settings=settings)  # the outing's one seat
    await signups.sign_up(me, outing, settings=settings, join_waitlist=True)
    await signups.sign_up(me, sports, settings=settings, party_size=2)

    async with member_client(database, settings, phone(0)) as http:
        response = await http.get(f"/api/v1/events/{planting}")
        outing_page = (await http.get(f"/api/v1/events/{outing}")).json()

    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["id"], page["title_zh"], page["can_sign_up"], page["open_to"]) == (planting, "业主植树日", True, [])
    assert (page["party_size_limit"], page["seats_left"], page["waitlist_length"]) == (4, 60, 0)
    shown = page["program"]
    assert (shown["id"], shown["title_zh"], shown["title_en"], shown["body_zh"]) == (program, "2026春季业主计划", "Spring owners' program 2026", "三月至五月")
    assert [s["id"] for s in shown["sessions"]] == [planting, outing, sports]  # no draft, no cancelled session
    assert [s["seats_left"] for s in shown["sessions"]] == [60, 0, 58]
    assert [s["my_signup_status"] for s in shown["sessions"]] == [None, "waitlisted", "confirmed"]
    assert [s["title_en"] for s in shown["sessions"]] == ["Tree planting day", "Spring outing", "Family sports day"]
    assert (outing_page["waitlist_length"], outing_page["my_signup"]["status"]) == (1, "waitlisted")


async def test_an_event_outside_a_program_has_none_and_its_conditions_are_said_in_the_readers_language(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)  # one home: a blue card
    alone = await event()
    gold_only = await event(eligible_tiers=["gold", "platinum"], eligible_stages=["settling"])

    async with member_client(database, settings, phone(0)) as http:
        plain = (await http.get(f"/api/v1/events/{alone}")).json()
        chinese = (await http.get(f"/api/v1/events/{gold_only}")).json()
        await speaks(http, "en")
        english = (await http.get(f"/api/v1/events/{gold_only}")).json()

    assert (plain["program"], plain["open_to"]) == (None, [])
    assert chinese["open_to"] == ["本活动仅限金卡或铂金卡会员", "本活动仅限磨合期业主"]
    assert english["open_to"] == ["Only for Gold or Platinum members", "Only for: Settling-in owner"]
    assert english["can_sign_up"] is False and english["why_not"]["message"] == english["open_to"][0]


async def test_the_calendar_file_has_the_event_in_beijing_time_and_the_readers_language(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    starts = NOW + timedelta(days=7)
    event_id = await event(body_zh="和孩子一起做曲奇。", body_en="Bake cookies with your children.", starts_at=starts,
                           ends_at=starts + timedelta(hours=3))

    async with member_client(database, settings, phone(0)) as http:
        chinese = await http.get(f"/api/v1/events/{event_id}/event.ics")
        again = await http.get(f"/api/v1/events/{event_id}/event.ics")
        await speaks(http, "en")
        english = await http.get(f"/api/v1/events/{event_id}/event.ics")

    assert chinese.status_code == 200, chinese.text
    assert chinese.headers["content-type"] == "text/calendar; charset=utf-8"  # the charset once
    assert chinese.headers["content-disposition"] == f'attachment; filename="owner-club-event-{event_id}.ics"'
    zh, zh_again, en = (icalendar.Calendar.from_ical(r.content) for r in (chinese, again, english))
    [entry] = zh.walk("VEVENT")
    [entry_again] = zh_again.walk("VEVENT")
    [entry_en] = en.walk("VEVENT")
    assert str(entry["UID"]) == str(entry_again["UID"]) == str(entry_en["UID"]) == f"event-{event_id}@owner-club"
    assert entry.decoded("DTSTART") == starts and entry.decoded("DTEND") == starts + timedelta(hours=3)
    assert entry["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert entry.decoded("DTSTART").utcoffset() == LOCAL_ZONE.utcoffset(starts)
    assert [tz["TZID"] for tz in zh.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert (str(entry["SUMMARY"]), str(entry_en["SUMMARY"])) == ("亲子烘焙课", "Family baking class")
    assert (str(entry["DESCRIPTION"]), str(entry_en["DESCRIPTION"])) == ("和孩子一起做曲奇。", "Bake cookies with your children.")
    assert str(entry["LOCATION"]) == "云湖里会所"
    assert str(entry["URL"]) == f"http://testserver/#event/{event_id}"
    assert "DTSTAMP" in entry and str(zh["VERSION"]) == "2.0"


async def test_without_an_english_title_the_english_file_says_the_chinese_one(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    event_id = await event(title_en="", body_zh="", venue="")
    async with member_client(database, settings, phone(0)) as http:
        await speaks(http, "en")
        response = await http.get(f"/api/v1/events/{event_id}/event.ics")
    [entry] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "亲子烘焙课"
    assert "LOCATION" not in entry and "DESCRIPTION" not in entry


async def test_drafts_cancelled_and_unknown_events_have_no_page_or_calendar_file(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    maker = await staff()
    draft = await event(maker, status="draft")
    called_off = await event(maker)
    await catalog.cancel_event(called_off, "场地维修", maker, settings)

    async with member_client(database, settings, phone(0)) as http:
        answers = {
            "draft page": await http.get(f"/api/v1/events/{draft}"),
            "draft file": await http.get(f"/api/v1/events/{draft}/event.ics"),
            "cancelled file": await http.get(f"/api/v1/events/{called_off}/event.ics"),
            "unknown page": await http.get("/api/v1/events/999999"),
            "unknown file": await http.get("/api/v1/events/999999/event.ics"),
        }
        cancelled_page = await http.get(f"/api/v1/events/{called_off}")

    for what, response in answers.items():
        assert (response.status_code, problem(response)) == (404, "/problems/not-found"), (what, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), what
    assert "草稿" not in answers["draft page"].text
    # A cancelled event still has its page, saying so (the owner's signup was cancelled with it).
    assert cancelled_page.status_code == 200 and cancelled_page.json()["why_not"]["type"] == "/problems/event-cancelled"


async def test_the_calendar_file_is_for_members_only(database, settings, frozen, tmp_path):
    event_id = await event()

    async with stripe_caller(database, settings) as anonymous:
        response = await anonymous.get(f"/api/v1/events/{event_id}/event.ics")
    assert response.status_code == 401
