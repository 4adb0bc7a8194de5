"""The care calendar: the seeds' holidays (lunar ones from a lunar-calendar library) on their
Gregorian dates, birthdays, warranty notices and event reminders, each queued once per owner
per occasion however often the job runs. Time is frozen (NOW = 2026-06-15 12:00 Beijing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from loyalty import clock, jobs
from loyalty.care import calendar
from loyalty.care.tables import OutboxMessage
from loyalty.events import signups
from loyalty.members.tables import Member, Ownership, Unit
from loyalty.settings import Settings
from tests.events.builders import NOW, TODAY, event, owners, phone, staff
from tests.members_builders import import_rows

BEIJING = clock.LOCAL_ZONE


def beijing(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BEIJING)


@pytest.fixture
def use_settings(database) -> Iterator[Any]:
    def configure(**overrides: Any) -> Settings:
        settings = database.settings(**overrides)
        jobs.configure(settings)
        return settings

    configure()
    yield configure
    jobs.configure(database.settings())


async def messages(template: str | None = None) -> list[dict[str, Any]]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return await query.output(load_json=True)


# --- holidays ------------------------------------------------------------------------------------

FIXED = {"new_year": (1, 1), "labour_day": (5, 1), "childrens_day": (6, 1), "national_day": (10, 1)}
LUNAR = {
    2026: {"spring_festival": date(2026, 2, 17), "mid_autumn": date(2026, 9, 25), "double_ninth": date(2026, 10, 18)},
    2027: {"spring_festival": date(2027, 2, 6), "mid_autumn": date(2027, 9, 15), "double_ninth": date(2027, 10, 8)},
    2028: {"spring_festival": date(2028, 1, 26), "mid_autumn": date(2028, 10, 3), "double_ninth": date(2028, 10, 26)},
}


@pytest.mark.parametrize("year", sorted(LUNAR))
def test_the_seeds_holidays_land_on_their_gregorian_dates(year):
    expected = {**{key: date(year, month, day) for key, (month, day) in FIXED.items()}, **LUNAR[year]}

    found = calendar.holidays(year)

    assert {holiday.key: holiday.on for holiday in found} == expected
    assert [holiday.on for holiday in found] == sorted(expected.values())
    # Each holiday is named from the catalogue in both languages, not the msgid in Chinese too.
    assert all(holiday.name.render("zh-CN") != holiday.name.render("en") for holiday in found)
    assert {holiday.key: holiday.name.render("zh-CN") for holiday in found}["mid_autumn"] == "中秋节"


def test_a_29_february_birthday_is_greeted_on_28_february_in_common_years():
    assert calendar.birthday_in(2027, date(1988, 2, 29)) == date(2027, 2, 28)
    assert calendar.birthday_in(2028, date(1988, 2, 29)) == date(2028, 2, 29)
    assert calendar.birthday_in(2027, date(1990, 6, 15)) == date(2027, 6, 15)


@pytest.mark.parametrize(
    ("key", "day", "name_zh"),
    [
        ("spring_festival", date(2027, 2, 6), "春节"),
        ("mid_autumn", date(2026, 9, 25), "中秋节"),
        ("double_ninth", date(2028, 10, 26), "重阳节"),
        ("national_day", date(2026, 10, 1), "国庆节"),
    ],
)
async def test_a_holiday_greets_each_owner_once_however_often_the_job_runs(database, frozen, use_settings, tmp_path, key, day, name_zh):
    ids = await owners(tmp_path, 2)
    (two_units,) = await owners(tmp_path, 1, units=2, start=5)
    frozen.move_to(beijing(day, 10))

    first = await calendar.schedule_occasions()
    frozen.move_to(beijing(day, 11))
    second = await calendar.schedule_occasions()

    assert (first, second) == (3, 0)
    greetings = await messages(f"holiday_{key}")
    assert sorted(m["member"] for m in greetings) == sorted([*ids, two_units])
    assert {(m["kind"], m["status"], m["language"], m["subject"]) for m in greetings} == {("holiday", "queued", "zh-CN", f"{name_zh}快乐")}
    assert all(name_zh in m["body"] and m["scheduled_at"] == beijing(day, 10) for m in greetings)
    assert len(await messages()) == 3


async def test_no_holiday_greeting_on_an_ordinary_day_nor_for_a_former_owner(database, frozen, use_settings, tmp_path):
    current, former = await owners(tmp_path, 2)
    await Ownership.update({Ownership.status: "transferred"}).where(Ownership.member == former)

    assert await calendar.schedule_occasions() == 0  # 2026-06-15: no holiday
    frozen.move_to(beijing(date(2026, 10, 1)))
    assert await calendar.schedule_occasions() == 1

    assert [m["member"] for m in await messages("holiday_national_day")] == [current]


async def test_the_holiday_is_the_beijing_date_and_a_greeting_at_night_waits_for_morning(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)
    frozen.move_to(beijing(date(2027, 2, 5), 23, 30))  # the eve of Spring Festival 2027
    assert await calendar.schedule_occasions() == 0

    frozen.move_to(beijing(date(2027, 2, 6), 0, 30))  # Feb 6th in Beijing, still Feb 5th in UTC
    assert await calendar.schedule_occasions() == 1

    (greeting,) = await messages("holiday_spring_festival")
    assert greeting["member"] == member
    assert greeting["scheduled_at"] == beijing(date(2027, 2, 6), 8, 0)  # quiet hours end at 08:00


async def test_an_owner_in_english_gets_the_english_greeting(database, frozen, use_settings, tmp_path):
    chinese, english = await owners(tmp_path, 2)
    await Member.update({Member.language: "en"}).where(Member.id == english)
    frozen.move_to(beijing(date(2026, 9, 25)))

    await calendar.schedule_occasions()

    by_member = {m["member"]: m for m in await messages("holiday_mid_autumn")}
    assert (by_member[english]["language"], by_member[english]["subject"]) == ("en", "Happy Mid-Autumn Festival")
    assert by_member[english]["body"] == "[Owner Club] Happy Mid-Autumn Festival, 业主1! Best wishes to you and your family."
    assert (by_member[chinese]["language"], by_member[chinese]["subject"]) == ("zh-CN", "中秋节快乐")
    assert by_member[chinese]["body"] == "【业主俱乐部】业主0，中秋节快乐！祝您和家人幸福安康。"


async def test_an_owner_with_an_email_gets_email_when_smtp_is_configured_else_the_sms_backend(database, frozen, use_settings, tmp_path):
    with_email, without_email = await owners(tmp_path, 2)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == with_email)
    frozen.move_to(beijing(date(2026, 10, 1)))

    use_settings(smtp_host="127.0.0.1", smtp_port=2525)
    await calendar.schedule_occasions()
    use_settings()  # no SMTP host: e-mail addresses are of no use
    frozen.move_to(beijing(date(2026, 10, 18)))
    await calendar.schedule_occasions()

    national = {m["member"]: (m["channel"], m["recipient"]) for m in await messages("holiday_national_day")}
    ninth = {m["member"]: (m["channel"], m["recipient"]) for m in await messages("holiday_double_ninth")}
    sms = database.settings().sms_backend  # the configured SMS backend ("log" until a provider is contracted)
    assert national == {with_email: ("email", "owner0@example.com"), without_email: (sms, f"+86{phone(1)}")}
    assert ninth == {with_email: (sms, f"+86{phone(0)}"), without_email: (sms, f"+86{phone(1)}")}


# --- birthdays -----------------------------------------------------------------------------------


async def test_a_birthday_is_greeted_once_on_the_day(database, frozen, use_settings, tmp_path):
    today_born, tomorrow_born, unknown = await owners(tmp_path, 3)
    await Member.update({Member.birthday: date(1980, 6, 15)}).where(Member.id == today_born)
    await Member.update({Member.birthday: date(1980, 6, 16)}).where(Member.id == tomorrow_born)

    counts = [await calendar.schedule_occasions(), await calendar.schedule_occasions()]
    frozen.move_to(NOW + timedelta(hours=6))
    counts.append(await calendar.schedule_occasions())

    assert counts == [1, 0, 0]
    (greeting,) = await messages("birthday")
    assert (greeting["member"], greeting["kind"], greeting["subject"]) == (today_born, "birthday", "生日快乐")
    assert "业主0" in greeting["body"]

    frozen.move_to(beijing(TODAY + timedelta(days=1)))
    assert await calendar.schedule_occasions() == 1
    assert [m["member"] for m in await messages("birthday")] == [today_born, tomorrow_born]
    assert unknown not in [m["member"] for m in await messages()]


async def test_a_birthday_is_greeted_again_the_next_year(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.birthday: date(1980, 6, 15)}).where(Member.id == member)

    await calendar.schedule_occasions()
    frozen.move_to(beijing(date(2027, 6, 15)))
    await calendar.schedule_occasions()
    await calendar.schedule_occasions()

    assert len(await messages("birthday")) == 2


async def test_a_29_february_birthday_is_greeted_on_28_february_2027_and_29_february_2028(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.birthday: date(1988, 2, 29)}).where(Member.id == member)

    greeted = {}
    for day in (date(2027, 2, 27), date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)):
        frozen.move_to(beijing(day))
        greeted[day] = await calendar.schedule_occasions()

    assert [day for day, count in greeted.items() if count] == [date(2027, 2, 28), date(2028, 2, 29)]
    assert len(await messages("birthday")) == 2


async def test_an_english_birthday_greeting(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.birthday: date(1980, 6, 15), Member.language: "en"}).where(Member.id == member)

    await calendar.schedule_occasions()

    (greeting,) = await messages("birthday")
    assert (greeting["language"], greeting["subject"]) == ("en", "Happy birthday")
    assert greeting["body"] == "[Owner Club] Happy birthday, 业主0! Thank you for being with us."


async def test_an_owner_who_refused_birthday_greetings_gets_a_skipped_row_only(database, frozen, use_settings, tmp_path):
    from loyalty.care import outbox

    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.birthday: date(1980, 6, 15)}).where(Member.id == member)
    await outbox.set_opt_outs(member, ["birthday"])

    assert [await calendar.schedule_occasions(), await calendar.schedule_occasions()] == [0, 0]

    assert [m["status"] for m in await messages("birthday")] == ["skipped"]


# --- warranty ------------------------------------------------------------------------------------


async def unit_of(member_id: int) -> int:
    rows = await Ownership.select(Ownership.unit).where(Ownership.member == member_id).order_by(Ownership.unit)
    return rows[0]["unit"]


async def test_warranty_notices_go_once_to_each_owner_of_each_unit_ending_within_60_days(database, frozen, use_settings, tmp_path):
    await import_rows(tmp_path, [
        {"phone": phone(0), "name": "业主0", "room": "0101", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(1), "name": "业主1", "room": "0101", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(2), "name": "业主2", "room": "0201", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(3), "name": "业主3", "room": "0301", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(4), "name": "业主4", "room": "0401", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(5), "name": "业主5", "room": "0501", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
        {"phone": phone(6), "name": "业主6", "room": "0601", "contract_date": "2021-01-01", "delivery_date": "2021-06-01"},
    ])
    member = {n: (await Member.select(Member.id).where(Member.phone == f"+86{phone(n)}").first())["id"] for n in range(7)}
    shared, today_ends, outside, ended, no_end, sold = [await unit_of(member[n]) for n in (0, 2, 3, 4, 5, 6)]
    assert shared == await unit_of(member[1])  # co-owners of one unit
    ends = {
        shared: TODAY + timedelta(days=60),  # the window's last day
        today_ends: TODAY,
        outside: TODAY + timedelta(days=61),
        ended: TODAY - timedelta(days=1),
        sold: TODAY + timedelta(days=10),
    }
    for unit_id, end in ends.items():
        await Unit.update({Unit.warranty_end: end}).where(Unit.id == unit_id)
    await Ownership.update({Ownership.status: "transferred"}).where(Ownership.unit == sold)

    counts = [await calendar.schedule_occasions(), await calendar.schedule_occasions()]
    frozen.move_to(NOW + timedelta(hours=10))  # later the same day (22:00): no new notices
    counts.append(await calendar.schedule_occasions())

    assert counts == [3, 0, 0]
    notices = await messages("warranty_ending")
    assert sorted((m["member"], m["payload"]["unit_id"]) for m in notices) == sorted(
        [(member[0], shared), (member[1], shared), (member[2], today_ends)]
    )
    by_member = {m["member"]: m for m in notices}
    end = TODAY + timedelta(days=60)  # 2026-08-14
    assert by_member[member[0]]["payload"]["warranty_end"] == end.isoformat()
    assert by_member[member[0]]["kind"] == "warranty"
    assert by_member[member[0]]["subject"] == "房屋保修期即将到期提醒"
    # The date as a Chinese reader writes it, not ISO 8601 (the payload keeps that).
    assert by_member[member[0]]["body"] == "【业主俱乐部】您的房屋 1幢0101 保修期将于 2026年8月14日 到期。如有需要维修的问题，请在到期前提交报修。"
    assert no_end not in {m["payload"]["unit_id"] for m in notices}

    frozen.move_to(beijing(TODAY + timedelta(days=1)))  # `outside` enters the window (60 days from the 16th)
    assert await calendar.schedule_occasions() == 1
    frozen.move_to(beijing(TODAY + timedelta(days=2)))
    assert await calendar.schedule_occasions() == 0
    assert [m["member"] for m in await messages("warranty_ending")][-1] == member[3]


async def test_an_owner_of_two_units_ending_gets_a_notice_for_each(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1, units=2)
    units = [row["unit"] for row in await Ownership.select(Ownership.unit).where(Ownership.member == member)]
    await Unit.update({Unit.warranty_end: TODAY + timedelta(days=30)}).where(Unit.id.is_in(units))

    assert [await calendar.schedule_occasions(), await calendar.schedule_occasions()] == [2, 0]

    assert sorted(m["payload"]["unit_id"] for m in await messages("warranty_ending")) == sorted(units)


async def test_the_warranty_window_is_a_setting(database, frozen, use_settings, tmp_path):
    use_settings(warranty_notice_days=90)
    (member,) = await owners(tmp_path, 1)
    await Unit.update({Unit.warranty_end: TODAY + timedelta(days=90)}).where(Unit.id == await unit_of(member))

    assert await calendar.schedule_occasions() == 1


# --- event reminders -------------------------------------------------------------------------------


def soon(hours_ahead: float) -> dict[str, Any]:
    starts = NOW + timedelta(hours=hours_ahead)
    return {
        "starts_at": starts, "ends_at": starts + timedelta(hours=2), "signup_opens_at": NOW - timedelta(days=1),
        "signup_closes_at": NOW + timedelta(hours=1), "cancel_deadline": NOW + timedelta(minutes=30),
    }


async def test_event_reminders_go_24_hours_before_to_confirmed_signups_only(database, frozen, use_settings, tmp_path):
    settings = use_settings()
    confirmed, waitlisted, english = await owners(tmp_path, 3)
    await Member.update({Member.language: "en"}).where(Member.id == english)
    maker = await staff("maker")
    tomorrow = await event(maker, capacity=2, **soon(23))
    later = await event(maker, title_zh="业主摄影沙龙", title_en="Photo salon", **soon(25))
    await signups.sign_up(confirmed, tomorrow, settings=settings)
    await signups.sign_up(english, tomorrow, settings=settings)
    await signups.sign_up(waitlisted, tomorrow, settings=settings, join_waitlist=True)
    await signups.sign_up(confirmed, later, settings=settings)

    assert [await calendar.schedule_occasions(), await calendar.schedule_occasions()] == [2, 0]

    reminders = {m["member"]: m for m in await messages("event_reminder")}
    assert set(reminders) == {confirmed, english}
    assert reminders[confirmed]["payload"]["event_id"] == tomorrow
    assert reminders[confirmed]["kind"] == "event_reminder"
    assert reminders[confirmed]["subject"] == "活动提醒"
    # The start in Beijing time, as each language writes a date and time.
    assert reminders[confirmed]["body"] == "【业主俱乐部】提醒：您报名的「亲子烘焙课」将于 2026年6月16日 11:00 在云湖里会所举行，请携带电子票准时到场。"
    assert (reminders[english]["language"], reminders[english]["subject"]) == ("en", "Event reminder")
    assert reminders[english]["body"] == "[Owner Club] Reminder: 'Family baking class' is at Jun 16, 2026, 11:00, 云湖里会所. Bring your ticket."

    frozen.move_to(NOW + timedelta(hours=1, minutes=30))  # the later event is now 23.5 h away
    assert await calendar.schedule_occasions() == 1
    frozen.move_to(NOW + timedelta(hours=5))
    assert await calendar.schedule_occasions() == 0
    assert sorted((m["member"], m["payload"]["event_id"]) for m in await messages("event_reminder")) == sorted(
        [(confirmed, tomorrow), (english, tomorrow), (confirmed, later)]
    )


async def test_no_reminder_for_a_cancelled_signup_or_an_event_more_than_a_day_away(database, frozen, use_settings, tmp_path):
    settings = use_settings()
    stays, leaves = await owners(tmp_path, 2)
    maker = await staff("maker")
    next_week = await event(maker)
    tomorrow = await event(maker, **{**soon(20), "cancel_deadline": NOW + timedelta(hours=2)})
    await signups.sign_up(stays, next_week, settings=settings)
    (leaving,) = await signups.sign_up(leaves, tomorrow, settings=settings)
    await signups.cancel(leaves, leaving, settings=settings)

    assert await calendar.schedule_occasions() == 0

    assert await messages("event_reminder") == []


async def test_a_reminder_for_an_early_event_is_not_held_past_it_by_quiet_hours(database, frozen, use_settings, tmp_path):
    """Signed up at 22:00 for a 07:00 event: quiet hours would hold the reminder until 08:00,
    after the event began, so it goes out at once; for a 10:00 event it waits for 08:00."""
    settings = use_settings()
    early_owner, late_owner = await owners(tmp_path, 2)
    maker = await staff("maker")
    night = NOW.replace(hour=22)
    frozen.move_to(night)
    early = await event(maker, starts_at=night + timedelta(hours=9), ends_at=night + timedelta(hours=11),
                        signup_opens_at=NOW - timedelta(days=1), signup_closes_at=night + timedelta(hours=8),
                        cancel_deadline=night + timedelta(hours=1))
    late = await event(maker, starts_at=night + timedelta(hours=12), ends_at=night + timedelta(hours=14),
                       signup_opens_at=NOW - timedelta(days=1), signup_closes_at=night + timedelta(hours=8),
                       cancel_deadline=night + timedelta(hours=1))
    await signups.sign_up(early_owner, early, settings=settings)
    await signups.sign_up(late_owner, late, settings=settings)

    assert await calendar.schedule_occasions() == 2

    scheduled = {m["member"]: m["scheduled_at"] for m in await messages("event_reminder")}
    assert scheduled[early_owner] == night
    assert scheduled[late_owner] == night.replace(hour=8) + timedelta(days=1)
