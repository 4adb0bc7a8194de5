"""An event as an iCalendar file (RFC 5545), for the owner's own calendar app.

Times are written in Beijing time with its VTIMEZONE, so a phone set to another zone still
shows the club's hour; the UID depends on the event alone, so adding the same event twice
updates the entry instead of doubling it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

import icalendar

from loyalty.clock import LOCAL_ZONE

PRODUCT = "-//Owner Club//Events//EN"


def uid(event_id: int) -> str:
    return f"event-{event_id}@owner-club"


def filename(event_id: int) -> str:
    return f"owner-club-event-{event_id}.ics"


def in_language(event: Mapping[str, Any], field: str, language: str) -> str:
    """The event's own text in the reader's language, the Chinese where there is no English."""
    english = event.get(f"{field}_en") or ""
    return english if language == "en" and english else event[f"{field}_zh"]


def event_ics(event: Mapping[str, Any], *, language: str, url: str, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    entry = icalendar.Event()
    entry.add("uid", uid(event["id"]))
    entry.add("dtstamp", now.astimezone(timezone.utc))
    entry.add("dtstart", event["starts_at"].astimezone(LOCAL_ZONE))
    entry.add("dtend", event["ends_at"].astimezone(LOCAL_ZONE))
    entry.add("summary", in_language(event, "title", language))
    if event["venue"]:
        entry.add("location", event["venue"])
    if body := in_language(event, "body", language):
        entry.add("description", body)
    entry.add("url", url)
    entry.add("status", "CONFIRMED")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()
