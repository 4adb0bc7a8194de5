"""One event as its page shows it to a member: who may join, how long the waitlist is, and the
other sessions of its program (a seasonal program's sessions are events of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from loyalty.events import rules, signups
from loyalty.events.tables import Event, Program, Signup
from loyalty.i18n import translate


@dataclass(frozen=True)
class Session:
    event: dict[str, Any]
    seats_left: int
    my_status: str | None  # the member's live signup for it, if any


@dataclass(frozen=True)
class ProgramSessions:
    program: dict[str, Any]
    sessions: list[Session]


async def open_to(event: Mapping[str, Any], language: str) -> list[str]:
    """The event's conditions in the reader's words; empty when every member may join."""
    names = await signups.project_names(event)
    return [translate(said, language) for said in rules.conditions(event, names)]


async def waitlist_length(event_id: int) -> int:
    return await Signup.count().where((Signup.event == event_id) & (Signup.status == "waitlisted"))


async def program_sessions(event: Mapping[str, Any], member_id: int) -> ProgramSessions | None:
    """The event's program with its published sessions (this one included), soonest first;
    None for an event outside any published program. Past sessions are kept: a spring
    program's page shows March even in May."""
    if event["program"] is None:
        return None
    program = await Program.select().where((Program.id == event["program"]) & (Program.status == "published")).first()
    if program is None:
        return None
    rows = await Event.select().where((Event.program == program["id"]) & (Event.status == "published")).order_by(Event.starts_at)
    mine = {
        row["event"]: row["status"]
        for row in await Signup.select(Signup.event, Signup.status).where(
            (Signup.member == member_id) & Signup.event.is_in([r["id"] for r in rows] or [0]) & (Signup.status != "cancelled")
        ).order_by(Signup.id)
    }
    return ProgramSessions(
        program=program,
        sessions=[Session(row, max(row["capacity"] - row["seats_taken"], 0), mine.get(row["id"])) for row in rows],
    )
