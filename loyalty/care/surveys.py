"""Satisfaction surveys: after each attended event, after each resolved case, and once a year
(from December 1st) with the seeds' five dimensions on the five-point scale, each with the
0–10 "would you recommend us to friends and family?" question. One survey per owner and
subject (a unique index), answered once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from loyalty.i18n.fields import field_label
from loyalty.i18n.format import Later, items
from loyalty import clock, jobs
from loyalty.care import outbox
from loyalty.care.tables import DIMENSIONS, Survey
from loyalty.errors import DomainError, InvalidField, NotFound
from loyalty.i18n import LOCALES, _, _n
from loyalty.labels import label

YEARLY_FROM_MONTH = 12
EVENT_SURVEY_WINDOW = timedelta(days=7)  # events that ended longer ago get no survey
MAX_COMMENT = 2000


class SurveyAnswered(DomainError):
    type = "survey-answered"
    status = 409
    title = _("This survey has already been answered")


async def create_survey(
    member_id: int, kind: str, subject_id: int, project_id: int | None, title: str, *, now: datetime | None = None
) -> int | None:
    """A survey for the owner and its invitation in the outbox (inside the caller's
    transaction); returns the message id to deliver, or None if this survey exists already."""
    now = now or clock.now()
    rows = await Survey.insert(
        Survey(member=member_id, kind=kind, subject_id=subject_id, project=project_id, sent_at=now)
    ).on_conflict(action="DO NOTHING").returning(Survey.id)
    if not rows:
        return None
    key = f"care.survey.{kind}"
    texts = {
        lang: (label("care.survey.subject", lang), label(key, lang, title=title, year=subject_id)) for lang in LOCALES
    }
    return await outbox.message_member(
        member_id, kind="survey", template=f"survey_{kind}", texts=texts, payload={"survey_id": rows[0]["id"]},
        dedupe_key=f"survey:{rows[0]['id']}",
    )


async def send_due_surveys(now: datetime | None = None) -> int:
    """The job (hourly): surveys for attendees of events that ended in the last week, and
    from December 1st the yearly survey to every owner. Returns how many were created."""
    from loyalty.events.tables import Event, Signup
    from loyalty.members.tables import Ownership

    now = now or clock.now()
    messages: list[int | None] = []
    created = 0
    ended = await Event.select(Event.id, Event.title_zh, Event.project).where(
        (Event.ends_at <= now) & (Event.ends_at > now - EVENT_SURVEY_WINDOW) & (Event.status == "published")
    )
    for event in ended:
        attended = await Signup.select(Signup.member).where((Signup.event == event["id"]) & (Signup.status == "attended"))
        have = {row["member"] for row in await Survey.select(Survey.member).where((Survey.kind == "event") & (Survey.subject_id == event["id"]))}
        for signup in attended:
            if signup["member"] in have:
                continue
            created += 1
            messages.append(await create_survey(signup["member"], "event", event["id"], event["project"], event["title_zh"], now=now))
    local = now.astimezone(clock.LOCAL_ZONE)
    if local.month >= YEARLY_FROM_MONTH:
        have = {row["member"] for row in await Survey.select(Survey.member).where((Survey.kind == "yearly") & (Survey.subject_id == local.year))}
        owners = await Ownership.select(Ownership.member, Ownership.unit.project).where(Ownership.status == "active").order_by(Ownership.id)
        first_project: dict[int, int] = {}
        for row in owners:
            first_project.setdefault(row["member"], row["unit.project"])
        for member_id, project_id in first_project.items():
            if member_id in have:
                continue
            created += 1
            messages.append(await create_survey(member_id, "yearly", local.year, project_id, "", now=now))
    for message_id in messages:
        if message_id is not None:
            await jobs.enqueue("loyalty.care.deliver_message", message_id)
    return created


async def open_surveys(member_id: int) -> list[dict[str, Any]]:
    """The owner's unanswered surveys, each with what it asks about in words the page can show:
    `subject_title` (the case's title as the owner wrote it, the event's Chinese title) and
    `subject_title_en` (the event's English title where it has one); both empty for a yearly one."""
    from loyalty.care.tables import Case
    from loyalty.events.tables import Event

    found = await Survey.select().where((Survey.member == member_id) & Survey.answered_at.is_null()).order_by(Survey.id)
    case_ids = [s["subject_id"] for s in found if s["kind"] == "case"]
    event_ids = [s["subject_id"] for s in found if s["kind"] == "event"]
    case_titles = {
        c["id"]: (c["title"], "")
        # only the owner's own cases: a title is the owner's words, never another's
        for c in (await Case.select(Case.id, Case.title).where(Case.id.is_in(case_ids) & (Case.member == member_id)) if case_ids else [])
    }
    event_titles = {
        e["id"]: (e["title_zh"], e["title_en"])
        for e in (await Event.select(Event.id, Event.title_zh, Event.title_en).where(Event.id.is_in(event_ids)) if event_ids else [])
    }
    for survey in found:
        titles = {"case": case_titles, "event": event_titles}.get(survey["kind"], {})
        survey["subject_title"], survey["subject_title_en"] = titles.get(survey["subject_id"], ("", ""))
    return found


def _field_names(names: tuple[str, ...], locale: str) -> str:
    return items([field_label(name, locale) for name in names], locale, style="or")


def _score(value: Any, field: str, top: int, bottom: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not bottom <= value <= top:
        raise InvalidField(_("a whole number from {bottom} to {top}", bottom=bottom, top=top), field=field)
    return value


async def answer(member_id: int, survey_id: int, answers: Mapping[str, Any], now: datetime | None = None) -> None:
    """Record the owner's answers (once). Event and case surveys need `satisfaction` (1–5);
    the yearly one at least one of the five dimensions (1–5); `recommend` (0–10) is asked
    everywhere and optional, like the comment."""
    survey = await Survey.select().where((Survey.id == survey_id) & (Survey.member == member_id)).first()
    if survey is None:
        raise NotFound(_("no survey {survey_id}", survey_id=survey_id))
    if survey["answered_at"] is not None:
        raise SurveyAnswered()
    values: dict[Any, Any] = {}
    if survey["kind"] == "yearly":
        given = {name: answers.get(name) for name in DIMENSIONS if answers.get(name) is not None}
        if not given:
            raise InvalidField(_("score at least one of {fields}", fields=Later(_field_names, DIMENSIONS)), field="planning_design")
        values.update({getattr(Survey, name): _score(value, name, 5) for name, value in given.items()})
    else:
        values[Survey.satisfaction] = _score(answers.get("satisfaction"), "satisfaction", 5)
    if answers.get("recommend") is not None:
        values[Survey.recommend] = _score(answers["recommend"], "recommend", 10, 0)
    comment = str(answers.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidField(_n("at most {count} character", "at most {count} characters", MAX_COMMENT), field="comment")
    values.update({Survey.comment: comment, Survey.answered_at: now or clock.now()})
    rows = await Survey.update(values).where((Survey.id == survey_id) & Survey.answered_at.is_null()).returning(Survey.id)
    if not rows:
        raise SurveyAnswered()
