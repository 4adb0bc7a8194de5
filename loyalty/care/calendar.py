"""The care calendar: greetings on birthdays and on the seeds' holidays, warranty-ending
notices, and reminders the day before an event. The job runs as often as it likes (hourly in
beat); each occasion is queued once per owner, by the outbox's dedupe key.

Lunar holidays come from the `lunardate` package (the Chinese calendar for 1900–2099), not a
hard-coded table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lunardate import LunarDate

from loyalty import clock, jobs
from loyalty.care import outbox
from loyalty.i18n import LOCALES, Message, _p
from loyalty.i18n.format import date as local_date, datetime as local_datetime
from loyalty.labels import label
from loyalty.settings import Settings


@dataclass(frozen=True)
class Holiday:
    key: str
    name: Message
    on: date


def holidays(year: int) -> list[Holiday]:
    """The seeds' holidays in `year`, in Gregorian dates."""
    return sorted(
        [
            Holiday("new_year", _p("holiday", "New Year's Day"), date(year, 1, 1)),
            Holiday("spring_festival", _p("holiday", "Spring Festival"), LunarDate(year, 1, 1).to_solar_date()),
            Holiday("labour_day", _p("holiday", "Labour Day"), date(year, 5, 1)),
            Holiday("childrens_day", _p("holiday", "Children's Day"), date(year, 6, 1)),
            Holiday("mid_autumn", _p("holiday", "Mid-Autumn Festival"), LunarDate(year, 8, 15).to_solar_date()),
            Holiday("national_day", _p("holiday", "National Day"), date(year, 10, 1)),
            Holiday("double_ninth", _p("holiday", "Double Ninth Festival"), LunarDate(year, 9, 9).to_solar_date()),
        ],
        key=lambda holiday: holiday.on,
    )


def birthday_in(year: int, birthday: date) -> date:
    """A birthday's date in `year` (29 February is greeted on the 28th in other years)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


async def schedule_occasions(now: datetime | None = None) -> int:
    """Queue today's greetings, due warranty notices and tomorrow's event reminders; returns
    how many messages were newly queued (0 on a second run the same day)."""
    now = now or clock.now()
    settings = jobs.current_settings()
    today = now.astimezone(clock.LOCAL_ZONE).date()
    queued = [
        *await _birthdays(today, settings),
        *await _holiday_greetings(today, settings),
        *await _warranty_notices(today, settings),
        *await _event_reminders(now, settings),
    ]
    return len([message_id for message_id in queued if message_id is not None])


async def _owners() -> list[dict]:
    """Owners (members with an active ownership) and their birthdays."""
    from loyalty.members.tables import Member, Ownership

    return await Member.select(Member.id, Member.name, Member.birthday).where(
        Member.id.is_in(Ownership.select(Ownership.member).where(Ownership.status == "active"))
    )


async def _birthdays(today: date, settings: Settings) -> list[int | None]:
    queued = []
    for member in await _owners():
        if member["birthday"] is None or birthday_in(today.year, member["birthday"]) != today:
            continue
        texts = {lang: (label("care.birthday.subject", lang), label("care.birthday", lang, name=member["name"])) for lang in LOCALES}
        queued.append(
            await outbox.message_member(
                member["id"], kind="birthday", template="birthday", texts=texts,
                dedupe_key=f"birthday:{today.year}:{member['id']}", settings=settings,
            )
        )
    return queued


async def _holiday_greetings(today: date, settings: Settings) -> list[int | None]:
    todays = [holiday for holiday in holidays(today.year) if holiday.on == today]
    if not todays:
        return []
    queued = []
    owners = await _owners()
    for holiday in todays:
        for member in owners:
            texts = {
                lang: (label("care.holiday.subject", lang, holiday=holiday.name),
                       label("care.holiday", lang, holiday=holiday.name, name=member["name"]))
                for lang in LOCALES
            }
            queued.append(
                await outbox.message_member(
                    member["id"], kind="holiday", template=f"holiday_{holiday.key}", texts=texts,
                    dedupe_key=f"holiday:{holiday.key}:{today.year}:{member['id']}", settings=settings,
                )
            )
    return queued


async def _warranty_notices(today: date, settings: Settings) -> list[int | None]:
    """Owners of units whose warranty ends within the notice window (and has not ended):
    once per unit and owner, so a day the job missed is caught up the next."""
    from loyalty.members.tables import Ownership, Unit

    units = await Unit.select(Unit.id, Unit.building, Unit.room, Unit.warranty_end).where(
        Unit.warranty_end.is_not_null()
        & (Unit.warranty_end >= today)
        & (Unit.warranty_end <= today + timedelta(days=settings.warranty_notice_days))
    )
    queued = []
    for unit in units:
        owners = await Ownership.select(Ownership.member).where((Ownership.unit == unit["id"]) & (Ownership.status == "active"))
        where = f"{unit['building']}{unit['room']}"
        ends = unit["warranty_end"].isoformat()
        for owner in owners:
            texts = {
                lang: (label("care.warranty.subject", lang),
                       label("care.warranty", lang, unit=where, date=local_date(unit["warranty_end"], lang)))
                for lang in LOCALES
            }
            queued.append(
                await outbox.message_member(
                    owner["member"], kind="warranty", template="warranty_ending", texts=texts,
                    payload={"unit_id": unit["id"], "warranty_end": ends},
                    dedupe_key=f"warranty:{unit['id']}:{unit['warranty_end'].isoformat()}:{owner['member']}", settings=settings,
                )
            )
    return queued


async def _event_reminders(now: datetime, settings: Settings) -> list[int | None]:
    """A reminder to every confirmed signup of events starting within the next 24 hours."""
    from loyalty.events.tables import Event, Signup

    events = await Event.select().where(
        (Event.status == "published") & (Event.starts_at > now) & (Event.starts_at <= now + timedelta(hours=24))
    )
    queued = []
    for event in events:
        for signup in await Signup.select(Signup.id, Signup.member).where(
            (Signup.event == event["id"]) & (Signup.status == "confirmed")
        ):
            texts = {
                lang: (label("care.reminder.subject", lang),
                       label("care.reminder", lang, title=_event_title(event, lang),
                             at=local_datetime(event["starts_at"], lang), venue=event["venue"]))
                for lang in LOCALES
            }
            queued.append(
                await outbox.message_member(
                    signup["member"], kind="event_reminder", template="event_reminder", texts=texts,
                    payload={"event_id": event["id"], "signup_id": signup["id"]},
                    dedupe_key=f"event-reminder:{signup['id']}", urgent_by=event["starts_at"] - timedelta(hours=2),
                    settings=settings,
                )
            )
    return queued


def _event_title(event: dict, lang: str) -> str:
    """The event's title as staff wrote it for `lang` (the Chinese one when no English was given)."""
    return (event["title_en"] or event["title_zh"]) if lang == "en" else event["title_zh"]
