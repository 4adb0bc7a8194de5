"""Capacity: seats only move by `take_seats` / `free_seats`, conditional UPDATEs of the event
row: under concurrent signups the row lock queues them and each re-checks the capacity it
sees, so capacity is never exceeded (PostgreSQL); SQLite's write transaction runs them one
at a time."""

from __future__ import annotations

from loyalty import db


async def take_seats(event_id: int, seats: int) -> bool:
    rows = await db.fetch(
        "UPDATE event SET seats_taken = seats_taken + {} WHERE id = {} AND seats_taken + {} <= capacity RETURNING id",
        seats, event_id, seats,
    )
    return bool(rows)


async def free_seats(event_id: int, seats: int) -> None:
    await db.fetch("UPDATE event SET seats_taken = seats_taken - {} WHERE id = {} RETURNING id", seats, event_id)
